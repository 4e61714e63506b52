/*
 * The proof step: a PASS means the chip holds the key its certificate is
 * for and can use it.  The CSR's signature only showed the chip could sign
 * once, before the certificate existed; the smoke test, which would show
 * it again, is skipped when no broker is configured.  So after read-back
 * the station sends the chip a fresh random 32-byte challenge to SIGN
 * (docs/protocol.md section 8.6) and verifies the signature with the
 * public key of the issued certificate itself: one round trip, whatever
 * the smoke test does.
 */
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include "drivers/proto/client.h"
#include "station/x509/chip_sig.h"
#include "station/pipeline/pipeline_run.h"

#include "drivers/proto/proto.h"

/* SHA-256 length: SIGN takes a digest of exactly this size. */
#define CHALLENGE_LEN 32

uint8_t
run_wire_sig_alg(enum sig_scheme scheme)
{
	switch (scheme) {
	case SIG_ECDSA_SHA256:
		return PROTO_SIG_ECDSA_SHA256;
	case SIG_RSA_PSS_SHA256:
		return PROTO_SIG_RSA_PSS_SHA256;
	case SIG_RSA_PKCS1_SHA256:
		return PROTO_SIG_RSA_PKCS1_SHA256;
	}
	return 0; /* not a SIG_ALG: the device refuses it (BAD_ARG) */
}

st_err
step_proof(struct run *r)
{
	if (r->dialect->sign == NULL) {
		/* A chip that signs no digest of ours (an nRF91 modem): its
		 * key is proven by the device-driven smoke test. */
		r->step_note = "skipped";
		run_info(r,
		    "the %s chip signs no challenge; the smoke test "
		    "proves the certified key",
		    r->dialect->name);
		return ST_OK;
	}
	return run_prove_key(r, r->issued.cert, r->issued.serial_hex);
}

st_err
v1_sign(struct run *r, enum sig_scheme scheme, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	return dev_sign(r->client, r->profile->key_slot,
	    run_wire_sig_alg(scheme), digest, digest_len, sig, sig_len, cause);
}

st_err
run_prove_key(struct run *r, X509 *cert, const char *serial_hex)
{
	uint8_t challenge[CHALLENGE_LEN];
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	int alg = pub ? chip_sig_alg_for(pub) : -1;
	st_err err;

	if (alg < 0) {
		err = st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "the certified key "
		    "is neither EC nor RSA: no SIGN algorithm fits it");
		goto out;
	}
	/* Fresh every run: an answer recorded from an earlier run (or
	 * another device) cannot be replayed. */
	if (RAND_bytes(challenge, sizeof challenge) != 1) {
		err = st_fail_ssl(&r->cause, ST_E_CRYPTO,
		    "drawing the proof "
		    "challenge");
		goto out;
	}
	if (r->dialect->sign == NULL) {
		err = st_fail(&r->cause, ST_E_UNSUPPORTED,
		    "the %s chip signs no challenge", r->dialect->name);
		goto out;
	}
	err = r->dialect->sign(r, (enum sig_scheme)alg, challenge,
	    sizeof challenge, &sig, &sig_len, &r->cause);
	if (err) {
		st_wrap(&r->cause, err,
		    "asking the chip to sign the proof "
		    "challenge");
		goto out;
	}
	if (!chip_sig_verify(NULL, NULL, pub, (enum sig_scheme)alg, challenge,
		sizeof challenge, sig, sig_len))
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "the chip's signature "
		    "over a fresh challenge does not verify with the key of "
		    "certificate %s: the chip cannot use the key it was "
		    "certified for",
		    serial_hex);
out:
	free(sig);
	return err;
}
