/*
 * Inside the line: the line and its workers (line.c), USB hotplug slots
 * (line_hotplug.c), the fixture hooks around a job and the ledger record
 * of a job that a hook stopped (line_hooks.c).  Not for use outside
 * line*.c.
 */
#ifndef ST_LINE_PRIV_H
#define ST_LINE_PRIV_H

#include <pthread.h>

#include "station/pipeline/event.h"
#include "station/config/fixture.h"
#include "station/line/line.h"
#include "station/pipeline/pipeline.h"
#include "station/pipeline/station.h"

struct usb_hotplug;

struct worker {
	struct line *line;
	const struct fixture_slot *slot; /* borrowed from the fixture */
	pthread_t thread;
	int started;
	pthread_cond_t cv; /* a job arrived, or the line stops */
	int has_job;	   /* submitted, not yet taken */
	int busy;	   /* submitted or running */
	char *serial, *operator_id, *batch; /* the job (owned) */
	/* USB hotplug (line_hotplug.c); all but `hp` under line->mu */
	struct usb_hotplug *hp; /* watcher of a usb: slot, or NULL */
	int present;		/* the slot's device is plugged in */
	int arrival_pending;	/* arrived while busy: run once free */
	/* a lone scan is asking this slot's device HELLO (line_locate.c):
	 * a job handed over meanwhile waits, so two sessions never share
	 * the device */
	int probing;
	/* the operator asked to abort the running job (line_abort) */
	int abort_requested;
};

struct line {
	struct station *st;
	const struct fixture *fx;
	const struct event_bus *bus;
	pthread_mutex_t mu;
	pthread_cond_t freed; /* a slot became free */
	int stopping;
	struct line_stats stats;
	struct worker *workers; /* one per fixture slot, same order */
	size_t n;
	/* USB hotplug: the job template of plug-started runs (owned) */
	int hotplug;
	char *hp_operator_id, *hp_batch;
	/* Lone scans (line_locate.c): one probes at a time; `locating`
	 * counts those started off the caller's thread (under mu) */
	pthread_mutex_t locate_mu;
	unsigned locating;
};

/* With line->mu held: hand a job to the idle worker `w` and wake it
 * (strings are copied, any may be NULL). */
void line_hand_over(struct line *l, struct worker *w, const char *serial,
    const char *operator_id, const char *batch);

/* With line->mu held, when `w` just became idle: start the run of a
 * device that arrived while the slot was busy.  1 if one was started. */
int line_hotplug_restart(struct line *l, struct worker *w);
/* Stop every watcher (owner thread, without the lock); no hotplug
 * callback runs and no plug-started run begins after it returns. */
void line_hotplug_stop(struct line *l);

/* Without the lock: wait until no lone scan runs off the caller's
 * thread (line_free, before the jobs are awaited). */
void line_locate_wait(struct line *l);

/* What a hook learns about its slot, as environment variables:
 * STATION_SLOT, STATION_SLOT_LABEL, STATION_DEVICE. */
struct slot_env {
	char *vars[4]; /* owned strings, NULL-terminated */
};
void slot_env_init(struct slot_env *env, const struct fixture_slot *s);
void slot_env_clear(struct slot_env *env);

/* power_on then reset (each if set).  On failure *hook names the one
 * that failed ("power_on", "reset"). */
st_err slot_hooks_before(const struct fixture_slot *s, int timeout_ms,
    const struct slot_env *env, const char **hook, char **cause);
/* power_off (if set).  A failure cannot change the run any more: it is
 * logged and reported as an EVENT_INFO of the run. */
void slot_hook_after(const struct event_bus *bus, const struct fixture_slot *s,
    int timeout_ms, const struct slot_env *env,
    const struct provision_result *res);

#endif
