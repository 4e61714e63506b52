/*
 * `station provision` against misbehaving devices (devsim --fault): every
 * fault ends the run with FAIL at the step that must catch it, with the
 * right error kind, and the ledger left telling the truth: a certificate
 * issued for a failed run is on record, in the CA's index, and never left
 * live.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

/* Waiting tests use short deadlines; nothing asserts on time. */
#define SHORT_STEPS "step_timeout_ms = 1000\n"

/*
 * Provision `uri` (NULL: a devsim with `fault`) scanning "SN1", expect
 * FAIL at `step` with `error`; check JSON, run row and the audit.  Leaves
 * the ledger open in `tc.led`.
 */
static void
expect_fail(const char *fault, const char *uri, const char *step,
    const char *error)
{
	int status;

	if (uri == NULL) {
		const char *args[] = { "--serial", "SN1", "--fault", fault,
			NULL };

		tc.sim = devsim_proc_start(args);
		assert_non_null(tc.sim);
		uri = tc.sim->uri;
	}
	tc.res = prov_provision(tc.env, uri,
	    (const char *[]){ "--serial", "SN1", NULL }, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "result"), "FAIL");
	assert_string_equal(prov_jstr(tc.res, "failed_step"), step);
	assert_string_equal(prov_jstr(tc.res, "error"), error);
	assert_true(strlen(prov_jstr(tc.res, "reason")) > 0);
	assert_true(strlen(prov_jstr(tc.res, "advice")) > 0);

	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led,
	    (int64_t)json_integer_value(json_object_get(tc.res, "run_id")),
	    "FAIL", step, error);
}

/* A run that failed before the CA signed: nothing issued anywhere. */
static void
assert_no_certificate(void)
{
	assert_true(json_is_null(json_object_get(tc.res, "cert_serial")));
	assert_true(json_is_null(json_object_get(tc.res, "fingerprint")));
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

/*
 * A run that failed after the CA signed: the certificate is in the CA's
 * index and the ledger (prov_audit), settled as revoked or orphaned, and
 * a revoked one is in the CA's revocation list.
 */
static void
assert_certificate_settled(void)
{
	const char *serial = prov_jstr(tc.res, "cert_serial");
	struct cert_record c = { 0 };
	struct run_record r = { 0 };

	assert_int_equal(strlen(prov_jstr(tc.res, "fingerprint")), 64);
	assert_int_equal(prov_audit(tc.env, tc.led), 1);
	assert_int_equal(ledger_cert_get(tc.led, serial, &c, NULL), ST_OK);
	assert_string_equal(c.fingerprint_sha256,
	    prov_jstr(tc.res, "fingerprint"));
	if (strcmp(c.status, "revoked") != 0 &&
	    strcmp(c.status, "orphaned") != 0)
		fail_msg("certificate of a failed run is '%s'", c.status);
	if (strcmp(c.status, "revoked") == 0) {
		char *path = xasprintf("%s/ca/revoked.txt", tc.env->home);
		FILE *fp = fopen(path, "r");
		char line[512];
		int found = 0;

		assert_non_null(fp);
		while (fgets(line, sizeof line, fp) != NULL)
			found |= strncmp(line, serial, strlen(serial)) == 0;
		fclose(fp);
		free(path);
		assert_true(found);
	}
	assert_int_equal(ledger_run_get(tc.led, c.run_id, &r, NULL), ST_OK);
	assert_string_equal(r.cert_serial, serial);
	ledger_cert_record_clear(&c);
	ledger_run_record_clear(&r);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "live"), 0);
}

static void
expect_csr_refused(const char *fault, const char *rule)
{
	expect_fail(fault, NULL, "csr-policy", "policy");
	if (strstr(prov_jstr(tc.res, "reason"), rule) == NULL)
		fail_msg("reason '%s' does not name rule %s",
		    prov_jstr(tc.res, "reason"), rule);
	assert_no_certificate();
}

static void
test_csr_with_foreign_key_fails_csr_policy(void **state)
{
	(void)state;
	expect_csr_refused("csr-foreign-key", "csr.key-mismatch");
}

static void
test_csr_with_wrong_subject_fails_csr_policy(void **state)
{
	(void)state;
	expect_csr_refused("csr-wrong-subject", "csr.subject");
}

static void
test_csr_asking_for_ca_fails_csr_policy(void **state)
{
	(void)state;
	expect_csr_refused("csr-ca-true", "csr.ca");
}

static void
test_csr_with_extra_extension_fails_csr_policy(void **state)
{
	(void)state;
	expect_csr_refused("csr-extra-ext", "csr.extension");
}

static void
test_csr_with_bad_signature_fails_csr_policy(void **state)
{
	(void)state;
	expect_csr_refused("csr-bad-sig", "csr.signature");
}

static void
test_refused_write_leaves_certificate_revoked(void **state)
{
	(void)state;
	expect_fail("refuse-write", NULL, "write", "device");
	assert_certificate_settled();
}

static void
test_lying_readback_fails_and_certificate_is_not_live(void **state)
{
	(void)state;
	expect_fail("readback-lie", NULL, "readback", "mismatch");
	assert_certificate_settled();
}

/* The chip signed its CSR with the right key but signs everything after
 * with another: with no broker configured (no smoke test), the proof step
 * still catches it, and the certificate is settled like any failure's. */
static void
test_chip_signing_with_another_key_fails_proof_without_broker(void **state)
{
	(void)state;
	expect_fail("sign-wrong-key", NULL, "proof", "mismatch");
	assert_string_equal(prov_jstr(tc.res, "smoke"), "skipped");
	assert_string_equal(prov_jstr(tc.res, "headline"),
	    "Chip cannot use its certified key");
	assert_non_null(
	    strstr(prov_jstr(tc.res, "advice"), "Reject the device"));
	assert_certificate_settled();
}

static void
test_silent_device_times_out_at_hello(void **state)
{
	(void)state;
	prov_env_config(tc.env, SHORT_STEPS, NULL);
	expect_fail("silent", NULL, "hello", "timeout");
	assert_true(json_is_null(json_object_get(tc.res, "serial")));
	assert_no_certificate();
}

static void
test_device_silent_at_write_times_out_with_certificate_settled(void **state)
{
	(void)state;
	prov_env_config(tc.env, SHORT_STEPS, NULL);
	expect_fail("silent-at=WRITE_CERT", NULL, "write", "timeout");
	assert_certificate_settled();
}

/* protocol.md 8: PUBKEY is mandatory; a firmware without it FAILs at
 * keygen, the reason naming the command, before any CSR is asked. */
static void
test_device_without_pubkey_fails_at_keygen(void **state)
{
	(void)state;
	expect_fail("lacks=PUBKEY", NULL, "keygen", "device");
	assert_non_null(strstr(prov_jstr(tc.res, "reason"),
	    "device refused PUBKEY: UNKNOWN_CMD - device message 'PUBKEY is "
	    "not implemented'"));
	assert_no_certificate();
}

static void
test_invalid_device_serial_fails_hello_policy(void **state)
{
	(void)state;
	expect_fail("hello-bad-serial", NULL, "hello", "policy");
	assert_true(json_is_null(json_object_get(tc.res, "serial")));
	assert_no_certificate();
}

static void
test_absent_device_fails_at_connect(void **state)
{
	char *uri = prov_closed_port_uri();

	(void)state;
	expect_fail(NULL, uri, "connect", "hangup");
	assert_true(json_is_null(json_object_get(tc.res, "serial")));
	assert_no_certificate();
	free(uri);
}

/* One ledger, several failed runs and a good one: the audit holds across
 * all of them and the hash chain stays intact. */
static void
test_mixed_runs_keep_ledger_and_ca_index_consistent(void **state)
{
	const char *faults[] = { "refuse-write", "readback-lie", NULL };
	const char *args[] = { "ledger", "verify", NULL };
	struct proc_out o;
	int status;

	(void)state;
	for (int i = 0; faults[i]; i++) {
		struct devsim_proc *d = devsim_proc_start((const char *[]){
		    "--serial", "SN1", "--fault", faults[i], NULL });

		assert_non_null(d);
		json_t *j = prov_provision(tc.env, d->uri, NULL, &status);
		devsim_proc_stop(d);
		assert_int_equal(status, 1);
		json_decref(j);
	}
	tc.sim = devsim_proc_start((const char *[]){ "--serial", "SN1", NULL });
	assert_non_null(tc.sim);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_int_equal(status, 0);

	tc.led = prov_ledger(tc.env);
	assert_int_equal(prov_audit(tc.env, tc.led), 3);
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 3);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "live"), 1);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "verified"), 1);
	assert_int_equal(prov_station(tc.env, args, &o), 0);
	proc_out_clear(&o);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_csr_with_foreign_key_fails_csr_policy),
		T(test_csr_with_wrong_subject_fails_csr_policy),
		T(test_csr_asking_for_ca_fails_csr_policy),
		T(test_csr_with_extra_extension_fails_csr_policy),
		T(test_csr_with_bad_signature_fails_csr_policy),
		T(test_refused_write_leaves_certificate_revoked),
		T(test_lying_readback_fails_and_certificate_is_not_live),
		T(test_chip_signing_with_another_key_fails_proof_without_broker),
		T(test_silent_device_times_out_at_hello),
		T(test_device_silent_at_write_times_out_with_certificate_settled),
		T(test_invalid_device_serial_fails_hello_policy),
		T(test_device_without_pubkey_fails_at_keygen),
		T(test_absent_device_fails_at_connect),
		T(test_mixed_runs_keep_ledger_and_ca_index_consistent),
	};

	return cmocka_run_group_tests_name("station provision: device faults",
	    tests, NULL, NULL);
}
