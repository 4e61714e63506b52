/* Shared by smoke.c (the run) and smoke_diag.c (turning what was seen into
 * a diagnosis). */
#ifndef ST_SMOKE_INT_H
#define ST_SMOKE_INT_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "station/tls/smoke.h"

/* What one run observed, filled by the OpenSSL and libmosquitto callbacks. */
struct smoke_state {
	const struct smoke_params *p;
	struct smoke_early *early; /* NULL: the identity came with p */
	int mid;		   /* of our PUBLISH */
	bool handshake_done;
	bool connack_seen;
	int connack_rc;
	bool puback_seen;
	int puback_rc;
	bool disconnected;
	int verify_err; /* first X509_V_ERR_* on the broker chain, 0 */
	int verify_depth;
	int alert_recv; /* TLS alert from the broker, -1 if none */
	int alert_sent; /* TLS alert we sent, -1 if none */
	unsigned long signs_before;
	unsigned long bad_before; /* extkey_bad_signatures at the start */
	char *tls_version;
	char *cipher;
	char log[768]; /* libmosquitto's error lines (OpenSSL queue) */
};

/* Stable ids. */
#define SMOKE_PASS "pass"
#define SMOKE_UNREACHABLE "broker-unreachable"
#define SMOKE_UNTRUSTED "broker-untrusted"
#define SMOKE_WRONG_HOST "broker-wrong-host"
#define SMOKE_CERT_REFUSED "cert-refused"
#define SMOKE_SIG_REFUSED "signature-refused"
#define SMOKE_MQTT_REFUSED "mqtt-refused"
#define SMOKE_ACL_DENIED "acl-denied"
#define SMOKE_KEY_MISMATCH "cert-key-mismatch"
#define SMOKE_SIGN_FAILED "chip-sign-failed"
#define SMOKE_TLS_FAILED "tls-failed"
#define SMOKE_TIMEOUT "timeout"

/*
 * Classify the end of a run.  `loop_rc` is the last libmosquitto result
 * (MOSQ_ERR_*), `loop_errno` the errno that came with it, `timed_out` true
 * when the deadline ended the run.  Sets r->diagnosis and r->reason_code
 * and returns the error (ST_OK for a pass) with a cause sentence.
 */
st_err smoke_diagnose(const struct smoke_state *s, struct smoke_result *r,
    int loop_rc, int loop_errno, bool timed_out, char **cause);

/* smoke_run, early (smoke_early.c) when `early` is not NULL: the thread
 * of smoke_begin runs it. */
st_err smoke_run_early(const struct smoke_params *p, struct smoke_early *early,
    struct smoke_result *r, char **cause);

/* The deadline in force: p->deadline, or an early test's (the step's
 * once handed over). */
struct deadline smoke_deadline(const struct smoke_state *s);
/* An early test was abandoned: stop at the next slice. */
bool smoke_stopped(const struct smoke_state *s);
/* Wait for an early test's hand-over: true once handed, false when
 * abandoned or past the deadline first; true at once for smoke_run. */
bool smoke_wait_handed(const struct smoke_state *s);
/* SSL_CTX_set_cert_cb callback of an early test (`arg` its state). */
int smoke_early_identity(SSL *ssl, void *arg);

/* Fail with `id` and its advice appended to the formatted sentence. */
st_err smoke_fail(struct smoke_result *r, char **cause, st_err err,
    const char *id, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
