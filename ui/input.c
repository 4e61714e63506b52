/*
 * The scan grammar (input.h) and slot selection.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ui/input.h"
#include "station/config/scan_format.h"
#include "station/config/config.h"
#include "station/config/profile.h"
#include "station/util/text.h"

static void
start(struct ui_model *m, size_t pos, const char *serial, struct ui_action *act)
{
	act->kind = UI_ACT_START;
	act->slot_pos = pos;
	ui_copy(act->serial, sizeof act->serial, serial);
	m->pending_serial[0] = '\0';
	m->armed_slot = -1;
	m->selected = pos;
}

static void
scan_slot(struct ui_model *m, size_t pos, struct ui_action *act)
{
	struct ui_slot *s = &m->slots[pos];

	if (m->pending_serial[0] == '\0') {
		m->selected = pos;
		m->armed_slot = (long)pos;
		ui_model_message(m, 0, "%s selected: scan the device serial",
		    s->label);
		return;
	}
	if (s->state == UI_SLOT_RUNNING) {
		ui_model_message(m, 1, "%s is busy: scan another slot for %s",
		    s->label, m->pending_serial);
		return;
	}
	start(m, pos, m->pending_serial, act);
}

static void
scan_serial(struct ui_model *m, const char *serial, struct ui_action *act)
{
	int taken = ui_model_serial_taken(m, serial);
	long pos;

	if (taken != 0) {
		ui_model_message(m, 1, "%s already %s: scan the next device",
		    serial, taken == 1 ? "running" : "PASSed in this batch");
		return;
	}
	ui_copy(m->pending_serial, sizeof m->pending_serial, serial);
	if (m->armed_slot >= 0 && (size_t)m->armed_slot < m->n_slots) {
		scan_slot(m, (size_t)m->armed_slot, act);
		return;
	}
	pos = ui_model_next_free(m);
	if (m->require_slot_scan && m->n_slots > 1) {
		ui_model_message(m, 0, "%s: now scan the slot label", serial);
		return;
	}
	if (pos < 0) {
		ui_model_message(m, 1,
		    "every slot is busy: %s waits, scan a slot label when one frees",
		    serial);
		return;
	}
	/* the board's slot is found by asking the idle slots (the line does
	 * it off this thread); the outcome comes back as events */
	act->kind = UI_ACT_LOCATE;
	ui_copy(act->serial, sizeof act->serial, serial);
	m->pending_serial[0] = '\0';
	ui_model_message(m, 0, "%s: looking for its board...", serial);
}

/* Letters then digits, as slot labels are ("S12"): the length of the
 * letters, or 0 when `s` is not of that shape. */
static size_t
label_shape(const char *s)
{
	size_t letters = 0, digits = 0;

	while (isalpha((unsigned char)s[letters]))
		letters++;
	while (isdigit((unsigned char)s[letters + digits]))
		digits++;
	if (letters == 0 || letters > 4 || digits == 0 || digits > 3 ||
	    s[letters + digits] != '\0')
		return 0;
	return letters;
}

/* `scan` looks like a label of this fixture (the letters of one of its
 * slot labels and a number) but names none of its slots: a mis-scan of
 * another fixture's label, never a serial. */
static int
names_no_slot(const struct ui_model *m, const char *scan)
{
	size_t n = label_shape(scan);

	if (n == 0)
		return 0;
	for (size_t i = 0; i < m->n_slots; i++) {
		const char *label = m->slots[i].label;

		if (label_shape(label) == n && strncasecmp(label, scan, n) == 0)
			return 1;
	}
	return 0;
}

/* The rule of the slot the scan goes to: the armed slot's, else (a lone
 * scan) the first slot whose rule takes it.  1 with the serial in `out`;
 * else 0 after saying why on the message line. */
static int
label_to_serial(struct ui_model *m, const char *scan, char *out, size_t size)
{
	static const char not_serial[] = "not a device serial";
	const char *bad = not_serial;
	size_t from = 0, to = m->n_slots;

	if (m->armed_slot >= 0 && (size_t)m->armed_slot < m->n_slots) {
		from = (size_t)m->armed_slot;
		to = from + 1;
	}
	for (size_t i = from; i < to; i++) {
		const char *why = scan_format_label(m->slots[i].label_format,
		    scan, out, size);

		if (why == NULL && !serial_is_valid(out))
			why = not_serial;
		if (why == NULL)
			why = scan_format_check(m->format, out);
		if (why == NULL)
			return 1;
		if (i == from)
			bad = why; /* the first slot's reason is shown */
	}
	if (bad == not_serial)
		ui_model_message(m, 1, "unknown scan '%s'", scan);
	else
		ui_model_message(m, 1,
		    "'%s': %s: scan refused, nothing started", scan, bad);
	return 0;
}

/* "OP:alice" -> "alice" if `text` starts with `prefix` (any case). */
static const char *
after_prefix(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncasecmp(text, prefix, n) != 0)
		return NULL;
	return text + n;
}

void
ui_input_scan(struct ui_model *m, const char *text, struct ui_action *act)
{
	char scan[UI_SCAN_MAX], serial[UI_NAME_MAX];
	size_t len;
	const char *start_at = text, *v;
	long pos;

	memset(act, 0, sizeof *act);
	while (isspace((unsigned char)*start_at))
		start_at++;
	ui_copy(scan, sizeof scan, start_at);
	len = strlen(scan);
	while (len > 0 && isspace((unsigned char)scan[len - 1]))
		scan[--len] = '\0';
	if (len == 0)
		return;
	if (!text_is_printable_ascii(scan)) {
		char *shown = text_escape(scan, 64);

		ui_model_message(m, 1,
		    "scan refused: '%s' holds a control or "
		    "non-ASCII byte",
		    shown);
		free(shown);
		return;
	}

	pos = ui_model_slot_by_label(m, scan);
	if (pos >= 0) {
		scan_slot(m, (size_t)pos, act);
		return;
	}
	v = after_prefix(scan, "OP:");
	if (v != NULL) {
		if (!config_id_is_valid(v)) {
			ui_model_message(m, 1, "bad operator badge '%s'", scan);
			return;
		}
		ui_copy(m->operator_id, sizeof m->operator_id, v);
		ui_model_message(m, 0, "operator %s", v);
		return;
	}
	v = after_prefix(scan, "LOT:");
	if (v != NULL) {
		if (!serial_is_valid(v)) {
			ui_model_message(m, 1, "bad lot label '%s'", scan);
			return;
		}
		ui_copy(m->batch, sizeof m->batch, v);
		ui_model_message(m, 0, "batch %s", v);
		return;
	}
	if (names_no_slot(m, scan)) {
		ui_model_message(m, 1,
		    "no slot %s: this fixture's slots are %s..%s", scan,
		    m->slots[0].label, m->slots[m->n_slots - 1].label);
		return;
	}
	if (label_to_serial(m, scan, serial, sizeof serial))
		scan_serial(m, serial, act);
}

void
ui_input_retry(struct ui_model *m, struct ui_action *act)
{
	struct ui_slot *s = &m->slots[m->selected];

	memset(act, 0, sizeof *act);
	if (s->state != UI_SLOT_FAIL || s->serial[0] == '\0') {
		ui_model_message(m, 1, "retry: %s has no FAILed run", s->label);
		return;
	}
	if (ui_model_serial_taken(m, s->serial) != 0) {
		ui_model_message(m, 1, "retry: %s is already running or PASSed",
		    s->serial);
		return;
	}
	start(m, m->selected, s->serial, act);
}

void
ui_input_select(struct ui_model *m, int delta)
{
	long n = (long)m->n_slots;
	long pos = ((long)m->selected + delta) % n;

	if (pos < 0)
		pos += n;
	m->selected = (size_t)pos;
}

void
ui_scanbuf_add(struct ui_scanbuf *b, int ch)
{
	/* A byte that is not printable is kept, not dropped, so that the
	 * scan is refused whole (dropping a scanner's separator could make
	 * another serial); curses key codes above 0xff are ignored. */
	if (ch < 1 || ch > 0xff || b->len + 1 >= sizeof b->text)
		return;
	b->text[b->len++] = (char)ch;
	b->text[b->len] = '\0';
}

void
ui_scanbuf_erase(struct ui_scanbuf *b)
{
	if (b->len > 0)
		b->text[--b->len] = '\0';
}

void
ui_scanbuf_clear(struct ui_scanbuf *b)
{
	b->len = 0;
	b->text[0] = '\0';
}
