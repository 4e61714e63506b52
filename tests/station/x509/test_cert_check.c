/* Certificate checks: a certificate from the local CA passes; each way a
 * CA reply can be wrong is caught by the rule that names it (extra
 * usages by name, a leaf outliving its issuer); the verified path comes
 * out issuer first whatever the reply's order; the binding rules alone
 * (cert_bind_check) judge key, subject and SANs only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "station/ca/local.h"
#include "station/x509/cert_check.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define SAN "DNS:sn0001.devices.example.com,URI:urn:dev:SN0001"

struct fx {
	char *tmp;
	struct ca_backend *ca, *other_ca;
	X509 *root;
	EVP_PKEY *dev;
	X509_REQ *csr;
	struct profile profile;
};

static struct ca_backend *
make_ca(const char *tmp, const char *name)
{
	char dir[4096];
	struct ca_settings s = { .dir = dir };
	struct ca_backend *ca = NULL;

	snprintf(dir, sizeof dir, "%s/%s", tmp, name);
	if (local_ca_init(dir, NULL) != ST_OK ||
	    ca_open("local", &s, &ca, NULL) != ST_OK)
		return NULL;
	return ca;
}

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);
	char path[4096];

	fx->tmp = scratch_dir();
	fx->ca = make_ca(fx->tmp, "ca");
	fx->other_ca = make_ca(fx->tmp, "other");
	snprintf(path, sizeof path, "%s/ca/root.pem", fx->tmp);
	if (fx->ca == NULL || fx->other_ca == NULL ||
	    x509_load_pem_file(path, &fx->root, NULL) != ST_OK)
		return -1;
	pki_device(SUBJECT, SAN, &fx->dev, &fx->csr, &fx->profile);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_free(fx->ca);
	ca_free(fx->other_ca);
	X509_free(fx->root);
	X509_REQ_free(fx->csr);
	EVP_PKEY_free(fx->dev);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

static void
issue_with(struct ca_backend *ca, X509_REQ *csr, const struct profile *p,
    struct ca_issued *out)
{
	struct ca_request req = { .csr = csr,
		.profile = p,
		.deadline = deadline_in(test_ms(5000)) };

	assert_int_equal(ca_sign(ca, &req, out, NULL), ST_OK);
}

/* Check `issued` with the fixture's expectations, `now` and `profile`;
 * return the rule (NULL = pass). */
static const char *
check(struct fx *fx, const struct ca_issued *issued, X509_REQ *csr,
    const char *subject, const struct profile *p, int64_t now)
{
	struct cert_expect exp = { .csr = csr ? csr : fx->csr,
		.profile = p ? p : &fx->profile,
		.subject = subject ? subject : SUBJECT,
		.root = fx->root,
		.now = now };
	const char *rule = "unset";
	char *cause = NULL;
	st_err err = cert_check(issued, &exp, &rule, &cause);

	if (err == ST_OK) {
		assert_null(rule);
		assert_null(cause);
	} else {
		assert_int_equal(err, ST_E_POLICY);
		assert_non_null(rule);
		assert_non_null(cause);
		assert_true(strlen(cause) > 10);
	}
	free(cause);
	return rule;
}

static void
test_good_certificate_passes(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	assert_null(check(fx, &out, NULL, NULL, NULL, 0));
	ca_issued_clear(&out);
}

static void
test_chain_without_root_passes(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	X509_free(sk_X509_pop(out.chain)); /* backend did not send the root */
	assert_null(check(fx, &out, NULL, NULL, NULL, 0));
	/* Without the intermediate there is no path to the root. */
	X509_free(sk_X509_pop(out.chain));
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.chain");
	ca_issued_clear(&out);
}

static void
test_certificate_for_other_key_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	EVP_PKEY *other = pki_key_ec("P-256");
	X509_REQ *csr2 = pki_make_csr(&(struct pki_csr_spec){ .key = other,
	    .subject = SUBJECT,
	    .san = SAN });

	/* The CA signed another key than the one in the CSR we sent. */
	issue_with(fx->ca, csr2, &fx->profile, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.key");
	ca_issued_clear(&out);
	X509_REQ_free(csr2);
	EVP_PKEY_free(other);
}

static void
test_wrong_subject_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	assert_string_equal(check(fx, &out, NULL,
				"C=US,O=Example-Org,CN=SN0002", NULL, 0),
	    "cert.subject");
	ca_issued_clear(&out);
}

static void
test_san_differing_from_csr_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	X509_REQ *csr2 = pki_make_csr(&(struct pki_csr_spec){ .key = fx->dev,
	    .subject = SUBJECT,
	    .san = "DNS:sn0001.devices.example.com" });

	/* Issued from a CSR with one SAN, checked against one with two. */
	issue_with(fx->ca, csr2, &fx->profile, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.san");
	ca_issued_clear(&out);
	X509_REQ_free(csr2);
}

static void
test_chain_from_foreign_root_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_with(fx->other_ca, fx->csr, &fx->profile, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.chain");
	ca_issued_clear(&out);
}

static void
test_expired_certificate_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	int64_t later = (int64_t)time(NULL) + 400 * 86400;

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, later),
	    "cert.expired");
	ca_issued_clear(&out);
}

static void
test_not_yet_valid_certificate_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	int64_t now = (int64_t)time(NULL);

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	/* notBefore is now - 5 min; with 5 min skew, 11 min early fails and
	 * 9 min early passes. */
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, now - 660),
	    "cert.not-yet-valid");
	assert_null(check(fx, &out, NULL, NULL, NULL, now - 540));
	ca_issued_clear(&out);
}

static void
test_validity_longer_than_profile_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	struct profile ten_years = fx->profile;

	ten_years.validity_days = 3650;
	issue_with(fx->ca, fx->csr, &ten_years, &out);
	assert_null(check(fx, &out, NULL, NULL, &ten_years, 0));
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0),
	    "cert.validity");
	ca_issued_clear(&out);
}

static void
test_missing_client_auth_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	struct profile no_eku = fx->profile;

	no_eku.eku_client_auth = 0;
	issue_with(fx->ca, fx->csr, &no_eku, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.eku");
	ca_issued_clear(&out);
}

static void
test_missing_key_usage_bit_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	struct profile ka = fx->profile;

	ka.key_usage = PROFILE_KU_KEY_AGREEMENT;
	issue_with(fx->ca, fx->csr, &ka, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0),
	    "cert.key-usage");
	ca_issued_clear(&out);
}

/* Certificates made by hand with the intermediate's key: what a
 * misconfigured or compromised CA could return. */
static void
hand_made(struct fx *fx, const EVP_MD *md, const char *const *exts,
    struct ca_issued *out)
{
	char path[4096];
	X509 *inter = NULL;
	EVP_PKEY *key = NULL;
	FILE *fp;

	snprintf(path, sizeof path, "%s/ca/intermediate.pem", fx->tmp);
	assert_int_equal(x509_load_pem_file(path, &inter, NULL), ST_OK);
	snprintf(path, sizeof path, "%s/ca/intermediate.key", fx->tmp);
	fp = fopen(path, "r");
	assert_non_null(fp);
	key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(key);
	memset(out, 0, sizeof *out);
	out->cert = pki_issue(fx->csr, inter, key, 365, md, exts);
	out->chain = sk_X509_new_null();
	sk_X509_push(out->chain, inter);
	EVP_PKEY_free(key);
}

static void
test_ca_true_leaf_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out;
	static const char *const exts[] = { "basicConstraints=critical,CA:TRUE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", "subjectAltName=" SAN,
		"subjectKeyIdentifier=hash",
		"authorityKeyIdentifier=keyid:always", NULL };
	static const char *const good[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", "subjectAltName=" SAN,
		"subjectKeyIdentifier=hash",
		"authorityKeyIdentifier=keyid:always", NULL
	};

	/* The same hand-made certificate without CA:TRUE passes, so the
	 * refusal below is about CA:TRUE alone. */
	hand_made(fx, NULL, good, &out);
	assert_null(check(fx, &out, NULL, NULL, NULL, 0));
	ca_issued_clear(&out);
	hand_made(fx, NULL, exts, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0), "cert.ca");
	ca_issued_clear(&out);
}

static void
test_sha1_signed_certificate_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out;
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", "subjectAltName=" SAN, NULL
	};

	hand_made(fx, EVP_sha1(), exts, &out);
	assert_string_equal(check(fx, &out, NULL, NULL, NULL, 0),
	    "cert.signature-alg");
	ca_issued_clear(&out);
}

/* The cause of checking `issued` (caller frees) and its rule. */
static char *
check_cause(struct fx *fx, const struct ca_issued *issued,
    const struct profile *p, X509 *root, const char **rule)
{
	struct cert_expect exp = { .csr = fx->csr,
		.profile = p ? p : &fx->profile,
		.subject = SUBJECT,
		.root = root ? root : fx->root };
	char *cause = NULL;

	*rule = NULL;
	if (cert_check(issued, &exp, rule, &cause) == ST_OK)
		return NULL;
	assert_non_null(cause);
	return cause;
}

static void
assert_refused(struct fx *fx, const struct ca_issued *issued,
    const struct profile *p, const char *want_rule, const char *says)
{
	const char *rule = NULL;
	char *cause = check_cause(fx, issued, p, NULL, &rule);

	if (cause == NULL)
		fail_msg("passed; expected %s saying '%s'", want_rule, says);
	assert_string_equal(rule, want_rule);
	if (strstr(cause, says) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, says);
	free(cause);
}

/* Vault's default role: digitalSignature + keyEncipherment +
 * keyAgreement, serverAuth + clientAuth.  Each extra is refused by name
 * until the profile allows it, and nothing else is then accepted. */
static void
test_extra_key_usage_is_refused_unless_allowed(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out;
	struct profile allow = fx->profile;
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature,keyEncipherment,"
		"keyAgreement",
		"extendedKeyUsage=clientAuth", "subjectAltName=" SAN, NULL
	};

	hand_made(fx, NULL, exts, &out);
	assert_refused(fx, &out, NULL, "cert.key-usage",
	    "keyUsage keyEncipherment, which the profile does not ask for");
	allow.allow_key_usage = PROFILE_KU_KEY_ENCIPHERMENT;
	assert_refused(fx, &out, &allow, "cert.key-usage",
	    "keyUsage keyAgreement");
	assert_refused(fx, &out, &allow, "cert.key-usage",
	    "allow_key_usage = keyAgreement");
	allow.allow_key_usage |= PROFILE_KU_KEY_AGREEMENT;
	assert_null(check(fx, &out, NULL, NULL, &allow, 0));
	ca_issued_clear(&out);
}

static void
test_extra_eku_is_refused_unless_allowed(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out;
	struct profile allow = fx->profile;
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=serverAuth,clientAuth", "subjectAltName=" SAN,
		NULL
	};
	static const char *const odd[] = { "basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth,1.3.6.1.4.1.99999.1",
		"subjectAltName=" SAN, NULL };

	hand_made(fx, NULL, exts, &out);
	assert_refused(fx, &out, NULL, "cert.eku",
	    "extendedKeyUsage serverAuth, which the profile does not ask for");
	assert_refused(fx, &out, NULL, "cert.eku",
	    "allow_ext_key_usage = serverAuth");
	allow.allow_eku = PROFILE_EKU_SERVER_AUTH;
	assert_null(check(fx, &out, NULL, NULL, &allow, 0));
	/* The profile asking for serverAuth is the same as allowing it. */
	allow = fx->profile;
	allow.eku_server_auth = 1;
	assert_null(check(fx, &out, NULL, NULL, &allow, 0));
	ca_issued_clear(&out);
	/* A purpose the station has no name for is named by its OID. */
	hand_made(fx, NULL, odd, &out);
	assert_refused(fx, &out, NULL, "cert.eku",
	    "extendedKeyUsage 1.3.6.1.4.1.99999.1");
	ca_issued_clear(&out);
}

/* A root, an intermediate expiring in `inter_days` and a leaf for the
 * fixture's CSR valid `leaf_days`; *root for the caller to free. */
static void
short_lived_ca(struct fx *fx, int inter_days, int leaf_days, X509 **root,
    struct ca_issued *out)
{
	static const char *const exts[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", "subjectAltName=" SAN, NULL
	};
	EVP_PKEY *rk = pki_key_ec("P-256"), *ik = pki_key_ec("P-256");
	X509 *inter;

	*root = pki_cert("Short Root", rk, NULL, NULL, 1, -1, 3650);
	inter =
	    pki_cert("Short Intermediate", ik, *root, rk, 1, -1, inter_days);
	memset(out, 0, sizeof *out);
	out->cert = pki_issue(fx->csr, inter, ik, leaf_days, NULL, exts);
	out->chain = sk_X509_new_null();
	sk_X509_push(out->chain, inter);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(ik);
}

static void
test_leaf_outliving_its_issuer_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out;
	const char *rule = NULL;
	X509 *root = NULL;
	char *cause;

	/* 365-day leaf under an intermediate that expires in 30 days. */
	short_lived_ca(fx, 30, 365, &root, &out);
	cause = check_cause(fx, &out, NULL, root, &rule);
	assert_non_null(cause);
	assert_string_equal(rule, "cert.outlives-issuer");
	assert_non_null(strstr(cause, "after its issuer"));
	assert_non_null(strstr(cause, "Short Intermediate"));
	free(cause);
	ca_issued_clear(&out);
	X509_free(root);
	/* The same leaf under an intermediate that outlives it passes. */
	short_lived_ca(fx, 400, 365, &root, &out);
	assert_null(check_cause(fx, &out, NULL, root, &rule));
	ca_issued_clear(&out);
	X509_free(root);
}

/* Whatever order the backend sends (root first, as Vault's ca_chain
 * does), the path comes out issuer first, pinned root last; an unrelated
 * certificate in the reply is left out. */
static void
test_path_is_issuer_first_whatever_the_order(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	struct cert_expect exp = { .csr = fx->csr,
		.profile = &fx->profile,
		.subject = SUBJECT,
		.root = fx->root };
	STACK_OF(X509) *path = NULL;
	X509 *inter, *stray;
	EVP_PKEY *k = pki_key_ec("P-256");

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	inter = X509_dup(sk_X509_value(out.chain, 0));
	/* Reverse the chain: root, intermediate; then a stray CA. */
	X509_free(sk_X509_shift(out.chain));
	sk_X509_push(out.chain, inter);
	stray = pki_cert("Stray CA", k, NULL, NULL, 1, -1, 30);
	sk_X509_push(out.chain, stray);
	assert_int_equal(cert_check_path(&out, &exp, &path, NULL, NULL), ST_OK);
	assert_int_equal(sk_X509_num(path), 2);
	assert_int_equal(X509_cmp(sk_X509_value(path, 0), inter), 0);
	assert_int_equal(X509_cmp(sk_X509_value(path, 1), fx->root), 0);
	sk_X509_pop_free(path, X509_free);
	/* A refused certificate gives no path. */
	exp.subject = "C=US,O=Example-Org,CN=SN0002";
	path = (STACK_OF(X509) *)1;
	assert_int_equal(cert_check_path(&out, &exp, &path, NULL, NULL),
	    ST_E_POLICY);
	assert_null(path);
	ca_issued_clear(&out);
	EVP_PKEY_free(k);
}

static void
test_missing_certificate_is_refused(void **state)
{
	struct fx *fx = *state;
	struct ca_issued none = { 0 };

	assert_string_equal(check(fx, &none, NULL, NULL, NULL, 0),
	    "cert.missing");
}

/* The binding rules alone (what the pipeline's ca-bind step runs before
 * the issuance is recorded): the rule, or NULL when bound; a refusal's
 * cause holds `says`. */
static const char *
bind(struct fx *fx, const struct ca_issued *issued, const char *says)
{
	struct cert_expect exp = { .csr = fx->csr, .subject = SUBJECT };
	const char *rule = "unset";
	char *cause = NULL;
	st_err err = cert_bind_check(issued, &exp, &rule, &cause);

	if (err == ST_OK) {
		assert_null(rule);
		assert_null(cause);
		return NULL;
	}
	assert_int_equal(err, ST_E_POLICY);
	assert_non_null(rule);
	if (cause == NULL || strstr(cause, says) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, says);
	free(cause);
	return rule;
}

/* Issue from a CSR like the fixture's, with another key, subject or SANs
 * where given. */
static void
issue_other(struct fx *fx, EVP_PKEY *key, const char *subject, const char *san,
    struct ca_issued *out)
{
	X509_REQ *csr =
	    pki_make_csr(&(struct pki_csr_spec){ .key = key ? key : fx->dev,
		.subject = subject ? subject : SUBJECT,
		.san = san ? san : SAN });

	issue_with(fx->ca, csr, &fx->profile, out);
	X509_REQ_free(csr);
}

static void
test_bind_accepts_equal_key_subject_and_sans(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 }, foreign = { 0 };

	issue_other(fx, NULL, NULL, NULL, &out);
	assert_null(bind(fx, &out, ""));
	/* Binding is about the request only: the chain to the pinned root is
	 * cert_check's, after the record. */
	issue_with(fx->other_ca, fx->csr, &fx->profile, &foreign);
	assert_null(bind(fx, &foreign, ""));
	assert_string_equal(check(fx, &foreign, NULL, NULL, NULL, 0),
	    "cert.chain");
	ca_issued_clear(&out);
	ca_issued_clear(&foreign);
}

/* Another device's certificate: its key and its subject differ; the key
 * is what the bind names. */
static void
test_bind_refuses_another_devices_key(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	EVP_PKEY *other = pki_key_ec("P-256");

	issue_other(fx, other, "C=US,O=Example-Org,CN=SN0002", NULL, &out);
	assert_string_equal(bind(fx, &out, "public key is not the CSR's"),
	    "cert.key");
	ca_issued_clear(&out);
	EVP_PKEY_free(other);
}

static void
test_bind_refuses_another_subject(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_other(fx, NULL, "C=US,O=Example-Org,CN=SN0002", NULL, &out);
	assert_string_equal(bind(fx, &out, "CN=SN0002"), "cert.subject");
	ca_issued_clear(&out);
}

static void
test_bind_refuses_other_sans(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue_other(fx, NULL, NULL,
	    "DNS:sn0002.devices.example.com,"
	    "URI:urn:dev:SN0001",
	    &out);
	assert_string_equal(bind(fx, &out,
				"missing SAN DNS:sn0001.devices.example.com"),
	    "cert.san");
	ca_issued_clear(&out);
}

static void
test_bind_refuses_a_missing_certificate(void **state)
{
	struct fx *fx = *state;
	struct ca_issued none = { 0 };

	assert_string_equal(bind(fx, &none, "no certificate"), "cert.missing");
}

static void
test_helpers_give_fingerprint_serial_and_pem(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	char fp[65];

	issue_with(fx->ca, fx->csr, &fx->profile, &out);
	cert_fingerprint_sha256(out.cert, fp);
	assert_int_equal(strlen(fp), 64);
	assert_int_equal(strspn(fp, "0123456789abcdef"), 64);
	char *serial = cert_serial_hex(out.cert);
	assert_string_equal(serial, out.serial_hex);
	char *pem = cert_to_pem(out.cert);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE-----"));
	/* The PEM reads back as the same certificate. */
	char path[4096];
	snprintf(path, sizeof path, "%s/leaf.pem", fx->tmp);
	FILE *f = fopen(path, "w");
	fputs(pem, f);
	fclose(f);
	X509 *back = NULL;
	assert_int_equal(x509_load_pem_file(path, &back, NULL), ST_OK);
	assert_int_equal(X509_cmp(back, out.cert), 0);
	X509_free(back);
	snprintf(path, sizeof path, "%s/nonexistent.pem", fx->tmp);
	assert_int_equal(x509_load_pem_file(path, &back, NULL), ST_E_IO);
	assert_null(back);
	free(pem);
	free(serial);
	ca_issued_clear(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_certificate_passes),
		cmocka_unit_test(test_chain_without_root_passes),
		cmocka_unit_test(test_certificate_for_other_key_is_refused),
		cmocka_unit_test(test_wrong_subject_is_refused),
		cmocka_unit_test(test_san_differing_from_csr_is_refused),
		cmocka_unit_test(test_chain_from_foreign_root_is_refused),
		cmocka_unit_test(test_expired_certificate_is_refused),
		cmocka_unit_test(test_not_yet_valid_certificate_is_refused),
		cmocka_unit_test(test_validity_longer_than_profile_is_refused),
		cmocka_unit_test(test_missing_client_auth_is_refused),
		cmocka_unit_test(test_missing_key_usage_bit_is_refused),
		cmocka_unit_test(test_ca_true_leaf_is_refused),
		cmocka_unit_test(test_sha1_signed_certificate_is_refused),
		cmocka_unit_test(test_missing_certificate_is_refused),
		cmocka_unit_test(
		    test_extra_key_usage_is_refused_unless_allowed),
		cmocka_unit_test(test_extra_eku_is_refused_unless_allowed),
		cmocka_unit_test(test_leaf_outliving_its_issuer_is_refused),
		cmocka_unit_test(test_path_is_issuer_first_whatever_the_order),
		cmocka_unit_test(test_bind_accepts_equal_key_subject_and_sans),
		cmocka_unit_test(test_bind_refuses_another_devices_key),
		cmocka_unit_test(test_bind_refuses_another_subject),
		cmocka_unit_test(test_bind_refuses_other_sans),
		cmocka_unit_test(test_bind_refuses_a_missing_certificate),
		cmocka_unit_test(test_helpers_give_fingerprint_serial_and_pem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
