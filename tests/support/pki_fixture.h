/*
 * Test PKI helpers: device keys, CSRs built the way a device (or an
 * attacker) might build them, scratch directories.  Failures abort: a
 * fixture that cannot be built is a broken test, not a result.
 */
#ifndef TEST_PKI_FIXTURE_H
#define TEST_PKI_FIXTURE_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "station/profile.h"

EVP_PKEY *pki_key_ec(const char *curve); /* "P-256", "P-384" */
EVP_PKEY *pki_key_rsa(unsigned bits);

struct pki_csr_spec {
	EVP_PKEY *key;       /* signs the CSR and is its public key */
	EVP_PKEY *pub;       /* NULL: key; else the public key put in */
	const char *subject; /* DN string (dn.h syntax) */
	const char *san;     /* "DNS:a,URI:b" or NULL */
	int ca_true;         /* request basicConstraints CA:TRUE */
	int ns_comment;      /* request an nsComment extension */
	int challenge;       /* add a challengePassword attribute */
	const EVP_MD *md;    /* NULL: SHA-256 */
};

X509_REQ *pki_make_csr(const struct pki_csr_spec *spec);
/* DER of a CSR / of a key's SubjectPublicKeyInfo (malloc'ed). */
uint8_t *pki_csr_der(X509_REQ *req, size_t *len);
uint8_t *pki_spki_der(EVP_PKEY *key, size_t *len);

/*
 * A certificate for the CSR's key and subject signed by issuer/issuer_key,
 * with the extensions given as "name=value" conf strings (NULL-terminated
 * list, e.g. "basicConstraints=critical,CA:TRUE").
 */
X509 *pki_issue(X509_REQ *csr, X509 *issuer, EVP_PKEY *issuer_key, int days,
    const EVP_MD *md, const char *const *exts);

/* The default profile, filled by hand: EC P-256, 365 days,
 * digitalSignature, clientAuth. */
void pki_profile(struct profile *p);

/* A new empty directory under $TMPDIR (malloc'ed path); remove it and its
 * contents (one level of subdirectories) with pki_rmtree. */
char *pki_tmpdir(void);
void pki_rmtree(const char *dir);

/* Number of lines in a file (-1 if it cannot be opened). */
int pki_count_lines(const char *path);

#endif
