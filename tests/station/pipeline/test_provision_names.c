/*
 * `station provision` end to end with profiles whose templates take what
 * the device reports (station/identity.h): a value that would add an RDN,
 * a SAN or a topic level FAILs the run at hello, names the field and shows
 * the value escaped, and nothing is issued; a profile that some serials
 * can never satisfy stops the station at load (exit 3, file:line); an
 * honest value with spaces still PASSes.  Real station program, real
 * devsim, the local CA and the SQLite ledger.
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

/* The injection seen on the line (issue 13 item 1). */
#define INJECTED_MODEL "Acme,CN=VICTIM-0001"

/* Start devsim reporting serial `serial` with `args` (NULL-terminated,
 * at most 4) added, and provision it without a scan; keeps the JSON
 * result in tc.res and returns the exit status. */
static int
provision_device(const char *serial, const char *const *args)
{
	const char *argv[8] = { "--serial", serial };
	int status;

	for (size_t i = 0; args != NULL && args[i] != NULL && i < 4; i++)
		argv[2 + i] = args[i];
	tc.sim = devsim_proc_start(argv);
	assert_non_null(tc.sim);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_non_null(tc.res);
	return status;
}

static void
assert_reason_has(const char *want)
{
	const char *reason = prov_jstr(tc.res, "reason");

	if (strstr(reason, want) == NULL)
		fail_msg("reason '%s' lacks '%s'", reason, want);
}

/* FAIL at hello as a device fault, and nothing issued anywhere: no
 * certificate in the JSON, the ledger or the CA's index. */
static void
assert_device_fault_at_hello(const char *serial)
{
	assert_string_equal(prov_jstr(tc.res, "result"), "FAIL");
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "hello");
	assert_string_equal(prov_jstr(tc.res, "error"), "policy");
	assert_non_null(strstr(prov_jstr(tc.res, "advice"), "rework"));
	assert_true(json_is_null(json_object_get(tc.res, "cert_serial")));
	assert_true(json_is_null(json_object_get(tc.res, "fingerprint")));
	tc.led = prov_ledger(tc.env);
	prov_assert_run(tc.led,
	    (int64_t)json_integer_value(json_object_get(tc.res, "run_id")),
	    "FAIL", "hello", "policy");
	assert_int_equal(prov_count_certs(tc.led, serial, NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

/* `station provision` on a closed port: the configuration is loaded (and
 * refused) before any device is reached.  Returns the exit status. */
static int
load_only(struct proc_out *o)
{
	const char *args[] = { "provision", "tcp:127.0.0.1:1", "--json", NULL };

	return prov_station(tc.env, args, o);
}

/* The model 'Acme,CN=VICTIM-0001' in O= would have added a CN: the run
 * fails at hello naming the model and its value. */
static void
test_model_injecting_an_rdn_fails_at_hello(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nsubject = C=DE,O=${model},CN=${serial}\n");
	assert_int_equal(provision_device("INJ-0003",
			     (const char *[]){ "--model", INJECTED_MODEL,
				 NULL }),
	    1);
	assert_device_fault_at_hello("INJ-0003");
	assert_reason_has("device reports model '" INJECTED_MODEL "'");
	assert_reason_has("cannot go into O: ',' is not allowed");
	/* The device itself was recorded: the ledger says who failed. */
	assert_string_equal(prov_jstr(tc.res, "serial"), "INJ-0003");
}

/* A comma in a DNS SAN built from the model: refused the same way. */
static void
test_model_with_comma_in_dns_san_fails_at_hello(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nsan_dns = ${model}.c.example.com\n");
	assert_int_equal(provision_device("SN-0001",
			     (const char *[]){ "--model", "a,b", NULL }),
	    1);
	assert_device_fault_at_hello("SN-0001");
	assert_reason_has("device reports model 'a,b'");
	assert_reason_has("DNS SAN");
}

/* Every key of the --json result is there. */
static void
assert_json_has_every_key(void)
{
	static const char *const keys[] = { "run_id", "slot", "device",
		"serial", "scanned_serial", "result", "failed_step", "error",
		"reason", "headline", "advice", "cert_serial", "fingerprint",
		"smoke", "duration_ms", NULL };

	for (size_t i = 0; keys[i] != NULL; i++) {
		if (json_object_get(tc.res, keys[i]) == NULL)
			fail_msg("JSON result lacks '%s'", keys[i]);
	}
}

/* The reason is printable ASCII: no raw byte of the device's value
 * reaches a terminal, a log or the JSON. */
static void
assert_reason_printable(void)
{
	for (const char *p = prov_jstr(tc.res, "reason"); *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7F)
			fail_msg("reason holds byte 0x%02x", (unsigned char)*p);
	}
}

/* Bytes that are not UTF-8 in the model: not a UTF8String, a device
 * fault at hello, the value shown escaped. */
static void
test_model_with_invalid_utf8_is_shown_escaped(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nsubject = O=${model},CN=${serial}\n");
	assert_int_equal(provision_device("SN-0002",
			     (const char *[]){ "--hello",
				 "model=Acme\\xff\\xfe", NULL }),
	    1);
	assert_device_fault_at_hello("SN-0002");
	assert_reason_has("device reports model 'Acme\\xff\\xfe'");
	assert_reason_has("not valid UTF-8");
	assert_reason_printable();
	assert_json_has_every_key();
}

/* ESC and a terminal colour sequence in the model break the protocol's
 * string rule (no control bytes): FAIL at hello as a protocol fault, the
 * reason names the field (MODEL) and shows its value escaped. */
static void
test_model_with_control_bytes_is_shown_escaped(void **state)
{
	(void)state;
	assert_int_equal(provision_device("SN-0006",
			     (const char *[]){ "--hello",
				 "model=Acme\\x1b[31m\\xff", NULL }),
	    1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "hello");
	assert_string_equal(prov_jstr(tc.res, "error"), "protocol");
	assert_reason_has("HELLO reply: MODEL holds control byte 0x1b");
	assert_reason_has("'Acme\\x1b[31m\\xff'");
	assert_reason_printable();
	assert_json_has_every_key();
	tc.led = prov_ledger(tc.env);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
}

/* A serial holding a lone C1 control byte (CSI, 0x9b, which some
 * terminals act on): refused at hello, shown escaped. */
static void
test_serial_with_c1_control_is_shown_escaped(void **state)
{
	(void)state;
	assert_int_equal(provision_device("SN-0007",
			     (const char *[]){ "--hello", "serial=SN\\x9b2J",
				 NULL }),
	    1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "hello");
	assert_string_equal(prov_jstr(tc.res, "error"), "policy");
	assert_reason_has("device reports serial 'SN\\x9b2J'");
	assert_reason_printable();
	assert_json_has_every_key();
}

/* A model that would add topic levels or wildcards to the smoke test's
 * topic: refused at hello, before the device is touched. */
static void
test_model_injecting_topic_wildcards_fails_at_hello(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\ntopic = factory/${model}/selftest\n");
	assert_int_equal(provision_device("SN-0003",
			     (const char *[]){ "--model", "x/#", NULL }),
	    1);
	assert_device_fault_at_hello("SN-0003");
	assert_reason_has("device reports model 'x/#'");
	assert_reason_has("topic");
}

/* serialNumber=${serial} while serials may hold '_' (which a
 * PrintableString cannot): refused at load, naming file, line and the
 * fix; a serial_pattern without '_' makes the same profile work. */
static void
test_serial_number_of_underscore_serials_refused_at_load(void **state)
{
	const char *profile = "[profile default]\nsubject = C=US,CN=${serial},"
			      "serialNumber=${serial}\n";
	struct proc_out o;

	(void)state;
	prov_env_config(tc.env, NULL, profile);
	assert_int_equal(load_only(&o), 3);
	char *where = xasprintf("%s:5:", tc.env->config);
	if (strstr(o.err, where) == NULL)
		fail_msg("stderr '%s' does not name %s", o.err, where);
	assert_non_null(strstr(o.err, "'_'"));
	assert_non_null(strstr(o.err, "serialNumber"));
	assert_non_null(strstr(o.err, "serial_pattern"));
	assert_string_equal(o.out, "");
	free(where);
	proc_out_clear(&o);

	prov_env_config(tc.env, "serial_pattern = SN-[0-9]+\n", profile);
	assert_int_equal(provision_device("SN-0004", NULL), 0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");
}

/* Literal template text that breaks its attribute's type is refused at
 * load too. */
static void
test_literal_text_breaking_its_type_refused_at_load(void **state)
{
	struct proc_out o;

	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nsubject = C=US,serialNumber=A_${serial}\n");
	assert_int_equal(load_only(&o), 3);
	assert_non_null(strstr(o.err,
	    "the text 'A_' cannot go into "
	    "serialNumber"));
	proc_out_clear(&o);
}

/* An honest model with spaces is a valid UTF8String the wire carries:
 * it PASSes and the certificate's O is the model. */
static void
test_honest_model_with_spaces_passes(void **state)
{
	struct cert_record c = { 0 };
	struct run_record r = { 0 };

	(void)state;
	prov_env_config(tc.env, NULL,
	    "[profile default]\nsubject = C=DE,O=${model},CN=${serial}\n");
	assert_int_equal(provision_device("SN-0005",
			     (const char *[]){ "--model", "Acme Sensors GmbH",
				 NULL }),
	    0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");
	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_run_get(tc.led,
			     (int64_t)json_integer_value(
				 json_object_get(tc.res, "run_id")),
			     &r, NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_get(tc.led, r.cert_serial, &c, NULL),
	    ST_OK);
	assert_string_equal(c.subject, "C=DE,O=Acme Sensors GmbH,CN=SN-0005");
	ledger_cert_record_clear(&c);
	ledger_run_record_clear(&r);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_model_injecting_an_rdn_fails_at_hello),
		T(test_model_with_comma_in_dns_san_fails_at_hello),
		T(test_model_with_invalid_utf8_is_shown_escaped),
		T(test_model_with_control_bytes_is_shown_escaped),
		T(test_serial_with_c1_control_is_shown_escaped),
		T(test_model_injecting_topic_wildcards_fails_at_hello),
		T(test_serial_number_of_underscore_serials_refused_at_load),
		T(test_literal_text_breaking_its_type_refused_at_load),
		T(test_honest_model_with_spaces_passes),
	};

	return cmocka_run_group_tests_name("station provision: names from "
					   "templates",
	    tests, NULL, NULL);
}
