/*
 * What devices, scanners and the ledger hold never reaches the terminal
 * as control bytes, and never costs a JSON key: the real `station` runs
 * against devsim and a real ledger file, and its stdout and stderr are
 * checked byte by byte (nothing below 0x20 but newline and tab, no ESC,
 * no DEL, no 8-bit CSI) while the escaped values are there for a person
 * to read.
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

/* Every key `station provision --json` documents (docs/station.1). */
static const char *const result_keys[] = { "run_id", "slot", "device", "serial",
	"scanned_serial", "result", "failed_step", "error", "reason",
	"headline", "advice", "cert_serial", "fingerprint", "smoke",
	"duration_ms", NULL };

/* A terminal-safe output: printable ASCII, newlines and tabs only. */
static void
assert_terminal_safe(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p >= 0x7f)
			fail_msg("%s: byte 0x%02x at %zu in '%s'", what, *p,
			    (size_t)(p - (const unsigned char *)s), s);
	}
}

static void
run_safe(const char *const *args, int want_status, struct proc_out *o)
{
	int status = prov_station(tc.env, args, o);

	assert_terminal_safe("stdout", o->out);
	assert_terminal_safe("stderr", o->err);
	if (status != want_status)
		fail_msg("exit %d, wanted %d; stderr: %s", status, want_status,
		    o->err);
}

/* A label with ESC is refused on the command line, escaped, before any
 * run is recorded and before the device is touched. */
static void
test_provision_refuses_a_label_with_escape(void **state)
{
	const char *args[] = { "provision", NULL, "--serial", "SN\x1b[2J",
		NULL };
	struct proc_out o;
	int64_t runs = -1;

	(void)state;
	prov_case_device("SN-0001", NULL);
	args[1] = tc.sim->uri;
	run_safe(args, 2, &o);
	assert_non_null(strstr(o.err, "--serial 'SN\\x1b[2J' refused"));
	assert_string_equal(o.out, "");
	proc_out_clear(&o);

	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_count_runs(tc.led, NULL, &runs, NULL), ST_OK);
	assert_int_equal(runs, 0);
	char *st = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
}

/* A device reporting bytes that are not UTF-8: the --json result keeps
 * every key (jansson alone dropped "reason"), the human output escapes
 * them, and `station probe --json` keeps the model, escaped. */
static void
test_non_utf8_device_strings_keep_every_json_key(void **state)
{
	const char *dargs[] = { "--serial",
		"BAD\xff\x9b"
		"2J",
		"--model", "Ger\xe4t\x9b", NULL };
	const char *probe[] = { "probe", NULL, "--json", NULL };
	const char *human[] = { "provision", NULL, NULL };
	struct proc_out o;
	json_t *j;
	int status;

	(void)state;
	tc.sim = devsim_proc_start(dargs);
	assert_non_null(tc.sim);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	for (size_t i = 0; result_keys[i]; i++) {
		if (json_object_get(tc.res, result_keys[i]) == NULL)
			fail_msg("key %s missing", result_keys[i]);
	}
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "hello");
	assert_non_null(strstr(prov_jstr(tc.res, "reason"), "BAD\\xff\\x9b"));

	human[1] = tc.sim->uri;
	run_safe(human, 1, &o);
	assert_non_null(strstr(o.out, "BAD\\xff\\x9b"));
	proc_out_clear(&o);

	probe[1] = tc.sim->uri;
	run_safe(probe, 0, &o);
	j = json_loads(o.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(prov_jstr(j, "model"), "Ger\\xe4t\\x9b");
	assert_string_equal(prov_jstr(j, "serial"), "BAD\\xff\\x9b2J");
	json_decref(j);
	proc_out_clear(&o);
	probe[2] = NULL; /* the human form */
	run_safe(probe, 0, &o);
	assert_non_null(strstr(o.out, "model     Ger\\xe4t\\x9b"));
	proc_out_clear(&o);
}

/* Runs whose reason, operator and batch hold escape sequences (as a
 * firmware message or a CA's error text might) are listed and shown
 * escaped; a serial with ESC given to `ledger show` is quoted escaped. */
static void
test_ledger_list_and_show_escape_what_they_print(void **state)
{
	const char *list[] = { "ledger", "list", NULL };
	const char *show[] = { "ledger", "show", "SN-0001", NULL };
	const char *none[] = { "ledger", "show", "SN\x1b[2J", NULL };
	const char *json[] = { "ledger", "list", "--json", NULL };
	struct run_start s = { .station_id = "station-1",
		.slot = 1,
		.operator_id = "op\x1b[31m",
		.batch = "lot\r\x9b"
			 "1",
		.device_uri = "tcp:127.0.0.1:1",
		.scanned_serial = "SN-0001",
		.profile = "default" };
	struct device_record d = { .serial = "SN-0001", .model = "m" };
	struct proc_out o;
	int64_t id = 0;
	json_t *j;

	(void)state;
	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_run_begin(tc.led, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_device(tc.led, id, &d, NULL), ST_OK);
	assert_int_equal(
	    ledger_run_finish(tc.led, id, "FAIL", "hello", "device",
		"device said '\x1b[2J\x1b]0;pwned\x07'\nrun 99 PASS", NULL),
	    ST_OK);
	ledger_close(tc.led);
	tc.led = NULL;

	run_safe(list, 0, &o);
	assert_non_null(strstr(o.out, "\\x1b[2J\\x1b]0;pwned\\x07"));
	/* The newline in the reason cannot start a line of its own. */
	assert_null(strstr(o.out, "\nrun 99 PASS"));
	proc_out_clear(&o);

	run_safe(show, 0, &o);
	assert_non_null(strstr(o.out, "\\x1b[2J"));
	proc_out_clear(&o);

	run_safe(none, 1, &o);
	assert_non_null(strstr(o.err, "'SN\\x1b[2J'"));
	proc_out_clear(&o);

	/* JSON: ESC as \u001b inside a string, every key present. */
	run_safe(json, 0, &o);
	j = json_loads(o.out, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(prov_jstr(j, "reason"), "\x1b[2J"));
	assert_string_equal(prov_jstr(j, "batch"), "lot\\x0d\\x9b1");
	assert_string_equal(prov_jstr(j, "operator"), "op\x1b[31m");
	json_decref(j);
	proc_out_clear(&o);
}

/* `station batch` refuses scans with ESC, a GS1 separator or a byte that
 * is not UTF-8: one refusal line each with the "scan" key present (the
 * non-UTF-8 one escaped), no run recorded, no device touched. */
static void
test_batch_refuses_tainted_scans_with_every_key(void **state)
{
	const char *args[] = { "batch", "--fixture", NULL, "--input", NULL,
		NULL };
	struct proc_out o;
	int64_t runs = -1;
	char *fx, *in, *line, *save = NULL;
	int refused = 0;

	(void)state;
	fx = prov_env_write(tc.env, "fx.ini",
	    "[fixture]\nname = t\n"
	    "[slot 1]\nlabel = S1\ndevice = tcp:127.0.0.1:1\n");
	in = prov_env_write(tc.env, "scans.txt",
	    "SN\x1b[2J\nSN-7\x1d"
	    "1\nSN-8\xff\n");
	args[2] = fx;
	args[4] = in;
	run_safe(args, 1, &o);
	for (line = strtok_r(o.out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		assert_non_null(j);
		if (json_is_true(json_object_get(j, "rejected"))) {
			refused++;
			assert_true(json_is_string(json_object_get(j, "scan")));
			assert_non_null(strstr(prov_jstr(j, "reason"),
			    "control or non-ASCII byte"));
		}
		json_decref(j);
	}
	assert_int_equal(refused, 3);
	proc_out_clear(&o);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_count_runs(tc.led, NULL, &runs, NULL), ST_OK);
	assert_int_equal(runs, 0);
	free(fx);
	free(in);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_provision_refuses_a_label_with_escape),
		T(test_non_utf8_device_strings_keep_every_json_key),
		T(test_ledger_list_and_show_escape_what_they_print),
		T(test_batch_refuses_tainted_scans_with_every_key),
	};

	return cmocka_run_group_tests_name("station output: hostile strings",
	    tests, NULL, NULL);
}
