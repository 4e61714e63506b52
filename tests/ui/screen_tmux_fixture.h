/*
 * Shared by the tests of the real `station ui` in a real terminal
 * (test_screen_tmux.c: the line's behaviour on the screen;
 * test_screen_tmux_views.c: the screen's views): tmux runs it on a private
 * server socket, send-keys types scans as a barcode scanner would, and
 * capture-pane reads the screen.  Devices are devsim processes.  Screens
 * are awaited by polling with a bounded number of attempts; the tmux server
 * is killed at teardown whatever happened.
 */
#ifndef TESTS_UI_SCREEN_TMUX_FIXTURE_H
#define TESTS_UI_SCREEN_TMUX_FIXTURE_H

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

static inline void
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
static inline int
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

static inline char *
capture(struct ui_test *t)
{
	char *out = NULL;

	tmux(t, &out, "capture-pane", "-p", "-t", "ui", NULL);
	return out;
}

static inline char *squash(const char *s);

/* Poll the screen until it shows `needle` (`flat`: in the squashed
 * screen, squash); fail (printing the last screen) if it never does.
 * Returns the screen (caller frees). */
static inline char *
poll_screen(struct ui_test *t, const char *needle, int flat)
{
	char *screen = NULL;

	for (int i = 0; i < POLL_ATTEMPTS; i++) {
		free(screen);
		screen = capture(t);
		if (screen != NULL) {
			char *seen = flat ? squash(screen) : screen;
			int found = strstr(seen, needle) != NULL;

			if (flat)
				free(seen);
			if (found)
				return screen;
		}
		nap();
	}
	fail_msg("screen never showed '%s'; last screen:\n%s", needle,
	    screen ? screen : "(none)");
	return NULL;
}

/* Poll the screen until it shows `needle`. */
static inline char *
wait_for(struct ui_test *t, const char *needle)
{
	return poll_screen(t, needle, 0);
}

static inline void
scan(struct ui_test *t, const char *text)
{
	tmux(t, NULL, "send-keys", "-t", "ui", "-l", text, NULL);
	tmux(t, NULL, "send-keys", "-t", "ui", "Enter", NULL);
}

/* The station's pid, from the pid file its start script writes; 0 while
 * there is none. */
static inline pid_t
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
static inline int
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
static inline char *
home_of(struct ui_test *t)
{
	return t->home ? xstrdup(t->home->home) : xasprintf("%s/home", t->dir);
}

/* `station ledger list` of the screen's home (caller frees). */
static inline char *
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
static inline char *
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
static inline char *
wait_for_text(struct ui_test *t, const char *needle)
{
	return poll_screen(t, needle, 1);
}

static inline void
keys(struct ui_test *t, const char *name)
{
	tmux(t, NULL, "send-keys", "-t", "ui", name, NULL);
}

static inline int
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

static inline int
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
static inline void
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
static inline void
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

#endif
