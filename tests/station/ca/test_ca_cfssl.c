/* The cfssl CA backend against a real `cfssl serve` started here (TLS,
 * intermediate and config generated at test time): sign, authsign, a
 * wrong auth key, the CSR's subject kept; skipped when cfssl is not
 * installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/ca/ca.h"
#include "station/x509/cert_check.h"
#include "station/util/clock.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/cfssl_serve.h"
#include "tests/support/pki.h"
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
		.deadline = deadline_in(10000) };

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

static void
test_revoke_is_unsupported_and_says_where_to_do_it(void **state)
{
	struct fx *fx = *state;

	if (!have_cfssl)
		skip();
	assert_int_equal(open_with(fx, NULL, NULL, NULL, NULL), ST_OK);
	assert_int_equal(ca_revoke(fx->ca, "1a2b", NULL, &fx->cause),
	    ST_E_UNSUPPORTED);
	assert_non_null(strstr(fx->cause, "cfssl revoke"));
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
		T(test_revoke_is_unsupported_and_says_where_to_do_it),
		cmocka_unit_test(test_no_credential_in_any_log_line_or_cause),
	};

	have_cfssl = cfssl_installed();
	if (!have_cfssl)
		print_message("cfssl is not installed (Debian: golang-cfssl): "
			      "skipping the cfssl backend tests\n");
	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
