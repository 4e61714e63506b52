/*
 * Checking a signature a chip made with protocol SIGN (docs/protocol.md
 * section 8.6): the chip signs a 32-byte SHA-256 digest as given (no
 * hashing again) with ECDSA (DER ECDSA-Sig-Value), RSA-PSS (MGF1-SHA256,
 * salt length 32) or RSA PKCS#1 v1.5.  One implementation for the proof
 * step (a fresh challenge checked against the certified key) and the
 * external key (a diagnosis when a broker's verdict is lost).
 */
#ifndef ST_CHIP_SIG_H
#define ST_CHIP_SIG_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/*
 * Signature schemes over a SHA-256 digest: the station's own vocabulary,
 * used by the external key and the proof step.  The device protocol has
 * its SIG_ALG values (drivers/proto/proto.h); the pipeline maps between
 * the two where it talks to a device (run_wire_sig_alg), so nothing
 * below the pipeline depends on the wire.
 */
enum sig_scheme {
	SIG_ECDSA_SHA256 = 1,	  /* DER ECDSA-Sig-Value */
	SIG_RSA_PSS_SHA256 = 2,	  /* MGF1-SHA256, salt length 32 */
	SIG_RSA_PKCS1_SHA256 = 3, /* PKCS#1 v1.5 */
};

/*
 * 1 if `sig` is a valid signature of scheme `scheme` over `digest` with the public key `pub`, else 0 (a
 * wrong key, a mangled signature, an algorithm that does not fit the key).
 * Algorithms are fetched from `libctx` with `propq` (both may be NULL: the
 * default library context).  OpenSSL's error queue is left empty.
 */
int chip_sig_verify(OSSL_LIB_CTX *libctx, const char *propq, EVP_PKEY *pub,
    enum sig_scheme scheme, const uint8_t *digest, size_t digest_len,
    const uint8_t *sig, size_t sig_len);

/*
 * The scheme to ask of a chip holding the private half of `pub`:
 * SIG_ECDSA_SHA256 for an EC key, SIG_RSA_PSS_SHA256 for RSA
 * (what TLS 1.3 uses too); -1 for any other kind of key.
 */
int chip_sig_alg_for(EVP_PKEY *pub);

#endif
