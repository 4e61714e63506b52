/*
 * Rendering the model with ncurses.  Only the UI thread calls these.
 *
 * Layout, top to bottom: a two-row header (station, operator, batch,
 * profiles, CA, broker, counts), the slot panels in a grid, the ledger
 * tail, the scan / message line and the key help line.  PASS and FAIL are
 * full-width bands several rows tall, in block letters whenever the panel
 * has room for them (the same room for both words: a FAIL is never
 * smaller than a PASS), green / red in colour, reverse video without
 * colour: the words PASS and FAIL are always written, so nothing relies on
 * colour alone, and nothing of a FAILed slot is green.
 */
#ifndef UI_SCREEN_H
#define UI_SCREEN_H

#include <stdint.h>

#include "ui/input.h"
#include "ui/model.h"

/* Attributes chosen once colour support is known. */
struct ui_theme {
	int color; /* 0 when NO_COLOR is set or the terminal has none */
	unsigned long pass; /* attr_t values */
	unsigned long fail;
	unsigned long header;
	unsigned long title;
	unsigned long bad;
	unsigned long bar;	/* progress while running or on PASS */
	unsigned long bar_fail; /* progress of a FAILed run: never green */
};

/* After initscr(): colours unless NO_COLOR is set or unsupported. */
void ui_theme_init(struct ui_theme *t);

struct ui_view {
	const struct ui_model *model;
	const struct ui_scanbuf *scan;
	const struct ui_theme *theme;
	int help;	  /* F1 overlay shown */
	int detail;	  /* Enter: the selected slot's whole story */
	int confirm_quit; /* "slots are running, quit?" */
	int quitting;	  /* waiting for the running slots to quit */
	uint64_t now_ms;
};

/* Draw the whole screen (erase + draw + refresh).  Safe at any size,
 * down to 1x1. */
void ui_screen_draw(const struct ui_view *v);

/*
 * Every string reaches the terminal through these: text that is not
 * printable ASCII (a device's model, a reason quoting it, a scan with a
 * control byte) is drawn through text_show (station/util/text.h), so no
 * byte of it can move the cursor or be drawn as ^[ by curses.
 */
void ui_put(int y, int x, const char *s, int w);
/* Make `buf` (size bytes) printable ASCII in place, cut to fit. */
void ui_text_safe(char *buf, size_t size);

/* The selected slot's detail view over the panels (panel.c): state,
 * step, run, the whole headline, reason and next step, word-wrapped to
 * the screen (80x24 shows all of them). */
void ui_detail_draw(const struct ui_view *v, int top, int rows, int cols);

/* One slot in the rectangle (y, x, h, w) of stdscr (panel.c). */
void ui_panel_draw(const struct ui_view *v, const struct ui_slot *s,
    int selected, int y, int x, int h, int w);

#endif
