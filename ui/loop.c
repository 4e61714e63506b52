/*
 * The screen's loop: poll() the terminal and the queue's wake fd with a
 * 100 ms timeout (the elapsed-time tick), apply events, handle keys, draw.
 * Keys that are not scan text (function keys, Tab, arrows, control keys)
 * can never be produced by a barcode scanner, so scanning and commands
 * never collide: while the help or the detail view is open, a printable
 * key closes it and is kept as the scan's first character, so a scan
 * never loses a byte to an overlay.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/curses_lib.h"
#include "ui/input.h"
#include "ui/screen.h"
#include "ui/ui.h"
#include "station/util/clock.h"

#define TICK_MS 100
#define CTRL(c) ((c)&0x1f)

struct loop {
	struct ui_model *m;
	struct ui_queue *q;
	const struct ui_ops *ops;
	struct ui_scanbuf scan;
	struct ui_theme theme;
	int help, detail;
	int confirm_quit;   /* F10 once while slots run */
	int quitting;	    /* F10 twice: wait for the running slots */
	long confirm_abort; /* slot position F8 was pressed on once, or -1 */
	int prev_key;	    /* the key before this one */
	int quit;
};

/* Set by SIGHUP: the terminal is gone (ui.h). */
static volatile sig_atomic_t hung_up;

static void
on_hangup(int sig)
{
	(void)sig;
	hung_up = 1;
}

/* A lone scan: the line answers later, through the queue. */
static void
locate(struct loop *lp, const struct ui_action *act)
{
	struct ui_model *m = lp->m;
	char *cause = NULL;
	st_err err;

	err = lp->ops->locate(lp->ops->ctx, act->serial,
	    m->operator_id[0] ? m->operator_id : NULL,
	    m->batch[0] ? m->batch : NULL, &cause);
	if (err)
		ui_model_message(m, 1, "could not look for %s: %s", act->serial,
		    cause ? cause : "refused");
	free(cause);
}

static void
do_action(struct loop *lp, const struct ui_action *act)
{
	struct ui_model *m = lp->m;
	struct ui_slot *s;
	char *cause = NULL;

	if (act->kind == UI_ACT_LOCATE && lp->quitting) {
		ui_model_message(m, 1, "quitting: %s not started", act->serial);
		return;
	}
	if (act->kind == UI_ACT_LOCATE) {
		locate(lp, act);
		return;
	}
	if (act->kind != UI_ACT_START)
		return;
	if (lp->quitting) {
		ui_model_message(m, 1,
		    "quitting: %s not started, the screen waits for the "
		    "running slots only",
		    act->serial);
		return;
	}
	s = &m->slots[act->slot_pos];
	if (lp->ops->submit(lp->ops->ctx, s->index, act->serial,
		m->operator_id[0] ? m->operator_id : NULL,
		m->batch[0] ? m->batch : NULL, &cause) != ST_OK) {
		ui_model_message(m, 1, "%s: could not start %s: %s", s->label,
		    act->serial, cause ? cause : "refused");
		free(cause);
		return;
	}
	ui_model_slot_started(m, act->slot_pos, act->serial, clock_now_ms());
	ui_model_message(m, 0, "%s: %s started", s->label, act->serial);
}

static void
request_quit(struct loop *lp)
{
	if (ui_model_running(lp->m) == 0) {
		lp->quit = 1;
		return;
	}
	if (lp->confirm_quit) {
		lp->quitting = 1;
		ui_model_message(lp->m, 0,
		    "quitting: no new runs; the screen closes when the "
		    "running slots end");
		return;
	}
	lp->confirm_quit = 1;
}

/* F8: abort the selected slot's run, after a second F8 on the same
 * slot (an abort FAILs the board, so one stray key does not). */
static void
request_abort(struct loop *lp)
{
	struct ui_model *m = lp->m;
	struct ui_slot *s = &m->slots[m->selected];
	char *cause = NULL;

	if (s->state != UI_SLOT_RUNNING) {
		ui_model_message(m, 1, "abort: %s runs nothing", s->label);
		lp->confirm_abort = -1;
		return;
	}
	if (lp->confirm_abort != (long)m->selected) {
		lp->confirm_abort = (long)m->selected;
		ui_model_message(m, 1,
		    "F8 again aborts %s's run of %s (it FAILs); any other "
		    "key keeps it",
		    s->label, s->serial[0] ? s->serial : "-");
		return;
	}
	lp->confirm_abort = -1;
	if (lp->ops->abort == NULL ||
	    lp->ops->abort(lp->ops->ctx, s->index, &cause) != ST_OK) {
		ui_model_message(m, 1, "abort: %s: %s", s->label,
		    cause ? cause : "not possible here");
		free(cause);
		return;
	}
	s->abort_asked = 1;
	ui_model_message(m, 1, "%s: aborting: the run stops now", s->label);
}

/* While an overlay (help, detail) is open: F1 and Esc close it; any
 * other key closes it and is then handled as usual, so the first byte
 * of a scan goes to the scan line (Enter on an empty scan line only
 * closes).  1 when the key was used up. */
static int
overlay_key(struct loop *lp, int ch)
{
	if (!lp->help && !lp->detail)
		return 0;
	lp->help = 0;
	lp->detail = 0;
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		return lp->scan.len == 0; /* closes; a scan goes on */
	return ch == KEY_F(1) || ch == 27;
}

/* Enter: a scan when something was typed, else the selected slot's
 * detail view (its whole reason and next step).  A scanner that ends a
 * scan with CR LF sends the LF on an empty line: that is no Enter. */
static void
enter(struct loop *lp, int ch, int prev)
{
	struct ui_action act = { 0 };

	if (lp->scan.len == 0 && ch == '\n' && prev == '\r')
		return;
	if (lp->scan.len == 0) {
		lp->detail = 1;
		return;
	}
	ui_input_scan(lp->m, lp->scan.text, &act);
	ui_scanbuf_clear(&lp->scan);
	do_action(lp, &act);
}

static void
key(struct loop *lp, int ch)
{
	struct ui_action act = { 0 };
	int prev = lp->prev_key;

	if (ch == KEY_RESIZE)
		return;
	lp->prev_key = ch;
	if (overlay_key(lp, ch))
		return;
	if (ch == KEY_F(10) || ch == CTRL('q') || ch == CTRL('c')) {
		request_quit(lp);
		return;
	}
	if (!lp->quitting)
		lp->confirm_quit = 0;
	if (ch == KEY_F(8)) {
		request_abort(lp);
		return;
	}
	lp->confirm_abort = -1;
	switch (ch) {
	case KEY_F(1):
		lp->help = 1;
		break;
	case KEY_F(5):
	case CTRL('r'):
		ui_input_retry(lp->m, &act);
		do_action(lp, &act);
		break;
	case '\t':
	case KEY_RIGHT:
	case KEY_DOWN:
		ui_input_select(lp->m, 1);
		break;
	case KEY_BTAB:
	case KEY_LEFT:
	case KEY_UP:
		ui_input_select(lp->m, -1);
		break;
	case CTRL('l'):
		clearok(curscr, TRUE);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		enter(lp, ch, prev);
		break;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('h'):
		ui_scanbuf_erase(&lp->scan);
		break;
	case 27:
		ui_scanbuf_clear(&lp->scan);
		break;
	default:
		ui_scanbuf_add(&lp->scan, ch);
		break;
	}
}

static void
apply_events(struct loop *lp)
{
	struct ui_event *evs = NULL;
	size_t n = ui_queue_drain(lp->q, &evs);
	uint64_t now = clock_now_ms();

	for (size_t i = 0; i < n; i++)
		ui_model_apply(lp->m, &evs[i], now);
	ui_events_free(evs, n);
	if (lp->m->bells > 0) {
		beep();
		lp->m->bells = 0;
	}
	/* the bottom line tells the truth: no "slots are running" once
	 * none is, and a wait to quit ends with the last run */
	if (ui_model_running(lp->m) == 0) {
		lp->confirm_quit = 0;
		if (lp->quitting)
			lp->quit = 1;
	}
}

static void
draw(struct loop *lp)
{
	struct ui_view v = {
		.model = lp->m,
		.scan = &lp->scan,
		.theme = &lp->theme,
		.help = lp->help,
		.detail = lp->detail,
		.confirm_quit = lp->confirm_quit,
		.quitting = lp->quitting,
		.now_ms = clock_now_ms(),
	};

	ui_screen_draw(&v);
}

st_err
ui_load(char **cause)
{
	return curses_lib_load(cause);
}

st_err
ui_run(struct ui_model *m, struct ui_queue *q, const struct ui_ops *ops,
    char **cause)
{
	struct loop lp = { .m = m, .q = q, .ops = ops, .confirm_abort = -1 };
	struct sigaction sa;
	st_err err;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return st_fail(cause, ST_E_ARG,
		    "the operator screen needs a terminal");
	err = ui_load(cause);
	if (err)
		return err;
	if (initscr() == NULL)
		return st_fail(cause, ST_E_IO,
		    "cannot initialise the terminal");
	raw(); /* Ctrl-Q, Ctrl-C arrive as keys, not flow control/signals */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	ui_theme_init(&lp.theme);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hangup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);

	while (!lp.quit && !hung_up) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = ui_queue_fd(q), .events = POLLIN },
		};

		apply_events(&lp);
		draw(&lp);
		if (poll(pfd, 2, TICK_MS) < 0 && errno != EINTR)
			break;
		if (hung_up)
			break;
		/* the terminal went away: nobody is left to read the screen */
		if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		while (!lp.quit) {
			int ch = getch();

			if (ch == ERR)
				break;
			key(&lp, ch);
		}
	}
	/* the terminal may be gone: from here on a hang-up must not kill
	 * the process while the caller waits for running slots */
	signal(SIGHUP, SIG_IGN);
	endwin();
	return ST_OK;
}
