/* The ledger's sink of one run (see ledger_sink.h). */
#define LOG_MODULE "pipeline"
#include "station/pipeline/ledger_sink.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/util/log.h"
#include "station/util/xalloc.h"

void
ledger_sink_init(struct ledger_sink *ls, struct ledger *ledger, int64_t run_id)
{
	memset(ls, 0, sizeof *ls);
	ls->ledger = ledger;
	ls->run_id = run_id;
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ledger's (step, status) of an event, or 0 if it records none: the
 * start of a run or of a step, the run's end (its own row) and the
 * events about a slot rather than the run are not run events. */
static int
ledger_form(const struct station_event *ev, const char **step,
    enum ledger_event_status *status)
{
	switch (ev->kind) {
	case EVENT_STEP_OK:
		*step = step_name(ev->step);
		*status = LEDGER_EV_OK;
		return 1;
	case EVENT_STEP_FAIL:
		*step = step_name(ev->step);
		*status = LEDGER_EV_FAIL;
		return 1;
	case EVENT_INFO:
		*step = "info";
		*status = LEDGER_EV_INFO;
		return ev->info == EVENT_INFO_NOTE;
	default:
		return 0;
	}
}

void
ledger_sink_fn(void *ctx, const struct station_event *ev)
{
	struct ledger_sink *ls = ctx;
	enum ledger_event_status status = LEDGER_EV_INFO;
	const char *step = NULL;

	if (ls->closed || ev->run_id != ls->run_id)
		return;
	if (!ledger_form(ev, &step, &status))
		return;
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? 2 * ls->cap : 32;
		ls->events = xrealloc(ls->events, ls->cap * sizeof *ls->events);
	}
	ls->events[ls->n++] = (struct ledger_event_in){
		.step = step,
		.status = status,
		.detail = ev->text ? xstrdup(ev->text) : NULL,
		.at_ms = wall_ms(),
	};
}

static void
drop_queued(struct ledger_sink *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free((char *)ls->events[i].detail);
	ls->n = 0;
}

void
ledger_sink_flush(struct ledger_sink *ls)
{
	char *why = NULL;
	st_err err;

	err = ledger_run_event_batch(ls->ledger, ls->run_id, ls->events, ls->n,
	    &why);
	if (err)
		log_error("run %" PRId64 ": cannot record %zu run events: %s",
		    ls->run_id, ls->n, why);
	free(why);
	drop_queued(ls);
}

void
ledger_sink_close(struct ledger_sink *ls)
{
	ledger_sink_flush(ls);
	ls->closed = 1;
}

void
ledger_sink_clear(struct ledger_sink *ls)
{
	if (ls == NULL)
		return;
	drop_queued(ls);
	free(ls->events);
	ls->events = NULL;
	ls->cap = 0;
}
