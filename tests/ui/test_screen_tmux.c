/*
 * The real `station ui` in a real terminal: tmux runs it on a private
 * server socket, send-keys types scans as a barcode scanner would, and
 * capture-pane reads the screen.  Devices are devsim processes.  Screens
 * are awaited by polling with a bounded number of attempts; the tmux server
 * is killed at teardown whatever happened.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <signal.h>
#include <sys/types.h>

#include "station/pipeline/advice.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/station_home.h"

#define MAX_DEV 4
#define POLL_ATTEMPTS 300 /* x 100 ms */

struct ui_test {
	char dir[64];
	char sock[64];
	char serial[MAX_DEV][32];
	struct devsim_proc *dev[MAX_DEV];
	int n_dev;
	int tmux_started;
	/* optional: a station home with a configuration (for a profile's
	 * label rule); NULL runs on the embedded defaults in dir/home */
	struct station_home *home;
};

static void
nap(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* proc_run_capture() does not search PATH: find tmux once. */
static const char *
tmux_path(void)
{
	static char found[512];
	const char *path = getenv("PATH");

	if (found[0] != '\0')
		return found;
	while (path != NULL && *path != '\0') {
		size_t len = strcspn(path, ":");

		snprintf(found, sizeof found, "%.*s/tmux", (int)len, path);
		if (len > 0 && access(found, X_OK) == 0)
			return found;
		path += len + (path[len] == ':');
	}
	found[0] = '\0';
	return NULL;
}

/* Run "tmux -L <sock> ARGS..." (NULL-terminated); *out (may be NULL)
 * receives its stdout.  Returns the exit status. */
static int
tmux(struct ui_test *t, char **out, ...)
{
	const char *argv[16] = { tmux_path(), "-L", t->sock };
	size_t n = 3;
	char *buf = NULL;
	va_list ap;
	int rc;

	va_start(ap, out);
	for (const char *a = va_arg(ap, const char *); a != NULL && n < 15;
	     a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = proc_run_capture(argv, &buf);
	if (out != NULL)
		*out = buf;
	else
		free(buf);
	return rc;
}

static char *
capture(struct ui_test *t)
{
	char *out = NULL;

	tmux(t, &out, "capture-pane", "-p", "-t", "ui", NULL);
	return out;
}

/* Poll the screen until it shows `needle`; fail (printing the last
 * screen) if it never does.  Returns the screen (caller frees). */
static char *
wait_for(struct ui_test *t, const char *needle)
{
	char *screen = NULL;

	for (int i = 0; i < POLL_ATTEMPTS; i++) {
		free(screen);
		screen = capture(t);
		if (screen != NULL && strstr(screen, needle) != NULL)
			return screen;
		nap();
	}
	fail_msg("screen never showed '%s'; last screen:\n%s", needle,
	    screen ? screen : "(none)");
	return NULL;
}

static void
scan(struct ui_test *t, const char *text)
{
	tmux(t, NULL, "send-keys", "-t", "ui", "-l", text, NULL);
	tmux(t, NULL, "send-keys", "-t", "ui", "Enter", NULL);
}

/* The station's pid, from the pid file its start script writes; 0 while
 * there is none. */
static pid_t
ui_pid(struct ui_test *t)
{
	char path[128], buf[32] = "";
	long long pid = 0;
	FILE *fp;

	snprintf(path, sizeof path, "%s/ui.pid", t->dir);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	if (fgets(buf, sizeof buf, fp) == NULL)
		buf[0] = '\0';
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
	if (!num_valid(buf, 1, 4194304, &pid))
		return 0;
	return (pid_t)pid;
}

/* Wait (bounded) until the station process is gone; 1 if it is. */
static int
wait_ui_exit(struct ui_test *t)
{
	pid_t pid = ui_pid(t);

	for (int i = 0; pid > 0 && i < 2 * POLL_ATTEMPTS; i++) {
		if (kill(pid, 0) != 0)
			return 1;
		nap();
	}
	return pid <= 0;
}

/* The station's home: the configured one, else dir/home. */
static char *
home_of(struct ui_test *t)
{
	return t->home ? xstrdup(t->home->home) : xasprintf("%s/home", t->dir);
}

/* `station ledger list` of the screen's home (caller frees). */
static char *
ledger_list(struct ui_test *t)
{
	char *home = home_of(t), *text;
	const char *argv[8];
	struct proc_out o = { 0 };
	size_t n = 0;

	argv[n++] = test_bin("STATION_BIN", "build/bin/station");
	if (t->home != NULL) {
		argv[n++] = "--config";
		argv[n++] = t->home->config;
	}
	argv[n++] = "ledger";
	argv[n++] = "list";
	argv[n] = NULL;
	proc_run_env(argv, home, &o);
	text = o.out ? xstrdup(o.out) : xstrdup("");
	proc_out_clear(&o);
	free(home);
	return text;
}

/* Text with every run of white space made one space: a sentence the
 * screen wrapped over several rows reads as one line. */
static char *
squash(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	int space = 0;

	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t') {
			space = 1;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = 0;
		*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* wait_for over the squashed screen. */
static char *
wait_for_text(struct ui_test *t, const char *needle)
{
	char *screen = NULL, *flat = NULL;

	for (int i = 0; i < POLL_ATTEMPTS; i++) {
		free(screen);
		free(flat);
		screen = capture(t);
		flat = squash(screen ? screen : "");
		if (strstr(flat, needle) != NULL) {
			free(flat);
			return screen;
		}
		nap();
	}
	fail_msg("screen never showed '%s'; last screen:\n%s", needle,
	    screen ? screen : "(none)");
	return NULL;
}

static void
keys(struct ui_test *t, const char *name)
{
	tmux(t, NULL, "send-keys", "-t", "ui", name, NULL);
}

static int
setup(void **state)
{
	static int counter;
	struct ui_test *t = calloc(1, sizeof *t);

	if (t == NULL)
		return -1;
	if (tmux_path() == NULL) {
		free(t);
		print_message("tmux is not installed\n");
		return -1;
	}
	snprintf(t->dir, sizeof t->dir, "/tmp/station-ui-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->sock, sizeof t->sock, "station-ui-%d-%d", (int)getpid(),
	    ++counter);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct ui_test *t = *state;
	char *cmd;

	if (t->tmux_started)
		tmux(t, NULL, "kill-server", NULL);
	wait_ui_exit(t);
	station_home_free(t->home);
	for (int i = 0; i < t->n_dev; i++)
		devsim_proc_stop(t->dev[i]);
	cmd = xasprintf("rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", t->dir);
	free(cmd);
	free(t);
	return 0;
}

/* Start a device; `fault` (may be NULL) is a devsim --fault value. */
static void
add_device(struct ui_test *t, const char *fault)
{
	int i = t->n_dev;
	const char *args[] = { "--serial", t->serial[i],
		fault ? "--fault" : NULL, fault, NULL };

	snprintf(t->serial[i], sizeof t->serial[i], "SN-UI%d-%d", (int)getpid(),
	    i + 1);
	t->dev[i] = devsim_proc_start(args);
	assert_non_null(t->dev[i]);
	t->n_dev++;
}

/* Write the fixture for the devices and start the screen in tmux. */
static void
start_ui(struct ui_test *t, int cols, int rows, int no_color)
{
	char path[128], script[128], size_x[16], size_y[16], *cmd = NULL;
	char *home;
	FILE *fp;
	int rc;

	snprintf(path, sizeof path, "%s/fixture.ini", t->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[fixture]\nname = tmux-test\n");
	for (int i = 0; i < t->n_dev; i++)
		fprintf(fp,
		    "\n[slot %d]\nlabel = S%d\ndevice = %s\n"
		    "profile = default\n",
		    i + 1, i + 1, t->dev[i]->uri);
	fclose(fp);

	/* a script, so that the station's own pid is known (exec) */
	snprintf(script, sizeof script, "%s/run-ui.sh", t->dir);
	fp = fopen(script, "w");
	assert_non_null(fp);
	home = home_of(t);
	fprintf(fp,
	    "echo $$ >'%s/ui.pid'\n"
	    "exec env STATION_HOME='%s' STATION_DEMO=1 %s '%s' %s%s%s ui --fixture '%s' "
	    "--operator tester --batch LOT-T 2>'%s/ui.err'\n",
	    t->dir, home, no_color ? "NO_COLOR=1" : "",
	    test_bin("STATION_BIN", "build/bin/station"),
	    t->home ? "--config '" : "", t->home ? t->home->config : "",
	    t->home ? "'" : "", path, t->dir);
	fclose(fp);
	free(home);
	cmd = xasprintf("sh '%s'; echo UI-EXIT $?; cat '%s/ui.err'; sleep 120",
	    script, t->dir);
	snprintf(size_x, sizeof size_x, "%d", cols);
	snprintf(size_y, sizeof size_y, "%d", rows);
	const char *argv[] = { tmux_path(), "-L", t->sock, "-f", "/dev/null",
		"new-session", "-d", "-s", "ui", "-x", size_x, "-y", size_y,
		cmd, NULL };
	char *out = NULL;

	rc = proc_run_capture(argv, &out);
	free(out);
	free(cmd);
	assert_int_equal(rc, 0);
	t->tmux_started = 1;
	free(wait_for(t, "scan>"));
}

/* Four slots: scanning the four serials provisions every device and the
 * header counts four PASSes. */
static void
test_four_slots_all_pass_after_scanning(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	for (int i = 0; i < 4; i++) {
		char label[8];

		snprintf(label, sizeof label, "S%d", i + 1);
		scan(t, label);
		scan(t, t->serial[i]);
	}
	screen = wait_for(t, "PASSED 4");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	assert_null(strstr(screen, "UI-EXIT"));
	free(screen);
}

/* Four boards, one lone scan each in an order unlike the slots': each
 * runs on the slot whose board reports it, so all four PASS. */
static void
test_four_lone_scans_in_shuffled_order_all_pass(void **state)
{
	struct ui_test *t = *state;
	static const int order[] = { 2, 0, 3, 1 };
	char *screen;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	for (int i = 0; i < 4; i++)
		scan(t, t->serial[order[i]]);
	screen = wait_for(t, "PASSED 4");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	free(screen);
}

/* A lone scan of a serial no board reports is refused on the message
 * line: nothing runs, nothing FAILs. */
static void
test_lone_scan_of_no_board_is_refused(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "SN-NOBODY-3");
	screen = wait_for(t, "no board with serial SN-NOBODY-3");
	assert_non_null(strstr(screen, "PASSED 0"));
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_null(strstr(screen, "running"));
	free(screen);
}

/* A serial no device has, scanned onto a slot by its label: it FAILs at
 * the serial check, with the operator headline and the reason on
 * screen. */
static void
test_serial_of_no_device_fails_with_reason(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, "SN-NOBODY-1");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "FAIL"));
	assert_non_null(strstr(screen, "Label does not match"));
	assert_non_null(strstr(screen, "why:"));
	assert_non_null(strstr(screen, "next:"));
	free(screen);
}

/* Unknown scans and duplicates give a message and start nothing. */
static void
test_bad_scans_give_messages(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "hello world");
	free(wait_for(t, "unknown scan 'hello world'"));
	scan(t, t->serial[0]);
	free(wait_for(t, "PASSED 1"));
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSed in this batch");
	assert_non_null(strstr(screen, "PASSED 1"));
	free(screen);
}

/* A device that never answers holds its own slot only: the other slot
 * PASSes meanwhile and the screen still answers keys (F1 help). */
static void
test_hung_device_does_not_block_other_slot(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, "silent");
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	free(wait_for(t, "running"));
	scan(t, t->serial[1]);
	screen = wait_for(t, "PASSED 1");
	free(screen);
	tmux(t, NULL, "send-keys", "-t", "ui", "F1", NULL);
	screen = wait_for(t, "KEYS (F1");
	/* the silent device's slot was still busy while all this happened */
	assert_non_null(strstr(screen, "running"));
	free(screen);
}

/* An idle slot whose device never answers costs its own HELLO deadline
 * only: a lone scan still finds its board on another slot and PASSes,
 * and the screen answers keys (F1 help) meanwhile. */
static void
test_silent_idle_slot_does_not_stop_lone_scan(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, "silent");
	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[2]);
	tmux(t, NULL, "send-keys", "-t", "ui", "F1", NULL);
	free(wait_for(t, "KEYS (F1"));
	tmux(t, NULL, "send-keys", "-t", "ui", "Escape", NULL);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	free(screen);
	scan(t, t->serial[0]);
	screen = wait_for(t, "no board with serial");
	assert_non_null(strstr(screen, "FAILED 0"));
	free(screen);
}

/* Resizing the terminal, down to tiny and up to large, keeps the program
 * running and drawing. */
static void
test_resize_keeps_running(void **state)
{
	struct ui_test *t = *state;
	static const char *const sizes[][2] = {
		{ "50", "15" },
		{ "20", "5" },
		{ "132", "43" },
		{ "80", "24" },
	};
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		assert_int_equal(tmux(t, NULL, "resize-window", "-t", "ui",
				     "-x", sizes[i][0], "-y", sizes[i][1],
				     NULL),
		    0);
		free(wait_for(t, "STATION"));
	}
	scan(t, "S2");
	scan(t, t->serial[1]);
	screen = wait_for(t, "PASSED 2");
	assert_null(strstr(screen, "UI-EXIT"));
	free(screen);
}

/* NO_COLOR: PASS and FAIL are still written as words, in reverse video. */
static void
test_no_color_still_shows_words(void **state)
{
	struct ui_test *t = *state;
	char *screen, *esc = NULL;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 1);
	scan(t, t->serial[0]);
	free(wait_for(t, "PASSED 1"));
	scan(t, "S2");
	scan(t, "SN-NOBODY-2");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "PASS"));
	assert_non_null(strstr(screen, "FAIL"));
	free(screen);
	tmux(t, &esc, "capture-pane", "-p", "-e", "-t", "ui", NULL);
	assert_non_null(esc);
	/* reverse video is on, and no background colour is used */
	assert_non_null(strstr(esc, "7m"));
	assert_null(strstr(esc, "[42m"));
	assert_null(strstr(esc, "[41m"));
	free(esc);
}

/* A device reporting bytes a terminal would obey (0x9b is an 8-bit CSI,
 * the next bytes a "clear screen") FAILs at hello; the panel shows the
 * reason with those bytes escaped, and the screen is still whole. */
static void
test_device_bytes_are_drawn_escaped(void **state)
{
	struct ui_test *t = *state;
	const char *args[] = { "--serial",
		"EVIL\x9b"
		"2J\xff",
		NULL };
	char *screen;

	snprintf(t->serial[0], sizeof t->serial[0], "EVIL-SCAN");
	t->dev[0] = devsim_proc_start(args);
	assert_non_null(t->dev[0]);
	t->n_dev = 1;
	start_ui(t, 100, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	screen = wait_for(t, "FAILED 1");
	free(screen);
	screen = wait_for(t, "EVIL\\x9b2J\\xff");
	assert_non_null(strstr(screen, "STATION"));
	assert_non_null(strstr(screen, "scan>"));
	free(screen);
}

/* F1 help open, then a scan: the help closes on the first character,
 * which is kept, so the whole serial runs and PASSes (before, the "S"
 * only closed the help and "N-..." was run and FAILed).  The scanner
 * ends it with CR LF: the LF opens no detail view. */
static void
test_scan_while_help_is_open_keeps_every_character(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	keys(t, "F1");
	free(wait_for(t, "KEYS (F1"));
	scan(t, t->serial[1]);
	keys(t, "C-j");
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, t->serial[1]));
	assert_null(strstr(screen, "KEYS (F1"));
	assert_null(strstr(screen, "Esc closes"));
	assert_null(strstr(screen, "unknown scan"));
	free(screen);
}

/* At 80x24 with four slots a FAIL gets block letters like a PASS, and
 * Enter on an empty scan line shows the selected slot's whole reason and
 * next step; Esc closes it.  With one device that FAILed on a wrong
 * label and then PASSed, the yield counts one device: 100%. */
static void
test_fail_detail_view_at_80x24(void **state)
{
	struct ui_test *t = *state;
	const char *next = advice_next_step(STEP_SERIAL, ST_E_MISMATCH);
	char *screen, *want;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, "SN-NOBODY-1");
	screen = wait_for(t, "FAILED 1");
	/* the first row of F, A, I, L in block letters */
	assert_non_null(strstr(screen, "#####  ###  ##### #"));
	free(screen);
	keys(t, "Enter");
	want = xasprintf("next: %s", next);
	screen = wait_for_text(t, want);
	free(screen);
	screen = wait_for_text(t, "why: ");
	assert_non_null(strstr(screen, "SN-NOBODY-1"));
	free(screen);
	keys(t, "Escape");
	scan(t, "S1");
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	assert_null(strstr(screen, want));
	free(screen);
	free(want);
}

/* F8 twice aborts the selected slot's run: it ends as a FAIL "aborted by
 * operator", recorded in the ledger; a long step shows its countdown
 * meanwhile. */
static void
test_abort_key_ends_the_run_as_aborted(void **state)
{
	struct ui_test *t = *state;
	char *screen, *ledger = NULL;

	add_device(t, "slow=400");
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	/* "keygen  28%  29s [": the step's time left before its deadline */
	screen = wait_for(t, "keygen");
	free(screen);
	keys(t, "F8");
	free(wait_for(t, "F8 again aborts S1"));
	keys(t, "F8");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "Run aborted by the operator"));
	free(screen);
	keys(t, "Enter");
	free(wait_for_text(t, "aborted by operator"));
	for (int i = 0; i < POLL_ATTEMPTS; i++) {
		free(ledger);
		ledger = ledger_list(t);
		if (strstr(ledger, t->serial[0]) != NULL)
			break;
		nap();
	}
	assert_non_null(strstr(ledger, "FAIL"));
	assert_non_null(strstr(ledger, "aborted"));
	free(ledger);
}

/* Closing the terminal (tmux kills the session: SIGHUP, the pty hangs
 * up) lets the running slots finish, as F10 does: the station exits by
 * itself and the ledger holds both runs PASSed. */
static void
test_terminal_close_lets_running_slots_finish(void **state)
{
	struct ui_test *t = *state;
	char *screen, *ledger;

	add_device(t, "slow=150");
	add_device(t, "slow=150");
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	scan(t, "S2");
	scan(t, t->serial[1]);
	screen = wait_for(t, "keygen");
	assert_non_null(strstr(screen, "PASSED 0"));
	free(screen);
	assert_true(ui_pid(t) > 0);
	assert_int_equal(tmux(t, NULL, "kill-session", "-t", "ui", NULL), 0);
	assert_true(wait_ui_exit(t));
	ledger = ledger_list(t);
	for (int i = 0; i < 2; i++) {
		const char *row = strstr(ledger, t->serial[i]);

		if (row == NULL || strstr(row, "PASS") == NULL)
			fail_msg("%s not PASSed in the ledger:\n%s",
			    t->serial[i], ledger);
	}
	assert_null(strstr(ledger, "FAIL"));
	free(ledger);
}

/* A profile's label rule on the real screen: a Caps Lock scan is folded
 * and PASSes; a label breaking the rule and a slot that does not exist
 * ("S9") are refused on the spot, leaving no run in the ledger. */
static void
test_label_rule_on_the_screen(void **state)
{
	struct ui_test *t = *state;
	char lower[32], *screen, *ledger;

	t->home = station_home_new("home");
	station_home_config(t->home, NULL,
	    "[profile default]\nlabel_trim = yes\nlabel_case = upper\n"
	    "label_pattern = SN-UI[0-9]+-[0-9]+\n");
	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S9");
	free(wait_for(t, "no slot S9"));
	scan(t, "XX-1234");
	free(wait_for(t, "unknown label format"));
	for (size_t i = 0; i <= strlen(t->serial[0]); i++)
		lower[i] = (char)tolower((unsigned char)t->serial[0][i]);
	scan(t, lower);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, t->serial[0]));
	free(screen);
	ledger = ledger_list(t);
	assert_non_null(strstr(ledger, t->serial[0]));
	assert_null(strstr(ledger, "XX-1234"));
	assert_null(strstr(ledger, "S9"));
	assert_null(strstr(ledger, "FAIL"));
	free(ledger);
}

/* A board that PASSed, rescanned after the screen was restarted: ALREADY
 * PASS with the run it PASSed in, counted as a pass, no FAIL. */
static void
test_rescan_after_restart_is_already_pass(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSED 1");
	free(screen);
	keys(t, "F10");
	free(wait_for(t, "UI-EXIT 0"));
	assert_int_equal(tmux(t, NULL, "kill-session", "-t", "ui", NULL), 0);
	assert_true(wait_ui_exit(t));
	/* the first run is the only one of this home: run 1 */
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	screen = wait_for(t, "ALREADY PASS (run 1, ");
	assert_non_null(strstr(screen, "PASSED 1"));
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	free(screen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_four_slots_all_pass_after_scanning, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_four_lone_scans_in_shuffled_order_all_pass, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_lone_scan_of_no_board_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_serial_of_no_device_fails_with_reason, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_scans_give_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hung_device_does_not_block_other_slot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_silent_idle_slot_does_not_stop_lone_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resize_keeps_running,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_color_still_shows_words,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_bytes_are_drawn_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_while_help_is_open_keeps_every_character, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fail_detail_view_at_80x24,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_abort_key_ends_the_run_as_aborted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_terminal_close_lets_running_slots_finish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_label_rule_on_the_screen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rescan_after_restart_is_already_pass, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
