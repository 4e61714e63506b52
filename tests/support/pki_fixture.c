/* Test PKI helpers (see pki_fixture.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pki_fixture.h"

#include <ftw.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/dn.h"

static void
die(const char *what)
{
	fprintf(stderr, "pki fixture: %s failed\n", what);
	abort();
}

EVP_PKEY *
pki_key_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	if (k == NULL)
		die("EC keygen");
	return k;
}

EVP_PKEY *
pki_key_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (k == NULL)
		die("RSA keygen");
	return k;
}

static void
push_ext(STACK_OF(X509_EXTENSION) *exts, X509V3_CTX *ctx, int nid,
    const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);

	if (e == NULL)
		die(value);
	sk_X509_EXTENSION_push(exts, e);
}

X509_REQ *
pki_make_csr(const struct pki_csr_spec *spec)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509V3_CTX ctx;

	if (dn_parse(spec->subject, &name, NULL) != ST_OK)
		die("subject");
	if (!X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, name) ||
	    !X509_REQ_set_pubkey(req, spec->pub ? spec->pub : spec->key))
		die("CSR fields");
	X509V3_set_ctx(&ctx, NULL, NULL, req, NULL, 0);
	if (spec->san)
		push_ext(exts, &ctx, NID_subject_alt_name, spec->san);
	if (spec->ca_true)
		push_ext(exts, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	if (spec->ns_comment)
		push_ext(exts, &ctx, NID_netscape_comment, "made by a device");
	if (sk_X509_EXTENSION_num(exts) > 0 &&
	    !X509_REQ_add_extensions(req, exts))
		die("CSR extensions");
	if (spec->challenge &&
	    !X509_REQ_add1_attr_by_NID(req, NID_pkcs9_challengePassword,
	    MBSTRING_ASC, (const unsigned char *)"secret", -1))
		die("challengePassword");
	if (X509_REQ_sign(req, spec->key, spec->md ? spec->md : EVP_sha256())
	    <= 0)
		die("CSR signing");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	return req;
}

uint8_t *
pki_csr_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	uint8_t *copy;

	if (n <= 0)
		die("i2d_X509_REQ");
	copy = malloc((size_t)n + 64); /* room for tests to append */
	if (copy == NULL)
		die("malloc");
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

uint8_t *
pki_spki_der(EVP_PKEY *key, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key, &der);
	uint8_t *copy;

	if (n <= 0)
		die("i2d_PUBKEY");
	copy = malloc((size_t)n);
	if (copy == NULL)
		die("malloc");
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
}

X509 *
pki_issue(X509_REQ *csr, X509 *issuer, EVP_PKEY *issuer_key, int days,
    const EVP_MD *md, const char *const *exts)
{
	X509 *cert = X509_new();
	X509V3_CTX ctx;

	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(issuer)) ||
	    !X509_set_subject_name(cert, X509_REQ_get_subject_name(csr)) ||
	    !X509_set_pubkey(cert, X509_REQ_get0_pubkey(csr)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -60) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL))
		die("certificate fields");
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	for (size_t i = 0; exts != NULL && exts[i] != NULL; i++) {
		char *copy = strdup(exts[i]);
		char *eq = copy ? strchr(copy, '=') : NULL;

		if (eq == NULL)
			die(exts[i]);
		*eq = '\0';
		X509_EXTENSION *e = X509V3_EXT_nconf(NULL, &ctx, copy, eq + 1);
		if (e == NULL || !X509_add_ext(cert, e, -1))
			die(exts[i]);
		X509_EXTENSION_free(e);
		free(copy);
	}
	if (X509_sign(cert, issuer_key, md ? md : EVP_sha256()) <= 0)
		die("certificate signing");
	return cert;
}

void
pki_profile(struct profile *p)
{
	memset(p, 0, sizeof *p);
	p->key_alg = KEY_ALG_EC_P256;
	p->validity_days = 365;
	p->key_usage = PROFILE_KU_DIGITAL_SIGNATURE;
	p->eku_client_auth = 1;
	p->chain = CHAIN_INTERMEDIATE_AND_ROOT;
	p->tls_min_version = 13;
}

char *
pki_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = malloc(4096);

	if (path == NULL)
		die("malloc");
	snprintf(path, 4096, "%s/station-test-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(path) == NULL)
		die("mkdtemp");
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
pki_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
pki_count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	int n = 0, c;

	if (fp == NULL)
		return -1;
	while ((c = fgetc(fp)) != EOF) {
		if (c == '\n')
			n++;
	}
	fclose(fp);
	return n;
}
