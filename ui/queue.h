/*
 * The hand-over from slot threads to the UI thread.
 *
 * ui_queue_sink() is an event_fn: slot threads call it (through the event
 * bus); it copies the event under a mutex and writes one byte to a
 * self-pipe so the UI loop, which polls ui_queue_fd() beside the terminal,
 * wakes at once.  It never blocks: the pipe is non-blocking and a full pipe
 * already means "wake up".  The UI thread takes the events with
 * ui_queue_drain() and applies them to the model.
 */
#ifndef UI_QUEUE_H
#define UI_QUEUE_H

#include <stddef.h>

#include "ui/model.h"
#include "station/util/err.h"

struct ui_queue;

st_err ui_queue_new(struct ui_queue **out, char **cause);
/* Frees queued events too; accepts NULL.  No slot thread may still call
 * the sink. */
void ui_queue_free(struct ui_queue *q);

/* event_fn for event_bus_add(q's ctx = the queue); thread-safe. */
void ui_queue_sink(void *ctx, const struct station_event *ev);
/* The fd to poll for POLLIN. */
int ui_queue_fd(const struct ui_queue *q);

/* Move every queued event, in order, into *events (caller frees with
 * ui_events_free); returns how many.  Also empties the wake pipe. */
size_t ui_queue_drain(struct ui_queue *q, struct ui_event **events);
void ui_events_free(struct ui_event *events, size_t n);

#endif
