/*
 * Hotplug slots (line.h, line_enable_hotplug): a board plugged into a
 * usb: slot's socket starts a run; a board pulled is announced at once.
 *
 * The watcher's callback runs on its own libusb thread.  It never runs a
 * job there (a run takes seconds and the callback must return so that
 * further plug events are heard): it only hands the job to the slot's
 * worker under the line's lock, as line_submit does, and wakes it.  A
 * board pulled mid-run needs no action on the worker: its pending or next
 * USB transfer fails with ST_E_HANGUP "device removed", so the run FAILs
 * through the pipeline's ordinary failure path (ledger row, orphaned and
 * revoked certificate).  The line only stops treating the slot as
 * occupied, so nothing restarts there until a board arrives again.
 */
#define LOG_MODULE "line"
#include "station/line/line_priv.h"

#include <stdlib.h>
#include <string.h>

#include "drivers/transport/usb_hotplug.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

static int
is_usb_slot(const struct fixture_slot *s)
{
	return s->device != NULL && strncmp(s->device, "usb:", 4) == 0;
}

unsigned
line_usb_slots(const struct fixture *fx)
{
	unsigned n = 0;

	for (size_t i = 0; fx != NULL && i < fx->n_slots; i++)
		n += is_usb_slot(&fx->slots[i]) != 0;
	return n;
}

/* "usb:path=1-4?timeout_ms=200" -> "path=1-4" (caller frees). */
static char *
selector_of(const char *uri)
{
	const char *sel = uri + 4;

	return xasprintf("%.*s", (int)strcspn(sel, "?"), sel);
}

static void
emit_info(const struct line *l, const struct worker *w, enum event_info info)
{
	struct station_event ev = {
		.kind = EVENT_INFO,
		.info = info,
		.slot = (int)w->slot->index,
		.step = STEP_CONNECT,
		.progress = -1,
		.text = event_info_text(info),
	};

	event_emit(l->bus, &ev);
}

/* The watcher's thread. */
static void
on_plug(enum usb_hotplug_event ev, const struct usb_dev_info *dev, void *ctx)
{
	struct worker *w = ctx;
	struct line *l = w->line;
	int started = 0, was_busy;

	pthread_mutex_lock(&l->mu);
	was_busy = w->busy;
	if (!l->hotplug || l->stopping) {
		pthread_mutex_unlock(&l->mu);
		return;
	}
	if (ev == USB_HOTPLUG_ARRIVED) {
		w->present = 1;
		if (!w->busy) {
			line_hand_over(l, w, NULL, l->hp_operator_id,
			    l->hp_batch);
			started = 1;
		} else {
			w->arrival_pending = 1;
		}
	} else {
		w->present = 0;
		w->arrival_pending = 0;
	}
	pthread_mutex_unlock(&l->mu);

	if (ev == USB_HOTPLUG_ARRIVED) {
		log_info("slot %u: board %s plugged in at %s%s", w->slot->index,
		    dev->serial ? dev->serial : "?",
		    dev->port_path ? dev->port_path : "?",
		    started ? ", starting a run" :
			      ", run starts when the slot is free");
		return;
	}
	log_info("slot %u: board %s removed%s", w->slot->index,
	    dev->serial ? dev->serial : "?", was_busy ? " during a run" : "");
	emit_info(l, w, EVENT_INFO_REMOVED);
}

int
line_hotplug_restart(struct line *l, struct worker *w)
{
	if (!l->hotplug || !w->arrival_pending || !w->present)
		return 0;
	w->arrival_pending = 0;
	line_hand_over(l, w, NULL, l->hp_operator_id, l->hp_batch);
	return 1;
}

void
line_hotplug_stop(struct line *l)
{
	pthread_mutex_lock(&l->mu);
	l->hotplug = 0;
	for (size_t i = 0; i < l->n; i++) {
		l->workers[i].present = 0;
		l->workers[i].arrival_pending = 0;
	}
	pthread_mutex_unlock(&l->mu);
	/* Without the lock: a callback in flight may be waiting for it. */
	for (size_t i = 0; i < l->n; i++) {
		usb_hotplug_stop(l->workers[i].hp);
		l->workers[i].hp = NULL;
	}
}

st_err
line_enable_hotplug(struct line *l, const struct line_job *defaults,
    char **cause)
{
	st_err err = ST_OK;

	if (line_usb_slots(l->fx) == 0)
		return st_fail(cause, ST_E_CONFIG,
		    "fixture '%s' has no usb: "
		    "slot to watch for boards",
		    l->fx->name);
	pthread_mutex_lock(&l->mu);
	if (l->hotplug || l->stopping) {
		pthread_mutex_unlock(&l->mu);
		return st_fail(cause, ST_E_STATE,
		    "hotplug is already on or "
		    "the line is stopping");
	}
	free(l->hp_operator_id);
	free(l->hp_batch);
	l->hp_operator_id = defaults && defaults->operator_id ?
	    xstrdup(defaults->operator_id) :
	    NULL;
	l->hp_batch =
	    defaults && defaults->batch ? xstrdup(defaults->batch) : NULL;
	l->hotplug = 1;
	pthread_mutex_unlock(&l->mu);

	for (size_t i = 0; i < l->n; i++) {
		struct worker *w = &l->workers[i];

		if (!is_usb_slot(w->slot))
			continue;
		/* Before the watcher starts, so it precedes any arrival. */
		emit_info(l, w, EVENT_INFO_WAITING);
		char *sel = selector_of(w->slot->device);
		err = usb_hotplug_start(sel, on_plug, w, &w->hp, cause);
		free(sel);
		if (err) {
			line_hotplug_stop(l);
			return st_wrap(cause, err,
			    "watching slot %u (%s) for "
			    "boards",
			    w->slot->index, w->slot->label);
		}
	}
	return ST_OK;
}
