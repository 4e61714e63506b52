/*
 * The attest step (profile attestation = tpm): between the CSR policy and
 * the CA, the device proves that the CSR's key was born in a TPM whose
 * attestation key a manufacturer certified.  The station sends a fresh
 * random nonce with ATTEST (docs/protocol.md 8.18) and checks the
 * device's TPM2_Certify with station/x509/attest.h (OpenSSL only).  The
 * result, with the AK certificate's fingerprint, goes into the run's
 * events whichever way it ends, so the ledger shows which attestation key
 * vouched for each key.  With attestation = none (the default) the step
 * is skipped and every device runs as before.
 */
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "station/pipeline/pipeline_run.h"
#include "station/x509/attest.h"

/* The nonce: as long as the SHA-256 names it sits beside. */
#define NONCE_LEN 32

st_err
v1_attest(struct run *r, const uint8_t *nonce, size_t nonce_len,
    struct dev_attestation *out)
{
	return dev_attest(r->client, r->profile->key_slot, nonce, nonce_len,
	    out, &r->cause);
}

st_err
step_attest(struct run *r)
{
	const struct profile *p = r->profile;
	struct dev_attestation ev = { 0 };
	struct attest_evidence e;
	struct attest_result res = { 0 };
	uint8_t nonce[NONCE_LEN];
	const char *rule = NULL;
	st_err err;

	if (p->attestation != ATTESTATION_TPM) {
		r->step_note = "skipped";
		return ST_OK;
	}
	if (r->dialect->attest == NULL ||
	    (r->info.caps & PROTO_CAP_ATTEST) == 0)
		return st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "attestation required: device has no ATTEST (profile '%s' "
		    "has attestation = tpm; the %s device's capabilities "
		    "0x%08x lack CAP_ATTEST 0x%08x: its key is not shown to "
		    "be in a TPM)",
		    p->name, r->dialect->name, (unsigned)r->info.caps,
		    (unsigned)PROTO_CAP_ATTEST);
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		return st_fail_ssl(&r->cause, ST_E_CRYPTO,
		    "drawing the attestation nonce");
	err = r->dialect->attest(r, nonce, sizeof nonce, &ev);
	if (err)
		goto out;
	e = (struct attest_evidence){
		.attest = ev.attest,
		.attest_len = ev.attest_len,
		.sig = ev.sig,
		.sig_len = ev.sig_len,
		.public_area = ev.public_area,
		.public_len = ev.public_len,
		.ak_cert = (const uint8_t *const *)ev.ak_cert,
		.ak_cert_len = ev.ak_cert_len,
		.n_ak_certs = ev.n_ak_certs,
	};
	err =
	    attest_verify(&e, nonce, sizeof nonce, X509_REQ_get0_pubkey(r->csr),
		p->attestation_ca, &res, &rule, &r->cause);
	run_info(r, "attestation: AK certificate sha256 %s, verified %s%s%s",
	    res.ak_fingerprint[0] ? res.ak_fingerprint : "(none)",
	    err ? "no" : "yes", rule ? ", rule " : "", rule ? rule : "");
out:
	dev_attestation_clear(&ev);
	return err;
}
