/* Test support: certificates from a throwaway CA (devsim_cert.h). */
#include "devsim_cert.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

/* Issue for `key` with subject `name` from a fresh CA key; NULL on error. */
static uint8_t *
issue(EVP_PKEY *key, const X509_NAME *name, size_t *len)
{
	EVP_PKEY *ca = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *issuer = X509_NAME_new();
	unsigned char *der = NULL;
	uint8_t *out = NULL;
	int n = -1;

	if (ca == NULL || x == NULL || issuer == NULL ||
	    !X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"devsim test CA", -1, -1, 0))
		goto out;
	if (X509_set_version(x, X509_VERSION_3) &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) &&
	    X509_set_subject_name(x, name) && X509_set_issuer_name(x, issuer) &&
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) &&
	    X509_set_pubkey(x, key) && X509_sign(x, ca, EVP_sha256()) > 0)
		n = i2d_X509(x, &der);
	if (n > 0) {
		out = xmemdup(der, (size_t)n);
		*len = (size_t)n;
	}
out:
	OPENSSL_free(der);
	X509_NAME_free(issuer);
	X509_free(x);
	EVP_PKEY_free(ca);
	return out;
}

uint8_t *
test_cert_for_csr(const uint8_t *csr, size_t csr_len, size_t *len)
{
	const unsigned char *p = csr;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	uint8_t *out = NULL;

	if (req != NULL && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1)
		out = issue(X509_REQ_get0_pubkey(req),
		    X509_REQ_get_subject_name(req), len);
	X509_REQ_free(req);
	return out;
}

uint8_t *
test_cert_for_spki(const uint8_t *spki, size_t spki_len, const char *cn,
    size_t *len)
{
	const unsigned char *p = spki;
	EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)spki_len);
	X509_NAME *name = X509_NAME_new();
	uint8_t *out = NULL;

	if (key != NULL && name != NULL &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		out = issue(key, name, len);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return out;
}
