/* Test PKI: keys and certificates (see pki.h). */
#include "tests/support/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

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
pki_key_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	need(k != NULL, "EC key generation");
	return k;
}

EVP_PKEY *
pki_key_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	need(k != NULL, "RSA key generation");
	return k;
}

EVP_PKEY *
pki_key(int rsa)
{
	return rsa ? pki_key_rsa(2048) : pki_key_ec("P-256");
}

static void
set_serial(X509 *cert, long serial)
{
	unsigned char b[16];
	BIGNUM *bn;

	if (serial != 0) {
		need(ASN1_INTEGER_set(X509_get_serialNumber(cert), serial),
		    "serial");
		return;
	}
	need(RAND_bytes(b, sizeof b) == 1, "RAND_bytes");
	b[0] &= 0x7f;
	b[0] |= 0x10;
	bn = BN_bin2bn(b, sizeof b, NULL);
	need(bn != NULL &&
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL,
	    "serial");
	BN_free(bn);
}

static X509_NAME *
make_name(const char *org, const char *cn)
{
	X509_NAME *name = X509_NAME_new();

	need(name != NULL, "allocation");
	if (org != NULL)
		need(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
			 (const unsigned char *)org, -1, -1, 0),
		    "subject O");
	need(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		 (const unsigned char *)cn, -1, -1, 0),
	    "subject CN");
	return name;
}

static void
add_ext(X509 *cert, X509 *issuer, const char *conf)
{
	char *copy = xstrdup(conf);
	char *eq = strchr(copy, '=');
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	need(eq != NULL, conf);
	*eq = '\0';
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	e = X509V3_EXT_nconf(NULL, &ctx, copy, eq + 1);
	need(e != NULL && X509_add_ext(cert, e, -1), conf);
	X509_EXTENSION_free(e);
	free(copy);
}

/* Copy the CSR's subjectAltName, as a CA honouring the request does. */
static void
copy_san(X509 *cert, X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

	need(idx < 0 ||
		X509_add_ext(cert, sk_X509_EXTENSION_value(exts, idx), -1),
	    "copying subjectAltName");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

X509 *
pki_cert_new(const struct pki_cert_spec *s)
{
	X509 *cert = X509_new();
	X509_NAME *own = s->subject ? NULL : make_name(s->org, s->cn);
	const X509_NAME *subject = s->subject ? s->subject : own;

	need(cert != NULL, "allocation");
	set_serial(cert, s->serial);
	need(X509_set_version(cert, X509_VERSION_3) &&
		X509_set_subject_name(cert, subject) &&
		X509_set_issuer_name(cert,
		    s->issuer ? X509_get_subject_name(s->issuer) : subject) &&
		X509_set_pubkey(cert, s->pub),
	    "certificate fields");
	need(X509_gmtime_adj(X509_getm_notBefore(cert), s->not_before) &&
		X509_gmtime_adj(X509_getm_notAfter(cert), s->not_after),
	    "validity");
	for (size_t i = 0; s->exts != NULL && s->exts[i] != NULL; i++)
		add_ext(cert, s->issuer ? s->issuer : cert, s->exts[i]);
	if (s->copy_san_from != NULL)
		copy_san(cert, s->copy_san_from);
	need(X509_sign(cert, s->issuer_key ? s->issuer_key : s->pub,
		 s->md ? s->md : EVP_sha256()) > 0,
	    "certificate signature");
	X509_NAME_free(own);
	return cert;
}

X509 *
pki_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
    int ca, long from_days, long to_days)
{
	static const char *const ca_exts[] = { "subjectKeyIdentifier=hash",
		"basicConstraints=critical,CA:TRUE",
		"keyUsage=critical,keyCertSign,cRLSign", NULL };
	static const char *const leaf_exts[] = { "subjectKeyIdentifier=hash",
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", NULL };
	const char *const *preset = ca ? ca_exts : leaf_exts;
	const char *exts[8];
	size_t n = 0;

	/* The authority key identifier follows the subject's, as before. */
	exts[n++] = preset[0];
	if (issuer != NULL)
		exts[n++] = "authorityKeyIdentifier=keyid";
	for (size_t i = 1; preset[i] != NULL; i++)
		exts[n++] = preset[i];
	exts[n] = NULL;
	return pki_cert_new(&(struct pki_cert_spec){ .cn = cn,
	    .pub = key,
	    .issuer = issuer,
	    .issuer_key = issuer_key,
	    .not_before = from_days * 86400L,
	    .not_after = to_days * 86400L,
	    .exts = exts });
}

X509 *
pki_issue(X509_REQ *csr, X509 *issuer, EVP_PKEY *issuer_key, int days,
    const EVP_MD *md, const char *const *exts)
{
	return pki_cert_new(
	    &(struct pki_cert_spec){ .subject = X509_REQ_get_subject_name(csr),
		.pub = X509_REQ_get0_pubkey(csr),
		.issuer = issuer,
		.issuer_key = issuer_key,
		.not_before = -60,
		.not_after = days * 86400L,
		.serial = 4242,
		.md = md,
		.exts = exts });
}

/* DER of a certificate for `pub` named `subject` from a fresh CA. */
static uint8_t *
throwaway_ca_der(EVP_PKEY *pub, const X509_NAME *subject, size_t *len)
{
	EVP_PKEY *ca_key = pki_key_ec("P-256");
	X509 *ca = pki_cert_new(&(struct pki_cert_spec){ .cn = "devsim test CA",
	    .pub = ca_key,
	    .not_after = 3600 });
	X509 *x = pki_cert_new(&(struct pki_cert_spec){ .subject = subject,
	    .pub = pub,
	    .issuer = ca,
	    .issuer_key = ca_key,
	    .not_after = 3600,
	    .serial = 1 });
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	uint8_t *out;

	need(n > 0, "encoding a certificate");
	out = xmemdup(der, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(der);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return out;
}

uint8_t *
pki_cert_for_csr_der(const uint8_t *csr, size_t csr_len, size_t *len)
{
	const unsigned char *p = csr;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
	uint8_t *out = NULL;

	if (req != NULL && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1)
		out = throwaway_ca_der(X509_REQ_get0_pubkey(req),
		    X509_REQ_get_subject_name(req), len);
	X509_REQ_free(req);
	return out;
}

uint8_t *
pki_cert_for_spki_der(const uint8_t *spki, size_t spki_len, const char *cn,
    size_t *len)
{
	const unsigned char *p = spki;
	EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)spki_len);
	X509_NAME *name;
	uint8_t *out;

	if (key == NULL)
		return NULL;
	name = make_name(NULL, cn);
	out = throwaway_ca_der(key, name, len);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return out;
}

uint8_t *
pki_csr_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	uint8_t *copy;

	need(n > 0, "encoding the CSR");
	copy = xmalloc((size_t)n + 64); /* room for tests to append */
	memcpy(copy, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return copy;
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

char *
pki_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	need(b != NULL && PEM_write_bio_X509(b, cert), "PEM");
	n = BIO_get_mem_data(b, &data);
	out = xmalloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

char *
pki_pin(X509 *cert)
{
	unsigned char *der = NULL, md[32];
	int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	char *out = xmalloc(45);

	need(len > 0 &&
		EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL),
	    "pin");
	EVP_EncodeBlock((unsigned char *)out, md, 32);
	OPENSSL_free(der);
	return out;
}

void
pki_write_pem_key(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *fp = fopen(path, "w");

	need(fp != NULL, "opening a PEM file");
	if (key != NULL)
		need(fchmod(fileno(fp), 0600) == 0, "chmod of a key file");
	need(cert == NULL || PEM_write_X509(fp, cert), "writing a PEM file");
	need(key == NULL ||
		PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL),
	    "writing a PEM key");
	need(fclose(fp) == 0, "closing a PEM file");
}

void
pki_write_pem(const char *path, X509 *cert)
{
	pki_write_pem_key(path, cert, NULL);
}

void
pki_profile(struct profile *p)
{
	memset(p, 0, sizeof *p);
	p->key_alg = KEY_ALG_EC_P256;
	p->validity_days = 365;
	p->key_usage = PROFILE_KU_DIGITAL_SIGNATURE;
	p->eku_client_auth = 1;
	p->chain = CHAIN_FULL;
	p->tls_min_version = 13;
}
