/*
 * The event bus (station/pipeline/event.h) and the one reporting path: a
 * run against a real devsim, a real ledger and the local CA reports each
 * transition once, and the ledger's run events are exactly what its sink
 * saw on the bus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "station/pipeline/event.h"
#include "station/pipeline/pipeline.h"
#include "station/pipeline/station.h"
#include "station/util/xalloc.h"
#include "tests/support/sim_line.h"

/* ---- the bus itself ---- */

struct order {
	int seen[32];
	size_t n;
};

struct tagged {
	struct order *log;
	int tag;
};

static void
note_tag(void *ctx, const struct station_event *ev)
{
	struct tagged *t = ctx;

	(void)ev;
	if (t->log->n < 32)
		t->log->seen[t->log->n++] = t->tag;
}

/* More sinks than the old fixed four, each called once, in the order they
 * were added, then the sinks of the next bus. */
static void
test_bus_calls_every_sink_in_order_then_the_next_bus(void **state)
{
	struct order log = { .n = 0 };
	struct tagged tags[12];
	struct event_bus outer = { 0 }, inner = { 0 };
	struct station_event ev = { .kind = EVENT_INFO };

	(void)state;
	for (int i = 0; i < 12; i++) {
		tags[i].log = &log;
		tags[i].tag = i;
	}
	for (int i = 0; i < 2; i++)
		event_bus_add(&outer, note_tag, &tags[10 + i]);
	for (int i = 0; i < 10; i++)
		event_bus_add(&inner, note_tag, &tags[i]);
	inner.next = &outer;
	event_emit(&inner, &ev);
	assert_int_equal(log.n, 12);
	for (int i = 0; i < 12; i++)
		assert_int_equal(log.seen[i], i);

	event_emit(NULL, &ev); /* no bus: nothing to call */
	event_bus_clear(&inner);
	event_bus_clear(&outer);
	assert_int_equal(inner.count, 0);
	assert_null(inner.sinks);
	event_emit(&inner, &ev);
	assert_int_equal(log.n, 12);
	event_bus_clear(NULL);
}

/* The screen shows the texts of the fixed info kinds on the slot. */
static void
test_info_kinds_have_their_texts(void **state)
{
	(void)state;
	assert_string_equal(event_info_text(EVENT_INFO_WAITING),
	    "waiting for device");
	assert_string_equal(event_info_text(EVENT_INFO_REMOVED),
	    "device removed");
	assert_string_equal(event_info_text(EVENT_INFO_ROUTED), "scan routed");
	assert_null(event_info_text(EVENT_INFO_NOTE));
	assert_null(event_info_text(EVENT_INFO_REFUSED));
}

/* ---- one run, reported once ---- */

#define MAX_SEEN 128

struct seen_event {
	enum event_kind kind;
	enum event_info info;
	enum step step;
	int64_t run_id;
	char *text;
};

struct watch {
	struct seen_event ev[MAX_SEEN];
	size_t n;
	unsigned run_ends;
	const struct provision_request *end_req;
	const struct provision_result *end_res;
	st_err end_station_err;
};

static void
watch_sink(void *ctx, const struct station_event *ev)
{
	struct watch *w = ctx;

	if (ev->kind == EVENT_RUN_END) {
		w->run_ends++;
		w->end_req = ev->req;
		w->end_res = ev->res;
		w->end_station_err = ev->station_err;
	}
	if (w->n == MAX_SEEN)
		return;
	w->ev[w->n++] = (struct seen_event){
		.kind = ev->kind,
		.info = ev->info,
		.step = ev->step,
		.run_id = ev->run_id,
		.text = ev->text ? xstrdup(ev->text) : NULL,
	};
}

static void
watch_clear(struct watch *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->ev[i].text);
	w->n = 0;
}

/* The ledger's run events, as "step status detail" lines. */
struct rows {
	char *line[MAX_SEEN];
	size_t n;
};

static int
row_cb(const struct run_event *e, void *ctx)
{
	struct rows *r = ctx;

	if (r->n < MAX_SEEN)
		r->line[r->n++] = xasprintf("%s %s %s", e->step, e->status,
		    e->detail ? e->detail : "-");
	return 0;
}

/* What the ledger's sink makes of an event: its row, or NULL for an event
 * the ledger does not record. */
static char *
expected_row(const struct seen_event *e)
{
	const char *detail = e->text ? e->text : "-";

	if (e->kind == EVENT_STEP_OK)
		return xasprintf("%s ok %s", step_name(e->step), detail);
	if (e->kind == EVENT_STEP_FAIL)
		return xasprintf("%s fail %s", step_name(e->step), detail);
	if (e->kind == EVENT_INFO && e->info == EVENT_INFO_NOTE)
		return xasprintf("info info %s", detail);
	return NULL;
}

/*
 * A run without a scanned serial: its notes carry the step they belong to
 * (the serial note the serial-check step, the write note the write step),
 * one EVENT_RUN_END carries the request and the result, and the ledger's
 * run events are exactly the bus's step results and notes, in order.
 */
static void
test_run_is_reported_once_and_the_ledger_records_what_the_bus_said(void **state)
{
	struct sim_line *sim = sim_line_start(1, "EVT", 2000, NULL);
	struct station *st = NULL;
	struct event_bus bus = { 0 };
	struct watch *w = xcalloc(1, sizeof *w);
	struct provision_request req = { .slot = 1, .operator_id = "op-ev" };
	struct provision_result res = { 0 };
	struct rows rows = { .n = 0 };
	size_t k = 0, notes_in_steps = 0;
	enum step current = STEP_CONNECT;
	char *cause = NULL;

	(void)state;
	if (station_open(&(struct station_opts){ .config_path =
						     sim->config_path },
		&st, &cause) != ST_OK)
		fail_msg("station_open: %s", cause);
	req.device_uri = sim->sims[0]->uri;
	event_bus_add(&bus, watch_sink, w);
	if (provision_run(st, &req, &bus, &res, &cause) != ST_OK)
		fail_msg("provision_run: %s", cause);
	assert_true(res.pass);
	assert_true(res.run_id > 0);

	assert_int_equal(w->run_ends, 1);
	assert_ptr_equal(w->end_req, &req);
	assert_ptr_equal(w->end_res, &res);
	assert_int_equal(w->end_station_err, ST_OK);
	assert_int_equal(w->ev[w->n - 1].kind, EVENT_RUN_END);

	for (size_t i = 0; i < w->n; i++) {
		const struct seen_event *e = &w->ev[i];

		assert_int_equal(e->run_id, res.run_id);
		if (e->kind == EVENT_STEP_START)
			current = e->step;
		if (e->kind != EVENT_INFO)
			continue;
		assert_int_equal(e->info, EVENT_INFO_NOTE);
		assert_int_equal(e->step, current);
		notes_in_steps++;
		if (strstr(e->text, "no barcode scanned") != NULL)
			assert_int_equal(e->step, STEP_SERIAL);
		if (strstr(e->text, "certificate written") != NULL)
			assert_int_equal(e->step, STEP_WRITE);
	}
	assert_true(notes_in_steps >= 2);

	if (ledger_run_events(st->ledger, res.run_id, row_cb, &rows, &cause))
		fail_msg("ledger_run_events: %s", cause);
	for (size_t i = 0; i < w->n; i++) {
		char *want = expected_row(&w->ev[i]);

		if (want == NULL)
			continue;
		if (k == rows.n)
			fail_msg("the ledger lacks '%s'", want);
		assert_string_equal(rows.line[k], want);
		k++;
		free(want);
	}
	assert_int_equal(k, rows.n);   /* nothing the bus did not say */
	assert_true(k >= STEP__COUNT); /* every step's ok, and the notes */

	for (size_t i = 0; i < rows.n; i++)
		free(rows.line[i]);
	watch_clear(w);
	free(w);
	provision_result_clear(&res);
	event_bus_clear(&bus);
	station_close(st);
	sim_line_stop(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_bus_calls_every_sink_in_order_then_the_next_bus),
		cmocka_unit_test(test_info_kinds_have_their_texts),
		cmocka_unit_test(
		    test_run_is_reported_once_and_the_ledger_records_what_the_bus_said),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
