/*
 * The line (line.h): one worker thread per fixture slot.  Each worker
 * sleeps on its own condition variable until line_submit hands it a job;
 * one mutex guards the job hand-over and the counters, and is never held
 * while a job runs, so a hung device only ever holds its own slot.
 *
 * A job is: power_on and reset hooks, provision_run, power_off hook.  A
 * failing power_on or reset hook ends the job as a FAIL at the connect
 * step that is recorded in the ledger like any other run (the pipeline
 * runs them first: provision_request.before_connect),
 * so every scan that reached a slot leaves exactly one run on record.
 *
 * Jobs come from line_submit (scans), line_submit_located (a lone scan
 * routed to the slot holding its board, line_locate.c) or, on usb: slots
 * with hotplug enabled, from a board being plugged in (line_hotplug.c);
 * all go through line_hand_over.
 */
#define LOG_MODULE "line"
#include "station/line/line.h"

#include <stdlib.h>
#include <string.h>

#include "station/line/line_priv.h"
#include "station/util/clock.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

/* The slot's power_on and reset hooks, run by the pipeline before its
 * first step (provision_request.before_connect). */
struct hooks_ctx {
	const struct fixture_slot *slot;
	int timeout_ms;
	const struct slot_env *env;
};

static st_err
run_hooks_before(void *arg, char **cause)
{
	const struct hooks_ctx *h = arg;
	const char *hook = NULL;
	st_err err =
	    slot_hooks_before(h->slot, h->timeout_ms, h->env, &hook, cause);

	if (err)
		return st_wrap(cause, err, "%s hook failed", hook);
	return ST_OK;
}

/* provision_request.aborted: the operator pressed the abort key. */
static int
job_aborted(void *arg)
{
	struct worker *w = arg;
	int aborted;

	pthread_mutex_lock(&w->line->mu);
	aborted = w->abort_requested;
	pthread_mutex_unlock(&w->line->mu);
	return aborted;
}

/* One job, start to end; runs on the worker's thread without the lock. */
static void
run_job(struct worker *w)
{
	struct line *l = w->line;
	const struct fixture_slot *s = w->slot;
	struct slot_env env;
	struct hooks_ctx hooks = { .slot = s,
		.timeout_ms = l->fx->hook_timeout_ms,
		.env = &env };
	struct provision_request req = {
		.device_uri = s->device,
		.scanned_serial = w->serial,
		.profile = s->profile,
		.slot = (int)s->index,
		.operator_id = w->operator_id,
		.batch = w->batch,
		.before_connect = run_hooks_before,
		.before_connect_ctx = &hooks,
		.aborted = job_aborted,
		.aborted_ctx = w,
	};
	struct provision_result res = { 0 };
	char *cause = NULL;
	st_err err;

	slot_env_init(&env, s);
	err = provision_run(l->st, &req, l->bus, &res, &cause);
	if (err)
		log_error("slot %u: %s", s->index, cause);
	slot_hook_after(l->bus, s, l->fx->hook_timeout_ms, &env, &res);
	slot_env_clear(&env);

	pthread_mutex_lock(&l->mu);
	if (err == ST_OK && res.pass)
		l->stats.passed++;
	else
		l->stats.failed++;
	pthread_mutex_unlock(&l->mu);
	provision_result_clear(&res);
	free(cause);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct line *l = w->line;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		/* a job waits for a lone scan's HELLO to this slot to end
		 * (bounded by its deadline) */
		while (!l->stopping && (!w->has_job || w->probing))
			pthread_cond_wait(&w->cv, &l->mu);
		if (!w->has_job)
			break; /* stopping, nothing left to do */
		w->has_job = 0;
		pthread_mutex_unlock(&l->mu);
		run_job(w);
		pthread_mutex_lock(&l->mu);
		free(w->serial);
		free(w->operator_id);
		free(w->batch);
		w->serial = w->operator_id = w->batch = NULL;
		w->busy = 0;
		w->abort_requested = 0;
		l->stats.running--;
		if (!l->stopping && line_hotplug_restart(l, w))
			continue; /* a board plugged in during the run */
		pthread_cond_broadcast(&l->freed);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

st_err
line_new(struct station *st, const struct fixture *fx,
    const struct event_bus *bus, struct line **out, char **cause)
{
	struct line *l;

	*out = NULL;
	if (fx == NULL || fx->n_slots == 0)
		return st_fail(cause, ST_E_CONFIG,
		    "the fixture has no slots "
		    "(name them in a fixture file or as [slot N] in the "
		    "configuration)");
	l = xcalloc(1, sizeof *l);
	l->st = st;
	l->fx = fx;
	l->bus = bus;
	l->n = fx->n_slots;
	l->stats.started_ms = clock_now_ms();
	pthread_mutex_init(&l->mu, NULL);
	pthread_mutex_init(&l->locate_mu, NULL);
	pthread_cond_init(&l->freed, NULL);
	l->workers = xcalloc(l->n, sizeof *l->workers);
	for (size_t i = 0; i < l->n; i++) {
		l->workers[i].line = l;
		l->workers[i].slot = &fx->slots[i];
		pthread_cond_init(&l->workers[i].cv, NULL);
	}
	for (size_t i = 0; i < l->n; i++) {
		struct worker *w = &l->workers[i];
		int rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc != 0) {
			line_free(l);
			return st_fail(cause, ST_E_IO,
			    "cannot start the worker "
			    "of slot %u: %s",
			    fx->slots[i].index, strerror(rc));
		}
		w->started = 1;
	}
	*out = l;
	return ST_OK;
}

/* The worker of slot `index`, or NULL.  Any thread. */
static struct worker *
find_worker(struct line *l, unsigned index)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->workers[i].slot->index == index)
			return &l->workers[i];
	}
	return NULL;
}

/* With the lock: the first free worker, or NULL. */
static struct worker *
first_free(struct line *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!l->workers[i].busy)
			return &l->workers[i];
	}
	return NULL;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void
line_hand_over(struct line *l, struct worker *w, const char *serial,
    const char *operator_id, const char *batch)
{
	w->serial = dup_or_null(serial);
	w->operator_id = dup_or_null(operator_id);
	w->batch = dup_or_null(batch);
	w->busy = 1;
	w->has_job = 1;
	w->abort_requested = 0;
	l->stats.running++;
	pthread_cond_signal(&w->cv);
}

st_err
line_submit(struct line *l, const struct line_job *job, unsigned *slot_out,
    char **cause)
{
	struct worker *w;
	st_err err = ST_OK;

	pthread_mutex_lock(&l->mu);
	if (l->stopping) {
		err = st_fail(cause, ST_E_STATE, "the line is stopping");
		goto out;
	}
	if (job->slot == 0) {
		w = first_free(l);
		if (w == NULL) {
			err = st_fail(cause, ST_E_STATE, "every slot is busy");
			goto out;
		}
	} else {
		w = find_worker(l, job->slot);
		if (w == NULL) {
			err = st_fail(cause, ST_E_NOTFOUND,
			    "no slot %u in "
			    "fixture '%s'",
			    job->slot, l->fx->name);
			goto out;
		}
		if (w->busy) {
			err = st_fail(cause, ST_E_STATE, "slot %u (%s) is busy",
			    job->slot, w->slot->label);
			goto out;
		}
	}
	line_hand_over(l, w, job->scanned_serial, job->operator_id, job->batch);
	if (slot_out)
		*slot_out = w->slot->index;
out:
	pthread_mutex_unlock(&l->mu);
	return err;
}

st_err
line_abort(struct line *l, unsigned slot, char **cause)
{
	struct worker *w;
	st_err err = ST_OK;

	pthread_mutex_lock(&l->mu);
	w = find_worker(l, slot);
	if (w == NULL) {
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no slot %u in fixture '%s'", slot, l->fx->name);
		goto out;
	}
	if (!w->busy) {
		err = st_fail(cause, ST_E_STATE, "slot %u (%s) runs nothing",
		    slot, w->slot->label);
		goto out;
	}
	w->abort_requested = 1;
out:
	pthread_mutex_unlock(&l->mu);
	return err;
}

int
line_slot_busy(struct line *l, unsigned slot)
{
	pthread_mutex_lock(&l->mu);
	struct worker *w = find_worker(l, slot);
	int busy = w ? w->busy : 0;
	pthread_mutex_unlock(&l->mu);
	return busy;
}

void
line_wait_free(struct line *l, unsigned slot)
{
	pthread_mutex_lock(&l->mu);
	struct worker *w = slot ? find_worker(l, slot) : NULL;
	while (!l->stopping) {
		if (slot == 0 && first_free(l) != NULL)
			break;
		if (slot != 0 && (w == NULL || !w->busy))
			break;
		pthread_cond_wait(&l->freed, &l->mu);
	}
	pthread_mutex_unlock(&l->mu);
}

void
line_wait_idle(struct line *l)
{
	pthread_mutex_lock(&l->mu);
	while (l->stats.running > 0)
		pthread_cond_wait(&l->freed, &l->mu);
	pthread_mutex_unlock(&l->mu);
}

void
line_get_stats(struct line *l, struct line_stats *out)
{
	pthread_mutex_lock(&l->mu);
	*out = l->stats;
	pthread_mutex_unlock(&l->mu);
}

void
line_free(struct line *l)
{
	if (l == NULL)
		return;
	/* No plug starts a run from here on; jobs already submitted still
	 * run: each ends by its deadlines. */
	line_hotplug_stop(l);
	line_locate_wait(l);
	line_wait_idle(l);
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	for (size_t i = 0; i < l->n; i++)
		pthread_cond_signal(&l->workers[i].cv);
	pthread_cond_broadcast(&l->freed);
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; i < l->n; i++) {
		if (l->workers[i].started)
			pthread_join(l->workers[i].thread, NULL);
		pthread_cond_destroy(&l->workers[i].cv);
	}
	pthread_cond_destroy(&l->freed);
	pthread_mutex_destroy(&l->locate_mu);
	pthread_mutex_destroy(&l->mu);
	free(l->workers);
	free(l->hp_operator_id);
	free(l->hp_batch);
	free(l);
}
