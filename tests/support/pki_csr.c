/* Test PKI: CSRs as a device or an attacker builds them (see pki.h). */
#include "tests/support/pki.h"

#include <stdio.h>
#include <stdlib.h>

#include <openssl/x509v3.h>

#include "station/x509/dn.h"

static void
die(const char *what)
{
	fprintf(stderr, "test PKI: %s failed\n", what);
	abort();
}

static void
push_ext(STACK_OF(X509_EXTENSION) * exts, X509V3_CTX *ctx, int nid,
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
	if (X509_REQ_sign(req, spec->key, spec->md ? spec->md : EVP_sha256()) <=
	    0)
		die("CSR signing");
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(name);
	return req;
}

void
pki_device(const char *subject, const char *san, EVP_PKEY **key, X509_REQ **csr,
    struct profile *profile)
{
	*key = pki_key_ec("P-256");
	*csr = pki_make_csr(&(struct pki_csr_spec){ .key = *key,
	    .subject = subject,
	    .san = san });
	pki_profile(profile);
}
