/*
 * External key: an EVP_PKEY whose private operation is a callback.
 *
 * The key never exists in this process.  OpenSSL sees an ordinary EVP_PKEY
 * (EC P-256 or RSA >= 2048) served by a small in-process provider; whenever
 * it needs a signature (TLS CertificateVerify, X509_sign, X509_REQ_sign,
 * EVP_DigestSign, EVP_PKEY_sign) the provider hashes the data with SHA-256
 * and hands the 32-byte digest to the callback, which asks the device (or a
 * PKCS#11 token) to sign it.  The callback is the only seam.
 *
 * All external keys live in one dedicated library context (extkey_libctx):
 * the provider plus OpenSSL's "default" provider, with "?provider=default"
 * as the default property query so ordinary algorithms are never taken from
 * the external-key provider.  Create SSL_CTXs with SSL_CTX_new_ex in it.
 */
#ifndef ST_EXTKEY_H
#define ST_EXTKEY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "station/util/err.h"
#include "station/x509/chip_sig.h"

struct extkey;

/*
 * Signs `digest` (SHA-256, 32 bytes) with the external private key.
 * scheme: SIG_ECDSA_SHA256 (DER ECDSA-Sig-Value out), SIG_RSA_PSS_SHA256
 * (MGF1-SHA256, salt 32) or SIG_RSA_PKCS1_SHA256 (station/x509/chip_sig.h).
 * On success *sig is a malloc'd buffer the extkey frees with free().
 * May block (it talks to a device); it runs on the signing thread.
 */
typedef st_err (*extkey_sign_fn)(void *ctx, enum sig_scheme scheme,
    const uint8_t *digest, size_t digest_len, uint8_t **sig, size_t *sig_len,
    char **cause);

/*
 * A new external key for the public key `spki_der` (DER
 * SubjectPublicKeyInfo; EC P-256 or RSA of 2048..4096 bits).  `fn(ctx, ...)`
 * is called for each signature; `ctx` is borrowed and must outlive the key.
 */
st_err extkey_new(const uint8_t *spki_der, size_t spki_len, extkey_sign_fn fn,
    void *ctx, struct extkey **out, char **cause);

/*
 * The key (borrowed).  Usable with SSL_CTX_use_PrivateKey, X509_sign,
 * X509_REQ_sign, EVP_DigestSign*.  Objects that took a reference to it
 * (SSL_CTX, SSL) must be freed before extkey_free.  The private part
 * cannot be exported; i2d_PUBKEY of it is not supported either: take the
 * public key from the SPKI.
 */
EVP_PKEY *extkey_pkey(struct extkey *k);

/* The library context to create SSL_CTX in (borrowed, process-wide).  k
 * may be NULL: a TLS client without an external key (the start check's
 * look at the broker) uses it too, so that OpenSSL sets up its TLS tables
 * in one library context per process, not two. */
OSSL_LIB_CTX *extkey_libctx(struct extkey *k);

/* How many times the callback ran (successful or not). */
unsigned long extkey_sign_count(struct extkey *k);

/*
 * How many signatures from the callback did not verify with the public key
 * (they were passed on all the same: a chip holding another key).  A
 * signature is checked when this is asked or the next one comes, not on
 * the signing path (the TLS flight the broker waits for).
 */
unsigned long extkey_bad_signatures(struct extkey *k);

/* The cause of the last failed callback, or NULL (borrowed). */
const char *extkey_last_error(struct extkey *k);

void extkey_free(struct extkey *k);

#endif
