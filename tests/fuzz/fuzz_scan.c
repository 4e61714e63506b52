/*
 * Fuzz what a barcode scanner (or a keyboard) types into the station: the
 * batch scan-line grammar (scan_line_parse, station/scan_line.c) and the
 * operator screen's scan grammar (ui_input_scan, ui/input.c) over a model
 * of three slots labelled S1, S2 and BAY-3.  The input is a sequence of
 * lines, each given to both, so that the screen's state (a slot label
 * scanned first, a pending serial, busy slots) carries from line to line.
 * A line "!<n>P" or "!<n>F" (not a scan: '!' is in no scannable word)
 * ends the run on slot n % 3 + 1 as PASS or FAIL, as a slot thread would.
 *
 * Beyond "no crash": a batch scan classified as a serial satisfies
 * serial_is_valid and its slot is the one whose label is on the line; a
 * refusal says why; a blank line is only white space.  On the screen, a
 * run starts only for a valid serial, on an idle (or finished) slot, for
 * a serial that is neither running nor PASSed this session (tracked here
 * independently of the model); the operator and batch are always valid
 * or empty; the selection and the armed slot stay in range.
 */
#include <ctype.h>
#include <string.h>

#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/config/profile.h"
#include "station/cli/scan_line.h"
#include "tests/fuzz/fuzz.h"
#include "ui/input.h"
#include "ui/model.h"

#define SCAN_FUZZ_SLOTS 3
#define SCAN_FUZZ_MAX_LINES 64
#define SCAN_FUZZ_FIXTURE \
	"[slot 1]\ndevice = tcp:127.0.0.1:4001\n" \
	"[slot 2]\nlabel = S2\ndevice = tcp:127.0.0.1:4002\n" \
	"[slot 3]\nlabel = BAY-3\ndevice = uart:/dev/ttyUSB0\n"

static const char *const scan_fx_labels[SCAN_FUZZ_SLOTS] = { "S1", "S2",
	"BAY-3" };

static struct {
	struct config *cfg;
	struct fixture *fx;
} scan_fx;

/* What the harness knows of the session, independently of the model. */
struct scan_oracle {
	char running[SCAN_FUZZ_SLOTS][UI_NAME_MAX]; /* "" when idle */
	char passed[SCAN_FUZZ_MAX_LINES][UI_NAME_MAX];
	size_t n_passed;
};

static void
scan_fuzz_setup(void)
{
	if (scan_fx.fx != NULL)
		return;
	static const char cfg[] = "[station]\nid = st-1\n";

	FUZZ_CHECK(config_load_buffer("fuzz-station.ini", cfg, sizeof cfg - 1,
		       &scan_fx.cfg, NULL) == ST_OK);
	FUZZ_CHECK(fixture_load_buffer("fuzz-fixture.ini", SCAN_FUZZ_FIXTURE,
		       strlen(SCAN_FUZZ_FIXTURE), scan_fx.cfg, &scan_fx.fx,
		       NULL) == ST_OK);
}

/* 1 if `word` is one of the white-space separated words of `line`. */
static int
scan_fuzz_has_word(const char *line, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(line, word); p; p = strstr(p + 1, word)) {
		if ((p == line || isspace((unsigned char)p[-1])) &&
		    (p[n] == '\0' || isspace((unsigned char)p[n])))
			return 1;
	}
	return 0;
}

static void
scan_fuzz_batch(const char *line)
{
	char *serial = NULL, *cut = strdup(line);
	const char *why = NULL;
	unsigned slot = 99;

	FUZZ_CHECK(cut != NULL);
	cut[strcspn(cut, "\r\n")] = '\0';
	switch (scan_line_parse(line, scan_fx.fx, NULL, NULL, &serial, &slot,
	    &why)) {
	case SCAN_BLANK:
		FUZZ_CHECK(serial == NULL && why == NULL && slot == 0);
		for (const char *p = cut; *p; p++)
			FUZZ_CHECK(isspace((unsigned char)*p));
		break;
	case SCAN_REFUSED:
		FUZZ_CHECK(serial == NULL && why != NULL && slot == 0);
		break;
	case SCAN_OK:
		FUZZ_CHECK(serial != NULL && why == NULL);
		FUZZ_CHECK(serial_is_valid(serial));
		FUZZ_CHECK(scan_fuzz_has_word(cut, serial));
		if (slot != 0) {
			const struct fixture_slot *s =
			    fixture_slot(scan_fx.fx, slot);

			FUZZ_CHECK(s != NULL);
			FUZZ_CHECK(scan_fuzz_has_word(cut, s->label));
		}
		break;
	default:
		FUZZ_CHECK(!"scan_line_parse returned no verdict");
	}
	free(serial);
	free(cut);
}

/* "!<n>P" / "!<n>F": the run on a slot ends. */
static void
scan_fuzz_run_end(struct ui_model *m, struct scan_oracle *o, const char *line)
{
	size_t pos = (unsigned char)line[1] % SCAN_FUZZ_SLOTS;
	struct ui_event ev = { .kind = EVENT_RUN_END,
		.slot = (int)pos + 1,
		.step = STEP_HELLO,
		.pass = line[2] == 'P' };

	if (o->running[pos][0] == '\0')
		return; /* no run: no slot thread would send this */
	ui_model_apply(m, &ev, 2000);
	if (ev.pass && o->n_passed < SCAN_FUZZ_MAX_LINES)
		memcpy(o->passed[o->n_passed++], o->running[pos], UI_NAME_MAX);
	o->running[pos][0] = '\0';
}

/* A lone scan: the line may route it to any idle slot (here the last
 * one), which the screen learns from EVENT_INFO_ROUTED.  The screen only
 * asks while some slot is not running. */
static void
scan_fuzz_routed(struct ui_model *m, struct scan_oracle *o, const char *serial)
{
	size_t pos = SCAN_FUZZ_SLOTS;
	struct ui_event ev = { .kind = EVENT_INFO,
		.info = EVENT_INFO_ROUTED,
		.step = STEP_CONNECT,
		.progress = -1,
		.serial = (char *)serial,
		.text = (char *)event_info_text(EVENT_INFO_ROUTED) };

	while (pos > 0 && o->running[pos - 1][0] != '\0')
		pos--;
	FUZZ_CHECK(pos > 0);
	ev.slot = (int)pos;
	ui_model_apply(m, &ev, 1000);
	FUZZ_CHECK(m->slots[pos - 1].state == UI_SLOT_RUNNING);
	FUZZ_CHECK(strcmp(m->slots[pos - 1].serial, serial) == 0);
	memcpy(o->running[pos - 1], m->slots[pos - 1].serial, UI_NAME_MAX);
}

static void
scan_fuzz_ui(struct ui_model *m, struct scan_oracle *o, const char *line)
{
	struct ui_action act;

	ui_input_scan(m, line, &act);
	FUZZ_CHECK(strlen(m->message) < sizeof m->message);
	FUZZ_CHECK(m->selected < m->n_slots);
	FUZZ_CHECK(m->armed_slot >= -1 && m->armed_slot < (long)m->n_slots);
	FUZZ_CHECK(
	    m->operator_id[0] == '\0' || config_id_is_valid(m->operator_id));
	FUZZ_CHECK(m->batch[0] == '\0' || serial_is_valid(m->batch));
	FUZZ_CHECK(
	    m->pending_serial[0] == '\0' || serial_is_valid(m->pending_serial));
	if (act.kind == UI_ACT_NONE)
		return;
	FUZZ_CHECK(act.kind == UI_ACT_START || act.kind == UI_ACT_LOCATE);
	FUZZ_CHECK(serial_is_valid(act.serial));
	for (size_t i = 0; i < SCAN_FUZZ_SLOTS; i++)
		FUZZ_CHECK(strcmp(o->running[i], act.serial) != 0);
	for (size_t i = 0; i < o->n_passed; i++)
		FUZZ_CHECK(strcmp(o->passed[i], act.serial) != 0);
	FUZZ_CHECK(m->pending_serial[0] == '\0' && m->armed_slot == -1);
	if (act.kind == UI_ACT_LOCATE) {
		scan_fuzz_routed(m, o, act.serial);
		return;
	}
	FUZZ_CHECK(act.slot_pos < m->n_slots);
	FUZZ_CHECK(o->running[act.slot_pos][0] == '\0');
	/* The loop submits it; the slot shows as running at once. */
	ui_model_slot_started(m, act.slot_pos, act.serial, 1000);
	memcpy(o->running[act.slot_pos], act.serial, UI_NAME_MAX);
}

int
fuzz_scan(const uint8_t *data, size_t size)
{
	struct ui_model m;
	struct scan_oracle o;
	size_t lines = 0;

	scan_fuzz_setup();
	memset(&o, 0, sizeof o);
	ui_model_init(&m, SCAN_FUZZ_SLOTS, 0);
	for (size_t i = 0; i < SCAN_FUZZ_SLOTS; i++)
		ui_model_set_slot(&m, i, (unsigned)i + 1, scan_fx_labels[i],
		    "tcp:127.0.0.1:4001", "default");
	/* Every other input asks for a slot scan before each serial. */
	m.require_slot_scan = size % 2;
	for (size_t at = 0; at < size && lines < SCAN_FUZZ_MAX_LINES; lines++) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t n = nl ? (size_t)(nl - (data + at)) : size - at;
		char *line = malloc(n + 1);

		FUZZ_CHECK(line != NULL);
		memcpy(line, data + at, n);
		line[n] = '\0';
		if (n >= 3 && line[0] == '!') {
			scan_fuzz_run_end(&m, &o, line);
		} else {
			scan_fuzz_batch(line);
			scan_fuzz_ui(&m, &o, line);
		}
		free(line);
		at += n + 1;
	}
	ui_model_free(&m);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_scan(data, size);
}
#endif
