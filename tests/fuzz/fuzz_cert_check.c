/*
 * Fuzz the checks on an issued certificate (cert_check_path,
 * station/cert_check.c) with a DER certificate as input and a fixed CSR
 * and pinned root made in memory at start-up.
 *
 * Each input is checked as is (it does not chain to the root: the chain
 * rule), then, if OpenSSL parses it, re-issued by the harness root with
 * the CSR's key, so that the rules behind the chain check (subject, SANs,
 * validity, CA flags, key usage, signature digest) see the fuzzer's
 * content.  The keys live in memory only.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/config/profile.h"
#include "tests/fuzz/fuzz.h"

#define CERT_FUZZ_SUBJECT "C=US,O=Example-Org,CN=SN0001"

static struct {
	int ready;
	EVP_PKEY *root_key, *dev_key;
	X509 *root;
	X509_REQ *csr;
	struct profile profile;
} cert_fx;

static void
cert_fuzz_add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, issuer, subject, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	FUZZ_CHECK(ext != NULL);
	FUZZ_CHECK(X509_add_ext(subject, ext, -1));
	X509_EXTENSION_free(ext);
}

static void
cert_fuzz_setup(void)
{
	X509_NAME *name = NULL;

	if (cert_fx.ready)
		return;
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	cert_fx.root_key = EVP_EC_gen("P-256");
	cert_fx.dev_key = EVP_EC_gen("P-256");
	FUZZ_CHECK(cert_fx.root_key && cert_fx.dev_key);

	cert_fx.root = X509_new();
	FUZZ_CHECK(
	    dn_parse("O=Example-Org,CN=Fuzz Root", &name, NULL) == ST_OK);
	X509_set_version(cert_fx.root, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(cert_fx.root), 1);
	X509_set_subject_name(cert_fx.root, name);
	X509_set_issuer_name(cert_fx.root, name);
	X509_NAME_free(name);
	X509_gmtime_adj(X509_getm_notBefore(cert_fx.root), -86400);
	X509_gmtime_adj(X509_getm_notAfter(cert_fx.root), 3650L * 86400);
	X509_set_pubkey(cert_fx.root, cert_fx.root_key);
	cert_fuzz_add_ext(cert_fx.root, cert_fx.root, NID_basic_constraints,
	    "critical,CA:TRUE");
	cert_fuzz_add_ext(cert_fx.root, cert_fx.root, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	FUZZ_CHECK(X509_sign(cert_fx.root, cert_fx.root_key, EVP_sha256()) > 0);

	cert_fx.csr = X509_REQ_new();
	FUZZ_CHECK(dn_parse(CERT_FUZZ_SUBJECT, &name, NULL) == ST_OK);
	X509_REQ_set_subject_name(cert_fx.csr, name);
	X509_NAME_free(name);
	X509_REQ_set_pubkey(cert_fx.csr, cert_fx.dev_key);
	X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, NULL,
	    NID_subject_alt_name, "DNS:sn0001.example.com");
	FUZZ_CHECK(san != NULL);
	sk_X509_EXTENSION_push(exts, san);
	X509_REQ_add_extensions(cert_fx.csr, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	FUZZ_CHECK(
	    X509_REQ_sign(cert_fx.csr, cert_fx.dev_key, EVP_sha256()) > 0);
	profile_init_default(&cert_fx.profile);
	cert_fx.ready = 1;
}

static void
cert_fuzz_check(X509 *cert)
{
	struct ca_issued issued = { .cert = cert, .chain = sk_X509_new_null() };
	struct cert_expect exp = { .csr = cert_fx.csr,
		.profile = &cert_fx.profile,
		.subject = CERT_FUZZ_SUBJECT,
		.root = cert_fx.root };
	const char *rule = NULL;
	char *why = NULL;
	STACK_OF(X509) *path = NULL;
	st_err err = cert_check_path(&issued, &exp, &path, &rule, &why);

	if (err != ST_OK) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(err != ST_E_POLICY ||
		    (rule != NULL && strncmp(rule, "cert.", 5) == 0));
		FUZZ_CHECK(path == NULL);
	} else {
		/* An accepted certificate's path starts at its issuer and
		 * ends at the pinned root. */
		FUZZ_CHECK(sk_X509_num(path) >= 1);
		FUZZ_CHECK(X509_check_issued(sk_X509_value(path, 0), cert) ==
		    X509_V_OK);
		FUZZ_CHECK(X509_cmp(sk_X509_value(path, sk_X509_num(path) - 1),
			       cert_fx.root) == 0);
	}
	sk_X509_pop_free(path, X509_free);
	free(why);
	sk_X509_free(issued.chain);
}

int
fuzz_cert_check(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509 *cert;

	cert_fuzz_setup();
	cert = d2i_X509(NULL, &p, (long)size);
	if (cert == NULL) {
		cert_fuzz_check(NULL);
		return 0;
	}
	cert_fuzz_check(cert);
	if (X509_set_issuer_name(cert, X509_get_subject_name(cert_fx.root)) &&
	    X509_set_pubkey(cert, cert_fx.dev_key) &&
	    X509_sign(cert, cert_fx.root_key, EVP_sha256()) > 0)
		cert_fuzz_check(cert);
	X509_free(cert);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_cert_check(data, size);
}
#endif
