/* Test PKI and the test chip (see pki.h). */
#include "pki.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "drivers/proto.h"
#include "station/util/xalloc.h"

static void
need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "test PKI: %s failed\n", what);
		abort();
	}
}

EVP_PKEY *
pki_key(int rsa)
{
	EVP_PKEY *k = rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048) :
	    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	need(k != NULL, "key generation");
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	need(ext != NULL && X509_add_ext(x, ext, -1), "certificate extension");
	X509_EXTENSION_free(ext);
}

X509 *
pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    int ca, long from_days, long to_days)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();

	need(x && name && bn, "allocation");
	need(BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL, "serial");
	need(X509_set_version(x, X509_VERSION_3), "version");
	need(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), "subject");
	need(X509_set_subject_name(x, name), "subject");
	need(X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) :
	    name), "issuer");
	need(X509_gmtime_adj(X509_getm_notBefore(x), from_days * 86400L) &&
	    X509_gmtime_adj(X509_getm_notAfter(x), to_days * 86400L),
	    "validity");
	need(X509_set_pubkey(x, key), "public key");
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(x, issuer, NID_authority_key_identifier, "keyid");
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
		add_ext(x, issuer, NID_ext_key_usage, "clientAuth");
	}
	need(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0,
	    "certificate signature");
	X509_NAME_free(name);
	BN_free(bn);
	return x;
}

void
pki_write_pem(const char *path, X509 *cert)
{
	FILE *fp = fopen(path, "w");

	need(fp != NULL, "opening a PEM file");
	need(PEM_write_X509(fp, cert), "writing a PEM file");
	need(fclose(fp) == 0, "closing a PEM file");
}

uint8_t *
pki_spki(EVP_PKEY *key, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	uint8_t *copy;

	need(n > 0, "encoding the public key");
	copy = xmemdup(der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

st_err
test_chip_sign(void *ctx, int sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	struct test_chip *chip = ctx;
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 0;
	st_err err = ST_E_CRYPTO;

	chip->calls++;
	*sig = NULL;
	if (chip->fail)
		return st_fail(cause, ST_E_DEVICE, "chip refused to sign");
	if (digest_len != 32)
		return st_fail(cause, ST_E_ARG, "digest is %zu bytes", digest_len);
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, chip->key, NULL);
	if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) <= 0)
		goto out;
	if (sig_alg == PROTO_SIG_RSA_PSS_SHA256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
		goto out;
	if (sig_alg == PROTO_SIG_RSA_PKCS1_SHA256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (EVP_PKEY_sign(pctx, NULL, &len, digest, digest_len) <= 0)
		goto out;
	*sig = xmalloc(len);
	if (EVP_PKEY_sign(pctx, *sig, &len, digest, digest_len) <= 0) {
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*sig_len = len;
	err = ST_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	if (err)
		return st_fail_ssl(cause, err, "test chip: signing failed");
	return ST_OK;
}
