/*
 * The event bus: the one reporting path.  The pipeline reports each
 * transition of a run once, as an event (slot, step, progress, result);
 * everything that reports a run is a sink on the bus, so none of them is
 * special to the pipeline:
 *
 *  - the ledger's run events: a sink of the run's own (ledger_sink.h) that
 *    the pipeline puts first on a bus of the run, which then passes every
 *    event on to the caller's bus (event_bus.next).  It writes the events
 *    in one transaction at the run's durable points (after the record
 *    step, and at the end before the run's result is recorded);
 *  - batch mode's JSON lines (station/cli/cmd_batch.c): one line per
 *    EVENT_RUN_END, which carries the whole result and the request;
 *  - the operator screen (ui/queue.h: ui_queue_sink copies each event for
 *    the screen's thread);
 *  - the provision command's progress lines (station/cli/cmd_provision.c);
 *  - tests and benchmarks, which watch the same events.
 *
 * The line (station/line/line.h) adds the events of a slot outside a run
 * on the same bus: hotplug (waiting, removed), lone scans (routed,
 * refused) and a failing power_off hook.
 *
 * Sinks are called synchronously from the slot's thread: they must be quick,
 * must not block and must be thread-safe (the screen queues, the JSON sink
 * writes one line under its lock).
 */
#ifndef ST_EVENT_H
#define ST_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

/* The steps of one provisioning run, in order. */
enum step {
	STEP_CONNECT = 0, /* open the transport */
	STEP_HELLO,	  /* identify the device */
	STEP_SERIAL,	  /* scanned barcode vs reported serial */
	STEP_LEDGER,	  /* already provisioned? */
	STEP_CLOCK,	  /* the station's clock is plausible (CA Date,
	                     broker certificate, NTP), before anything is
	                     made or issued */
	STEP_TRUST,	  /* the profile's server trust anchors and
	                     endpoint written and read back (devices with
	                     CAP_SERVER_TRUST; skipped when not asked) */
	STEP_KEYGEN,	  /* key pair on the chip */
	STEP_CSR,	  /* CSR built and signed on the chip */
	STEP_CSR_POLICY,  /* CSR checks */
	STEP_ATTEST,	  /* the CSR's key was born in a TPM (profile
	                     attestation = tpm; skipped otherwise) */
	STEP_CA_SIGN,	  /* the CA signs */
	STEP_CA_BIND,	  /* the reply is for the CSR's key and names, so it
	                     is this device's before it is recorded */
	STEP_RECORD,	  /* issuance committed to the ledger at once, so
	                     every certificate the CA issued is on record even
	                     if the checks then reject it */
	STEP_CERT_CHECK,  /* checks on what the CA returned */
	STEP_WRITE,	  /* certificate and chain written to the device */
	STEP_READBACK,	  /* read back and compared byte for byte */
	STEP_PROOF,	  /* the chip signs a fresh challenge with the
	                     certified key */
	STEP_SMOKE,	  /* mTLS smoke test against the broker */
	STEP_COMMIT,	  /* device commits (and locks) */
	STEP__COUNT
};

/* Stable lower-case step name for JSON, the ledger and the screen. */
const char *step_name(enum step s);

enum event_kind {
	EVENT_RUN_START, /* text = device URI */
	EVENT_STEP_START,
	EVENT_STEP_OK,	 /* text = a note ("skipped"), NULL for plain ok */
	EVENT_STEP_FAIL, /* err, text = cause */
	EVENT_INFO,	 /* info says which; text = the detail */
	EVENT_RUN_END,	 /* pass, text = reason on FAIL; req and res */
};

/* What an EVENT_INFO is about. */
enum event_info {
	/* A detail of a run worth recording (run_info in the pipeline: in
	 * the ledger's run events), or of its end (a superseded certificate
	 * settled, a failing power_off hook: not in the ledger, which has
	 * recorded the run's end by then). */
	EVENT_INFO_NOTE = 0,
	/* A slot whose board is watched by hotplug (line.h,
	 * line_enable_hotplug), outside any run (run_id 0); the screen shows
	 * the text on the slot. */
	EVENT_INFO_WAITING, /* no board in the slot yet */
	EVENT_INFO_REMOVED, /* the slot's board was unplugged */
	/* A lone scan (line.h, line_submit_located; serial = the scanned
	 * one): routed to the slot holding its board, before the run's first
	 * event; or refused, on slot 0 with err set and the cause as text. */
	EVENT_INFO_ROUTED,
	EVENT_INFO_REFUSED,
};

/* The text an EVENT_INFO of a fixed kind carries ("waiting for device",
 * "device removed", "scan routed"); NULL for the kinds whose text is
 * their detail (note, refused). */
const char *event_info_text(enum event_info info);

struct provision_request;
struct provision_result;

/*
 * One event; every pointer is borrowed for the sink's call.  `step` is
 * the step the event belongs to: the step running; for events after the
 * steps, the one the run ended at (commit on PASS; EVENT_RUN_END alone
 * says STEP__COUNT on PASS); events of a slot outside a run say
 * STEP_CONNECT, where the next run starts.
 */
struct station_event {
	enum event_kind kind;
	enum event_info info; /* EVENT_INFO only */
	int slot;
	int64_t run_id; /* 0 outside a run */
	enum step step;
	int progress;	    /* 0..100 through the pipeline, -1 for EVENT_INFO */
	const char *serial; /* device serial once known, else NULL */
	const char *text;
	st_err err;
	int pass; /* EVENT_RUN_END only */
	/* EVENT_STEP_START only: the step's deadline (CLOCK_MONOTONIC ms,
	 * as clock_now_ms), so a screen can count down; 0 otherwise. */
	uint64_t deadline_ms;
	/* EVENT_RUN_END only: the run's whole outcome (pipeline.h), for sinks
	 * that report more than the fields above (batch mode's JSON lines).
	 * station_err is provision_run's return: ST_OK when the run was
	 * carried out and recorded (PASS or FAIL); else the station could not
	 * record it (station_cause says why) and, when even its start could
	 * not be recorded, run_id is 0 and no other event of it came before. */
	const struct provision_request *req;
	const struct provision_result *res;
	st_err station_err;
	const char *station_cause;
};

typedef void (*event_fn)(void *ctx, const struct station_event *ev);

struct event_sink {
	event_fn fn;
	void *ctx;
};

/*
 * A bus: its sinks, called in the order they were added, then every sink
 * of `next` (if set), so a bus of one run can put its own sink (the
 * ledger's) before those of the caller's bus.  Zero-initialise it, add the
 * sinks, and only then hand it to a run or a line: emitting only reads the
 * bus, so several slot threads may emit on it at once, but adding is not
 * safe while anything emits.  event_bus_clear frees what add allocated.
 */
struct event_bus {
	struct event_sink *sinks; /* owned, `count` of them */
	size_t count, cap;
	const struct event_bus *next; /* borrowed, may be NULL */
};

void event_bus_add(struct event_bus *bus, event_fn fn, void *ctx);
/* Free the sink list and zero the bus; accepts NULL. */
void event_bus_clear(struct event_bus *bus);
/* Call every sink of `bus` (may be NULL: nothing to call) with `ev`. */
void event_emit(const struct event_bus *bus, const struct station_event *ev);

#endif
