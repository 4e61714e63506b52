/*
 * Scans and selection: what a scan (barcode scanner or typed text ending
 * with Enter) or a selection key does to the model.  Pure functions over
 * the model; the loop (loop.c) turns a UI_ACT_START into line_submit.
 *
 * Scan grammar (checked in this order, after trimming white space):
 *
 *	<slot label>   e.g. S2 (any case): with a serial pending, start it
 *	               on that slot; otherwise select the slot and send the
 *	               next serial there (so "S2, SN-1" and "SN-1, S2" both
 *	               work)
 *	OP:<id>        operator badge: sets the operator (1..32 of
 *	               [A-Za-z0-9._-])
 *	LOT:<id>       batch / lot: sets the batch (1..64 of the same)
 *	<like a label> the letters of a slot label and a number, naming no
 *	               slot (S9 on a four-slot fixture): "no slot S9"
 *	<serial>       a device serial: the label rule of the slot's profile
 *	               (ui_slot.label_format: trim, case, pattern, check
 *	               digit; for a lone scan, the first slot whose rule
 *	               takes it) turns the scan into the serial, which must
 *	               then be serial_is_valid and fit [station]
 *	               serial_pattern (model.format); a scan no rule takes
 *	               is refused on the spot, naming why.  Starts at once on
 *	               the slot whose label was scanned just before; else
 *	               (a lone scan) the line looks for the idle slot whose
 *	               board reports it and starts there (UI_ACT_LOCATE),
 *	               unless the screen asks for a slot scan
 *	               (require_slot_scan) or every slot is busy: then it
 *	               waits for a slot label
 *	anything else  "unknown scan '...'", nothing happens
 *
 * A serial already running on a slot or PASSed this session is refused
 * (duplicate); a FAILed serial may be scanned again (retry).
 */
#ifndef UI_INPUT_H
#define UI_INPUT_H

#include <stddef.h>

#include "ui/model.h"

#define UI_SCAN_MAX 128

enum ui_action_kind {
	UI_ACT_NONE = 0,
	UI_ACT_START,  /* run `serial` on slot position `slot_pos` */
	UI_ACT_LOCATE, /* run `serial` on the idle slot holding its board */
};

struct ui_action {
	enum ui_action_kind kind;
	size_t slot_pos;
	char serial[UI_NAME_MAX];
};

/* Apply one complete scan; sets the message line. */
void ui_input_scan(struct ui_model *m, const char *text, struct ui_action *act);
/* Retry the selected slot (F5): only a FAILed slot with a serial. */
void ui_input_retry(struct ui_model *m, struct ui_action *act);
/* Move the selection by `delta` slots, wrapping. */
void ui_input_select(struct ui_model *m, int delta);

/* The line being scanned or typed, shown under the panels. */
struct ui_scanbuf {
	char text[UI_SCAN_MAX];
	size_t len;
};

/* Add a byte (curses key codes above 0xff are ignored; an overlong scan
 * is cut, and then refused by the grammar; a scan holding a byte that is
 * not printable ASCII is refused by ui_input_scan, shown escaped). */
void ui_scanbuf_add(struct ui_scanbuf *b, int ch);
void ui_scanbuf_erase(struct ui_scanbuf *b);
void ui_scanbuf_clear(struct ui_scanbuf *b);

#endif
