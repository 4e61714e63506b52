/*
 * `station provision` given bad input: an unknown profile, a device URI
 * that is not one, a serial that is not one word, an unknown option, a
 * broken configuration file.  Each ends with the documented exit status
 * (1 FAIL, 2 wrong command line, 3 the station cannot work) and a reason
 * an engineer can act on; a command-line mistake is never a run, the
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

/*
 * `provision URI EXTRA... --json` must be refused as a command-line
 * mistake: exit 2, the cause naming `needle` on stderr, nothing on stdout,
 * no run in the ledger.
 */
static void
assert_refused_unrecorded(const char *uri, const char *const *extra,
    const char *needle)
{
	const char *args[10] = { "provision", uri };
	struct proc_out o = { 0 };
	size_t n = 2;

	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		args[n++] = extra[i];
	args[n++] = "--json";
	args[n] = NULL;
	assert_int_equal(prov_station(tc.env, args, &o), 2);
	if (strstr(o.err, needle) == NULL)
		fail_msg("stderr '%s' does not say '%s'", o.err, needle);
	assert_string_equal(o.out, "");
	proc_out_clear(&o);
}

/* A command-line mistake is not a run: an unknown profile, a device URI
 * that is not one, a scanned serial with a blank in it.  Each exits 2
 * naming the mistake; the append-only ledger (and so the ERP export)
 * never hears of it, and the device is not touched. */
static void
test_unknown_profile_is_refused_before_the_run(void **state)
{
	char *st;

	(void)state;
	prov_case_device("SN1", NULL);
	assert_refused_unrecorded(tc.sim->uri,
	    (const char *[]){ "--profile", "nope", NULL },
	    "unknown profile 'nope'");
	tc.led = prov_ledger(tc.env);
	assert_int_equal(count_runs(NULL), 0);
	assert_int_equal(prov_count_certs(tc.led, "SN1", NULL), 0);
	st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
}

static void
test_bad_device_uri_exits_2_unrecorded(void **state)
{
	const char *uris[] = { "bogus:xyz", "no-scheme-at-all", "tcp:127.0.0.1",
		"tcp:127.0.0.1:notaport", "uart:ttyUSB0", "uart:usb=12:34",
		"usb:zz:yy", NULL };

	(void)state;
	for (int i = 0; uris[i]; i++)
		assert_refused_unrecorded(uris[i], NULL, uris[i]);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(count_runs(NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

static void
test_serial_with_a_blank_is_refused_before_the_run(void **state)
{
	char *st;

	(void)state;
	prov_case_device("SN1", NULL);
	assert_refused_unrecorded(tc.sim->uri,
	    (const char *[]){ "--serial", "SN 1", NULL }, "holds a space");
	assert_refused_unrecorded(tc.sim->uri,
	    (const char *[]){ "--serial", "SN1 ", NULL }, "holds a space");
	assert_refused_unrecorded(tc.sim->uri,
	    (const char *[]){ "--serial", "", NULL }, "is empty");
	tc.led = prov_ledger(tc.env);
	assert_int_equal(count_runs(NULL), 0);
	st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
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

/* HELLO waits as long as step_timeout_ms says, not 4 x 500 ms: a device
 * that answers each request after 2.5 s is met with an 8 s step, and the
 * run goes on to the label check (the scanned label is another board's,
 * so it ends there, before any key is made). */
static void
test_hello_honours_the_step_timeout(void **state)
{
	const char *extra[] = { "--serial", "SN-OTHER", NULL };
	int status;

	(void)state;
	prov_env_config(tc.env, "step_timeout_ms = 8000\n", NULL);
	prov_case_device("SN-SLOW", "slow=2500");
	tc.res = prov_provision(tc.env, tc.sim->uri, extra, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "serial"), "SN-SLOW");
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "serial-check");
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unknown_profile_is_refused_before_the_run),
		T(test_bad_device_uri_exits_2_unrecorded),
		T(test_serial_with_a_blank_is_refused_before_the_run),
		T(test_unknown_option_exits_2_with_usage),
		T(test_config_error_exits_3_naming_file_and_line),
		T(test_skipped_smoke_test_is_recorded),
		T(test_hello_honours_the_step_timeout),
	};

	return cmocka_run_group_tests_name("station provision: command line",
	    tests, NULL, NULL);
}
