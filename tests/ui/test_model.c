/* The screen model and the scan grammar, driven by event sequences. */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/pipeline/advice.h"
#include "station/config/scan_format.h"
#include "ui/input.h"
#include "ui/model.h"
#include "ui/queue.h"

static void
ev(struct ui_model *m, enum event_kind kind, int slot, enum step step,
    int progress, const char *text, st_err err, int pass, uint64_t now)
{
	struct ui_event e = {
		.kind = kind,
		.slot = slot,
		.run_id = 40 + slot,
		.step = step,
		.progress = progress,
		.text = (char *)text,
		.err = err,
		.pass = pass,
	};

	ui_model_apply(m, &e, now);
}

/* An EVENT_INFO of kind `info` (its fixed text, or `text` for a note). */
static void
evi(struct ui_model *m, int slot, enum event_info info, const char *text,
    uint64_t now)
{
	struct ui_event e = {
		.kind = EVENT_INFO,
		.info = info,
		.slot = slot,
		.run_id = 40 + slot,
		.step = STEP_CONNECT,
		.progress = -1,
		.text = (char *)(text ? text : event_info_text(info)),
	};

	ui_model_apply(m, &e, now);
}

/* A two-slot model labelled A1, A2 (slots numbered 1, 2). */
static void
model2(struct ui_model *m)
{
	ui_model_init(m, 2, 1000);
	ui_model_set_slot(m, 0, 1, "A1", "tcp:127.0.0.1:1", "default");
	ui_model_set_slot(m, 1, 2, "A2", "tcp:127.0.0.1:2", "default");
}

static void
assert_message_has(const struct ui_model *m, const char *part)
{
	if (strstr(m->message, part) == NULL)
		fail_msg("message '%s' lacks '%s'", m->message, part);
}

static void
run_pass(struct ui_model *m, int slot, uint64_t t0)
{
	ev(m, EVENT_RUN_START, slot, STEP_CONNECT, 0, "tcp:x", ST_OK, 0, t0);
	ev(m, EVENT_STEP_START, slot, STEP_KEYGEN, 28, NULL, ST_OK, 0, t0 + 1);
	ev(m, EVENT_RUN_END, slot, STEP__COUNT, 100, NULL, ST_OK, 1, t0 + 4000);
}

/* Step events move the panel; RUN_END pass shows PASS, counts and the
 * ledger tail, and the elapsed time stops at the end. */
static void
test_pass_sequence_updates_panel_and_counts(void **state)
{
	struct ui_model m;
	(void)state;

	model2(&m);
	ui_model_slot_started(&m, 0, "SN-1", 1000);
	ev(&m, EVENT_RUN_START, 1, STEP_CONNECT, 0, "tcp:x", ST_OK, 0, 1000);
	ev(&m, EVENT_STEP_START, 1, STEP_KEYGEN, 28, NULL, ST_OK, 0, 1500);
	assert_int_equal(m.slots[0].state, UI_SLOT_RUNNING);
	assert_int_equal(m.slots[0].step, STEP_KEYGEN);
	assert_int_equal(m.slots[0].progress, 28);
	assert_int_equal(ui_slot_elapsed_s(&m.slots[0], 3600), 2);
	ev(&m, EVENT_RUN_END, 1, STEP__COUNT, 100, NULL, ST_OK, 1, 9000);
	assert_int_equal(m.slots[0].state, UI_SLOT_PASS);
	assert_int_equal(m.slots[0].progress, 100);
	assert_int_equal(ui_slot_elapsed_s(&m.slots[0], 99000), 8);
	assert_int_equal(m.passed, 1);
	assert_int_equal(m.failed, 0);
	assert_int_equal(ui_model_yield(&m), 100);
	assert_int_equal(m.n_ledger, 1);
	assert_non_null(strstr(m.ledger[0], "SN-1"));
	assert_non_null(strstr(m.ledger[0], "PASS"));
	assert_int_equal(m.slots[1].state, UI_SLOT_IDLE);
	ui_model_free(&m);
}

/* A hotplug slot shows "waiting for device" until a board starts a run
 * (which shows the device's serial, not the last run's); a board pulled
 * mid-run shows "device removed", a highlighted message and the removed
 * advice when the run FAILs with a hang-up. */
static void
test_hotplug_slot_waiting_then_removed(void **state)
{
	struct ui_model m;
	(void)state;

	model2(&m);
	ui_model_slot_started(&m, 0, "SN-OLD", 500);
	run_pass(&m, 1, 600);
	evi(&m, 1, EVENT_INFO_WAITING, NULL, 1000);
	assert_string_equal(m.slots[0].device_note, "waiting for device");
	assert_string_equal(m.slots[1].device_note, "");
	evi(&m, 1, EVENT_INFO_NOTE, "no barcode scanned", 1000);
	assert_string_equal(m.slots[0].device_note, "waiting for device");

	ev(&m, EVENT_RUN_START, 1, STEP_CONNECT, 0, "usb:path=1-4", ST_OK, 0,
	    2000);
	assert_int_equal(m.slots[0].state, UI_SLOT_RUNNING);
	assert_string_equal(m.slots[0].device_note, "");
	assert_string_equal(m.slots[0].serial, "");
	struct ui_event hello = { .kind = EVENT_STEP_OK,
		.slot = 1,
		.run_id = 41,
		.step = STEP_HELLO,
		.progress = 14,
		.serial = "DEV-9" };
	ui_model_apply(&m, &hello, 2100);
	assert_string_equal(m.slots[0].serial, "DEV-9");

	evi(&m, 1, EVENT_INFO_REMOVED, NULL, 3000);
	assert_string_equal(m.slots[0].device_note, "device removed");
	assert_true(m.message_bad);
	assert_message_has(&m, "removed");
	ev(&m, EVENT_RUN_END, 1, STEP_WRITE, 70, "writing: device removed",
	    ST_E_HANGUP, 0, 3100);
	assert_int_equal(m.slots[0].state, UI_SLOT_FAIL);
	assert_string_equal(m.slots[0].device_note, "device removed");
	assert_string_equal(m.slots[0].headline,
	    "Device was removed during provisioning");
	assert_non_null(strstr(m.slots[0].next, "re-plug"));
	ui_model_free(&m);
}

/* A FAIL carries the advice table's headline and next step for the failed
 * step, the technical reason, a bell, and counts in the yield. */
static void
test_fail_shows_advice_reason_and_rings(void **state)
{
	struct ui_model m;
	const char *why = "scanned label 'SN-9' but the device reports 'SN-2'";
	(void)state;

	model2(&m);
	ui_model_slot_started(&m, 1, "SN-9", 1000);
	ev(&m, EVENT_STEP_START, 2, STEP_SERIAL, 14, NULL, ST_OK, 0, 1100);
	ev(&m, EVENT_STEP_FAIL, 2, STEP_SERIAL, 14, why, ST_E_MISMATCH, 0,
	    1200);
	ev(&m, EVENT_RUN_END, 2, STEP_SERIAL, 100, why, ST_E_MISMATCH, 0, 1300);
	assert_int_equal(m.slots[1].state, UI_SLOT_FAIL);
	assert_int_equal(m.slots[1].step, STEP_SERIAL);
	assert_int_equal(m.slots[1].progress, 14);
	assert_string_equal(m.slots[1].headline,
	    advice_headline(STEP_SERIAL, ST_E_MISMATCH));
	assert_string_equal(m.slots[1].next,
	    advice_next_step(STEP_SERIAL, ST_E_MISMATCH));
	assert_string_equal(m.slots[1].reason, why);
	assert_int_equal(m.bells, 1);
	assert_int_equal(m.failed, 1);
	assert_int_equal(m.message_bad, 1);
	assert_non_null(strstr(m.ledger[0], "FAIL at"));

	ui_model_slot_started(&m, 0, "SN-1", 2000);
	run_pass(&m, 1, 2000);
	ui_model_slot_started(&m, 0, "SN-3", 7000);
	run_pass(&m, 1, 7000);
	/* 2 of 3 */
	assert_int_equal(ui_model_yield(&m), 67);
	assert_int_equal(m.n_ledger, 3);
	ui_model_free(&m);
}

/* Devices per hour is measured from the screen's start and stays 0 in the
 * first minute; the ledger tail keeps only the newest lines. */
static void
test_rate_and_ledger_tail_bounds(void **state)
{
	struct ui_model m;
	char line[32];
	(void)state;

	model2(&m);
	for (int i = 0; i < 6; i++) {
		ui_fmt(line, sizeof line, "SN-R%d", i);
		ui_model_slot_started(&m, 0, line, 1000);
		run_pass(&m, 1, 1000);
	}
	assert_int_equal(ui_model_per_hour(&m, 30000), 0);
	/* 6 devices in 30 minutes */
	assert_int_equal(ui_model_per_hour(&m, 1000 + 1800000), 12);
	for (int i = 0; i < UI_LEDGER_LINES + 3; i++) {
		ui_fmt(line, sizeof line, "line %d", i);
		ui_model_ledger_push(&m, line);
	}
	assert_int_equal(m.n_ledger, UI_LEDGER_LINES);
	ui_fmt(line, sizeof line, "line %d", UI_LEDGER_LINES + 2);
	assert_string_equal(m.ledger[0], line);
	ui_model_free(&m);
}

/* Events for a slot the fixture does not have change nothing. */
static void
test_event_for_unknown_slot_is_ignored(void **state)
{
	struct ui_model m;
	(void)state;

	model2(&m);
	ev(&m, EVENT_RUN_END, 7, STEP__COUNT, 100, NULL, ST_OK, 1, 5);
	assert_int_equal(m.passed, 0);
	assert_int_equal(m.slots[0].state, UI_SLOT_IDLE);
	assert_int_equal(m.slots[1].state, UI_SLOT_IDLE);
	ui_model_free(&m);
}

/* With a label format, a serial that breaks it gets a message and starts
 * nothing; a label that fits starts as usual. */
static void
test_scan_outside_the_label_format_is_refused(void **state)
{
	struct ui_model m;
	struct ui_action a;
	struct scan_format *f = NULL;
	(void)state;

	assert_int_equal(scan_format_new("SN-[0-9]+", SCAN_CHECKSUM_LUHN, &f,
			     NULL),
	    ST_OK);
	model2(&m);
	m.format = f;
	ui_input_scan(&m, "XY-79927398713", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "unknown label format");
	ui_input_scan(&m, "SN-79927398710", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "checksum failure");
	assert_int_equal(ui_model_running(&m), 0);
	ui_input_scan(&m, "SN-79927398713", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	ui_model_free(&m);
	scan_format_free(f);
}

/* What the line sends when a lone scan found its board on `slot`. */
static void
routed(struct ui_model *m, int slot, const char *serial)
{
	struct ui_event e = {
		.kind = EVENT_INFO,
		.info = EVENT_INFO_ROUTED,
		.slot = slot,
		.step = STEP_CONNECT,
		.progress = -1,
		.serial = (char *)serial,
		.text = (char *)event_info_text(EVENT_INFO_ROUTED),
	};

	ui_model_apply(m, &e, 7);
}

/* A lone serial asks the line to find its board (nothing starts on the
 * first free slot); the slot the line routed it to shows it running, a
 * refusal shows on the message line; with every slot busy the serial
 * waits for a slot label. */
static void
test_lone_serial_scan_is_located_by_the_line(void **state)
{
	struct ui_model m;
	struct ui_action a;
	struct ui_event refusal = {
		.kind = EVENT_INFO,
		.info = EVENT_INFO_REFUSED,
		.slot = 0,
		.serial = (char *)"SN-999",
		.text = (char *)"no board with serial SN-999 in the fixture",
		.err = ST_E_NOTFOUND,
	};
	(void)state;

	model2(&m);
	ui_input_scan(&m, "SN-100\r", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	assert_string_equal(a.serial, "SN-100");
	assert_message_has(&m, "looking for its board");
	assert_int_equal(ui_model_running(&m), 0);
	routed(&m, 2, "SN-100");
	assert_int_equal(m.slots[1].state, UI_SLOT_RUNNING);
	assert_string_equal(m.slots[1].serial, "SN-100");
	assert_int_equal(m.slots[0].state, UI_SLOT_IDLE);
	assert_message_has(&m, "A2: SN-100 started");
	ui_input_scan(&m, "SN-999", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	ui_model_apply(&m, &refusal, 8);
	assert_message_has(&m, "no board with serial SN-999");
	assert_int_equal(m.message_bad, 1);
	assert_int_equal(ui_model_running(&m), 1);
	ui_input_scan(&m, "  SN-101 ", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	routed(&m, 1, "SN-101");

	ui_input_scan(&m, "SN-102", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_string_equal(m.pending_serial, "SN-102");
	assert_message_has(&m, "busy");
	/* slot A1 frees; scanning its label starts the waiting serial */
	ev(&m, EVENT_RUN_END, 1, STEP__COUNT, 100, NULL, ST_OK, 1, 2);
	ui_input_scan(&m, "A1", &a);
	assert_int_equal(a.kind, UI_ACT_START);
	assert_int_equal(a.slot_pos, 0);
	assert_string_equal(a.serial, "SN-102");
	assert_string_equal(m.pending_serial, "");
	ui_model_free(&m);
}

/* With require_slot_scan the serial waits and the slot label decides;
 * a busy slot's label is refused and the serial keeps waiting. */
static void
test_slot_label_chooses_slot(void **state)
{
	struct ui_model m;
	struct ui_action a;
	(void)state;

	model2(&m);
	m.require_slot_scan = 1;
	ui_input_scan(&m, "SN-200", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "slot label");
	ui_input_scan(&m, "A2", &a);
	assert_int_equal(a.kind, UI_ACT_START);
	assert_int_equal(a.slot_pos, 1);
	assert_int_equal(m.selected, 1);
	ui_model_slot_started(&m, 1, "SN-200", 1);

	ui_input_scan(&m, "SN-201", &a);
	ui_input_scan(&m, "A2", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "busy");
	assert_string_equal(m.pending_serial, "SN-201");
	/* without a pending serial a label only selects */
	m.pending_serial[0] = '\0';
	ui_input_scan(&m, "A1", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_int_equal(m.selected, 0);
	ui_model_free(&m);
}

/* A slot label scanned first sends the next serial to that slot, even
 * when an earlier slot is free. */
static void
test_label_then_serial_goes_to_that_slot(void **state)
{
	struct ui_model m;
	struct ui_action a;
	(void)state;

	model2(&m);
	ui_input_scan(&m, "A2", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_int_equal(m.selected, 1);
	ui_input_scan(&m, "SN-400", &a);
	assert_int_equal(a.kind, UI_ACT_START);
	assert_int_equal(a.slot_pos, 1);
	ui_model_slot_started(&m, 1, "SN-400", 1);
	/* used once: the next serial is a lone scan again */
	ui_input_scan(&m, "SN-401", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	ui_model_free(&m);
}

/* OP: and LOT: set operator and batch; malformed ones are refused. */
static void
test_badge_and_lot_scans(void **state)
{
	struct ui_model m;
	struct ui_action a;
	(void)state;

	model2(&m);
	ui_input_scan(&m, "OP:bob", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_string_equal(m.operator_id, "bob");
	ui_input_scan(&m, "lot:L-2026-07", &a);
	assert_string_equal(m.batch, "L-2026-07");
	ui_input_scan(&m, "OP:bad id", &a);
	assert_string_equal(m.operator_id, "bob");
	assert_int_equal(m.message_bad, 1);
	ui_input_scan(&m, "LOT:", &a);
	assert_string_equal(m.batch, "L-2026-07");
	assert_message_has(&m, "bad lot");
	ui_model_free(&m);
}

/* Anything else is an unknown scan: a message and nothing else. */
static void
test_unknown_scan_does_nothing(void **state)
{
	struct ui_model m;
	struct ui_action a;
	(void)state;

	model2(&m);
	ui_input_scan(&m, "SN 1/2;rm", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_string_equal(m.message, "unknown scan 'SN 1/2;rm'");
	assert_int_equal(m.message_bad, 1);
	assert_string_equal(m.pending_serial, "");
	assert_int_equal(m.slots[0].state, UI_SLOT_IDLE);
	ui_input_scan(&m, "   ", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	ui_model_free(&m);
}

/* A serial running or PASSed this session is refused; a FAILed one may be
 * scanned again, and F5 retries the selected FAILed slot. */
static void
test_duplicates_refused_retry_after_fail(void **state)
{
	struct ui_model m;
	struct ui_action a;
	(void)state;

	model2(&m);
	ui_input_scan(&m, "SN-300", &a);
	routed(&m, 1, a.serial);
	ui_input_scan(&m, "SN-300", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "already running");
	ev(&m, EVENT_RUN_END, 1, STEP__COUNT, 100, NULL, ST_OK, 1, 2);
	ui_input_scan(&m, "SN-300", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "PASSed");

	ui_input_scan(&m, "SN-301", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	routed(&m, 1, a.serial);
	ev(&m, EVENT_RUN_END, 1, STEP_HELLO, 100, "no answer", ST_E_TIMEOUT, 0,
	    4);
	/* retry refused on a PASSed slot, allowed on the FAILed one */
	m.selected = 1;
	ui_input_retry(&m, &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	m.selected = 0;
	ui_input_retry(&m, &a);
	assert_int_equal(a.kind, UI_ACT_START);
	assert_int_equal(a.slot_pos, 0);
	assert_string_equal(a.serial, "SN-301");
	/* and rescanning the FAILed serial is allowed too */
	ui_input_scan(&m, "SN-301", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	ui_model_free(&m);
}

/* A curses key code (above 0xff), never a byte of a scan. */
#define KEY_CODE_ABOVE_BYTES 0x102

/* Selection wraps both ways; the scan line takes bytes, not key codes. */
static void
test_select_wraps_and_scanbuf_edits(void **state)
{
	struct ui_model m;
	struct ui_scanbuf b = { 0 };
	(void)state;

	model2(&m);
	ui_input_select(&m, -1);
	assert_int_equal(m.selected, 1);
	ui_input_select(&m, 1);
	assert_int_equal(m.selected, 0);
	ui_scanbuf_add(&b, 'S');
	ui_scanbuf_add(&b, 'N');
	ui_scanbuf_add(&b, KEY_CODE_ABOVE_BYTES);
	ui_scanbuf_add(&b, 'X');
	ui_scanbuf_erase(&b);
	assert_string_equal(b.text, "SN");
	for (int i = 0; i < 1000; i++)
		ui_scanbuf_add(&b, 'x');
	assert_int_equal(b.len, UI_SCAN_MAX - 1);
	ui_scanbuf_clear(&b);
	assert_string_equal(b.text, "");
	ui_model_free(&m);
}

/* A scan with a control byte (a GS1 separator from the scanner) is refused
 * whole, shown escaped, and starts nothing (dropping the byte would have
 * made the serial SN-000121X). */
static void
test_scan_with_control_byte_is_refused_escaped(void **state)
{
	struct ui_model m;
	struct ui_scanbuf b = { 0 };
	struct ui_action act;
	const char *scan = "SN-0001\x1d"
			   "21X";
	(void)state;

	model2(&m);
	for (const char *p = scan; *p; p++)
		ui_scanbuf_add(&b, (unsigned char)*p);
	assert_string_equal(b.text, scan);
	ui_input_scan(&m, b.text, &act);
	assert_int_equal(act.kind, UI_ACT_NONE);
	assert_int_equal(m.slots[0].state, UI_SLOT_IDLE);
	assert_message_has(&m, "scan refused: 'SN-0001\\x1d21X'");
	assert_true(m.message_bad);
	for (const char *p = m.message; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
	ui_model_free(&m);
}

struct pusher {
	struct ui_queue *q;
	int slot;
};

static void *
push_many(void *arg)
{
	struct pusher *p = arg;

	for (int i = 0; i < 500; i++) {
		struct station_event e = {
			.kind = EVENT_STEP_START,
			.slot = p->slot,
			.progress = i % 100,
			.text = "step",
		};

		ui_queue_sink(p->q, &e);
	}
	return NULL;
}

/* Events pushed from several threads all arrive, in order per slot, and
 * the wake fd becomes readable. */
static void
test_queue_from_threads_wakes_and_keeps_order(void **state)
{
	struct ui_queue *q = NULL;
	struct pusher p[3];
	pthread_t th[3];
	struct ui_event *evs = NULL;
	size_t n, total = 0;
	int last[4] = { -1, -1, -1, -1 };
	(void)state;

	assert_int_equal(ui_queue_new(&q, NULL), ST_OK);
	for (int i = 0; i < 3; i++) {
		p[i].q = q;
		p[i].slot = i + 1;
		pthread_create(&th[i], NULL, push_many, &p[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	struct pollfd pfd = { .fd = ui_queue_fd(q), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	n = ui_queue_drain(q, &evs);
	for (size_t i = 0; i < n; i++) {
		int s = evs[i].slot;
		/* progress counts 0..99 repeatedly per slot: never skips */
		assert_int_equal(evs[i].progress, (last[s] + 1) % 100);
		last[s] = evs[i].progress;
		assert_string_equal(evs[i].text, "step");
	}
	total += n;
	ui_events_free(evs, n);
	assert_int_equal(total, 1500);
	/* drained: nothing more to read, the fd is quiet */
	assert_int_equal(poll(&pfd, 1, 0), 0);
	ui_queue_free(q);
}

/* Yield counts devices: a board whose run FAILed on a wrong label and
 * then PASSed counts once, as a pass (the device's reported serial is
 * the one counted); a board that only FAILs counts as a failure. */
static void
test_yield_counts_devices_not_runs(void **state)
{
	struct ui_model m;
	struct ui_event e = { .kind = EVENT_STEP_START,
		.slot = 1,
		.step = STEP_HELLO,
		.progress = 7,
		.serial = "SN-2" };
	(void)state;

	model2(&m);
	ui_model_slot_started(&m, 0, "SN-9", 1000);
	ui_model_apply(&m, &e, 1001);
	ev(&m, EVENT_RUN_END, 1, STEP_SERIAL, 100, "label", ST_E_MISMATCH, 0,
	    1002);
	assert_int_equal(m.failed, 1);
	assert_int_equal(ui_model_yield(&m), 0);
	ui_model_slot_started(&m, 0, "SN-2", 2000);
	ui_model_apply(&m, &e, 2001);
	run_pass(&m, 1, 2002);
	assert_int_equal(m.passed, 1);
	assert_int_equal(m.failed, 0);
	assert_int_equal(m.runs, 2);
	assert_int_equal(ui_model_yield(&m), 100);
	/* another board that only FAILs: one of two devices passed */
	e.serial = "SN-3";
	e.slot = 2;
	ui_model_slot_started(&m, 1, "SN-3", 3000);
	ui_model_apply(&m, &e, 3001);
	ev(&m, EVENT_RUN_END, 2, STEP_KEYGEN, 100, "chip", ST_E_DEVICE, 0,
	    3002);
	assert_int_equal(m.passed, 1);
	assert_int_equal(m.failed, 1);
	assert_int_equal(ui_model_yield(&m), 50);
	ui_model_free(&m);
}

/* A step's deadline becomes a countdown (rounded up) while it runs; a
 * PASS without the smoke test says so on the message and ledger lines. */
static void
test_countdown_and_pass_without_smoke_test(void **state)
{
	struct ui_model m;
	struct ui_event e = { .kind = EVENT_STEP_START,
		.slot = 1,
		.run_id = 41,
		.step = STEP_KEYGEN,
		.progress = 28,
		.deadline_ms = 31000 };
	struct ui_event end = { .kind = EVENT_RUN_END,
		.slot = 1,
		.run_id = 41,
		.step = STEP__COUNT,
		.progress = 100,
		.pass = 1,
		.no_smoke = 1 };
	(void)state;

	model2(&m);
	ui_model_slot_started(&m, 0, "SN-1", 1000);
	assert_int_equal(ui_slot_countdown_s(&m.slots[0], 1000), -1);
	ui_model_apply(&m, &e, 1000);
	assert_int_equal(ui_slot_countdown_s(&m.slots[0], 1000), 30);
	assert_int_equal(ui_slot_countdown_s(&m.slots[0], 29500), 2);
	assert_int_equal(ui_slot_countdown_s(&m.slots[0], 40000), 0);
	ui_model_apply(&m, &end, 5000);
	assert_int_equal(ui_slot_countdown_s(&m.slots[0], 5000), -1);
	assert_int_equal(m.slots[0].no_smoke, 1);
	assert_message_has(&m, "PASS (no smoke test)");
	assert_non_null(strstr(m.ledger[0], "PASS (no smoke test)"));
	ui_model_free(&m);
}

/* A slot label in any case selects the slot; one of this fixture's shape
 * that names no slot is "no slot", never a serial; the profile's label
 * rule folds Caps Lock scans and checks pattern and check digit before
 * anything starts. */
static void
test_label_rule_and_unknown_slot(void **state)
{
	struct ui_model m;
	struct ui_action a;
	struct scan_format *f = NULL;
	struct scan_rule rule = { .pattern = "SN-[0-9]{6}[0-9A-Z]",
		.checksum = SCAN_CHECKSUM_MOD36,
		.trim = 1,
		.fold = SCAN_CASE_UPPER };
	(void)state;

	assert_int_equal(scan_format_from_rule(&rule, &f, NULL), ST_OK);
	model2(&m);
	m.slots[0].label_format = f;
	m.slots[1].label_format = f;
	ui_input_scan(&m, "a2", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_int_equal(m.armed_slot, 1);
	m.armed_slot = -1;
	ui_input_scan(&m, "A9", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "no slot A9");
	assert_string_equal(m.pending_serial, "");
	/* Caps Lock: folded to the label printed on the board */
	ui_input_scan(&m, "sn-000125k", &a);
	assert_int_equal(a.kind, UI_ACT_LOCATE);
	assert_string_equal(a.serial, "SN-000125K");
	/* a wrong check character and a wrong shape start nothing */
	ui_input_scan(&m, "SN-000125J", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "checksum failure");
	ui_input_scan(&m, "SN-12K", &a);
	assert_int_equal(a.kind, UI_ACT_NONE);
	assert_message_has(&m, "unknown label format");
	assert_int_equal(ui_model_running(&m), 0);
	ui_model_free(&m);
	scan_format_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pass_sequence_updates_panel_and_counts),
		cmocka_unit_test(test_fail_shows_advice_reason_and_rings),
		cmocka_unit_test(test_hotplug_slot_waiting_then_removed),
		cmocka_unit_test(test_rate_and_ledger_tail_bounds),
		cmocka_unit_test(test_event_for_unknown_slot_is_ignored),
		cmocka_unit_test(test_lone_serial_scan_is_located_by_the_line),
		cmocka_unit_test(test_scan_outside_the_label_format_is_refused),
		cmocka_unit_test(test_slot_label_chooses_slot),
		cmocka_unit_test(test_label_then_serial_goes_to_that_slot),
		cmocka_unit_test(test_badge_and_lot_scans),
		cmocka_unit_test(test_unknown_scan_does_nothing),
		cmocka_unit_test(test_duplicates_refused_retry_after_fail),
		cmocka_unit_test(test_select_wraps_and_scanbuf_edits),
		cmocka_unit_test(
		    test_scan_with_control_byte_is_refused_escaped),
		cmocka_unit_test(test_queue_from_threads_wakes_and_keeps_order),
		cmocka_unit_test(test_yield_counts_devices_not_runs),
		cmocka_unit_test(test_countdown_and_pass_without_smoke_test),
		cmocka_unit_test(test_label_rule_and_unknown_slot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
