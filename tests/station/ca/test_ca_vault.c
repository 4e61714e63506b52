/* The vault CA backend against a test server following HashiCorp Vault's
 * documented PKI API, over TLS with a test PKI made here: signing, AppRole,
 * Vault's refusals, bad replies, a silent server, TLS trust and pinning,
 * revocation, retries, credential files; and no secret in any message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/ca/ca.h"
#include "station/ca/vault.h"
#include "station/x509/cert_check.h"
#include "station/util/clock.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/vault_api_server.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define TOKEN "hvs.CAESIGoodTokenForTheStationOnly0001"
#define WRONG_TOKEN "hvs.CAESIWrongTokenThatMustNotLeak0002"
#define ROLE_ID "6a1b2c3d-role-id-0003"
#define SECRET_ID "9f8e7d6c-secret-id-must-not-leak-0004"

struct fx {
	char *tmp;
	struct pki_chain *pki;
	struct vault_api_server *vault;
	EVP_PKEY *dev;
	X509_REQ *csr;
	struct profile profile;
	char *token_file, *wrong_token_file, *role_file, *secret_file;
	struct ca_test_settings set;
	struct ca_backend *ca;
	struct ca_issued issued;
	char *cause;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->pki = pki_chain_new(fx->tmp, "Vault Test");
	fx->vault = vault_api_server_start(fx->pki, TOKEN);
	snprintf(fx->vault->role_id, sizeof fx->vault->role_id, ROLE_ID);
	snprintf(fx->vault->secret_id, sizeof fx->vault->secret_id, SECRET_ID);
	pki_device(SUBJECT, "DNS:sn0001.devices.example.com", &fx->dev,
	    &fx->csr, &fx->profile);
	fx->token_file = scratch_write(fx->tmp, "token", TOKEN "\n", 0600);
	fx->wrong_token_file =
	    scratch_write(fx->tmp, "wrong", WRONG_TOKEN, 0600);
	fx->role_file = scratch_write(fx->tmp, "role_id", ROLE_ID, 0600);
	fx->secret_file = scratch_write(fx->tmp, "secret_id", SECRET_ID, 0400);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_test_done(fx->cause, &fx->issued, fx->ca);
	vault_api_server_stop(fx->vault);
	pki_chain_free(fx->pki);
	X509_REQ_free(fx->csr);
	EVP_PKEY_free(fx->dev);
	free(fx->token_file);
	free(fx->wrong_token_file);
	free(fx->role_file);
	free(fx->secret_file);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

/* Open the backend with the server's address, the test root as the
 * trusted bundle, and the given extra settings. */
static st_err
open_with(struct fx *fx, const char *k1, const char *v1, const char *k2,
    const char *v2)
{
	char addr[64];

	snprintf(addr, sizeof addr, "%s", vault_api_server_addr(fx->vault));
	struct ca_settings *s = ca_test_settings(&fx->set, "addr", addr, "role",
	    "device", "ca_bundle", fx->pki->root_pem, "retries", "1", k1, v1,
	    k2, v2, NULL);
	/* the strings must outlive ca_open only */
	return ca_open("vault", s, &fx->ca, &fx->cause);
}

static st_err
sign(struct fx *fx, int ms)
{
	struct ca_request req = { .csr = fx->csr,
		.profile = &fx->profile,
		.device_serial = "SN0001",
		.deadline = deadline_in(test_ms(ms)) };

	ca_issued_clear(&fx->issued);
	return ca_sign(fx->ca, &req, &fx->issued, &fx->cause);
}

static st_err
check(struct fx *fx, const char **rule)
{
	struct cert_expect exp = { .csr = fx->csr,
		.profile = &fx->profile,
		.subject = SUBJECT,
		.root = fx->pki->root };

	return cert_check(&fx->issued, &exp, rule, &fx->cause);
}

static void
test_sign_gives_a_certificate_for_the_csr_that_verifies(void **state)
{
	struct fx *fx = *state;
	const char *rule = NULL;

	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_non_null(fx->issued.cert);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(fx->issued.cert),
			     X509_REQ_get0_pubkey(fx->csr)),
	    1);
	assert_int_equal(sk_X509_num(fx->issued.chain), 2);
	assert_int_equal(check(fx, &rule), ST_OK);
	/* what Vault's sign endpoint was asked */
	assert_string_equal(fx->vault->last_path, "/v1/pki/sign/device");
	assert_string_equal(fx->vault->last_common_name, "SN0001");
	assert_string_equal(fx->vault->last_format, "pem");
	assert_string_equal(fx->vault->last_ttl, "8760h");
	assert_int_equal(fx->vault->last_exclude_cn, 1);
}

static void
test_approle_logs_in_once_then_signs(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, "approle_role_id_file", fx->role_file,
			     "approle_secret_id_file", fx->secret_file),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_int_equal(fx->vault->n_login, 1); /* token kept for its lease */
	assert_int_equal(fx->vault->n_sign, 2);
}

static void
test_approle_with_wrong_secret_is_refused(void **state)
{
	struct fx *fx = *state;

	snprintf(fx->vault->secret_id, sizeof fx->vault->secret_id, "other");
	assert_int_equal(open_with(fx, "approle_role_id_file", fx->role_file,
			     "approle_secret_id_file", fx->secret_file),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_E_CA);
	assert_non_null(strstr(fx->cause, "AppRole login"));
	assert_non_null(strstr(fx->cause, "invalid role or secret ID"));
	assert_null(strstr(fx->cause, SECRET_ID));
	assert_int_equal(fx->vault->n_sign, 0);
}

/* A token Vault refuses stops the backend at open (lookup-self), before
 * any device: the station exits 3 instead of failing every run. */
static void
test_bad_token_is_refused_at_open_with_403_and_never_quoted(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, "token_file", fx->wrong_token_file, NULL,
			     NULL),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "Vault refused the token (403)"));
	assert_non_null(strstr(fx->cause, "invalid or has expired"));
	assert_null(strstr(fx->cause, WRONG_TOKEN));
	assert_null(fx->ca);
	assert_int_equal(fx->vault->n_lookup, 1); /* 403 is not retried */
	assert_int_equal(fx->vault->n_sign, 0);
}

static void
test_expired_token_is_refused_at_open(void **state)
{
	struct fx *fx = *state;

	fx->vault->token_expired = 1;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "give the station a new token"));
	assert_null(strstr(fx->cause, TOKEN));
	assert_int_equal(fx->vault->n_requests, 0);
}

/* Renewable and past half its life: renewed at open; with time left,
 * or not renewable, only looked up. */
static void
test_renewable_token_low_on_time_is_renewed_at_open(void **state)
{
	struct fx *fx = *state;

	fx->vault->token_renewable = 1;
	fx->vault->token_creation_ttl = 3600;
	fx->vault->token_ttl = 600;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(fx->vault->n_lookup, 1);
	assert_int_equal(fx->vault->n_renew, 1);
	assert_int_equal(fx->vault->token_ttl, 3600);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_int_equal(fx->vault->n_renew, 1); /* not before every call */

	ca_free(fx->ca);
	fx->ca = NULL;
	fx->vault->token_ttl = 3000; /* most of its life left */
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(fx->vault->n_lookup, 2);
	assert_int_equal(fx->vault->n_renew, 1);

	ca_free(fx->ca);
	fx->ca = NULL;
	fx->vault->token_renewable = 0;
	fx->vault->token_ttl = 60; /* low, but it cannot be renewed */
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(fx->vault->n_renew, 1);
	assert_int_equal(sign(fx, 5000), ST_OK);
}

static void
test_token_replies_are_parsed_for_their_ttl(void **state)
{
	struct vault_token_info t;
	char *cause = NULL;
	static const char lookup[] =
	    "{\"data\":{\"ttl\":120,\"creation_ttl\":3600,"
	    "\"renewable\":true}}";
	static const char renewed[] =
	    "{\"auth\":{\"lease_duration\":3600,\"renewable\":true}}";

	(void)state;
	assert_int_equal(vault_parse_token_info(lookup, strlen(lookup), "data",
			     &t, &cause),
	    ST_OK);
	assert_int_equal(t.ttl_s, 120);
	assert_int_equal(t.creation_ttl_s, 3600);
	assert_true(t.renewable);
	assert_int_equal(vault_parse_token_info(renewed, strlen(renewed),
			     "auth", &t, &cause),
	    ST_OK);
	assert_int_equal(t.ttl_s, 3600);
	assert_int_equal(vault_parse_token_info(lookup, strlen(lookup), "auth",
			     &t, &cause),
	    ST_E_CA);
	assert_non_null(strstr(cause, "auth.lease_duration"));
	free(cause);
	cause = NULL;
	assert_int_equal(vault_parse_token_info("{\"data\":{\"ttl\":-1}}", 21,
			     "data", &t, &cause),
	    ST_E_CA);
	free(cause);
}

static void
test_policy_refusal_quotes_vaults_words(void **state)
{
	struct fx *fx = *state;

	fx->vault->mode = VAULT_POLICY_400;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_E_CA);
	assert_non_null(strstr(fx->cause, "(400)"));
	assert_non_null(strstr(fx->cause, VAULT_POLICY_MSG));
	assert_int_equal(fx->vault->n_requests, 1);
}

static void
test_malformed_reply_is_a_ca_error(void **state)
{
	struct fx *fx = *state;

	fx->vault->mode = VAULT_MALFORMED;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_E_CA);
	assert_non_null(strstr(fx->cause, "not a JSON object"));
	assert_null(fx->issued.cert);
}

static void
test_certificate_for_another_key_is_caught_by_cert_check(void **state)
{
	struct fx *fx = *state;
	const char *rule = NULL;

	fx->vault->mode = VAULT_OTHER_KEY;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	/* the backend only fetches; judging is cert_check's job */
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_int_equal(check(fx, &rule), ST_E_POLICY);
	assert_string_equal(rule, "cert.key");
}

static void
test_silent_server_times_out_at_the_deadline(void **state)
{
	struct fx *fx = *state;
	uint64_t t0;

	fx->vault->mode = VAULT_HANG;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	t0 = clock_now_ms();
	assert_int_equal(sign(fx, 400), ST_E_TIMEOUT);
	/* the server never answers: only the deadline can end the call
	 * (bound kept loose: it proves the deadline, not a speed) */
	assert_true(clock_now_ms() - t0 < (uint64_t)test_ms(10000));
	assert_int_equal(fx->vault->n_requests, 1); /* never retried */
}

static void
test_untrusted_server_certificate_fails_verification(void **state)
{
	struct fx *fx = *state;
	struct pki_chain *other = pki_chain_new(fx->tmp, "Other");
	char addr[64];

	snprintf(addr, sizeof addr, "%s", vault_api_server_addr(fx->vault));
	struct ca_settings *s = ca_test_settings(&fx->set, "addr", addr, "role",
	    "device", "ca_bundle", other->root_pem, "token_file",
	    fx->token_file, NULL);
	/* Found at open, by the token lookup, before any device. */
	assert_int_equal(ca_open("vault", s, &fx->ca, &fx->cause), ST_E_CA);
	assert_non_null(strstr(fx->cause, "TLS verification"));
	assert_int_equal(fx->vault->n_lookup, 0); /* the token never left */
	assert_int_equal(fx->vault->n_requests, 0);
	pki_chain_free(other);
}

static void
test_pinned_key_accepts_the_server_and_refuses_another(void **state)
{
	struct fx *fx = *state;
	char *pin = pki_pin(fx->pki->server);
	char *wrong = pki_pin(fx->pki->root);

	assert_int_equal(open_with(fx, "token_file", fx->token_file,
			     "pin_sha256", pin),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	ca_free(fx->ca);
	fx->ca = NULL;
	assert_int_equal(open_with(fx, "token_file", fx->token_file,
			     "pin_sha256", wrong),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "pin_sha256"));
	assert_int_equal(fx->vault->n_requests, 1); /* the first open's */
	assert_int_equal(fx->vault->n_lookup, 1);
	free(pin);
	free(wrong);
}

static void
test_revoke_sends_the_serial_in_vaults_colon_form(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ca_revoke(fx->ca, "1a2b3c", "keyCompromise",
			     &fx->cause),
	    ST_OK);
	assert_string_equal(fx->vault->last_path, "/v1/pki/revoke");
	assert_string_equal(fx->vault->last_serial, "1a:2b:3c");
	assert_int_equal(ca_revoke(fx->ca, "abc", NULL, &fx->cause), ST_OK);
	assert_string_equal(fx->vault->last_serial, "0a:bc");
	assert_int_equal(ca_revoke(fx->ca, "XY", NULL, &fx->cause), ST_E_ARG);
	assert_int_equal(fx->vault->n_revoke, 2);
}

static void
test_busy_server_503_is_retried_once_then_signs(void **state)
{
	struct fx *fx = *state;

	fx->vault->mode = VAULT_503_ONCE;
	assert_int_equal(open_with(fx, "token_file", fx->token_file, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_int_equal(fx->vault->n_requests, 2);
	assert_int_equal(fx->vault->n_sign, 1);
}

static void
test_credential_file_readable_by_others_is_refused(void **state)
{
	struct fx *fx = *state;
	char *loose = scratch_write(fx->tmp, "loose", TOKEN, 0640);

	assert_int_equal(open_with(fx, "token_file", loose, NULL, NULL),
	    ST_E_CONFIG);
	assert_non_null(strstr(fx->cause, loose));
	assert_non_null(strstr(fx->cause, "0640"));
	assert_null(fx->ca);
	free(loose);
}

static void
test_token_from_the_named_environment_variable(void **state)
{
	struct fx *fx = *state;

	setenv("STATION_TEST_VAULT_TOKEN", TOKEN, 1);
	assert_int_equal(open_with(fx, "token_env", "STATION_TEST_VAULT_TOKEN",
			     "namespace", "factory/line1"),
	    ST_OK);
	assert_int_equal(sign(fx, 5000), ST_OK);
	assert_string_equal(fx->vault->last_namespace, "factory/line1");
	unsetenv("STATION_TEST_VAULT_TOKEN");
	ca_free(fx->ca);
	fx->ca = NULL;
	assert_int_equal(open_with(fx, "token_env", "STATION_TEST_VAULT_TOKEN",
			     NULL, NULL),
	    ST_E_CONFIG);
	assert_non_null(strstr(fx->cause, "is not set"));
}

static void
test_settings_that_cannot_work_are_refused_at_open(void **state)
{
	struct fx *fx = *state;
	struct ca_settings *s;

	s = ca_test_settings(&fx->set, "addr", "http://127.0.0.1:8200", "role",
	    "device", "token_file", fx->token_file, NULL);
	assert_int_equal(ca_open("vault", s, &fx->ca, &fx->cause), ST_E_CONFIG);
	assert_non_null(strstr(fx->cause, "only https://"));
	s = ca_test_settings(&fx->set, "addr", "https://127.0.0.1:8200", "role",
	    "device", "token_file", fx->token_file, "profile", "x", NULL);
	assert_int_equal(ca_open("vault", s, &fx->ca, &fx->cause), ST_E_CONFIG);
	assert_non_null(strstr(fx->cause, "'profile' does not apply"));
	s = ca_test_settings(&fx->set, "addr", "https://127.0.0.1:8200", "role",
	    "device", NULL);
	assert_int_equal(ca_open("vault", s, &fx->ca, &fx->cause), ST_E_CONFIG);
	assert_non_null(strstr(fx->cause, "token_file, token_env or AppRole"));
	s = ca_test_settings(&fx->set, "addr", "https://127.0.0.1:8200", "role",
	    "device", "token_file", fx->token_file, "pin_sha256", "abc", NULL);
	assert_int_equal(ca_open("vault", s, &fx->ca, &fx->cause), ST_E_CONFIG);
	assert_null(fx->ca);
}

/* Runs last: every log line and cause of the tests above is searched. */
static void
test_no_credential_in_any_log_line_or_cause(void **state)
{
	(void)state;
	assert_true(ca_test_seen("issued serial")); /* the capture works */
	assert_true(ca_test_seen("403"));
	assert_false(ca_test_secret_leaked(TOKEN));
	assert_false(ca_test_secret_leaked(WRONG_TOKEN));
	assert_false(ca_test_secret_leaked(ROLE_ID));
	assert_false(ca_test_secret_leaked(SECRET_ID));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sign_gives_a_certificate_for_the_csr_that_verifies),
		T(test_approle_logs_in_once_then_signs),
		T(test_approle_with_wrong_secret_is_refused),
		T(test_bad_token_is_refused_at_open_with_403_and_never_quoted),
		T(test_expired_token_is_refused_at_open),
		T(test_renewable_token_low_on_time_is_renewed_at_open),
		cmocka_unit_test(test_token_replies_are_parsed_for_their_ttl),
		T(test_policy_refusal_quotes_vaults_words),
		T(test_malformed_reply_is_a_ca_error),
		T(test_certificate_for_another_key_is_caught_by_cert_check),
		T(test_silent_server_times_out_at_the_deadline),
		T(test_untrusted_server_certificate_fails_verification),
		T(test_pinned_key_accepts_the_server_and_refuses_another),
		T(test_revoke_sends_the_serial_in_vaults_colon_form),
		T(test_busy_server_503_is_retried_once_then_signs),
		T(test_credential_file_readable_by_others_is_refused),
		T(test_token_from_the_named_environment_variable),
		T(test_settings_that_cannot_work_are_refused_at_open),
		cmocka_unit_test(test_no_credential_in_any_log_line_or_cause),
	};

	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
