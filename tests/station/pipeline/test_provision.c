/*
 * `station provision` end to end: the real station program against the
 * simulated device (devsim), each test in a fresh STATION_HOME, checking the
 * --json result and then the ledger file itself.  This file covers the runs
 * that should PASS (EC and RSA keys, line noise, an allowed re-provisioning)
 * and the operator-level refusals (wrong label, already provisioned);
 * test_provision_faults.c covers misbehaving devices and
 * test_provision_cli.c the command line.
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
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "db/ledger.h"
#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

/* Provision and keep the JSON result in `tc.res`; returns the exit status. */
static int
provision(const char *const *extra)
{
	int status;

	json_decref(tc.res);
	tc.res = prov_provision(tc.env, tc.sim->uri, extra, &status);
	assert_non_null(tc.res);
	return status;
}

static void
assert_str_or_null(json_t *v, int want_string)
{
	if (want_string) {
		assert_true(json_is_string(v));
		assert_true(json_string_length(v) > 0);
	} else {
		assert_true(json_is_null(v));
	}
}

/* Every field of the result is present with the type its outcome needs. */
static void
assert_json_shape(json_t *j, int pass, int has_cert)
{
	json_t *run_id = json_object_get(j, "run_id");

	assert_true(json_is_integer(run_id));
	assert_true(json_integer_value(run_id) > 0);
	assert_true(json_is_string(json_object_get(j, "serial")) ||
	    json_is_null(json_object_get(j, "serial")));
	assert_string_equal(prov_jstr(j, "result"), pass ? "PASS" : "FAIL");
	assert_str_or_null(json_object_get(j, "failed_step"), !pass);
	assert_str_or_null(json_object_get(j, "error"), !pass);
	assert_str_or_null(json_object_get(j, "reason"), !pass);
	assert_str_or_null(json_object_get(j, "advice"), !pass);
	assert_str_or_null(json_object_get(j, "cert_serial"), has_cert);
	assert_str_or_null(json_object_get(j, "fingerprint"), has_cert);
	if (has_cert)
		assert_int_equal(strlen(prov_jstr(j, "fingerprint")), 64);
}

static int64_t
run_id(void)
{
	return (int64_t)json_integer_value(json_object_get(tc.res, "run_id"));
}

/* `openssl verify` as a process: the certificate chains to the local CA. */
static void
assert_openssl_verifies(const char *pem)
{
	char *cert = prov_env_write(tc.env, "device.pem", pem);
	char *root = xasprintf("%s/ca/root.pem", tc.env->home);
	char *inter = xasprintf("%s/ca/intermediate.pem", tc.env->home);
	const char *argv[] = { "openssl", "verify", "-CAfile", root,
		"-untrusted", inter, cert, NULL };
	struct proc_out o;

	int status = proc_run_env(argv, NULL, &o);
	if (status != 0)
		fail_msg("openssl verify exit %d: %s %s", status, o.out, o.err);
	assert_non_null(strstr(o.out, ": OK"));
	proc_out_clear(&o);
	free(cert);
	free(root);
	free(inter);
}

static void
assert_ledger_verify_passes(void)
{
	const char *args[] = { "ledger", "verify", NULL };
	struct proc_out o;

	assert_int_equal(prov_station(tc.env, args, &o), 0);
	assert_non_null(strstr(o.out, "PASS"));
	proc_out_clear(&o);
}

/*
 * `station ledger show SERIAL --json`: the step events of run `id` (info
 * events left out) as "step:status" words in the order recorded (caller
 * frees).
 */
static char *
shown_events(const char *serial, int64_t id)
{
	const char *args[] = { "ledger", "show", serial, "--json", NULL };
	struct proc_out o;
	char *words = xstrdup(""), *line, *save = NULL;

	assert_int_equal(prov_station(tc.env, args, &o), 0);
	for (line = strtok_r(o.out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		json_t *evs = json_object_get(j, "events");

		if (json_integer_value(json_object_get(j, "run_id")) == id &&
		    json_is_array(evs)) {
			for (size_t i = 0; i < json_array_size(evs); i++) {
				json_t *e = json_array_get(evs, i);

				if (strcmp(prov_jstr(e, "status"), "info") == 0)
					continue;
				char *more = xasprintf("%s%s:%s", words,
				    prov_jstr(e, "step"),
				    prov_jstr(e, "status"));

				free(words);
				words = xasprintf("%s ", more);
				free(more);
			}
		}
		json_decref(j);
	}
	proc_out_clear(&o);
	return words;
}

/* A PASS carries the proof: the chip signed a fresh challenge with the
 * certified key after the read-back, whether or not the smoke test ran;
 * `ledger show` shows it among the run's events. */
static void
assert_proof_shown(const char *serial)
{
	const char *args[] = { "ledger", "show", serial, NULL };
	struct proc_out o;
	char *events = shown_events(serial, run_id());

	if (strstr(events, "readback:ok proof:ok smoke:ok commit:ok") == NULL)
		fail_msg("ledger show events: %s", events);
	free(events);
	assert_int_equal(prov_station(tc.env, args, &o), 0);
	assert_non_null(strstr(o.out, " proof "));
	proc_out_clear(&o);
}

/*
 * The PASS checks: the certificate in the ledger is the one the JSON
 * names, verifies to the local CA, carries the chip's key type, its row
 * (serial, fingerprint, subject, status) matches the certificate, and
 * the run's events show the proof.
 */
static void
assert_provisioned(const char *serial, int key_id, int key_bits)
{
	struct cert_record c = { 0 };
	struct run_record r = { 0 };

	assert_json_shape(tc.res, 1, 1);
	assert_string_equal(prov_jstr(tc.res, "serial"), serial);
	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led, run_id(), "PASS", NULL, NULL);
	assert_int_equal(ledger_run_get(tc.led, run_id(), &r, NULL), ST_OK);
	assert_non_null(r.cert_serial);
	assert_string_equal(r.cert_serial, prov_jstr(tc.res, "cert_serial"));
	assert_string_equal(r.device_serial, serial);

	assert_int_equal(ledger_cert_get(tc.led, r.cert_serial, &c, NULL),
	    ST_OK);
	assert_string_equal(c.status, "verified");
	assert_string_equal(c.device_serial, serial);
	assert_int_equal(c.run_id, run_id());
	assert_string_equal(c.fingerprint_sha256,
	    prov_jstr(tc.res, "fingerprint"));
	assert_openssl_verifies(c.pem);

	BIO *bio = BIO_new_mem_buf(c.pem, -1);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(x);
	char fp[65];
	cert_fingerprint_sha256(x, fp);
	assert_string_equal(fp, c.fingerprint_sha256);
	BIGNUM *want = NULL;
	assert_true(BN_hex2bn(&want, c.serial_hex) > 0);
	BIGNUM *got = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_int_equal(BN_cmp(want, got), 0);
	char *subject = dn_format(X509_get_subject_name(x));
	assert_string_equal(subject, c.subject);
	char *cn = xasprintf("CN=%s", serial);
	assert_non_null(strstr(subject, cn));
	EVP_PKEY *key = X509_get0_pubkey(x);
	assert_int_equal(EVP_PKEY_get_base_id(key), key_id);
	assert_int_equal(EVP_PKEY_get_bits(key), key_bits);

	free(cn);
	free(subject);
	BN_free(want);
	BN_free(got);
	X509_free(x);
	BIO_free(bio);
	ledger_cert_record_clear(&c);
	ledger_run_record_clear(&r);

	assert_int_equal(prov_count_certs(tc.led, serial, "live"), 1);
	assert_true(prov_audit(tc.env, tc.led) >= 1);
	assert_ledger_verify_passes();
	assert_proof_shown(serial);
}

static void
test_ec_p256_device_passes_with_verified_certificate(void **state)
{
	(void)state;
	prov_case_device("SN1", NULL);
	assert_int_equal(provision((const char *[]){ "--serial", "SN1", NULL }),
	    0);
	assert_provisioned("SN1", EVP_PKEY_EC, 256);
	assert_string_equal(prov_jstr(tc.res, "scanned_serial"), "SN1");
	assert_int_equal(prov_audit(tc.env, tc.led), 1);

	char *st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "committed");
	free(st);
}

static void
test_rsa_2048_profile_passes_with_verified_certificate(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL, "[profile default]\nkey = rsa-2048\n");
	prov_case_device("SN-RSA.1", NULL);
	assert_int_equal(provision(NULL), 0);
	assert_provisioned("SN-RSA.1", EVP_PKEY_RSA, 2048);
	assert_true(json_is_null(json_object_get(tc.res, "scanned_serial")));
	assert_int_equal(prov_audit(tc.env, tc.led), 1);
}

static void
test_line_noise_still_passes_through_retransmission(void **state)
{
	/* Seed 2 flips a few bits of this conversation at 1e-4 (seed 1
	 * happens to flip none), so retransmission is really exercised. */
	const char *dev[] = { "--serial", "SN-NOISY", "--fault", "ber=1e-4",
		"--seed", "2", NULL };
	const char *args[] = { "provision", NULL, "--json", NULL };
	struct proc_out o;

	(void)state;
	tc.sim = devsim_proc_start(dev);
	assert_non_null(tc.sim);
	args[1] = tc.sim->uri;
	setenv("STATION_LOG", "info", 1);
	int status = prov_station(tc.env, args, &o);
	unsetenv("STATION_LOG");
	if (status != 0)
		fail_msg("exit %d: %s %s", status, o.out, o.err);
	assert_non_null(strstr(o.err, "retransmitting"));
	tc.res = json_loads(o.out, 0, NULL);
	proc_out_clear(&o);
	assert_non_null(tc.res);
	assert_provisioned("SN-NOISY", EVP_PKEY_EC, 256);
}

static void
test_wrong_label_fails_before_any_key_is_made(void **state)
{
	(void)state;
	prov_case_device("SN1", NULL);
	assert_int_equal(provision((const char *[]){ "--serial", "SN2", NULL }),
	    1);
	assert_json_shape(tc.res, 0, 0);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "serial-check");
	assert_string_equal(prov_jstr(tc.res, "error"), "mismatch");
	assert_string_equal(prov_jstr(tc.res, "serial"), "SN1");
	assert_string_equal(prov_jstr(tc.res, "scanned_serial"), "SN2");
	assert_non_null(strstr(prov_jstr(tc.res, "reason"), "SN2"));

	/* No KEYGEN reached the chip. */
	char *st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);

	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led, run_id(), "FAIL", "serial-check", "mismatch");
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

/* The same board provisioned again (a rescan after a screen restart):
 * its certificate was verified on it in a PASSed run and its chip proves
 * the key, so the run is ALREADY PASS: exit 0, the old certificate, no
 * new one, and the ledger records a PASS that names the first run. */
static void
test_board_that_passed_is_already_pass(void **state)
{
	struct proc_out o;
	int64_t first_run;
	char *first;
	const char *args[] = { "provision", NULL, "--serial", "SN1", NULL };

	(void)state;
	prov_case_device("SN1", NULL);
	assert_int_equal(provision(NULL), 0);
	first = xstrdup(prov_jstr(tc.res, "cert_serial"));
	first_run = run_id();

	assert_int_equal(provision(NULL), 0);
	assert_json_shape(tc.res, 1, 1);
	assert_string_equal(prov_jstr(tc.res, "cert_serial"), first);
	assert_int_equal(json_integer_value(
			     json_object_get(tc.res, "already_run")),
	    first_run);
	assert_true(run_id() > first_run);
	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led, run_id(), "PASS", NULL, NULL);
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 1);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "verified"), 1);
	assert_int_equal(prov_audit(tc.env, tc.led), 1);
	assert_ledger_verify_passes();

	/* the text output says it, with the first run */
	args[1] = tc.sim->uri;
	assert_int_equal(prov_station(tc.env, args, &o), 0);
	char *want =
	    xasprintf("ALREADY PASS (run %lld, ", (long long)first_run);
	if (strstr(o.out, want) == NULL)
		fail_msg("no '%s' in: %s", want, o.out);
	free(want);
	proc_out_clear(&o);
	free(first);
}

/* Another board reporting the serial of one that PASSed (a copied label,
 * a cloned serial): its chip cannot prove the certificate's key, so it
 * FAILs at ledger-check as "already provisioned", and nothing is issued. */
static void
test_second_provisioning_is_refused_by_default(void **state)
{
	(void)state;
	prov_case_device("SN1", NULL);
	assert_int_equal(provision(NULL), 0);
	char *first = xstrdup(prov_jstr(tc.res, "cert_serial"));

	devsim_proc_stop(tc.sim);
	tc.sim = NULL;
	prov_case_device("SN1", NULL); /* same serial, another chip */
	assert_int_equal(provision(NULL), 1);
	assert_json_shape(tc.res, 0, 0);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "ledger-check");
	assert_string_equal(prov_jstr(tc.res, "error"), "exists");
	assert_non_null(strstr(prov_jstr(tc.res, "reason"), first));

	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led, run_id(), "FAIL", "ledger-check", "exists");
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 1);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "verified"), 1);
	assert_int_equal(prov_audit(tc.env, tc.led), 1);
	free(first);
	assert_ledger_verify_passes();
}

static void
test_allowed_reprovisioning_revokes_the_old_certificate(void **state)
{
	struct cert_record c = { 0 };

	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nkey = ec-p256\n"
	    "[profile rework]\nreprovision = allow\n");
	prov_case_device("SN1", NULL);
	assert_int_equal(provision(NULL), 0);
	char *first = xstrdup(prov_jstr(tc.res, "cert_serial"));

	assert_int_equal(provision(
			     (const char *[]){ "--profile", "rework", NULL }),
	    0);
	assert_string_not_equal(prov_jstr(tc.res, "cert_serial"), first);
	assert_provisioned("SN1", EVP_PKEY_EC, 256);

	assert_int_equal(ledger_cert_get(tc.led, first, &c, NULL), ST_OK);
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 2);
	assert_int_equal(prov_count_certs(tc.led, "SN1", "live"), 1);
	assert_int_equal(prov_audit(tc.env, tc.led), 2);
	free(first);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PROV_CASE_TEST(
		    test_ec_p256_device_passes_with_verified_certificate),
		PROV_CASE_TEST(
		    test_rsa_2048_profile_passes_with_verified_certificate),
		PROV_CASE_TEST(
		    test_line_noise_still_passes_through_retransmission),
		PROV_CASE_TEST(test_wrong_label_fails_before_any_key_is_made),
		PROV_CASE_TEST(test_second_provisioning_is_refused_by_default),
		PROV_CASE_TEST(test_board_that_passed_is_already_pass),
		PROV_CASE_TEST(
		    test_allowed_reprovisioning_revokes_the_old_certificate),
	};

	return cmocka_run_group_tests_name("station provision end to end",
	    tests, NULL, NULL);
}
