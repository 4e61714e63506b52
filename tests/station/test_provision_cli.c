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
#include "tests/support/provision_env.h"

static struct prov_env *env;
static struct devsim_proc *sim;
static struct ledger *led;
static json_t *res;

static int
setup(void **state)
{
	(void)state;
	env = prov_env_new();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	json_decref(res);
	res = NULL;
	ledger_close(led);
	led = NULL;
	devsim_proc_stop(sim);
	sim = NULL;
	prov_env_free(env);
	env = NULL;
	return 0;
}

static void
start_device(void)
{
	sim = devsim_proc_start((const char *[]){ "--serial", "SN1", NULL });
	assert_non_null(sim);
}

static int64_t
count_runs(const char *result)
{
	int64_t n = -1;

	assert_int_equal(ledger_count_runs(led, result, &n, NULL), ST_OK);
	return n;
}

static void
test_unknown_profile_fails_naming_the_profile(void **state)
{
	int status;

	(void)state;
	start_device();
	res = prov_provision(env, sim->uri, (const char *[]){ "--profile",
	    "nope", NULL }, &status);
	assert_non_null(res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(res, "result"), "FAIL");
	assert_string_equal(prov_jstr(res, "failed_step"), "connect");
	assert_string_equal(prov_jstr(res, "error"), "config");
	assert_non_null(strstr(prov_jstr(res, "reason"),
	    "unknown profile 'nope'"));
	/* The advice is about the configuration, not about the cable. */
	assert_non_null(strstr(prov_jstr(res, "advice"), "configuration"));
	assert_true(json_is_null(json_object_get(res, "cert_serial")));

	led = prov_ledger(env);
	prov_assert_run(led, (int64_t)json_integer_value(json_object_get(res,
	    "run_id")), "FAIL", "connect", "config");
	assert_int_equal(prov_count_certs(led, "SN1", NULL), 0);
	assert_int_equal(prov_audit(env, led), 0);

	/* The device was never touched. */
	char *st = prov_probe_state(env, sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
}

/* A URI with an unknown scheme, none at all, or a malformed address is a
 * wrong command line (exit 2, like `station probe`); the attempt is still
 * on record as a FAIL at connect. */
static void
test_bad_device_uri_exits_2(void **state)
{
	const char *uris[] = { "bogus:xyz", "no-scheme-at-all",
		"tcp:127.0.0.1", "tcp:127.0.0.1:notaport", NULL };
	int status;

	(void)state;
	for (int i = 0; uris[i]; i++) {
		json_t *j = prov_provision(env, uris[i], NULL, &status);

		assert_int_equal(status, 2);
		assert_non_null(j);
		assert_string_equal(prov_jstr(j, "result"), "FAIL");
		assert_string_equal(prov_jstr(j, "failed_step"), "connect");
		assert_string_equal(prov_jstr(j, "error"), "uri");
		assert_non_null(strstr(prov_jstr(j, "reason"), uris[i]));
		json_decref(j);
	}
	led = prov_ledger(env);
	assert_int_equal(count_runs("FAIL"), 4);
	assert_int_equal(count_runs("running"), 0);
	assert_int_equal(prov_audit(env, led), 0);
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
		assert_int_equal(prov_station(env, bad[i], &o), 2);
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
	prov_env_config(env, "step_timeout_ms = soon\n", NULL);
	assert_int_equal(prov_station(env, args, &o), 3);
	char *where = xasprintf("%s:3:", env->config);
	if (strstr(o.err, where) == NULL)
		fail_msg("stderr '%s' does not name %s", o.err, where);
	assert_non_null(strstr(o.err, "step_timeout_ms"));
	assert_string_equal(o.out, "");
	free(where);
	proc_out_clear(&o);

	/* An unknown key in a profile is found as well. */
	prov_env_config(env, NULL, "[profile default]\nkey = ec-p256\n"
	    "colour = blue\n");
	assert_int_equal(prov_station(env, args, &o), 3);
	where = xasprintf("%s:6:", env->config);
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
	start_device();
	res = prov_provision(env, sim->uri, NULL, &status);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(res, "smoke"), "skipped");

	led = prov_ledger(env);
	assert_int_equal(ledger_run_get(led, (int64_t)json_integer_value(
	    json_object_get(res, "run_id")), &r, NULL), ST_OK);
	assert_string_equal(r.result, "PASS");
	assert_non_null(r.smoke_status);
	assert_string_equal(r.smoke_status, "skipped");
	ledger_run_record_clear(&r);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

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
