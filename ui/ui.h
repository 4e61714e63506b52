/*
 * The operator screen's entry point, used by station/cmd_ui.c (the only
 * core file that calls into ui/).  ui/ never starts work itself: it asks
 * the caller through struct ui_ops, so the screen can be driven by the
 * line (station/line.h) or by any other source of jobs and events.
 */
#ifndef UI_UI_H
#define UI_UI_H

#include "ui/model.h"
#include "ui/queue.h"
#include "station/util/err.h"

struct ui_ops {
	void *ctx;
	/* Start provisioning `serial` on the slot numbered `slot_index`
	 * (strings borrowed; operator and batch may be NULL).  Events then
	 * arrive through the queue. */
	st_err (*submit)(void *ctx, unsigned slot_index, const char *serial,
	    const char *operator_id, const char *batch, char **cause);
	/* Start looking for the idle slot whose board reports `serial` and
	 * run it there; returns at once.  The outcome arrives through the
	 * queue: EVENT_INFO_ROUTED on the slot then the run, or an
	 * EVENT_INFO_REFUSED on slot 0 saying why the scan was refused. */
	st_err (*locate)(void *ctx, const char *serial, const char *operator_id,
	    const char *batch, char **cause);
	/* Abort the run on the slot numbered `slot_index` (the abort key):
	 * it ends as a FAIL "aborted by operator", arriving through the
	 * queue like any run's end. */
	st_err (*abort)(void *ctx, unsigned slot_index, char **cause);
};

/*
 * Load the screen's library (libncursesw, ui/curses_lib.h), once per
 * process: the station does not link it, so a process that never draws
 * does not pay for it.  ST_E_CONFIG when it is missing, the cause naming
 * it and the fix ("apt-get install libncursesw6").  ui_run loads it too;
 * a caller loads it first to stop before it starts anything the screen
 * would show.
 */
st_err ui_load(char **cause);

/*
 * Take over the terminal (stdin/stdout must be a TTY; ncurses is loaded
 * first, with ui_load's errors) and run the screen until the operator
 * quits: events from `q` update `m`, scans and keys become submits.  The
 * loop never blocks longer than 100 ms.  Restores the terminal before
 * returning.
 *
 * Quitting while slots run (F10 twice) keeps the screen up, refusing
 * scans, until the last of them ends.  Closing the terminal (SIGHUP, or
 * the terminal hanging up) returns at once: the caller then waits for the
 * running slots (line_free) so they finish and are recorded, as after
 * F10.  SIGHUP stays ignored after the return, so that wait is not cut
 * short.
 */
st_err ui_run(struct ui_model *m, struct ui_queue *q, const struct ui_ops *ops,
    char **cause);

#endif
