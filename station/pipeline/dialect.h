/*
 * Device dialects: how the pipeline talks to a device, between the steps
 * (pipeline.c's step table) and the transport.  A dialect is a table of
 * operations on a run; the steps keep everything that is not the device's
 * (the ledger, the CSR policy, the CA, the checks) and call the dialect
 * where they need the device.
 *
 *	(none)  "v1"     the station's own device protocol (docs/protocol.md,
 *	                 drivers/proto/): dialect_v1.c
 *	nrf91:  "nrf91"  Nordic nRF91 modems over AT commands (%KEYGEN,
 *	                 %CMNG, the Serial LTE Modem's #XMQTT*): dialect_nrf91.c
 *
 * A dialect is chosen by a prefix in front of the transport URI
 * ("nrf91:tcp:HOST:PORT"); a URI without one is v1.  How to add a third:
 * docs/hacking.md, "How to add a device dialect".
 */
#ifndef ST_DIALECT_H
#define ST_DIALECT_H

#include <openssl/x509.h>

#include "drivers/proto/client.h"
#include "drivers/transport/transport.h"
#include "station/config/config.h"
#include "station/tls/smoke.h"
#include "station/util/clock.h"
#include "station/util/err.h"
#include "station/x509/chip_sig.h"

struct run;

struct dialect_ops {
	const char *name;   /* "v1", "nrf91": in messages and the ledger */
	const char *prefix; /* "nrf91:" in front of the transport URI; NULL
	                       for v1, the dialect of a URI without one */
	/* 1: the devices' CSRs encode ecdsa-with-SHA256 with a NULL
	 * parameter (nRF91 %KEYGEN), which the CSR policy then accepts
	 * (csr_expect.allow_ecdsa_null_param) */
	int csr_ecdsa_null_param;
	/* Take the open transport `t` (owned from here, also on failure)
	 * and set up the dialect's state in the run. */
	st_err (*connect)(struct run *r, struct transport *t);
	/* Every following device call keeps to `dl` (a step's deadline). */
	void (*set_deadline)(struct run *r, struct deadline dl);
	/* Identify the device: fill r->info (serial, model, versions, chip;
	 * caps 0 unless the dialect offers PROTO_CAP_SERVER_TRUST). */
	st_err (*hello)(struct run *r);
	/* A key pair on the device's chip: r->spki, the DER SPKI. */
	st_err (*keygen)(struct run *r);
	/* The CSR for r->id, signed on the chip: r->csr_der. */
	st_err (*csr)(struct run *r);
	/* Write r->issued (certificate, chain as the profile wants) and read
	 * it back: ST_E_MISMATCH when the device holds something else; on
	 * success r->held_cert and r->held_chain are what it holds. */
	st_err (*write)(struct run *r);
	st_err (*readback)(struct run *r);
	/* The chip signs `digest`; NULL when the chip signs no digest of
	 * the station's (the proof step is then skipped: the smoke test
	 * proves the key). */
	st_err (*sign)(struct run *r, enum sig_scheme scheme,
	    const uint8_t *digest, size_t digest_len, uint8_t **sig,
	    size_t *sig_len, char **cause);
	/* ATTEST (docs/protocol.md 8.18): the device's TPM2_Certify of its
	 * key over `nonce` into *out (the caller clears it with
	 * dev_attestation_clear); NULL: the dialect has none, and a profile
	 * with attestation = tpm refuses its devices. */
	st_err (*attest)(struct run *r, const uint8_t *nonce, size_t nonce_len,
	    struct dev_attestation *out);
	/* The mTLS smoke test against broker `b` on `topic`: `sr` filled as
	 * smoke_run fills it (station/tls/smoke.h), diagnosis ids included. */
	st_err (*smoke)(struct run *r, const struct config_broker *b,
	    const char *topic, struct smoke_result *sr);
	/* Begin the smoke test `smoke` will finish with the device's
	 * identity and topic, while the certificate is made, written and
	 * read back (r->early_smoke; nothing when it cannot begin; `dl`
	 * bounds the wait).  NULL: the smoke test runs in its step only. */
	void (*smoke_begin)(struct run *r, const struct config_broker *b,
	    struct deadline dl);
	/* The device keeps what it was given (and locks if the profile
	 * says so). */
	st_err (*commit)(struct run *r);
	/* After the run, PASS or FAIL: put the device back as it was found
	 * where the dialect changed it (the modem's CFUN), and free the
	 * dialect's state.  Never fails: what it cannot restore it reports
	 * through run_info. */
	void (*finish)(struct run *r);
};

extern const struct dialect_ops dialect_v1_ops;
extern const struct dialect_ops dialect_nrf91_ops;

/* The dialect of a device URI and, in *transport_uri (borrowed from
 * `uri`), the transport URI after its prefix. */
const struct dialect_ops *dialect_of(const char *uri,
    const char **transport_uri);

/*
 * Connect to the device at `uri` (any dialect) and ask who it is, as the
 * run's hello step would, changing nothing on it (the lone scan's probe,
 * station/line/line_locate.c; `station probe`): *info is what it
 * reports (cleared first; the caller clears it with dev_info_clear; the
 * serial not checked yet).  `p` chooses where an identity comes from
 * (nrf91_identity).
 */
st_err dialect_identify(const char *uri, const struct profile *p,
    struct deadline dl, struct dev_info *info, char **cause);

#endif
