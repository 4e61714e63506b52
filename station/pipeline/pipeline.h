/*
 * The per-device provisioning pipeline: HELLO -> serial check -> ledger
 * check -> KEYGEN -> CSR -> CSR policy -> CA sign -> CA bind (the reply is
 * for this CSR's key and names) -> ledger record of the issuance (durable)
 * -> certificate checks -> WRITE -> READ back -> proof (the chip signs a
 * fresh challenge with the certified key) -> smoke test -> COMMIT (enum
 * step in event.h).
 *
 * Each step has a deadline and emits events.  Any failure ends the run with
 * FAIL, the failed step, the technical cause and the operator's next step,
 * all recorded in the ledger.  A certificate issued but not proven on the
 * device is marked orphaned and revoked where the backend can.
 *
 * provision_run() is safe to call from several slot threads at once with
 * the same struct station.
 */
#ifndef ST_PIPELINE_H
#define ST_PIPELINE_H

#include <stdint.h>

#include "station/pipeline/event.h"
#include "station/pipeline/station.h"

struct provision_request {
	const char *device_uri;
	const char *scanned_serial; /* from the barcode; NULL if none */
	const char *profile;	    /* NULL: "default" */
	int slot;		    /* 0 for single-device commands */
	const char *operator_id;    /* NULL: the config's operator */
	const char *batch;	    /* NULL if none */
	/* Optional: runs before the first step (a fixture's power_on and
	 * reset hooks), outside the step deadlines because a power cycle
	 * takes what it takes (the hook has its own).  An error FAILs the run
	 * at the connect step with the hook's cause, like any other failure
	 * to reach the device. */
	st_err (*before_connect)(void *ctx, char **cause);
	void *before_connect_ctx;
	/* Optional: asked before each step and after a failing one (the
	 * line's abort key, line_abort).  Nonzero ends the run there as a
	 * FAIL of kind ST_E_ABORTED, "aborted by operator", recorded and
	 * settled like any FAIL; a step already running ends first (at the
	 * latest at its deadline). */
	int (*aborted)(void *ctx);
	void *aborted_ctx;
};

struct provision_result {
	int pass;
	int64_t run_id;
	enum step failed_step; /* meaningful on FAIL */
	st_err err;	       /* kind of failure, ST_OK on PASS */
	char *reason;	       /* technical cause (owned) */
	const char *headline;  /* operator headline (static) */
	const char *advice;    /* operator next step (static) */
	char *serial;	       /* device serial once known (owned) */
	char *cert_serial;     /* issued certificate serial hex (owned) */
	char fingerprint[65];  /* SHA-256 of the certificate, hex */
	const char *smoke;     /* "passed", "failed", "skipped" */
	/* ALREADY PASS: the device PASSed in run already_run_id (ended at
	 * already_at, unix ms) and still proves its certificate's key; no
	 * new certificate (cert_serial is that one). 0 otherwise. */
	int64_t already_run_id;
	int64_t already_at;
	char *smoke_detail; /* TLS version/cipher or why skipped */
	uint64_t duration_ms;
};

void provision_result_clear(struct provision_result *res);

/*
 * The request's own form, before anything is recorded or touched: the
 * device URI's (transport_check), the profile exists, the scanned serial
 * (if any) is one printable word fitting the line's label format.
 * ST_E_URI or ST_E_ARG with a cause naming the mistake.
 */
st_err provision_request_check(const struct station *st,
    const struct provision_request *req, char **cause);

/*
 * Run the whole pipeline for one device.  Returns ST_OK when the run was
 * carried out and recorded (PASS or FAIL: see res->pass); an error when
 * the request is malformed (provision_request_check: nothing is recorded,
 * the device is not touched, res->err says which) or the station itself
 * could not record the run (ledger failure).
 */
st_err provision_run(struct station *st, const struct provision_request *req,
    const struct event_bus *bus, struct provision_result *res, char **cause);

#endif
