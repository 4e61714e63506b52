/* A throw-away PKI for the CA backend tests (see tls_pki.h). */
#include "tls_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/support/pki_fixture.h"

static void
die(const char *what)
{
	fprintf(stderr, "test pki: %s failed\n", what);
	abort();
}

static char *
path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p == NULL)
		die("malloc");
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void
add_ext(X509 *cert, X509 *issuer, const char *name, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	e = X509V3_EXT_nconf(NULL, &ctx, name, value);
	if (e == NULL || !X509_add_ext(cert, e, -1))
		die(value);
	X509_EXTENSION_free(e);
}

static void
random_serial(X509 *cert)
{
	unsigned char b[16];
	BIGNUM *bn;

	if (RAND_bytes(b, sizeof b) != 1)
		die("RAND_bytes");
	b[0] &= 0x7f;
	b[0] |= 0x10;
	bn = BN_bin2bn(b, sizeof b, NULL);
	if (bn == NULL || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
		die("serial");
	BN_free(bn);
}

/* A certificate for `pub` named `cn`, issued by issuer (NULL: itself). */
static X509 *
make_cert(const char *cn, EVP_PKEY *pub, X509 *issuer, EVP_PKEY *issuer_key,
    int days, const char *const *exts)
{
	X509 *cert = X509_new();
	X509_NAME *name = X509_NAME_new();

	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Example-Org", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		die("name");
	random_serial(cert);
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_subject_name(cert, name) ||
	    !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) :
	    name) ||
	    !X509_set_pubkey(cert, pub) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL))
		die("certificate fields");
	for (size_t i = 0; exts[i] != NULL; i += 2)
		add_ext(cert, issuer ? issuer : cert, exts[i], exts[i + 1]);
	if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
		die("signing");
	X509_NAME_free(name);
	return cert;
}

static void
write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL)
		die(path);
	if (key != NULL)
		chmod(path, 0600);
	if ((cert && !PEM_write_X509(fp, cert)) ||
	    (key && !PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL)))
		die(path);
	fclose(fp);
}

struct tls_pki *
tls_pki_new(const char *dir, const char *name)
{
	static const char *const ca_exts[] = {
		"basicConstraints", "critical,CA:TRUE",
		"keyUsage", "critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier", "hash", NULL
	};
	static const char *const server_exts[] = {
		"basicConstraints", "critical,CA:FALSE",
		"keyUsage", "critical,digitalSignature",
		"extendedKeyUsage", "serverAuth",
		"subjectAltName", "IP:127.0.0.1,DNS:localhost", NULL
	};
	struct tls_pki *pki = calloc(1, sizeof *pki);
	char cn[128];

	if (pki == NULL)
		die("calloc");
	pki->root_key = pki_key_ec("P-256");
	pki->inter_key = pki_key_ec("P-256");
	pki->server_key = pki_key_ec("P-256");
	snprintf(cn, sizeof cn, "%s Root", name);
	pki->root = make_cert(cn, pki->root_key, NULL, pki->root_key, 3650,
	    ca_exts);
	snprintf(cn, sizeof cn, "%s Intermediate", name);
	pki->inter = make_cert(cn, pki->inter_key, pki->root, pki->root_key,
	    3650, ca_exts);
	snprintf(cn, sizeof cn, "%s Server", name);
	pki->server = make_cert(cn, pki->server_key, pki->root, pki->root_key,
	    30, server_exts);
	pki->root_pem = path_in(dir, "root.pem");
	pki->inter_pem = path_in(dir, "inter.pem");
	pki->inter_key_file = path_in(dir, "inter.key");
	pki->server_pem = path_in(dir, "server.pem");
	pki->server_key_file = path_in(dir, "server.key");
	write_pem(pki->root_pem, pki->root, NULL);
	write_pem(pki->inter_pem, pki->inter, NULL);
	write_pem(pki->inter_key_file, NULL, pki->inter_key);
	write_pem(pki->server_pem, pki->server, NULL);
	write_pem(pki->server_key_file, NULL, pki->server_key);
	return pki;
}

void
tls_pki_free(struct tls_pki *pki)
{
	if (pki == NULL)
		return;
	EVP_PKEY_free(pki->root_key);
	EVP_PKEY_free(pki->inter_key);
	EVP_PKEY_free(pki->server_key);
	X509_free(pki->root);
	X509_free(pki->inter);
	X509_free(pki->server);
	free(pki->root_pem);
	free(pki->inter_pem);
	free(pki->inter_key_file);
	free(pki->server_pem);
	free(pki->server_key_file);
	free(pki);
}

SSL_CTX *
tls_pki_server_ctx(const struct tls_pki *pki)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, pki->server) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pki->server_key) != 1)
		die("server context");
	return ctx;
}

/* Copy the CSR's subjectAltName, as a CA honouring the request does. */
static void
copy_san(X509 *cert, X509_REQ *csr)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

	if (idx >= 0 && !X509_add_ext(cert, sk_X509_EXTENSION_value(exts, idx),
	    -1))
		die("copying subjectAltName");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

X509 *
tls_pki_sign(const struct tls_pki *pki, X509_REQ *csr, int days,
    EVP_PKEY *pub)
{
	X509 *cert = X509_new();

	random_serial(cert);
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_subject_name(cert, X509_REQ_get_subject_name(csr)) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(pki->inter)) ||
	    !X509_set_pubkey(cert, pub ? pub : X509_REQ_get0_pubkey(csr)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -60) ||
	    !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL))
		die("device certificate fields");
	add_ext(cert, pki->inter, "basicConstraints", "critical,CA:FALSE");
	add_ext(cert, pki->inter, "keyUsage", "critical,digitalSignature");
	add_ext(cert, pki->inter, "extendedKeyUsage", "clientAuth");
	copy_san(cert, csr);
	if (X509_sign(cert, pki->inter_key, EVP_sha256()) <= 0)
		die("device certificate signing");
	return cert;
}

char *
tls_pki_pem(X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long n;

	if (b == NULL || !PEM_write_bio_X509(b, cert))
		die("PEM");
	n = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)n);
	BIO_free(b);
	return out;
}

char *
tls_pki_pin(X509 *cert)
{
	unsigned char *der = NULL, md[32];
	int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	char *out = malloc(45);

	if (len <= 0 || out == NULL || !EVP_Digest(der, (size_t)len, md, NULL,
	    EVP_sha256(), NULL))
		die("pin");
	EVP_EncodeBlock((unsigned char *)out, md, 32);
	OPENSSL_free(der);
	return out;
}
