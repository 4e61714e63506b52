/*
 * Pipeline events.  The pipeline reports what it does as events (slot,
 * step, progress, result); the operator screen, the ledger's run events and
 * the headless JSON-lines output are all consumers, so none of them is
 * special to the pipeline.
 *
 * Sinks are called synchronously from the slot's thread: they must be quick
 * and must not block (the screen queues, the JSON sink writes one line).
 */
#ifndef ST_EVENT_H
#define ST_EVENT_H

#include <stdint.h>

#include "station/util/err.h"

/* The steps of one provisioning run, in order. */
enum step {
	STEP_CONNECT = 0, /* open the transport */
	STEP_HELLO,       /* identify the device */
	STEP_SERIAL,      /* scanned barcode vs reported serial */
	STEP_LEDGER,      /* already provisioned? */
	STEP_KEYGEN,      /* key pair on the chip */
	STEP_CSR,         /* CSR built and signed on the chip */
	STEP_CSR_POLICY,  /* CSR checks */
	STEP_CA_SIGN,     /* the CA signs */
	STEP_CA_BIND,     /* the reply is for the CSR's key and names, so it
	                     is this device's before it is recorded */
	STEP_RECORD,      /* issuance committed to the ledger at once, so
	                     every certificate the CA issued is on record even
	                     if the checks then reject it */
	STEP_CERT_CHECK,  /* checks on what the CA returned */
	STEP_WRITE,       /* certificate and chain written to the device */
	STEP_READBACK,    /* read back and compared byte for byte */
	STEP_PROOF,       /* the chip signs a fresh challenge with the
	                     certified key */
	STEP_SMOKE,       /* mTLS smoke test against the broker */
	STEP_COMMIT,      /* device commits (and locks) */
	STEP__COUNT
};

/* Stable lower-case step name for JSON, the ledger and the screen. */
const char *step_name(enum step s);

enum event_kind {
	EVENT_RUN_START,  /* text = device URI */
	EVENT_STEP_START,
	EVENT_STEP_OK,
	EVENT_STEP_FAIL,  /* err, text = cause */
	EVENT_INFO,       /* text = detail worth recording */
	EVENT_RUN_END,    /* pass, text = reason on FAIL */
};

/* EVENT_INFO texts of a slot whose board is watched by hotplug (line.h,
 * line_enable_hotplug), emitted outside any run (run_id 0); the screen
 * shows them on the slot. */
#define EVENT_INFO_WAITING "waiting for device"
#define EVENT_INFO_REMOVED "device removed"
/* EVENT_INFO of a lone scan routed to the slot holding its board (line.h,
 * line_submit_located; serial = the scanned one), before the run's first
 * event.  A refused lone scan is an EVENT_INFO on slot 0 with err set. */
#define EVENT_INFO_ROUTED "scan routed"

struct station_event {
	enum event_kind kind;
	int slot;
	int64_t run_id;
	enum step step;
	int progress;      /* 0..100 through the pipeline */
	const char *serial; /* device serial once known, else NULL */
	const char *text;
	st_err err;
	int pass;          /* EVENT_RUN_END only */
};

typedef void (*event_fn)(void *ctx, const struct station_event *ev);

struct event_sink {
	event_fn fn;
	void *ctx;
};

#define EVENT_MAX_SINKS 4

struct event_bus {
	struct event_sink sinks[EVENT_MAX_SINKS];
	int count;
};

void event_bus_add(struct event_bus *bus, event_fn fn, void *ctx);
void event_emit(const struct event_bus *bus, const struct station_event *ev);

#endif
