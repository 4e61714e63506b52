/*
 * Lone scans (line.h, line_submit_located): which idle slot holds the
 * board whose serial was scanned?  The only sure way to know is to ask, so
 * each idle slot's device gets a HELLO on a thread of its own, all at
 * once, each under its own deadline: the answer costs one HELLO, and a
 * silent or empty slot costs at most the deadline without delaying the
 * others.  Nothing is cached: a board can be swapped at any moment, and a
 * HELLO is cheap next to a run.
 *
 * While a slot is asked it is marked `probing`; a job handed to it
 * meanwhile (a slot-label scan, a plugged board) waits in worker_main for
 * the HELLO to end, so the device never has two sessions at once.  The
 * routed job is handed over under the line's lock after the slot is seen
 * still idle and the serial still not running anywhere, so a label scan
 * racing the lone scan cannot put the same board on two runs.
 */
#define LOG_MODULE "line"
#include "station/line/line_priv.h"

#include <stdlib.h>
#include <string.h>

#include "station/pipeline/dialect.h"
#include "station/config/config.h"
#include "station/util/clock.h"
#include "station/util/log.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

#define SHOWN_MAX 64 /* bytes of a scanned serial or label shown */

/* One idle slot asked for its serial. */
struct probe {
	struct worker *w; /* borrowed */
	struct deadline dl;
	pthread_t thread;
	int started;
	char *serial; /* what the device reported, or NULL */
};

/* A lone scan started by line_locate_start (strings owned). */
struct locate_job {
	struct line *l;
	char *serial, *operator_id, *batch;
};

/* Connect and HELLO only: nothing that changes the device. */
static void *
probe_main(void *arg)
{
	struct probe *p = arg;
	const char *pname = p->w->slot->profile;
	const struct profile *prof =
	    config_profile(p->w->line->st->cfg, pname ? pname : "default");
	struct dev_info info = { 0 };
	char *cause = NULL;
	st_err err;

	/* Through the slot's dialect (an nRF91 modem answers AT, not
	 * HELLO). */
	err = dialect_identify(p->w->slot->device, prof, p->dl, &info, &cause);
	if (err)
		log_info("slot %u: no serial for a lone scan: %s",
		    p->w->slot->index, cause);
	else
		p->serial = xstrdup(info.serial);
	dev_info_clear(&info);
	free(cause);
	return NULL;
}

/* The step timeout, but short: a lone scan waits for the slowest slot. */
static struct deadline
probe_deadline(const struct line *l)
{
	int ms = l->st->cfg->step_timeout_ms;

	if (ms <= 0 || ms > LINE_LOCATE_MAX_MS)
		ms = LINE_LOCATE_MAX_MS;
	return deadline_in((uint64_t)ms);
}

/* With the lock: refuse a stopping line or a serial already running. */
static st_err
check_not_running(struct line *l, const char *serial, const char *shown,
    char **cause)
{
	if (l->stopping)
		return st_fail(cause, ST_E_STATE, "the line is stopping");
	for (size_t i = 0; i < l->n; i++) {
		const struct worker *w = &l->workers[i];

		if (w->busy && w->serial != NULL &&
		    strcmp(w->serial, serial) == 0)
			return st_fail(cause, ST_E_STATE,
			    "%s is already running "
			    "in slot %u",
			    shown, w->slot->index);
	}
	return ST_OK;
}

/* Mark every idle slot as being asked; *n receives how many. */
static st_err
probes_claim(struct line *l, const char *serial, const char *shown,
    struct probe *p, size_t *n, char **cause)
{
	struct deadline dl = probe_deadline(l);
	st_err err;

	*n = 0;
	pthread_mutex_lock(&l->mu);
	err = check_not_running(l, serial, shown, cause);
	if (err)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		struct worker *w = &l->workers[i];

		if (w->busy)
			continue;
		w->probing = 1;
		p[*n].w = w;
		p[*n].dl = dl;
		(*n)++;
	}
out:
	pthread_mutex_unlock(&l->mu);
	return err;
}

/* Ask every claimed slot at once; returns when all answered or gave up
 * (each by its deadline). */
static void
probes_run(struct probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = pthread_create(&p[i].thread, NULL, probe_main, &p[i]);

		if (rc != 0) {
			log_error("slot %u: cannot ask for a lone scan: %s",
			    p[i].w->slot->index, strerror(rc));
			continue;
		}
		p[i].started = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].started)
			pthread_join(p[i].thread, NULL);
	}
}

/* "slot 2 (S2)" appended to *list (caller frees), ", " between. */
static void
list_slot(char **list, const struct worker *w)
{
	char *label = text_escape(w->slot->label, SHOWN_MAX);
	char *grown = xasprintf("%s%sslot %u (%s)", *list ? *list : "",
	    *list ? ", " : "", w->slot->index, label);

	free(*list);
	*list = grown;
	free(label);
}

/* The one asked slot whose device reported `serial`. */
static st_err
pick(const struct probe *p, size_t n, const char *serial, const char *shown,
    struct worker **out, char **cause)
{
	char *list = NULL;
	size_t found = 0;
	st_err err = ST_OK;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i].serial == NULL || strcmp(p[i].serial, serial) != 0)
			continue;
		*out = p[i].w;
		list_slot(&list, p[i].w);
		found++;
	}
	if (found == 0)
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no board with serial %s "
		    "in the fixture",
		    shown);
	else if (found > 1)
		err = st_fail(cause, ST_E_EXISTS,
		    "%s is reported by the boards "
		    "in %s: scan the slot label, then the serial",
		    shown, list);
	free(list);
	return err;
}

/* What became of a lone scan, for the screen (events: line.h): routed to
 * `slot` (text NULL), or refused (slot 0, err and the cause as text). */
static void
emit_outcome(struct line *l, unsigned slot, const char *serial,
    const char *text, st_err err)
{
	enum event_info info = err ? EVENT_INFO_REFUSED : EVENT_INFO_ROUTED;
	struct station_event ev = {
		.kind = EVENT_INFO,
		.info = info,
		.slot = (int)slot,
		.step = STEP_CONNECT,
		.progress = -1,
		.serial = serial,
		.text = text ? text : event_info_text(info),
		.err = err,
	};

	event_emit(l->bus, &ev);
}

/* End the asking, then hand the job to the slot that holds the board. */
static st_err
probes_settle(struct line *l, const struct line_job *job, const char *shown,
    const struct probe *p, size_t n, unsigned *slot, char **cause)
{
	struct worker *w = NULL;
	st_err err;

	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < n; i++) {
		p[i].w->probing = 0;
		pthread_cond_signal(&p[i].w->cv); /* a job may wait for it */
	}
	err = pick(p, n, job->scanned_serial, shown, &w, cause);
	if (err)
		goto out;
	err = check_not_running(l, job->scanned_serial, shown, cause);
	if (err)
		goto out;
	if (w->busy) {
		err = st_fail(cause, ST_E_STATE,
		    "slot %u started another run "
		    "while its board was asked: scan %s again",
		    w->slot->index, shown);
		goto out;
	}
	line_hand_over(l, w, job->scanned_serial, job->operator_id, job->batch);
	/* under the lock, so it comes before the worker's first event */
	emit_outcome(l, w->slot->index, job->scanned_serial, NULL, ST_OK);
	*slot = w->slot->index;
out:
	pthread_mutex_unlock(&l->mu);
	return err;
}

st_err
line_submit_located(struct line *l, const struct line_job *job,
    unsigned *slot_out, char **cause)
{
	struct probe *p = NULL;
	char *shown = NULL;
	unsigned slot = 0;
	size_t n = 0;
	st_err err;

	if (job->scanned_serial == NULL)
		return st_fail(cause, ST_E_ARG, "a lone scan needs a serial");
	shown = text_escape(job->scanned_serial, SHOWN_MAX);
	p = xcalloc(l->n, sizeof *p);
	/* one lone scan at a time: two would ask the same devices at once */
	pthread_mutex_lock(&l->locate_mu);
	err = probes_claim(l, job->scanned_serial, shown, p, &n, cause);
	if (err)
		goto out;
	probes_run(p, n);
	err = probes_settle(l, job, shown, p, n, &slot, cause);
	if (err)
		goto out;
	if (slot_out)
		*slot_out = slot;
out:
	pthread_mutex_unlock(&l->locate_mu);
	for (size_t i = 0; i < n; i++)
		free(p[i].serial);
	free(p);
	free(shown);
	return err;
}

static void
locate_job_free(struct locate_job *j)
{
	free(j->serial);
	free(j->operator_id);
	free(j->batch);
	free(j);
}

static void *
locate_main(void *arg)
{
	struct locate_job *j = arg;
	struct line *l = j->l;
	struct line_job job = {
		.scanned_serial = j->serial,
		.operator_id = j->operator_id,
		.batch = j->batch,
	};
	char *cause = NULL;
	st_err err;

	err = line_submit_located(l, &job, NULL, &cause);
	if (err)
		emit_outcome(l, 0, j->serial, cause, err);
	free(cause);
	locate_job_free(j);
	pthread_mutex_lock(&l->mu);
	l->locating--;
	pthread_cond_broadcast(&l->freed);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

st_err
line_locate_start(struct line *l, const struct line_job *job, char **cause)
{
	struct locate_job *j = NULL;
	pthread_attr_t attr;
	pthread_t thread;
	int rc;

	if (job->scanned_serial == NULL)
		return st_fail(cause, ST_E_ARG, "a lone scan needs a serial");
	j = xcalloc(1, sizeof *j);
	j->l = l;
	j->serial = xstrdup(job->scanned_serial);
	j->operator_id = job->operator_id ? xstrdup(job->operator_id) : NULL;
	j->batch = job->batch ? xstrdup(job->batch) : NULL;
	pthread_mutex_lock(&l->mu);
	l->locating++;
	pthread_mutex_unlock(&l->mu);
	/* detached: line_free waits on `locating`, not on the thread */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&thread, &attr, locate_main, j);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return ST_OK;
	pthread_mutex_lock(&l->mu);
	l->locating--;
	pthread_mutex_unlock(&l->mu);
	locate_job_free(j);
	return st_fail(cause, ST_E_IO, "cannot start looking for the board: %s",
	    strerror(rc));
}

void
line_locate_wait(struct line *l)
{
	pthread_mutex_lock(&l->mu);
	while (l->locating > 0)
		pthread_cond_wait(&l->freed, &l->mu);
	pthread_mutex_unlock(&l->mu);
}
