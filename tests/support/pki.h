/*
 * The test PKI, made at test time with the OpenSSL API (nothing
 * committed): keys, CSRs built the way a device (or an attacker) might
 * build them, certificates from one builder (root, intermediate, leaf,
 * foreign, expired, for another key), a root + intermediate + TLS server
 * hierarchy for the CA test servers, and a software "chip" that signs
 * digests for an extkey and counts the calls.  Failures abort: a fixture
 * that cannot be built is a broken test, not a result.
 */
#ifndef TEST_PKI_H
#define TEST_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "station/config/profile.h"
#include "station/util/err.h"
#include "station/x509/chip_sig.h"

/* Keys (caller frees). */
EVP_PKEY *pki_key_ec(const char *curve); /* "P-256", "P-384" */
EVP_PKEY *pki_key_rsa(unsigned bits);
EVP_PKEY *pki_key(int rsa); /* rsa == 0: EC P-256, else RSA-2048 */

/* CSRs. */
struct pki_csr_spec {
	EVP_PKEY *key;	     /* signs the CSR and is its public key */
	EVP_PKEY *pub;	     /* NULL: key; else the public key put in */
	const char *subject; /* DN string (dn.h syntax) */
	const char *san;     /* "DNS:a,URI:b" or NULL */
	int ca_true;	     /* request basicConstraints CA:TRUE */
	int ns_comment;	     /* request an nsComment extension */
	int challenge;	     /* add a challengePassword attribute */
	const EVP_MD *md;    /* NULL: SHA-256 */
};

X509_REQ *pki_make_csr(const struct pki_csr_spec *spec);

/* Certificates: every test certificate comes out of pki_cert_new. */
struct pki_cert_spec {
	const X509_NAME *subject; /* or, if NULL: */
	const char *org;	  /* NULL or O= before the CN */
	const char *cn;		  /* CN= */
	EVP_PKEY *pub;		  /* the key certified */
	X509 *issuer;		  /* NULL: self-issued */
	EVP_PKEY *issuer_key;	  /* signs; NULL: pub (self-signed) */
	long not_before;	  /* seconds from now (negative: in the past) */
	long not_after;		  /* seconds from now */
	long serial;		  /* 0: 128 random bits */
	const EVP_MD *md;	  /* NULL: SHA-256 */
	/* "name=value" extension conf strings, NULL-terminated, e.g.
	 * "basicConstraints=critical,CA:TRUE" */
	const char *const *exts;
	X509_REQ *copy_san_from; /* copy its subjectAltName request */
};

X509 *pki_cert_new(const struct pki_cert_spec *spec);

/*
 * A CA certificate (`ca`) or a TLS client leaf for `cn` and `key`, signed
 * by issuer/issuer_key (both NULL: self-signed), valid from now +
 * from_days to now + to_days (a past to_days: expired).
 */
X509 *pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int ca, long from_days, long to_days);

/*
 * A certificate for the CSR's key and subject signed by issuer/issuer_key
 * (serial 4242), with the extensions `exts` ("name=value", as above).
 */
X509 *pki_issue(X509_REQ *csr, X509 *issuer, EVP_PKEY *issuer_key, int days,
    const EVP_MD *md, const char *const *exts);

/*
 * A DER certificate from a throwaway CA (a fresh P-256 key named "devsim
 * test CA"), valid for an hour, for the key and subject of the DER CSR
 * (its signature checked first: proof of possession) or for a bare DER
 * SubjectPublicKeyInfo with subject CN=`cn`.  NULL if the input does not
 * parse or verify; the caller frees the result.
 */
uint8_t *pki_cert_for_csr_der(const uint8_t *csr, size_t csr_len, size_t *len);
uint8_t *pki_cert_for_spki_der(const uint8_t *spki, size_t spki_len,
    const char *cn, size_t *len);

/* Encodings (malloc'ed).  pki_csr_der leaves 64 spare bytes at the end
 * for tests that append. */
uint8_t *pki_csr_der(X509_REQ *req, size_t *len);
uint8_t *pki_spki(EVP_PKEY *key, size_t *len); /* DER SubjectPublicKeyInfo */
char *pki_pem(X509 *cert);
/* SHA-256 of the certificate's public key, base64 (pin_sha256 form). */
char *pki_pin(X509 *cert);

/* Write `cert` and/or `key` (0600) as PEM to `path` (replacing it). */
void pki_write_pem(const char *path, X509 *cert);
void pki_write_pem_key(const char *path, X509 *cert, EVP_PKEY *key);

/* The default profile, filled by hand: EC P-256, 365 days,
 * digitalSignature, clientAuth. */
void pki_profile(struct profile *p);

/*
 * A device for CA tests: a new P-256 key (*key), its CSR with `subject`
 * and `san` (*csr), both for the caller to free, and the default profile
 * (pki_profile).
 */
void pki_device(const char *subject, const char *san, EVP_PKEY **key,
    X509_REQ **csr, struct profile *profile);

/*
 * A root, an intermediate that signs device certificates, and a TLS server
 * certificate for 127.0.0.1 / localhost (issued by the root), all EC P-256.
 * Everything is also written as PEM files in `dir` (the CFSSL test hands
 * them to `cfssl serve`).
 */
struct pki_chain {
	EVP_PKEY *root_key, *inter_key, *server_key;
	X509 *root, *inter, *server;
	/* files in dir: root.pem inter.pem inter.key server.pem server.key */
	char *root_pem, *inter_pem, *inter_key_file, *server_pem,
	    *server_key_file;
};

/* `name` goes into the subjects ("Vault Test" -> "Vault Test Root"). */
struct pki_chain *pki_chain_new(const char *dir, const char *name);
void pki_chain_free(struct pki_chain *pki);

/* A server context presenting the server certificate. */
SSL_CTX *pki_chain_server_ctx(const struct pki_chain *pki);

/*
 * A device certificate for the CSR's subject and names, signed by the
 * intermediate with a random serial; the public key is `pub` if given
 * (a certificate for another key), else the CSR's.
 */
X509 *pki_chain_sign(const struct pki_chain *pki, X509_REQ *csr, int days,
    EVP_PKEY *pub);

/* The test chip: signs like a device would (see extkey_sign_fn). */
struct test_chip {
	EVP_PKEY *key; /* borrowed */
	unsigned long calls;
	int fail; /* nonzero: refuse to sign */
};

st_err test_chip_sign(void *ctx, enum sig_scheme sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause);

#endif
