/*
 * The line: the slots of one fixture, each with its own worker thread, so
 * a slow or hung device never blocks another slot or the screen.  Jobs are
 * submitted by scans (screen or batch mode); results come out as events on
 * the bus: each job's EVENT_RUN_END carries its whole outcome (the request,
 * the result and whether the station could record it: event.h), emitted
 * from the slot's thread before the slot is free again, so when
 * line_wait_idle returns every result has been delivered.
 *
 * Every function here is safe to call from any thread.  Event sinks are
 * called from slot threads: they must be thread-safe and quick.
 */
#ifndef ST_LINE_H
#define ST_LINE_H

#include "station/pipeline/event.h"
#include "station/config/fixture.h"
#include "station/pipeline/pipeline.h"
#include "station/pipeline/station.h"

struct line;

/* Start one worker per fixture slot.  `st`, `fx` and `bus` are borrowed
 * and must outlive the line. */
st_err line_new(struct station *st, const struct fixture *fx,
    const struct event_bus *bus, struct line **out, char **cause);

struct line_job {
	unsigned slot;		    /* fixture slot index; 0 = next free */
	const char *scanned_serial; /* may be NULL */
	const char *operator_id;    /* may be NULL */
	const char *batch;	    /* may be NULL */
};

/*
 * Start provisioning on a slot (strings are copied).  ST_E_STATE when the
 * slot is busy (or, for slot 0, every slot is), ST_E_NOTFOUND for an
 * unknown slot.  *slot_out (may be NULL) receives the slot chosen.
 */
st_err line_submit(struct line *l, const struct line_job *job,
    unsigned *slot_out, char **cause);

/*
 * A lone scan (a serial without a slot label): start `job` on the idle
 * slot whose device reports exactly job->scanned_serial (required; the
 * job's slot is ignored).  Every idle slot's device is asked HELLO at
 * once (connect and HELLO only: nothing that changes the device), each
 * under its own deadline (the step timeout, at most LINE_LOCATE_MAX_MS),
 * so a silent or empty slot never holds up the others; a job handed to a
 * slot while it is being asked waits for that HELLO to end.  Lone scans
 * are handled one at a time.  The pipeline still compares the scanned
 * serial with the device's at its serial-check step, so a board swapped
 * after the HELLO FAILs there safely.
 *
 * Refusals start nothing and record nothing: ST_E_STATE when the serial
 * is already running ("... is already running in slot 3") or the line is
 * stopping; ST_E_NOTFOUND when no idle slot's device reports it ("no
 * board with serial ... in the fixture"); ST_E_EXISTS when two or more
 * do (the cause names them: never a guess).  The serial is shown with
 * text_escape.  On success an EVENT_INFO_ROUTED (serial = the
 * scanned one) is emitted on the chosen slot before the run's first event,
 * and *slot_out (may be NULL) receives the slot.  Blocks at most about
 * LINE_LOCATE_MAX_MS per lone scan ahead of it.
 */
#define LINE_LOCATE_MAX_MS 2000
st_err line_submit_located(struct line *l, const struct line_job *job,
    unsigned *slot_out, char **cause);

/*
 * line_submit_located on a thread of its own, for a caller that must not
 * block (the screen): returns at once (ST_E_ARG without a serial, ST_E_IO
 * when no thread can be started), strings copied.  The outcome arrives as
 * events: EVENT_INFO_ROUTED and then the run, or a refusal, an
 * EVENT_INFO_REFUSED on slot 0 with `err` set, `serial` the scanned serial
 * and `text` the cause.  line_free waits for it to finish.
 */
st_err line_locate_start(struct line *l, const struct line_job *job,
    char **cause);

/*
 * The operator's abort key: end the job running on `slot` as a FAIL
 * "aborted by operator" (ST_E_ABORTED), recorded in the ledger like any
 * FAIL (provision_request.aborted): the run stops before its next step,
 * a step waiting on the device ends within 100 ms (its transport is
 * transport_cancellable), a step waiting on the CA or the broker ends
 * first (at the latest at its deadline), and a certificate already
 * issued is settled as for any FAIL.  ST_E_NOTFOUND
 * for an unknown slot, ST_E_STATE when the slot runs nothing.
 */
st_err line_abort(struct line *l, unsigned slot, char **cause);

/* 1 while the slot runs a job. */
int line_slot_busy(struct line *l, unsigned slot);
/* Block until `slot` (0: any slot) can take a job, or the line is
 * stopping.  For a submitter that waits rather than refusing a scan. */
void line_wait_free(struct line *l, unsigned slot);
/* Block until no slot runs a job. */
void line_wait_idle(struct line *l);

/* Counters for the screen header and batch summaries.  A run the
 * station could not record (station_err) counts as failed. */
struct line_stats {
	unsigned passed, failed, running;
	uint64_t started_ms; /* when the line was created (monotonic) */
};
void line_get_stats(struct line *l, struct line_stats *out);

/*
 * Auto-start on plug (opt-in).  Every slot whose device URI starts with
 * "usb:" gets a USB hotplug watcher on its selector (the URI after "usb:"
 * without the ?query: a port path or VID:PID[:SERIAL]):
 *
 *  - a board arriving at an idle slot starts a run with the operator and
 *    batch of `defaults` (its slot and scanned_serial are ignored).  Such
 *    a run has no scanned serial, so no label check: the ledger records
 *    the serial the device reports.  A board already plugged in when
 *    hotplug is enabled counts as arriving.  A board arriving while the
 *    slot is busy gets its run when the slot is free, if still there.
 *  - a board leaving emits an EVENT_INFO_REMOVED on the slot.  A
 *    run in progress fails by itself (its next transfer ends with
 *    ST_E_HANGUP "device removed"), is recorded FAIL with that reason,
 *    and its certificate, if issued, is orphaned and revoked as for any
 *    failure.  Nothing restarts on that slot until a board arrives again.
 *
 * Each watched slot first emits an EVENT_INFO_WAITING (run_id 0).
 * Call once, from the thread that owns the line; the watchers stop in
 * line_free.  ST_E_CONFIG when no slot is usb:, ST_E_STATE when already
 * enabled, else usb_hotplug_start's errors (ST_E_URI, ST_E_UNSUPPORTED),
 * in which case no watcher is left running.  Strings are copied.
 */
st_err line_enable_hotplug(struct line *l, const struct line_job *defaults,
    char **cause);
/* The number of usb: slots of a fixture (the ones hotplug watches). */
unsigned line_usb_slots(const struct fixture *fx);

/* Stop the hotplug watchers and accepting jobs, wait for running ones
 * (each ends by its own step deadlines), join the workers and free.
 * Accepts NULL.  Call from the owner thread, never from a sink. */
void line_free(struct line *l);

#endif
