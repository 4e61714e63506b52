/*
 * Test PKI made at test time with the OpenSSL API (nothing committed):
 * keys, CA and device certificates, and a software "chip" that signs
 * digests for an extkey and counts the calls.
 */
#ifndef TEST_PKI_H
#define TEST_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "station/util/err.h"

/* A new EC P-256 (rsa == 0) or RSA-2048 key.  Aborts on failure. */
EVP_PKEY *pki_key(int rsa);

/*
 * A certificate for `cn` and `key`, signed by issuer/issuer_key (both NULL:
 * self-signed with `key`).  `ca`: a CA certificate, else a TLS client leaf.
 * Valid from now + from_days to now + to_days.  Aborts on failure.
 */
X509 *pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int ca, long from_days, long to_days);

/* Write `cert` as PEM to `path` (replacing it).  Aborts on failure. */
void pki_write_pem(const char *path, X509 *cert);

/* DER SubjectPublicKeyInfo of `key` (malloc'd). */
uint8_t *pki_spki(EVP_PKEY *key, size_t *len);

/* The test chip: signs like a device would (see extkey_sign_fn). */
struct test_chip {
	EVP_PKEY *key; /* borrowed */
	unsigned long calls;
	int fail;      /* nonzero: refuse to sign */
};

st_err test_chip_sign(void *ctx, int sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause);

#endif
