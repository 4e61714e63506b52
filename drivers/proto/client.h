/*
 * Device-protocol client: the station side of docs/protocol.md.
 *
 * It owns a transport, numbers requests, splits large requests into chunks
 * and reassembles chunked replies, retransmits on silence or on a NAK, and
 * gives up at the deadline.  It never prints; it logs frames at debug level.
 *
 * All calls are synchronous and bounded: each command has a response
 * timeout (struct client_opts), and the whole call also respects the
 * caller's deadline when one is passed with client_set_deadline().
 */
#ifndef ST_CLIENT_H
#define ST_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/clock.h"
#include "station/util/err.h"
#include "drivers/transport/transport.h"

struct client;

struct client_opts {
	int reply_timeout_ms;  /* per attempt, ordinary commands; default 500 */
	int keygen_timeout_ms; /* per attempt, KEYGEN; default 15000 */
	int crypto_timeout_ms; /* per attempt, CSR, SIGN and ATTEST; default
	                          5000 */
	int retries;	       /* retransmissions after the first try; 3 */
};

void client_opts_default(struct client_opts *o);

/*
 * Raise o->retries so that attempts of o->reply_timeout_ms fill
 * `budget_ms` (never lowered): a caller with a deadline (a pipeline step,
 * a probe) gives a device that is slow to answer all of it, its first
 * HELLO included, instead of a fixed count of attempts.
 */
void client_opts_fit(struct client_opts *o, int budget_ms);

/* Takes ownership of `t` (closed by client_free). `opts` may be NULL. */
struct client *client_new(struct transport *t, const struct client_opts *opts);
void client_free(struct client *c);
struct transport *client_transport(struct client *c);
/* Optional overall deadline for every following call (e.g. a pipeline
 * step's); deadline 0 clears it. */
void client_set_deadline(struct client *c, struct deadline dl);
/* Counters for tests and benchmarks. */
struct client_stats {
	unsigned long requests, retransmits, naks, bad_frames, stale_frames;
	unsigned long bytes_out, bytes_in;
};
void client_get_stats(struct client *c, struct client_stats *out);
/* Exchanges the client keeps in flight during a chunked transfer: the
 * window HELLO negotiated (docs/protocol.md 6.3), 1 without one. */
size_t client_window(const struct client *c);
/* 1 when the chunks after a message's first travel as compact frames
 * (PROTO_CAP_COMPACT with a window, docs/protocol.md 6.4), else 0. */
int client_compact(const struct client *c);

/* What HELLO reports; strings owned by the struct. */
struct dev_info {
	uint8_t version;
	char *serial, *model, *hw_version, *fw_version, *chip;
	uint32_t caps;
	uint8_t state;
	uint16_t max_frame;
	uint8_t window;	   /* WINDOW: frames in flight (CAP_WINDOW), else 1 */
	uint8_t compact;   /* compact frames (CAP_COMPACT and window > 1) */
	uint32_t max_baud; /* BAUD: highest rate (CAP_BAUD_SWITCH), else 0 */
};
void dev_info_clear(struct dev_info *info);

/*
 * Parse the payload of a HELLO reply (bytes from the device, not trusted:
 * the TLV structure is checked here too) into *info, which is overwritten.
 * ST_E_PROTO for a missing or malformed required field (VERSION, MAX_FRAME,
 * SERIAL), an out-of-range frame limit or an empty serial; ST_E_UNSUPPORTED
 * for another protocol version.  On failure *info is left cleared.
 */
st_err dev_info_parse(const uint8_t *payload, size_t len, struct dev_info *info,
    char **cause);

/*
 * One request/reply exchange.  `req` is the TLV payload (may be NULL/0).
 * On ST_OK the reply payload is returned in *resp (caller frees) and the
 * reply status was OK.  A device error status gives ST_E_DEVICE with the
 * status name and the device's MESSAGE in the cause; *status (if non-NULL)
 * receives the status byte either way.
 */
st_err client_call(struct client *c, uint8_t cmd, const uint8_t *req,
    size_t req_len, uint8_t **resp, size_t *resp_len, uint8_t *status,
    char **cause);

/* HELLO: negotiates the frame size; must be the first call. */
st_err dev_hello(struct client *c, struct dev_info *info, char **cause);
/* KEYGEN in `slot`; returns the DER SubjectPublicKeyInfo (caller frees). */
st_err dev_keygen(struct client *c, uint8_t alg, uint8_t slot, uint8_t **spki,
    size_t *spki_len, char **cause);
st_err dev_pubkey(struct client *c, uint8_t slot, uint8_t **spki,
    size_t *spki_len, char **cause);
/* CSR for `subject` and NULL-terminated SAN lists (either may be NULL). */
st_err dev_csr(struct client *c, uint8_t slot, const char *subject,
    const char *const *san_dns, const char *const *san_uri, uint8_t **der,
    size_t *der_len, char **cause);
st_err dev_sign(struct client *c, uint8_t slot, uint8_t sig_alg,
    const uint8_t *digest, size_t digest_len, uint8_t **sig, size_t *sig_len,
    char **cause);
/*
 * ATTEST (CAP_ATTEST, docs/protocol.md 8.18): the device's TPM2_Certify of
 * the key in `slot` over `nonce`.  Only the framing is checked here (each
 * part present, within its bound, at most DEV_AK_CERTS_MAX certificates);
 * what the bytes say is station/x509/attest.h's to judge.  *out is owned
 * by the caller and released with dev_attestation_clear().
 */
#define DEV_AK_CERTS_MAX 4
struct dev_attestation {
	uint8_t *attest; /* TPMS_ATTEST as signed */
	size_t attest_len;
	uint8_t *sig; /* the AK's signature over it */
	size_t sig_len;
	uint8_t *public_area; /* the key's TPMT_PUBLIC */
	size_t public_len;
	uint8_t *ak_cert[DEV_AK_CERTS_MAX]; /* AK certificate first */
	size_t ak_cert_len[DEV_AK_CERTS_MAX];
	size_t n_ak_certs;
};
st_err dev_attest(struct client *c, uint8_t slot, const uint8_t *nonce,
    size_t nonce_len, struct dev_attestation *out, char **cause);
void dev_attestation_clear(struct dev_attestation *a);
st_err dev_write_cert(struct client *c, const uint8_t *der, size_t len,
    char **cause);
/* Chain: `n` DER certificates, issuer of the leaf first. */
st_err dev_write_chain(struct client *c, const uint8_t *const *der,
    const size_t *len, size_t n, char **cause);
st_err dev_read_cert(struct client *c, uint8_t **der, size_t *len,
    char **cause);
/* Returns the raw READ_CHAIN payload (CERT TLVs), for byte comparison. */
st_err dev_read_chain(struct client *c, uint8_t **payload, size_t *len,
    char **cause);
/*
 * The server trust a device needs after the line (WRITE_TRUST, behind
 * PROTO_CAP_SERVER_TRUST): the CA certificates it trusts its server by
 * and the server's endpoint.  All borrowed.
 */
struct dev_trust {
	const uint8_t *const *anchor; /* DER certificates, `n_anchors` */
	const size_t *anchor_len;
	size_t n_anchors;
	const char *host; /* NULL: no endpoint */
	uint16_t port;
};
/* The WRITE_TRUST message for `t` (caller frees): TRUST_CA elements
 * in order, then SERVER_HOST and SERVER_PORT.  READ_TRUST returns
 * exactly these bytes from a device that stored them. */
uint8_t *dev_trust_message(const struct dev_trust *t, size_t *len);
st_err dev_write_trust(struct client *c, const struct dev_trust *t,
    char **cause);
/* Returns the raw READ_TRUST payload, for byte comparison. */
st_err dev_read_trust(struct client *c, uint8_t **payload, size_t *len,
    char **cause);
st_err dev_commit(struct client *c, int lock, char **cause);
st_err dev_factory_reset(struct client *c, char **cause);

#endif
