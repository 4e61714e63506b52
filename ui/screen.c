/*
 * The whole screen: header, panel grid, ledger tail, scan / message line,
 * help line, and the F1 and quit-confirmation overlays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui/curses_lib.h"
#include "ui/screen.h"
#include "station/util/text.h"

enum {
	PAIR_PASS = 1,
	PAIR_FAIL,
	PAIR_HEADER,
	PAIR_BAD,
	PAIR_BAR,
	PAIR_BAR_FAIL
};

#define PANEL_MIN_W 38

void
ui_theme_init(struct ui_theme *t)
{
	const char *nc = getenv("NO_COLOR");

	memset(t, 0, sizeof *t);
	t->color = has_colors() && (nc == NULL || nc[0] == '\0');
	if (t->color && start_color() == OK) {
		use_default_colors();
		init_pair(PAIR_PASS, COLOR_BLACK, COLOR_GREEN);
		init_pair(PAIR_FAIL, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_HEADER, COLOR_WHITE, COLOR_BLUE);
		init_pair(PAIR_BAD, COLOR_YELLOW, COLOR_RED);
		init_pair(PAIR_BAR, COLOR_GREEN, -1);
		init_pair(PAIR_BAR_FAIL, COLOR_RED, -1);
		t->pass = COLOR_PAIR(PAIR_PASS) | A_BOLD;
		t->fail = COLOR_PAIR(PAIR_FAIL) | A_BOLD;
		t->header = COLOR_PAIR(PAIR_HEADER) | A_BOLD;
		t->bad = COLOR_PAIR(PAIR_BAD) | A_BOLD;
		t->bar = COLOR_PAIR(PAIR_BAR) | A_BOLD;
		t->bar_fail = COLOR_PAIR(PAIR_BAR_FAIL) | A_BOLD;
		t->title = A_BOLD | A_UNDERLINE;
		return;
	}
	t->color = 0;
	/* no colour: reverse video, and the words PASS / FAIL carry it */
	t->pass = A_REVERSE | A_BOLD;
	t->fail = A_REVERSE | A_BOLD;
	t->header = A_REVERSE;
	t->bad = A_REVERSE | A_BOLD;
	t->bar = A_BOLD;
	t->bar_fail = A_BOLD;
	t->title = A_BOLD | A_UNDERLINE;
}

void
ui_text_safe(char *buf, size_t size)
{
	char *shown;

	if (size == 0 || text_is_printable_ascii(buf))
		return;
	shown = text_show(buf, size);
	snprintf(buf, size, "%s", shown);
	free(shown);
}

void
ui_put(int y, int x, const char *s, int w)
{
	char *shown;

	if (w <= 0)
		return;
	shown = text_show(s, (size_t)w);
	mvaddnstr(y, x, shown, w);
	free(shown);
}

static void
header(const struct ui_view *v, int cols)
{
	const struct ui_model *m = v->model;
	char l1[UI_TEXT_MAX * 2], l2[UI_TEXT_MAX * 2];

	ui_fmt(l1, sizeof l1,
	    " STATION %s   operator %s   batch %s   profile %s", m->station_id,
	    m->operator_id[0] ? m->operator_id : "(scan OP:)",
	    m->batch[0] ? m->batch : "-", m->profiles);
	/* No rate yet in the first minute: "--" rather than a 0 that reads
	 * as "the line is stopped". */
	unsigned per_hour = ui_model_per_hour(m, v->now_ms);
	char rate[16] = "--";
	if (per_hour > 0)
		ui_fmt(rate, sizeof rate, "%u", per_hour);
	ui_fmt(l2, sizeof l2,
	    " PASSED %u  FAILED %u  yield %u%%  %s/h   CA %s   broker %s",
	    m->passed, m->failed, ui_model_yield(m), rate, m->ca, m->broker);
	attron((attr_t)v->theme->header);
	mvhline(0, 0, ' ', cols);
	ui_put(0, 0, l1, cols);
	attroff((attr_t)v->theme->header);
	if (LINES > 1) {
		attron(A_BOLD);
		ui_put(1, 0, l2, cols);
		attroff(A_BOLD);
	}
}

static void
grid(const struct ui_view *v, int top, int rows, int cols)
{
	const struct ui_model *m = v->model;
	int n = (int)m->n_slots;
	int ncols = cols / PANEL_MIN_W;
	int nrows, cell_h, cell_w;

	if (rows <= 0)
		return;
	if (ncols < 1)
		ncols = 1;
	if (ncols > n)
		ncols = n;
	nrows = (n + ncols - 1) / ncols;
	/* too many rows for full panels: more columns of compact ones */
	while (rows / nrows < 5 && ncols < n && cols / (ncols + 1) >= 30) {
		ncols++;
		nrows = (n + ncols - 1) / ncols;
	}
	cell_h = rows / nrows;
	cell_w = cols / ncols;
	if (cell_h < 1) {
		/* more slots than rows: one line each for those that fit */
		cell_h = 1;
		nrows = rows;
	}
	for (int i = 0; i < n; i++) {
		int r = i / ncols, c = i % ncols;

		if (r >= nrows)
			break;
		ui_panel_draw(v, &m->slots[i], (size_t)i == m->selected,
		    top + r * cell_h, c * cell_w, cell_h - (cell_h >= 6),
		    cell_w - (ncols > 1));
	}
}

/* The last line: the keys, or what a quit is waiting for, counted from
 * the model so it never says slots run when none does. */
static void
key_line(const struct ui_view *v, int cols)
{
	size_t running = ui_model_running(v->model);
	char line[UI_TEXT_MAX];

	if (v->quitting)
		ui_fmt(line, sizeof line,
		    " Quitting: waiting for %zu running slot(s) to end; "
		    "no new runs",
		    running);
	else if (v->confirm_quit && running > 0)
		ui_fmt(line, sizeof line,
		    " %zu slot(s) running: F10 or ^Q again quits when they "
		    "end, any other key stays",
		    running);
	else
		ui_copy(line, sizeof line,
		    " F1 help  Enter details  F5 retry  F8 abort  Tab select  "
		    "F10 quit");
	attron(A_REVERSE);
	mvhline(LINES - 1, 0, ' ', cols);
	mvaddnstr(LINES - 1, 0, line, cols);
	attroff(A_REVERSE);
}

static void
bottom(const struct ui_view *v, int ledger_top, int ledger_rows, int cols)
{
	const struct ui_model *m = v->model;
	char line[UI_TEXT_MAX * 2];

	for (int i = 0; i < ledger_rows && (size_t)i < m->n_ledger; i++)
		ui_put(ledger_top + i, 0, m->ledger[i], cols);
	if (LINES >= 3) {
		ui_fmt(line, sizeof line, "scan> %s_", v->scan->text);
		ui_text_safe(line, sizeof line);
		attron(A_BOLD);
		ui_put(LINES - 2, 0, line, cols);
		attroff(A_BOLD);
		if (m->message[0] != '\0' && cols > 30) {
			int x = (int)strlen(line) + 2;

			if (x < 24)
				x = 24;
			if (x < cols) {
				attr_t a = m->message_bad ?
				    (attr_t)v->theme->bad :
				    A_NORMAL;
				attron(a);
				ui_put(LINES - 2, x, m->message, cols - x);
				attroff(a);
			}
		}
	}
	key_line(v, cols);
}

static const char *const help_text[] = {
	"KEYS (F1 or Esc closes; a scan goes on to the scan line)",
	"  Enter       (scan line empty) the selected slot's details",
	"  F5, Ctrl-R  retry the selected FAILed slot",
	"  F8, F8      abort the selected slot's run (it FAILs)",
	"  Tab, arrows select a slot",
	"  F10, Ctrl-Q quit (twice while slots run: waits for them)",
	"  Ctrl-L      redraw the screen",
	"SCANS (scanner or typing, then Enter)",
	"  SERIAL      start on the slot holding that board",
	"  slot label  then SERIAL: run it on that slot",
	"  OP:<id>     operator badge      LOT:<id>  batch",
	"  Backspace erases, Esc clears the scan line",
};

static void
help_overlay(int cols)
{
	int n = (int)(sizeof help_text / sizeof help_text[0]);
	int w = 62 < cols - 2 ? 62 : cols - 2;
	int y = (LINES - n - 2) / 2;
	int x = (cols - w) / 2;

	if (y < 0)
		y = 0;
	if (w < 10)
		return;
	attron(A_REVERSE);
	for (int i = 0; i < n + 2 && y + i < LINES; i++) {
		mvhline(y + i, x, ' ', w);
		if (i >= 1 && i <= n)
			mvaddnstr(y + i, x + 1, help_text[i - 1], w - 2);
	}
	attroff(A_REVERSE);
}

void
ui_screen_draw(const struct ui_view *v)
{
	int cols = COLS, rows = LINES;
	int ledger_rows, panel_top = 2, panel_rows;

	erase();
	if (rows < 1 || cols < 1)
		goto out;
	ledger_rows = rows >= 40 ? UI_LEDGER_LINES : rows >= 20 ? 2 : 0;
	panel_rows = rows - panel_top - ledger_rows - 2;
	header(v, cols);
	grid(v, panel_top, panel_rows, cols);
	bottom(v, panel_top + (panel_rows > 0 ? panel_rows : 0), ledger_rows,
	    cols);
	if (v->detail)
		ui_detail_draw(v, panel_top, rows - panel_top - 2, cols);
	if (v->help)
		help_overlay(cols);
out:
	refresh();
}
