/*
 * The local CA's CRL: every revoked serial listed once with its RFC 5280
 * reason code (none for unspecified), signed by the intermediate (a file
 * key, and a SoftHSM2 token key when installed), with the intermediate's
 * key identifier as AKI and a CRL number that grows by one per issue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "station/ca/local.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/softhsm.h"

static struct softhsm *hsm;

struct fx {
	char *tmp, *dir;
	struct ca_backend *ca;
	X509 *inter;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->dir = xasprintf("%s/ca", fx->tmp);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_free(fx->ca);
	X509_free(fx->inter);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx->dir);
	free(fx);
	return 0;
}

/* Issue one device certificate; returns its serial (caller frees). */
static char *
issue(struct fx *fx)
{
	EVP_PKEY *key = pki_key_ec("P-256");
	X509_REQ *csr = pki_make_csr(&(struct pki_csr_spec){ .key = key,
	    .subject = "O=Example-Org,CN=SN-CRL" });
	struct profile p;
	struct ca_issued out = { 0 };
	char *cause = NULL;

	pki_profile(&p);
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = "SN-CRL",
		.deadline = deadline_in(test_ms(5000)) };
	if (ca_sign(fx->ca, &req, &out, &cause))
		fail_msg("sign: %s", cause);
	char *serial = xstrdup(out.serial_hex);
	ca_issued_clear(&out);
	profile_clear(&p);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return serial;
}

static void
open_file_ca(struct fx *fx)
{
	assert_int_equal(local_ca_init(fx->dir, NULL), ST_OK);
	assert_int_equal(local_ca_open(fx->dir, &fx->ca, NULL), ST_OK);
}

static X509_CRL *
read_crl_der(struct fx *fx)
{
	char *path = xasprintf("%s/crl.der", fx->dir);
	FILE *fp = fopen(path, "rb");
	X509_CRL *crl;

	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	free(path);
	assert_non_null(crl);
	if (fx->inter == NULL) {
		char *ip = xasprintf("%s/intermediate.pem", fx->dir);
		fp = fopen(ip, "r");
		assert_non_null(fp);
		fx->inter = PEM_read_X509(fp, NULL, NULL, NULL);
		fclose(fp);
		free(ip);
	}
	return crl;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v;

	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

/* The reason code of `serial` in `crl`; -1 none, -2 not listed. */
static int
reason_of(X509_CRL *crl, const char *serial)
{
	BIGNUM *bn = NULL;
	X509_REVOKED *rev = NULL;
	int code = -2;

	assert_true(BN_hex2bn(&bn, serial) > 0);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (X509_CRL_get0_by_serial(crl, &rev, ai) == 1) {
		ASN1_ENUMERATED *e =
		    X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);

		code = e ? (int)ASN1_ENUMERATED_get(e) : -1;
		ASN1_ENUMERATED_free(e);
	}
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return code;
}

static void
assert_signed_by_intermediate(struct fx *fx, X509_CRL *crl)
{
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(fx->inter)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
			     X509_get_subject_name(fx->inter)),
	    0);
	AUTHORITY_KEYID *aki =
	    X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL, NULL);
	assert_non_null(aki);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
			     X509_get0_subject_key_id(fx->inter)),
	    0);
	AUTHORITY_KEYID_free(aki);
	assert_non_null(X509_CRL_get0_nextUpdate(crl));
}

static void
test_crl_lists_revoked_serials_with_reason_codes(void **state)
{
	struct fx *fx = *state;
	long n = 0;

	open_file_ca(fx);
	char *a = issue(fx), *b = issue(fx), *c = issue(fx);
	assert_int_equal(ca_revoke(fx->ca, a, "keyCompromise", NULL), ST_OK);
	assert_int_equal(ca_revoke(fx->ca, b, "unspecified", NULL), ST_OK);
	/* Revoked twice: listed once, with the first reason. */
	assert_int_equal(ca_revoke(fx->ca, a, "superseded", NULL), ST_OK);
	/* Free text is recorded but listed as unspecified. */
	assert_int_equal(ca_revoke(fx->ca, c, "lost in transit", NULL), ST_OK);
	assert_int_equal(local_ca_crl(fx->ca, NULL, 0, &n, NULL), ST_OK);
	assert_int_equal(n, 1);

	X509_CRL *crl = read_crl_der(fx);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	assert_int_equal(reason_of(crl, a), 1);	 /* keyCompromise */
	assert_int_equal(reason_of(crl, b), -1); /* no code for unspecified */
	assert_int_equal(reason_of(crl, c), -1);
	assert_signed_by_intermediate(fx, crl);
	assert_int_equal(crl_number(crl), 1);
	X509_CRL_free(crl);
	free(a);
	free(b);
	free(c);
}

static void
test_crl_number_grows_by_one_per_issue(void **state)
{
	struct fx *fx = *state;
	long n = 0;

	open_file_ca(fx);
	for (long want = 1; want <= 3; want++) {
		assert_int_equal(local_ca_crl(fx->ca, NULL, 2, &n, NULL),
		    ST_OK);
		assert_int_equal(n, want);
		X509_CRL *crl = read_crl_der(fx);
		assert_int_equal(crl_number(crl), want);
		X509_CRL_free(crl);
	}
	/* The number is stored, so the next run continues from it. */
	char *path = xasprintf("%s/crlnumber", fx->dir);
	FILE *fp = fopen(path, "r");
	char buf[16] = "";
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof buf, fp));
	fclose(fp);
	assert_string_equal(buf, "3\n");
	free(path);
}

static void
test_crl_signed_through_the_token_verifies(void **state)
{
	struct fx *fx = *state;
	struct local_ca_init_opts o = { 0 };
	char *uri;
	long n = 0;

	if (hsm == NULL)
		skip();
	uri = softhsm_uri("crl-key");
	o.key = (struct local_ca_key){ .uri = uri,
		.module = hsm->module,
		.pin_file = hsm->pin_file };
	assert_int_equal(local_ca_init_opts(fx->dir, &o, NULL), ST_OK);
	assert_int_equal(local_ca_open_key(fx->dir, &o.key, &fx->ca, NULL),
	    ST_OK);
	char *a = issue(fx);
	assert_int_equal(ca_revoke(fx->ca, a, "superseded", NULL), ST_OK);
	assert_int_equal(local_ca_crl(fx->ca, NULL, 0, &n, NULL), ST_OK);
	X509_CRL *crl = read_crl_der(fx);
	assert_int_equal(reason_of(crl, a), 4); /* superseded */
	assert_signed_by_intermediate(fx, crl);
	X509_CRL_free(crl);
	free(a);
	free(uri);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_crl_lists_revoked_serials_with_reason_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_crl_number_grows_by_one_per_issue, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_crl_signed_through_the_token_verifies, setup,
		    teardown),
	};
	int rc;

	hsm = softhsm_new();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	softhsm_free(hsm);
	return rc;
}
