/*
 * Slot threads -> UI thread: a mutex-guarded list of event copies and a
 * self-pipe to wake poll().
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui/queue.h"
#include "station/pipeline/pipeline.h"
#include "station/util/xalloc.h"

struct ui_queue {
	pthread_mutex_t lock;
	struct ui_event *items; /* guarded by lock */
	size_t n, cap;
	int pipe_rd, pipe_wr;
};

st_err
ui_queue_new(struct ui_queue **out, char **cause)
{
	struct ui_queue *q;
	int fds[2];

	*out = NULL;
	if (pipe(fds) != 0)
		return st_fail(cause, ST_E_IO,
		    "creating the screen's wake pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(fds[i], F_GETFL);

		fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	q = xcalloc(1, sizeof *q);
	pthread_mutex_init(&q->lock, NULL);
	q->pipe_rd = fds[0];
	q->pipe_wr = fds[1];
	*out = q;
	return ST_OK;
}

void
ui_events_free(struct ui_event *events, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(events[i].serial);
		free(events[i].text);
	}
	free(events);
}

void
ui_queue_free(struct ui_queue *q)
{
	if (q == NULL)
		return;
	ui_events_free(q->items, q->n);
	close(q->pipe_rd);
	close(q->pipe_wr);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int
ui_queue_fd(const struct ui_queue *q)
{
	return q->pipe_rd;
}

/* A PASS whose smoke test did not run (no broker configured). */
static int
run_skipped_smoke(const struct station_event *ev)
{
	return ev->kind == EVENT_RUN_END && ev->pass && ev->res != NULL &&
	    ev->res->smoke != NULL && strcmp(ev->res->smoke, "skipped") == 0;
}

void
ui_queue_sink(void *ctx, const struct station_event *ev)
{
	struct ui_queue *q = ctx;
	struct ui_event copy;
	char one = 1;
	ssize_t wr;

	/* The end of a run the station could not even begin (event.h): no
	 * event of it came before, its error is logged, and the screen has
	 * nothing of it to show. */
	if (ev->kind == EVENT_RUN_END && ev->station_err && ev->run_id == 0)
		return;
	copy = (struct ui_event){
		.kind = ev->kind,
		.info = ev->info,
		.slot = ev->slot,
		.run_id = ev->run_id,
		.step = ev->step,
		.progress = ev->progress,
		.serial = ev->serial ? xstrdup(ev->serial) : NULL,
		.text = ev->text ? xstrdup(ev->text) : NULL,
		.err = ev->err,
		.pass = ev->pass,
		.no_smoke = run_skipped_smoke(ev),
		.deadline_ms = ev->deadline_ms,
	};
	if (ev->kind == EVENT_RUN_END && ev->pass && ev->res != NULL) {
		copy.already_run = ev->res->already_run_id;
		copy.already_at = ev->res->already_at;
	}

	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 16;
		q->items = xrealloc(q->items, q->cap * sizeof *q->items);
	}
	q->items[q->n++] = copy;
	pthread_mutex_unlock(&q->lock);
	/* EAGAIN: the pipe is full, the UI is already due to wake */
	wr = write(q->pipe_wr, &one, 1);
	(void)wr;
}

size_t
ui_queue_drain(struct ui_queue *q, struct ui_event **events)
{
	char buf[64];
	size_t n;

	while (read(q->pipe_rd, buf, sizeof buf) > 0)
		continue;
	pthread_mutex_lock(&q->lock);
	*events = q->items;
	n = q->n;
	q->items = NULL;
	q->n = 0;
	q->cap = 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}
