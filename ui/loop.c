/*
 * The screen's loop: poll() the terminal and the queue's wake fd with a
 * 100 ms timeout (the elapsed-time tick), apply events, handle keys, draw.
 * Keys that are not scan text (function keys, Tab, arrows, control keys)
 * can never be produced by a barcode scanner, so scanning and commands
 * never collide.
 */
#include <curses.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	int help, confirm_quit, quit;
};

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

	if (act->kind == UI_ACT_LOCATE) {
		locate(lp, act);
		return;
	}
	if (act->kind != UI_ACT_START)
		return;
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
	if (ui_model_running(lp->m) == 0 || lp->confirm_quit) {
		lp->quit = 1;
		return;
	}
	lp->confirm_quit = 1;
}

static void
key(struct loop *lp, int ch)
{
	struct ui_action act = { 0 };

	if (ch == KEY_RESIZE)
		return;
	if (lp->help) {
		lp->help = 0;
		return;
	}
	if (ch == KEY_F(10) || ch == CTRL('q') || ch == CTRL('c')) {
		request_quit(lp);
		return;
	}
	lp->confirm_quit = 0;
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
		ui_input_scan(lp->m, lp->scan.text, &act);
		ui_scanbuf_clear(&lp->scan);
		do_action(lp, &act);
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
}

static void
draw(struct loop *lp)
{
	struct ui_view v = {
		.model = lp->m,
		.scan = &lp->scan,
		.theme = &lp->theme,
		.help = lp->help,
		.confirm_quit = lp->confirm_quit,
		.now_ms = clock_now_ms(),
	};

	ui_screen_draw(&v);
}

st_err
ui_run(struct ui_model *m, struct ui_queue *q, const struct ui_ops *ops,
    char **cause)
{
	struct loop lp = { .m = m, .q = q, .ops = ops };

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return st_fail(cause, ST_E_ARG,
		    "the operator screen needs a terminal");
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

	while (!lp.quit) {
		struct pollfd pfd[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = ui_queue_fd(q), .events = POLLIN },
		};

		apply_events(&lp);
		draw(&lp);
		if (poll(pfd, 2, TICK_MS) < 0 && errno != EINTR)
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
	endwin();
	return ST_OK;
}
