/*
 * Key attestation end to end (issue 19, the TPM chip): the real station
 * program against devsim --chip tpm, whose keys live in a real swtpm
 * through tpm2-tss.  A profile with attestation = tpm PASSes, smoke test
 * through a real Mosquitto included (the TPM signs the handshake), with
 * the attestation recorded in the run's events (AK certificate
 * fingerprint, verified yes); it FAILs at the attest step, before the CA is asked,
 * for a software key (no ATTEST), a certify signed by a key outside the
 * AK's chain (attest-forge), a certify of another TPM key than the CSR's
 * (attest-other-key) and an AK that does not chain to attestation_ca.
 * attestation = tpm without attestation_ca stops the station (exit 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/pki.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

/* devsim --chip tpm with its TPM beside <home>/SERIAL.state, writing its
 * manufacturer CA to <home>/manufacturer-ca.pem. */
static void
tpm_device(const char *serial, const char *fault)
{
	char *state = xasprintf("%s/%s.state", tc.env->home, serial);
	char *ca = xasprintf("%s/manufacturer-ca.pem", tc.env->home);
	const char *args[] = { "--serial", serial, "--chip", "tpm", "--state",
		state, "--write-manufacturer-ca", ca, fault ? "--fault" : NULL,
		fault, NULL };

	tc.sim = devsim_proc_start(args);
	assert_non_null(tc.sim);
	free(state);
	free(ca);
}

/* Profile "tpm" with attestation = tpm against `ca_file` (relative to
 * home). */
static void
config_tpm(const char *ca_file)
{
	char *rest = xasprintf("[profile default]\n"
			       "[profile tpm]\n"
			       "attestation = tpm\n"
			       "attestation_ca = %s\n",
	    ca_file);

	prov_env_config(tc.env, "clock_ntp_sync = off\n", rest);
	free(rest);
}

static json_t *
provision(const char *profile, int *status)
{
	const char *with[] = { "--profile", profile, NULL };

	return prov_provision(tc.env, tc.sim->uri, with, status);
}

/* A real Mosquitto trusting the station's local CA, for the smoke test
 * (the TLS handshake is then signed by the TPM through SIGN). */
static struct test_broker broker;

static int
teardown_broker(void **state)
{
	if (broker.pid > 0)
		test_broker_stop(&broker);
	memset(&broker, 0, sizeof broker);
	return prov_case_teardown(state);
}

struct found {
	char note[512];
};

/* The attest step's note is an info event of the run. */
static int
on_event(const struct run_event *e, void *ctx)
{
	struct found *f = ctx;

	if (e->detail != NULL && strncmp(e->detail, "attestation:", 12) == 0)
		snprintf(f->note, sizeof f->note, "%s", e->detail);
	return 0;
}

/* The run's attestation note from the ledger. */
static struct found
attest_events(void)
{
	struct found f = { 0 };
	int64_t id =
	    (int64_t)json_integer_value(json_object_get(tc.res, "run_id"));

	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_run_events(tc.led, id, on_event, &f, NULL),
	    ST_OK);
	return f;
}

static void
test_tpm_key_attested_passes_and_is_recorded(void **state)
{
	struct found f;
	const char *yes;
	int status;

	char *root, *dir, *at;

	(void)state;
	tpm_device("SN-TPM-1", NULL);
	config_tpm("manufacturer-ca.pem");
	root = xasprintf("%s/ca/root.pem", tc.env->home);
	dir = xasprintf("%s/broker", tc.env->home);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(test_broker_start(&broker, dir, root, 120), 0);
	at = xasprintf("127.0.0.1:%d", broker.port);
	tc.res = prov_provision(tc.env, tc.sim->uri,
	    (const char *[]){ "--profile", "tpm", "--broker", at, "--broker-ca",
		broker.ca_file, NULL },
	    &status);
	free(root);
	free(dir);
	free(at);
	assert_non_null(tc.res);
	if (status != 0)
		fail_msg("FAIL: %s", prov_jstr(tc.res, "reason"));
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");
	assert_string_equal(prov_jstr(tc.res, "smoke"), "passed");
	f = attest_events();
	/* "attestation: AK certificate sha256 <64 hex>, verified yes" */
	assert_non_null(strstr(f.note, "AK certificate sha256 "));
	yes = strstr(f.note, ", verified yes");
	assert_non_null(yes);
	assert_int_equal(yes - (strstr(f.note, "sha256 ") + 7), 64);
	assert_int_equal(prov_count_certs(tc.led, "SN-TPM-1", "live"), 1);
}

/* The default profile (attestation = none) takes the same device with
 * the attest step skipped: nothing changes for profiles that do not
 * ask. */
static void
test_default_profile_skips_attestation(void **state)
{
	int status;

	(void)state;
	tpm_device("SN-TPM-2", NULL);
	config_tpm("manufacturer-ca.pem");
	tc.res = provision("default", &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 0);
	assert_int_equal(attest_events().note[0], '\0');
}

/* FAIL at attest with `error`, the reason holding `part`, and no
 * certificate asked of the CA. */
static void
expect_attest_fail(const char *error, const char *part)
{
	int status;

	tc.res = provision("tpm", &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "attest");
	assert_string_equal(prov_jstr(tc.res, "error"), error);
	if (strstr(prov_jstr(tc.res, "reason"), part) == NULL)
		fail_msg("reason '%s' does not hold '%s'",
		    prov_jstr(tc.res, "reason"), part);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

/* A CA file of some manufacturer at <home>/NAME. */
static void
write_other_ca(const char *name)
{
	EVP_PKEY *k = pki_key(0);
	X509 *other = pki_cert("Other TPM maker", k, NULL, NULL, 1, -1, 3650);
	char *pem = pki_pem(other);

	free(prov_env_write(tc.env, name, pem));
	free(pem);
	X509_free(other);
	EVP_PKEY_free(k);
}

static void
test_soft_key_is_refused(void **state)
{
	(void)state;
	prov_case_device("SN-SOFT-1", NULL);
	write_other_ca("other-ca.pem");
	config_tpm("other-ca.pem");
	expect_attest_fail("unsupported",
	    "attestation required: device has no ATTEST");
	assert_string_equal(prov_jstr(tc.res, "headline"),
	    "Device cannot prove its key is in a TPM");
}

static void
expect_rule(const char *rule)
{
	struct found f;

	expect_attest_fail("policy", rule);
	ledger_close(tc.led);
	tc.led = NULL;
	f = attest_events();
	assert_non_null(strstr(f.note, "verified no"));
	assert_non_null(strstr(f.note, rule));
}

static void
test_forged_certify_is_refused(void **state)
{
	(void)state;
	tpm_device("SN-TPM-3", "attest-forge");
	config_tpm("manufacturer-ca.pem");
	expect_rule("attest.signature");
}

static void
test_certify_of_another_key_is_refused(void **state)
{
	(void)state;
	tpm_device("SN-TPM-4", "attest-other-key");
	config_tpm("manufacturer-ca.pem");
	expect_rule("attest.key");
}

/* An AK certificate from a manufacturer the profile does not trust. */
static void
test_ak_of_an_untrusted_manufacturer_is_refused(void **state)
{
	(void)state;
	write_other_ca("other-ca.pem");
	tpm_device("SN-TPM-5", NULL);
	config_tpm("other-ca.pem");
	expect_rule("attest.chain");
}

/* attestation = tpm without attestation_ca: a configuration error. */
static void
test_tpm_profile_without_ca_file_stops_the_station(void **state)
{
	struct proc_out o = { 0 };

	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile tpm]\n"
	    "attestation = tpm\n");
	assert_int_equal(prov_station(tc.env,
			     (const char *[]){ "ledger", "list", NULL }, &o),
	    3);
	if (strstr(o.err, "attestation = tpm needs attestation_ca") == NULL)
		fail_msg("stderr: %s", o.err);
	proc_out_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_tpm_key_attested_passes_and_is_recorded,
		    prov_case_setup, teardown_broker),
		PROV_CASE_TEST(test_default_profile_skips_attestation),
		PROV_CASE_TEST(test_soft_key_is_refused),
		PROV_CASE_TEST(test_forged_certify_is_refused),
		PROV_CASE_TEST(test_certify_of_another_key_is_refused),
		PROV_CASE_TEST(test_ak_of_an_untrusted_manufacturer_is_refused),
		PROV_CASE_TEST(
		    test_tpm_profile_without_ca_file_stops_the_station),
	};

	return cmocka_run_group_tests_name("provision with TPM attestation",
	    tests, NULL, NULL);
}
