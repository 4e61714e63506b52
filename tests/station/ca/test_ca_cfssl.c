/* The cfssl CA backend against a real `cfssl serve -db-config` started
 * here (TLS, intermediate, config and its SQLite certificate database
 * generated at test time): sign, authsign, a wrong auth key, the CSR's
 * subject kept; revoke through CFSSL's API, seen in CFSSL's database and
 * in the CRL CFSSL serves; a CFSSL without a database cannot revoke;
 * skipped when cfssl is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "station/ca/ca.h"
#include "station/ca/cfssl.h"
#include "station/ca/http.h"
#include "station/x509/cert_check.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/cfssl_serve.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define AUTH_KEY \
	"8e1d2c3b4a5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define WRONG_KEY \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static int have_cfssl;

struct fx {
	char *tmp;
	struct pki_chain *pki;
	struct cfssl_serve cfssl;
	EVP_PKEY *dev;
	X509_REQ *csr;
	struct profile profile;
	struct ca_test_settings set;
	struct ca_backend *ca;
	struct ca_issued issued;
	char *cause;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	*state = fx;
	if (!have_cfssl)
		return 0;
	fx->tmp = scratch_dir();
	fx->pki = pki_chain_new(fx->tmp, "CFSSL Test");
	fx->cfssl.with_db = 1;
	int up = cfssl_serve_start(&fx->cfssl, fx->tmp, "config.json", fx->pki,
	    AUTH_KEY);
	pki_device(SUBJECT, "DNS:sn0001.devices.example.com", &fx->dev,
	    &fx->csr, &fx->profile);
	return up;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	cfssl_serve_stop(&fx->cfssl);
	ca_test_done(fx->cause, &fx->issued, fx->ca);
	pki_chain_free(fx->pki);
	X509_REQ_free(fx->csr);
	EVP_PKEY_free(fx->dev);
	if (fx->tmp)
		scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

static st_err
open_with(struct fx *fx, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	return ca_open("cfssl",
	    ca_test_settings(&fx->set, "addr", fx->cfssl.addr, "ca_bundle",
		fx->pki->root_pem, "chain_file", fx->pki->inter_pem, k1, v1, k2,
		v2, NULL),
	    &fx->ca, &fx->cause);
}

static st_err
sign(struct fx *fx)
{
	struct ca_request req = { .csr = fx->csr,
		.profile = &fx->profile,
		.device_serial = "SN0001",
		.deadline = deadline_in(test_ms(10000)) };

	return ca_sign(fx->ca, &req, &fx->issued, &fx->cause);
}

static void
expect_good_certificate(struct fx *fx)
{
	struct cert_expect exp = { .csr = fx->csr,
		.profile = &fx->profile,
		.subject = SUBJECT,
		.root = fx->pki->root };
	const char *rule = NULL;

	assert_non_null(fx->issued.cert);
	/* the CSR's subject, untouched: the station sent no "subject" */
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(fx->issued.cert),
			     X509_REQ_get_subject_name(fx->csr)),
	    0);
	assert_int_equal(sk_X509_num(fx->issued.chain), 1); /* chain_file */
	if (cert_check(&fx->issued, &exp, &rule, &fx->cause) != ST_OK)
		fail_msg("cert_check: %s: %s", rule, fx->cause);
}

static void
test_sign_keeps_the_csrs_subject_and_passes_cert_check(void **state)
{
	struct fx *fx = *state;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	if (sign(fx) != ST_OK)
		fail_msg("sign: %s", fx->cause);
	expect_good_certificate(fx);
}

static void
test_authsign_with_the_hmac_key_signs(void **state)
{
	struct fx *fx = *state;
	char *key = NULL;

	if (!have_cfssl)
		skip();
	key = scratch_write(fx->tmp, "auth.key", AUTH_KEY "\n", 0600);
	assert_int_equal(open_with(fx, "auth_key_file", key, "profile",
			     "device"),
	    ST_OK);
	if (sign(fx) != ST_OK)
		fail_msg("authsign: %s", fx->cause);
	expect_good_certificate(fx);
	free(key);
}

static void
test_wrong_auth_key_is_refused_with_cfssls_reason(void **state)
{
	struct fx *fx = *state;
	char *key = NULL;

	if (!have_cfssl)
		skip();
	key = scratch_write(fx->tmp, "wrong.key", WRONG_KEY, 0600);
	assert_int_equal(open_with(fx, "auth_key_file", key, "profile",
			     "device"),
	    ST_OK);
	assert_int_equal(sign(fx), ST_E_CA);
	assert_non_null(strstr(fx->cause, "CFSSL refused the request"));
	assert_null(strstr(fx->cause, "no reason given")); /* CFSSL's words */
	assert_null(strstr(fx->cause, WRONG_KEY));
	assert_null(fx->issued.cert);
	free(key);
}

static void
test_profile_that_needs_authentication_refuses_plain_sign(void **state)
{
	struct fx *fx = *state;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, "profile", "device", NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_E_CA);
	assert_non_null(strstr(fx->cause, "CFSSL refused the request"));
}

/* The decimal form of the issued certificate's serial, as CFSSL's
 * database keys it (new string). */
static char *
issued_serial_dec(struct fx *fx)
{
	BIGNUM *bn =
	    ASN1_INTEGER_to_BN(X509_get0_serialNumber(fx->issued.cert), NULL);
	char *dec = BN_bn2dec(bn);
	char *out = xstrdup(dec);

	OPENSSL_free(dec);
	BN_free(bn);
	return out;
}

/*
 * 1 if the CRL `cfssl gencrl` makes from what CFSSL's database holds as
 * revoked lists the issued certificate (this CFSSL serves no CRL from its
 * database: gencrl over the database's revoked serials is its way), the
 * CRL signed by the intermediate CFSSL signs with.
 */
static int
cfssl_crl_lists_issued(struct fx *fx)
{
	char *list = NULL, *out = NULL, *path;
	unsigned char *der = NULL;
	X509_CRL *crl = NULL;
	X509_REVOKED *rev = NULL;
	size_t n_list = 0;
	int listed;

	cfssl_serve_db_revoked(&fx->cfssl, &list, &n_list);
	path = scratch_write(fx->tmp, "revoked.txt", list, 0600);
	const char *argv[] = { "cfssl", "gencrl", path, fx->pki->inter_pem,
		fx->pki->inter_key_file, NULL };
	assert_int_equal(proc_run_capture(argv, &out), 0);
	der = xmalloc(strlen(out) + 1);
	int n = EVP_DecodeBlock(der, (const unsigned char *)out,
	    (int)strcspn(out, "\n"));
	assert_true(n > 0);
	const unsigned char *p = der;
	crl = d2i_X509_CRL(NULL, &p, n);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(fx->pki->inter)),
	    1);
	listed = X509_CRL_get0_by_serial(crl, &rev,
		     X509_get0_serialNumber(fx->issued.cert)) == 1;
	X509_CRL_free(crl);
	free(der);
	free(out);
	free(path);
	free(list);
	return listed;
}

static void
test_revoke_goes_through_cfssls_api_and_shows_in_its_crl(void **state)
{
	struct fx *fx = *state;
	char status[16];
	int reason = -1;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	if (sign(fx) != ST_OK)
		fail_msg("sign: %s", fx->cause);
	char *dec = issued_serial_dec(fx);
	/* CFSSL recorded the issuance in its database: good, not in the
	 * CRL yet. */
	assert_int_equal(cfssl_serve_db_status(&fx->cfssl, dec, status,
			     &reason),
	    0);
	assert_string_equal(status, "good");

	struct ca_cert_ref ref = { .serial_hex = fx->issued.serial_hex,
		.device_serial = "SN0001",
		.cert = fx->issued.cert };
	if (ca_revoke_cert(fx->ca, &ref, "keyCompromise", &fx->cause) != ST_OK)
		fail_msg("revoke: %s", fx->cause);
	assert_int_equal(cfssl_serve_db_status(&fx->cfssl, dec, status,
			     &reason),
	    0);
	assert_string_equal(status, "revoked");
	assert_int_equal(reason, 1); /* RFC 5280 keyCompromise */
	assert_true(cfssl_crl_lists_issued(fx));
	free(dec);
}

/* By serial alone (no certificate at hand): the issuer's key id comes
 * from chain_file, and the reason name is CFSSL's in any case. */
static void
test_revoke_by_serial_takes_the_issuer_key_id_from_chain_file(void **state)
{
	struct fx *fx = *state;
	char status[16];
	int reason = -1;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	if (sign(fx) != ST_OK)
		fail_msg("sign: %s", fx->cause);
	if (ca_revoke(fx->ca, fx->issued.serial_hex, "superseded",
		&fx->cause) != ST_OK)
		fail_msg("revoke: %s", fx->cause);
	char *dec = issued_serial_dec(fx);
	assert_int_equal(cfssl_serve_db_status(&fx->cfssl, dec, status,
			     &reason),
	    0);
	assert_string_equal(status, "revoked");
	assert_int_equal(reason, 4); /* superseded */
	free(dec);
}

static void
test_revoke_of_a_serial_cfssl_never_issued_is_refused(void **state)
{
	struct fx *fx = *state;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	assert_int_equal(ca_revoke(fx->ca, "1a2b3c", "superseded", &fx->cause),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "CFSSL refused"));
	assert_null(strstr(fx->cause, "no reason given")); /* CFSSL's words */
}

static void
test_revoke_without_cfssls_database_is_unsupported(void **state)
{
	struct fx *fx = *state;

	if (!have_cfssl)
		skip();
	cfssl_serve_stop(&fx->cfssl);
	fx->cfssl.with_db = 0;
	assert_int_equal(cfssl_serve_start(&fx->cfssl, fx->tmp, "config.json",
			     fx->pki, AUTH_KEY),
	    0);
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	if (sign(fx) != ST_OK)
		fail_msg("sign: %s", fx->cause);
	assert_int_equal(ca_revoke(fx->ca, fx->issued.serial_hex, NULL,
			     &fx->cause),
	    ST_E_UNSUPPORTED);
	assert_non_null(strstr(fx->cause, "-db-config"));
}

static void
test_revoke_body_names_serial_in_decimal_and_reason_in_lower_case(void **state)
{
	(void)state;
	char *body = cfssl_revoke_body("0100", "ab12", "keyCompromise");

	assert_non_null(body);
	assert_string_equal(body,
	    "{\"serial\":\"256\",\"authority_key_id\":\"ab12\","
	    "\"reason\":\"keycompromise\"}");
	free(body);
	assert_null(cfssl_revoke_body("xyz", "ab12", NULL));
}

static void
test_no_credential_in_any_log_line_or_cause(void **state)
{
	(void)state;
	if (!have_cfssl)
		skip();
	assert_true(ca_test_seen("issued serial"));
	assert_false(ca_test_secret_leaked(AUTH_KEY));
	assert_false(ca_test_secret_leaked(WRONG_KEY));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sign_keeps_the_csrs_subject_and_passes_cert_check),
		T(test_authsign_with_the_hmac_key_signs),
		T(test_wrong_auth_key_is_refused_with_cfssls_reason),
		T(test_profile_that_needs_authentication_refuses_plain_sign),
		T(test_revoke_goes_through_cfssls_api_and_shows_in_its_crl),
		T(test_revoke_by_serial_takes_the_issuer_key_id_from_chain_file),
		T(test_revoke_of_a_serial_cfssl_never_issued_is_refused),
		T(test_revoke_without_cfssls_database_is_unsupported),
		cmocka_unit_test(
		    test_revoke_body_names_serial_in_decimal_and_reason_in_lower_case),
		cmocka_unit_test(test_no_credential_in_any_log_line_or_cause),
	};

	have_cfssl = cfssl_installed();
	if (!have_cfssl)
		print_message("cfssl is not installed (Debian: golang-cfssl): "
			      "skipping the cfssl backend tests\n");
	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
