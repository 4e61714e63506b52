/*
 * `station provision` given bad input: an unknown profile, a device URI
 * that is not one, an unknown option, a broken configuration file.  Each
 * ends with the documented exit status (1 FAIL, 2 wrong command line,
 * 3 the station cannot work) and a reason an engineer can act on; the
 * ledger never holds a half-finished run, and the smoke test's outcome is
 * recorded even when it was skipped.
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

static int64_t
count_runs(const char *result)
{
	int64_t n = -1;

	assert_int_equal(ledger_count_runs(tc.led, result, &n, NULL), ST_OK);
	return n;
}

static void
test_unknown_profile_fails_naming_the_profile(void **state)
{
	int status;

	(void)state;
	prov_case_device("SN1", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri,
	    (const char *[]){ "--profile", "nope", NULL }, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "result"), "FAIL");
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "connect");
	assert_string_equal(prov_jstr(tc.res, "error"), "config");
	assert_non_null(
	    strstr(prov_jstr(tc.res, "reason"), "unknown profile 'nope'"));
	/* The advice is about the configuration, not about the cable. */
	assert_non_null(strstr(prov_jstr(tc.res, "advice"), "configuration"));
	assert_true(json_is_null(json_object_get(tc.res, "cert_serial")));

	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led,
	    (int64_t)json_integer_value(json_object_get(tc.res, "run_id")),
	    "FAIL", "connect", "config");
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);

	/* The device was never touched. */
	char *st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
}

/* A URI with an unknown scheme, none at all, or a malformed address is a
 * wrong command line (exit 2, like `station probe`); the attempt is still
 * on record as a FAIL at connect. */
static void
test_bad_device_uri_exits_2(void **state)
{
	const char *uris[] = { "bogus:xyz", "no-scheme-at-all", "tcp:127.0.0.1",
		"tcp:127.0.0.1:notaport", NULL };
	int status;

	(void)state;
	for (int i = 0; uris[i]; i++) {
		json_t *j = prov_provision(tc.env, uris[i], NULL, &status);

		assert_int_equal(status, 2);
		assert_non_null(j);
		assert_string_equal(prov_jstr(j, "result"), "FAIL");
		assert_string_equal(prov_jstr(j, "failed_step"), "connect");
		assert_string_equal(prov_jstr(j, "error"), "uri");
		assert_non_null(strstr(prov_jstr(j, "reason"), uris[i]));
		json_decref(j);
	}
	tc.led = prov_ledger(tc.env);
	assert_int_equal(count_runs("FAIL"), 4);
	assert_int_equal(count_runs("running"), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

static void
test_unknown_option_exits_2_with_usage(void **state)
{
	const char *bad[][4] = {
		{ "provision", "tcp:127.0.0.1:1", "--frobnicate", NULL },
		{ "provision", NULL },
		{ "provision", "tcp:127.0.0.1:1", "tcp:127.0.0.1:2", NULL },
		{ "provision", "tcp:127.0.0.1:1", "--serial", NULL },
	};
	struct proc_out o;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(prov_station(tc.env, bad[i], &o), 2);
		assert_non_null(strstr(o.err, "usage: station provision"));
		assert_string_equal(o.out, "");
		proc_out_clear(&o);
	}
}

static void
test_config_error_exits_3_naming_file_and_line(void **state)
{
	const char *args[] = { "provision", "tcp:127.0.0.1:1", "--json", NULL };
	struct proc_out o;

	(void)state;
	prov_env_config(tc.env, "step_timeout_ms = soon\n", NULL);
	assert_int_equal(prov_station(tc.env, args, &o), 3);
	char *where = xasprintf("%s:3:", tc.env->config);
	if (strstr(o.err, where) == NULL)
		fail_msg("stderr '%s' does not name %s", o.err, where);
	assert_non_null(strstr(o.err, "step_timeout_ms"));
	assert_string_equal(o.out, "");
	free(where);
	proc_out_clear(&o);

	/* An unknown key in a profile is found as well. */
	prov_env_config(tc.env, NULL,
	    "[profile default]\nkey = ec-p256\n"
	    "colour = blue\n");
	assert_int_equal(prov_station(tc.env, args, &o), 3);
	where = xasprintf("%s:6:", tc.env->config);
	if (strstr(o.err, where) == NULL)
		fail_msg("stderr '%s' does not name %s", o.err, where);
	assert_non_null(strstr(o.err, "colour"));
	free(where);
	proc_out_clear(&o);
}

/* Without a broker the smoke test is skipped, and the ledger says so. */
static void
test_skipped_smoke_test_is_recorded(void **state)
{
	struct run_record r = { 0 };
	int status;

	(void)state;
	prov_case_device("SN1", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(tc.res, "smoke"), "skipped");

	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_run_get(tc.led,
			     (int64_t)json_integer_value(
				 json_object_get(tc.res, "run_id")),
			     &r, NULL),
	    ST_OK);
	assert_string_equal(r.result, "PASS");
	assert_non_null(r.smoke_status);
	assert_string_equal(r.smoke_status, "skipped");
	ledger_run_record_clear(&r);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unknown_profile_fails_naming_the_profile),
		T(test_bad_device_uri_exits_2),
		T(test_unknown_option_exits_2_with_usage),
		T(test_config_error_exits_3_naming_file_and_line),
		T(test_skipped_smoke_test_is_recorded),
	};

	return cmocka_run_group_tests_name("station provision: command line",
	    tests, NULL, NULL);
}
