/*
 * One slot panel: title, step and progress, then the state area (a PASS
 * band, a FAIL band with headline / reason / next step, or the device
 * while idle).  Everything is clipped to the panel's rectangle.
 */
#include <stdio.h>
#include <string.h>

#include "ui/curses_lib.h"
#include "ui/screen.h"

/* 5-row block letters for the two words that matter. */
static const char *const glyph_rows[][5] = {
	['P' - 'A'] = { "#### ", "#   #", "#### ", "#    ", "#    " },
	['A' - 'A'] = { " ### ", "#   #", "#####", "#   #", "#   #" },
	['S' - 'A'] = { " ####", "#    ", " ### ", "    #", "#### " },
	['F' - 'A'] = { "#####", "#    ", "#### ", "#    ", "#    " },
	['I' - 'A'] = { "#####", "  #  ", "  #  ", "  #  ", "#####" },
	['L' - 'A'] = { "#    ", "#    ", "#    ", "#    ", "#####" },
};

#define GLYPH_W 5
#define GLYPH_H 5

static void
put(int y, int x, int w, const char *s)
{
	ui_put(y, x, s, w);
}

static void
band(int y, int x, int h, int w, attr_t attr)
{
	attron(attr);
	for (int r = 0; r < h; r++)
		mvhline(y + r, x, ' ', w);
	attroff(attr);
}

static void
centered(int y, int x, int w, const char *s, attr_t attr)
{
	int len = (int)strlen(s);
	int at = len < w ? x + (w - len) / 2 : x;

	attron(attr);
	put(y, at, w, s);
	attroff(attr);
}

/* Block letters of `word` centred in the band; 0 if they do not fit. */
static int
block_word(int y, int x, int h, int w, const char *word, attr_t attr)
{
	int n = (int)strlen(word);
	int width = n * (GLYPH_W + 1) - 1;
	int top = y + (h - GLYPH_H) / 2;
	int left = x + (w - width) / 2;

	if (h < GLYPH_H || w < width + 2)
		return 0;
	attron(attr);
	for (int r = 0; r < GLYPH_H; r++) {
		for (int i = 0; i < n; i++) {
			const char *row = glyph_rows[word[i] - 'A'][r];

			mvaddnstr(top + r, left + i * (GLYPH_W + 1), row,
			    GLYPH_W);
		}
	}
	attroff(attr);
	return 1;
}

/* Word-wrap `text` after `prefix` over at most `rows` rows. */
static int
wrapped(int y, int x, int w, int rows, const char *prefix, const char *text)
{
	char buf[UI_TEXT_MAX * 2];
	const char *p = buf;
	int used = 0;

	ui_fmt(buf, sizeof buf, "%s%s", prefix, text);
	ui_text_safe(buf, sizeof buf); /* before measuring it */
	while (*p != '\0' && used < rows && w > 0) {
		int len = (int)strlen(p);
		int cut = len;

		if (len > w) {
			cut = w;
			if (used + 1 < rows) {
				/* break at the last space that fits */
				for (int k = w; k > w / 2; k--) {
					if (p[k] == ' ') {
						cut = k;
						break;
					}
				}
			}
		}
		put(y + used, x, cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		used++;
	}
	return used;
}

static void
progress_bar(const struct ui_view *v, const struct ui_slot *s, int y, int x,
    int w)
{
	char head[48], left[16] = "";
	int bar_w, fill, countdown = ui_slot_countdown_s(s, v->now_ms);
	/* the bar takes the outcome's colour: never green on a FAIL */
	attr_t bar = s->state == UI_SLOT_FAIL ? (attr_t)v->theme->bar_fail :
						(attr_t)v->theme->bar;

	/* a long step shows the time left before its deadline */
	if (countdown >= 0)
		ui_fmt(left, sizeof left, "%3ds ", countdown);
	ui_fmt(head, sizeof head, "%-12s %3d%% %s",
	    s->has_step ? step_name(s->step) : "starting", s->progress, left);
	put(y, x, w, head);
	bar_w = w - (int)strlen(head) - 2;
	if (bar_w < 4)
		return;
	fill = bar_w * s->progress / 100;
	mvaddch(y, x + (int)strlen(head), '[');
	attron(bar);
	for (int i = 0; i < bar_w; i++)
		mvaddch(y, x + (int)strlen(head) + 1 + i, i < fill ? '#' : '.');
	attroff(bar);
	mvaddch(y, x + (int)strlen(head) + 1 + bar_w, ']');
}

static void
fail_area(const struct ui_view *v, const struct ui_slot *s, int y, int x, int h,
    int w)
{
	attr_t a = (attr_t)v->theme->fail;
	int text_rows = h >= 14 ? 7 : h >= 9 ? 5 : h >= 4 ? 3 : 0;
	int band_h = h - text_rows;
	int row;

	/* Block letters whenever a PASS band of this height would get them:
	 * the text then keeps the rows left (the headline at least), and
	 * the detail view (Enter) has the rest. */
	if (band_h < GLYPH_H && h >= GLYPH_H) {
		band_h = GLYPH_H;
		text_rows = h - band_h;
	}
	if (band_h < 1) {
		band_h = h;
		text_rows = 0;
	}
	band(y, x, band_h, w, a);
	if (!block_word(y, x, band_h, w, "FAIL", a)) {
		centered(y + (band_h - 1) / 2, x, w, "FAIL", a);
		if (text_rows == 0 && band_h >= 2)
			centered(y + (band_h - 1) / 2 + 1, x, w, s->headline,
			    a);
	}
	row = y + band_h;
	if (text_rows == 0)
		return;
	attron(A_BOLD);
	put(row++, x, w, s->headline);
	attroff(A_BOLD);
	text_rows--;
	if (text_rows == 0)
		return;
	row += wrapped(row, x, w,
	    text_rows > 4     ? 3 :
		text_rows > 2 ? 2 :
				1,
	    "why: ", s->reason);
	wrapped(row, x, w, y + h - row, "next: ", s->next);
}

static void
state_area(const struct ui_view *v, const struct ui_slot *s, int y, int x,
    int h, int w)
{
	char line[UI_TEXT_MAX];
	attr_t a;

	if (h <= 0)
		return;
	switch (s->state) {
	case UI_SLOT_PASS:
		a = (attr_t)v->theme->pass;
		band(y, x, h, w, a);
		if (!block_word(y, x, h, w, "PASS", a))
			centered(y + (h - 1) / 2, x, w, "PASS", a);
		break;
	case UI_SLOT_FAIL:
		fail_area(v, s, y, x, h, w);
		break;
	case UI_SLOT_RUNNING:
		ui_fmt(line, sizeof line, "%s", s->device);
		put(y, x, w, line);
		break;
	case UI_SLOT_IDLE:
		ui_fmt(line, sizeof line, "%s  (profile %s)", s->device,
		    s->profile[0] ? s->profile : "default");
		put(y, x, w, line);
		if (h >= 2)
			put(y + 1, x, w,
			    s->device_note[0] ? "ready: plug a "
						"device in" :
						"ready: scan a device serial");
		break;
	}
}

/* Compact form for many slots: one or two rows per slot. */
static void
compact(const struct ui_view *v, const struct ui_slot *s, int selected, int y,
    int x, int h, int w)
{
	char line[UI_TEXT_MAX];
	const char *word = ui_slot_state_name(s->state);
	attr_t a = s->state == UI_SLOT_PASS ? (attr_t)v->theme->pass :
	    s->state == UI_SLOT_FAIL	    ? (attr_t)v->theme->fail :
					      A_NORMAL;

	/* PASS and FAIL alike colour the slot's whole first row */
	if (a != A_NORMAL)
		band(y, x, 1, w, a);
	attron(a);
	mvprintw(y, x, "%-7s",
	    s->state == UI_SLOT_PASS || s->state == UI_SLOT_FAIL ? word : "");
	if (s->state == UI_SLOT_RUNNING)
		ui_fmt(line, sizeof line, "%s%-4s %-16s %-12s %3d%% %3us",
		    selected ? ">" : " ", s->label, s->serial,
		    s->has_step ? step_name(s->step) : "starting", s->progress,
		    ui_slot_elapsed_s(s, v->now_ms));
	else if (s->state == UI_SLOT_FAIL)
		ui_fmt(line, sizeof line, "%s%-4s %-16s %s",
		    selected ? ">" : " ", s->label, s->serial, s->headline);
	else if (s->state == UI_SLOT_PASS)
		ui_fmt(line, sizeof line, "%s%-4s %-16s %s",
		    selected ? ">" : " ", s->label, s->serial,
		    s->already[0]   ? s->already :
			s->no_smoke ? "(no smoke test)" :
				      "");
	else
		ui_fmt(line, sizeof line, "%s%-4s %-16s %s",
		    selected ? ">" : " ", s->label, s->serial,
		    s->device_note[0]		 ? s->device_note :
			s->state == UI_SLOT_IDLE ? "ready" :
						   "");
	put(y, x + 7, w - 7, line);
	attroff(a);
	if (h >= 2 && s->state == UI_SLOT_FAIL)
		wrapped(y + 1, x + 8, w - 8, 1, "next: ", s->next);
}

void
ui_panel_draw(const struct ui_view *v, const struct ui_slot *s, int selected,
    int y, int x, int h, int w)
{
	char title[UI_TEXT_MAX];
	attr_t ta = selected ? (attr_t)v->theme->title | A_REVERSE :
			       (attr_t)v->theme->title;

	if (h <= 0 || w <= 8)
		return;
	if (h < 5) {
		compact(v, s, selected, y, x, h, w);
		return;
	}
	ui_fmt(title, sizeof title, "%s%s  %s%s%s%s", selected ? "> " : "  ",
	    s->label, s->serial[0] ? s->serial : "-",
	    s->device_note[0] ? "  [" : "", s->device_note,
	    s->device_note[0] ? "]" : "");
	attron(ta);
	mvhline(y, x, ' ', w);
	put(y, x, w, title);
	attroff(ta);
	if (s->state != UI_SLOT_IDLE) {
		char right[32];
		int rl;

		ui_fmt(right, sizeof right, " %s %4us ",
		    ui_slot_state_name(s->state),
		    ui_slot_elapsed_s(s, v->now_ms));
		rl = (int)strlen(right);
		if (rl < w - (int)strlen(title)) {
			attron(ta | A_BOLD);
			put(y, x + w - rl, rl, right);
			attroff(ta | A_BOLD);
		}
	}
	if (s->state == UI_SLOT_RUNNING || s->state == UI_SLOT_FAIL)
		progress_bar(v, s, y + 1, x, w);
	else if (s->state == UI_SLOT_PASS && s->already[0] != '\0')
		put(y + 1, x, w, s->already);
	else if (s->state == UI_SLOT_PASS)
		put(y + 1, x, w,
		    s->no_smoke ? "PASS (no smoke test): to the PASS tray" :
				  "done: put the device on the PASS tray");
	state_area(v, s, y + 2, x, h - 2, w);
}

/* The state of a slot in words, for the detail view. */
static void
detail_state(const struct ui_slot *s, uint64_t now_ms, char *buf, size_t size)
{
	int countdown = ui_slot_countdown_s(s, now_ms);

	switch (s->state) {
	case UI_SLOT_RUNNING:
		if (countdown >= 0)
			ui_fmt(buf, size,
			    "running %s, %ds before its deadline%s",
			    s->has_step ? step_name(s->step) : "(starting)",
			    countdown, s->abort_asked ? " (aborting)" : "");
		else
			ui_fmt(buf, size, "running %s%s",
			    s->has_step ? step_name(s->step) : "(starting)",
			    s->abort_asked ? " (aborting)" : "");
		break;
	case UI_SLOT_PASS:
		ui_fmt(buf, size, "%s",
		    s->already[0]   ? s->already :
			s->no_smoke ? "PASS (no smoke test)" :
				      "PASS");
		break;
	case UI_SLOT_FAIL:
		ui_fmt(buf, size, "FAIL at %s",
		    s->has_step ? step_name(s->step) : "?");
		break;
	case UI_SLOT_IDLE:
		ui_fmt(buf, size, "idle%s%s", s->device_note[0] ? ": " : "",
		    s->device_note);
		break;
	}
}

void
ui_detail_draw(const struct ui_view *v, int top, int rows, int cols)
{
	const struct ui_model *m = v->model;
	const struct ui_slot *s = &m->slots[m->selected];
	char line[UI_TEXT_MAX * 2], state[UI_TEXT_MAX];
	int y = top, end = top + rows;

	if (rows < 3 || cols < 20)
		return;
	for (int r = top; r < end; r++)
		mvhline(r, 0, ' ', cols);
	detail_state(s, v->now_ms, state, sizeof state);
	ui_fmt(line, sizeof line, "%s  %s  run #%lld  %s", s->label,
	    s->serial[0] ? s->serial : "-", (long long)s->run_id, state);
	attron(s->state == UI_SLOT_FAIL	 ? (attr_t)v->theme->fail :
		s->state == UI_SLOT_PASS ? (attr_t)v->theme->pass :
					   (attr_t)v->theme->title);
	mvhline(y, 0, ' ', cols);
	put(y++, 0, cols, line);
	attroff((attr_t)v->theme->fail | (attr_t)v->theme->pass |
	    (attr_t)v->theme->title);
	ui_fmt(line, sizeof line, "device %s  profile %s", s->device,
	    s->profile[0] ? s->profile : "default");
	put(y++, 0, cols, line);
	if (s->state == UI_SLOT_FAIL && y < end) {
		attron(A_BOLD);
		y += wrapped(y, 0, cols, end - y, "", s->headline);
		attroff(A_BOLD);
		if (y < end)
			y += wrapped(y, 0, cols, end - y, "why: ", s->reason);
		if (y < end)
			y += wrapped(y, 0, cols, end - y, "next: ", s->next);
	}
	if (y < end)
		put(end - 1, 0, cols,
		    "Esc closes; a scan goes on to the scan line");
}
