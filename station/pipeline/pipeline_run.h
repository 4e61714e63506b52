/*
 * Private to the pipeline: the state of one run, shared by the orchestrator
 * (pipeline.c) and the step functions (pipeline_steps.c, pipeline_write.c).
 */
#ifndef ST_PIPELINE_RUN_H
#define ST_PIPELINE_RUN_H

#include <openssl/x509.h>

#include "drivers/proto/client.h"
#include "station/ca/ca.h"
#include "station/x509/cert_check.h"
#include "db/ledger.h"
#include "station/x509/identity.h"
#include "station/pipeline/ledger_sink.h"
#include "station/pipeline/pipeline.h"
#include "station/config/profile.h"
#include "station/x509/chip_sig.h"
#include "station/pipeline/dialect.h"

struct run {
	struct station *st;
	const struct provision_request *req;
	/* The run's own bus: the ledger's sink of this run, then (next) the
	 * caller's bus.  Every event of the run goes through it, once. */
	struct event_bus bus;
	struct ledger_sink ledger;
	struct provision_result *res;
	const struct profile *profile;
	struct deadline deadline; /* the current step's */

	const struct dialect_ops *dialect; /* set at connect (dialect.h) */
	void *dialect_state;		   /* the dialect's own, freed by
	                                      its finish */
	struct client *client;		   /* the v1 dialect's */
	struct dev_info info;
	uint8_t *spki; /* chip public key, DER SPKI */
	size_t spki_len;
	struct identity id; /* subject and SANs, built at hello */
	uint8_t *csr_der;   /* as the device sent it */
	size_t csr_der_len;
	X509_REQ *csr;		     /* parsed once the policy accepted it */
	struct ca_issued issued;     /* after cert-check its chain is the
	                            verified path: issuer first, pinned root
	                            last (cert_check_path) */
	X509 *held_cert;	     /* what the device returned at readback: */
	STACK_OF(X509) * held_chain; /* what the smoke test presents */
	int cert_recorded;	     /* the ledger holds the issued cert */
	char *previous_cert;   /* live cert being replaced (reprovision) */
	int superseding;       /* previous_cert recorded 'superseded' */
	char *cause;	       /* the failing step's cause */
	const char *step_note; /* set by a step that succeeded in a
	                               special way ("skipped"): shown with its
	                               EVENT_STEP_OK instead of "ok" */
	enum step step;	       /* the step the run's events belong to:
	                               the one running, after the steps the
	                               one the run ended at */
	int finished_early;    /* a step ended the run as a PASS with nothing
	                       left to do (ALREADY PASS) */
	/* The smoke test begun after the certificate check (dialect
	 * smoke_begin, station/tls/smoke.h smoke_begin) and its chip key;
	 * NULL when none is under way. */
	struct smoke_early *early_smoke;
	struct extkey *early_key;
};

/* Step functions, in pipeline order: return ST_OK or an error with
 * r->cause set. */
st_err step_connect(struct run *r);
st_err step_hello(struct run *r);
st_err step_serial(struct run *r);
st_err step_ledger(struct run *r);
st_err step_clock(struct run *r); /* pipeline_sanity.c */
st_err step_trust(struct run *r); /* pipeline_trust.c */
st_err step_keygen(struct run *r);
st_err step_csr(struct run *r);
st_err step_csr_policy(struct run *r);
st_err step_attest(struct run *r); /* pipeline_attest.c */
st_err step_ca_sign(struct run *r);
st_err step_ca_bind(struct run *r); /* pipeline_bind.c */
st_err step_record(struct run *r);
st_err step_cert_check(struct run *r);
st_err step_write(struct run *r);
st_err step_readback(struct run *r);
st_err step_proof(struct run *r); /* pipeline_proof.c */
/* The proof of step_proof for any certificate: the chip signs a fresh
 * challenge and it verifies with `cert`'s key (ST_E_MISMATCH if not). */
st_err run_prove_key(struct run *r, X509 *cert, const char *serial_hex);
/* At ledger-check, for a device holding a live certificate that its
 * profile refuses to replace (pipeline_already.c): 1 when the device
 * already PASSed here (the certificate verified on it in a PASSed run of
 * this ledger, and the chip proves its key now).  Then the run ends as a
 * PASS without a new certificate (struct run.finished_early, the result's
 * already_* fields). */
int run_already_passed(struct run *r, const struct cert_record *live);
st_err step_smoke(struct run *r);
st_err step_commit(struct run *r);

/* The v1 dialect's operations (dialect_v1.c and the step files). */
st_err v1_keygen(struct run *r);
st_err v1_csr(struct run *r);
st_err v1_write(struct run *r);
st_err v1_readback(struct run *r);
st_err v1_sign(struct run *r, enum sig_scheme scheme, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause);
st_err v1_smoke(struct run *r, const struct config_broker *b, const char *topic,
    struct smoke_result *sr);
void v1_smoke_begin(struct run *r, const struct config_broker *b,
    struct deadline dl);

/* Begin the smoke test (the dialect's smoke_begin) against the broker
 * step_smoke will use, once it is known; let one the run ends without go
 * (pipeline_smoke.c). */
void run_smoke_begin(struct run *r, struct deadline dl);
void run_smoke_abandon(struct run *r);
st_err v1_commit(struct run *r);
st_err v1_attest(struct run *r, const uint8_t *nonce, size_t nonce_len,
    struct dev_attestation *out);

/* The CSR's key (the chip's, r->spki) was never certified in this ledger,
 * for any device: ST_E_EXISTS naming the certificate, device and run
 * that hold it (pipeline_sanity.c; the end of the csr-policy step). */
st_err run_key_unique(struct run *r);

/* What the CA must have returned for this run: the CSR sent, the profile,
 * the expected subject, the pinned root (pipeline_bind.c). */
struct cert_expect run_cert_expect(const struct run *r);

/* The device protocol's SIG_ALG for a signature scheme: the one place
 * the station's vocabulary (station/x509/chip_sig.h) meets the wire's. */
uint8_t run_wire_sig_alg(enum sig_scheme scheme);

/* The fleet-wide reservation of r->info.serial, after the ledger's own
 * (pipeline_fleet.c, docs/fleet.md): ST_OK when there is no [fleet];
 * held by another station: ST_E_STATE or ST_E_EXISTS naming its station,
 * slot and run; the database away: ST_E_HANGUP / ST_E_TIMEOUT ("fleet
 * database unreachable") under fleet = required, a note and ST_OK under
 * fleet = best-effort. */
st_err run_fleet_reserve(struct run *r);
/* After a run's end is recorded: ship the ledger's outbox within
 * [fleet] timeout_ms (skipped while another thread of this process
 * drains); failures are logged, never the run's. */
void run_fleet_drain(struct station *st);

/* Report a detail as an EVENT_INFO_NOTE of the current step (and so in
 * the ledger's run events). */
void run_info(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
