/*
 * The ledger's sink on the event bus (event.h): the run events of one run
 * (the ledger's narrative of it: each step's ok or FAIL with its note or
 * cause, and the run's notes, step "info").
 *
 * Events are queued, not written one by one: the pipeline calls
 * ledger_sink_flush at the run's durable points (after the record step,
 * and at the end before the run's result is recorded), which writes what
 * is queued in one transaction instead of one fsync per event (db/ledger.h,
 * durability).  Events are the run's narrative, not its durable state: a
 * write that fails is logged, not fatal.
 *
 * One sink per run, owned by the run's thread: not thread-safe.
 */
#ifndef ST_LEDGER_SINK_H
#define ST_LEDGER_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "db/ledger.h"
#include "station/pipeline/event.h"

struct ledger_sink {
	struct ledger *ledger;		/* borrowed */
	int64_t run_id;			/* the run recorded; others ignored */
	struct ledger_event_in *events; /* queued; details owned */
	size_t n, cap;
	int closed; /* ledger_sink_close: record no more */
};

/* Start recording the events of run `run_id` (zeroes `ls`). */
void ledger_sink_init(struct ledger_sink *ls, struct ledger *ledger,
    int64_t run_id);

/* event_fn (ctx: the struct ledger_sink): queues EVENT_STEP_OK,
 * EVENT_STEP_FAIL and EVENT_INFO_NOTE events of its run. */
void ledger_sink_fn(void *ctx, const struct station_event *ev);

/* A durable point: write the queued events in one transaction. */
void ledger_sink_flush(struct ledger_sink *ls);

/* The last durable point before the run's end is recorded: flush, then
 * ignore every later event (the ledger's narrative of the run is closed). */
void ledger_sink_close(struct ledger_sink *ls);

/* Free what is queued (unwritten) and the queue; accepts NULL. */
void ledger_sink_clear(struct ledger_sink *ls);

#endif
