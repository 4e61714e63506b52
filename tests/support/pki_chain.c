/* Test PKI: root, intermediate and TLS server certificate (see pki.h). */
#include "tests/support/pki.h"

#include <stdio.h>
#include <stdlib.h>

#include "station/util/xalloc.h"

#define CHAIN_ORG "Example-Org"

static const char *const ca_exts[] = { "basicConstraints=critical,CA:TRUE",
	"keyUsage=critical,keyCertSign,cRLSign", "subjectKeyIdentifier=hash",
	NULL };

/* A CA or server certificate named "<name> <role>". */
static X509 *
chain_cert(const char *name, const char *role, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int days, const char *const *exts)
{
	char *cn = xasprintf("%s %s", name, role);
	X509 *cert = pki_cert_new(&(struct pki_cert_spec){ .org = CHAIN_ORG,
	    .cn = cn,
	    .pub = key,
	    .issuer = issuer,
	    .issuer_key = issuer_key,
	    .not_before = -3600,
	    .not_after = days * 86400L,
	    .exts = exts });

	free(cn);
	return cert;
}

struct pki_chain *
pki_chain_new(const char *dir, const char *name)
{
	static const char *const server_exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=serverAuth",
		"subjectAltName=IP:127.0.0.1,DNS:localhost", NULL
	};
	struct pki_chain *pki = xcalloc(1, sizeof *pki);

	pki->root_key = pki_key_ec("P-256");
	pki->inter_key = pki_key_ec("P-256");
	pki->server_key = pki_key_ec("P-256");
	pki->root = chain_cert(name, "Root", pki->root_key, NULL, pki->root_key,
	    3650, ca_exts);
	pki->inter = chain_cert(name, "Intermediate", pki->inter_key, pki->root,
	    pki->root_key, 3650, ca_exts);
	pki->server = chain_cert(name, "Server", pki->server_key, pki->root,
	    pki->root_key, 30, server_exts);
	pki->root_pem = xasprintf("%s/root.pem", dir);
	pki->inter_pem = xasprintf("%s/inter.pem", dir);
	pki->inter_key_file = xasprintf("%s/inter.key", dir);
	pki->server_pem = xasprintf("%s/server.pem", dir);
	pki->server_key_file = xasprintf("%s/server.key", dir);
	pki_write_pem(pki->root_pem, pki->root);
	pki_write_pem(pki->inter_pem, pki->inter);
	pki_write_pem_key(pki->inter_key_file, NULL, pki->inter_key);
	pki_write_pem(pki->server_pem, pki->server);
	pki_write_pem_key(pki->server_key_file, NULL, pki->server_key);
	return pki;
}

void
pki_chain_free(struct pki_chain *pki)
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
pki_chain_server_ctx(const struct pki_chain *pki)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_use_certificate(ctx, pki->server) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pki->server_key) != 1) {
		fprintf(stderr, "test PKI: server context failed\n");
		abort();
	}
	return ctx;
}

X509 *
pki_chain_sign(const struct pki_chain *pki, X509_REQ *csr, int days,
    EVP_PKEY *pub)
{
	static const char *const leaf_exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", NULL
	};

	return pki_cert_new(
	    &(struct pki_cert_spec){ .subject = X509_REQ_get_subject_name(csr),
		.pub = pub ? pub : X509_REQ_get0_pubkey(csr),
		.issuer = pki->inter,
		.issuer_key = pki->inter_key,
		.not_before = -60,
		.not_after = days * 86400L,
		.exts = leaf_exts,
		.copy_san_from = csr });
}
