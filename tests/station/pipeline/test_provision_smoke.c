/*
 * The smoke step inside `station provision`, against a real Mosquitto
 * (fixtures/broker/start.sh) that trusts the station's local CA: the run
 * passes only if the broker accepts the device's new identity, with the
 * handshake signed by the device's chip over the device link; every
 * refusal fails the run at the smoke step with its own diagnosis, and the
 * ledger records the outcome.  The certificate and chain presented are
 * the ones read back from the device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/loopback.h"
#include "tests/support/provision_env.h"
#include "tests/support/smoke_env.h"

static struct smoke_env *se;
static struct devsim_proc *sim;

/* A station home with the given profile lines, and a broker trusting its
 * local CA's root, with `broker_extra` appended to its configuration. */
static void
setup_station_broker(const char *profile_lines, const char *broker_extra)
{
	se = smoke_env_new(profile_lines, broker_extra, 120);
}

static void
setup_station(const char *profile_lines)
{
	setup_station_broker(profile_lines, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	devsim_proc_stop(sim);
	sim = NULL;
	smoke_env_free(se);
	se = NULL;
	return 0;
}

static void
start_device(const char *serial, const char *fault)
{
	const char *args[] = { "--serial", serial, fault ? "--fault" : NULL,
		fault, NULL };

	sim = devsim_proc_start(args);
	assert_non_null(sim);
}

/* Provision against `broker_at` (NULL: the test broker). */
static int
provision(const char *broker_at)
{
	return smoke_env_provision(se, sim->uri, broker_at);
}

static void
load_run(struct run_record *r)
{
	struct ledger *l = prov_ledger(se->env);
	int64_t id =
	    (int64_t)json_integer_value(json_object_get(se->res, "run_id"));

	assert_int_equal(ledger_run_get(l, id, r, NULL), ST_OK);
	ledger_close(l);
}

/* The certificate of a failed run must not stay live. */
static void
assert_cert_not_live(void)
{
	struct ledger *l = prov_ledger(se->env);

	assert_int_equal(prov_count_certs(l, prov_jstr(se->res, "serial"),
			     "live"),
	    0);
	prov_audit(se->env, l);
	ledger_close(l);
}

static void
assert_smoke_failed(const char *diagnosis, const char *error_kind)
{
	struct run_record r = { 0 };

	assert_int_equal(provision(NULL), 1);
	assert_string_equal(prov_jstr(se->res, "result"), "FAIL");
	assert_string_equal(prov_jstr(se->res, "failed_step"), "smoke");
	assert_string_equal(prov_jstr(se->res, "error"), error_kind);
	assert_string_equal(prov_jstr(se->res, "smoke"), "failed");
	assert_string_equal(prov_jstr(se->res, "smoke_detail"), diagnosis);
	assert_non_null(strstr(prov_jstr(se->res, "reason"), diagnosis));
	load_run(&r);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.smoke_status, "failed");
	assert_non_null(r.smoke_detail);
	assert_non_null(strstr(r.smoke_detail, diagnosis));
	ledger_run_record_clear(&r);
	assert_cert_not_live();
}

/* EC device, TLS 1.3 (the default): PASS, and the ledger records the
 * broker, the TLS version, the cipher and the PUBACK code. */
static void
test_ec_device_passes_the_smoke_test_on_tls13(void **state)
{
	(void)state;
	struct run_record r = { 0 };

	setup_station(NULL);
	start_device("SMOKE-EC-1", NULL);
	assert_int_equal(provision(NULL), 0);
	assert_string_equal(prov_jstr(se->res, "result"), "PASS");
	assert_string_equal(prov_jstr(se->res, "smoke"), "passed");
	load_run(&r);
	assert_string_equal(r.smoke_status, "passed");
	assert_string_equal(r.smoke_broker, se->broker_arg);
	assert_string_equal(r.smoke_tls_version, "TLSv1.3");
	assert_non_null(r.smoke_cipher);
	assert_non_null(strstr(r.smoke_detail, "PUBACK 0x"));
	assert_non_null(strstr(r.smoke_detail, "factory/selftest/SMOKE-EC-1"));
	ledger_run_record_clear(&r);
}

/* RSA device with a TLS 1.2 profile: PASS on TLS 1.2 (the chip signs
 * RSA-PSS through the device link). */
static void
test_rsa_device_passes_the_smoke_test_on_tls12(void **state)
{
	(void)state;
	struct run_record r = { 0 };

	setup_station("key = rsa-2048\ntls = 1.2\n");
	start_device("SMOKE-RSA-1", NULL);
	assert_int_equal(provision(NULL), 0);
	load_run(&r);
	assert_string_equal(r.smoke_status, "passed");
	assert_string_equal(r.smoke_tls_version, "TLSv1.2");
	ledger_run_record_clear(&r);
}

/* The chip signs the station's proof challenge with the certified key
 * but the handshake with another: the smoke test still runs the full
 * handshake, the broker refuses the signature; the certificate is
 * settled. */
static void
test_chip_with_another_key_fails_at_smoke_with_the_handshake_reason(
    void **state)
{
	(void)state;
	setup_station(NULL);
	start_device("SMOKE-KEY-1", "sign-wrong-key-from=2");
	assert_smoke_failed("signature-refused", "policy");
}

/* A chip that never signs with the certified key fails the proof step,
 * before the broker is asked: the smoke test is not run at all. */
static void
test_chip_with_another_key_fails_proof_before_the_smoke_test(void **state)
{
	(void)state;
	struct run_record r = { 0 };

	setup_station(NULL);
	start_device("SMOKE-KEY-2", "sign-wrong-key");
	assert_int_equal(provision(NULL), 1);
	assert_string_equal(prov_jstr(se->res, "failed_step"), "proof");
	assert_string_equal(prov_jstr(se->res, "error"), "mismatch");
	assert_string_equal(prov_jstr(se->res, "smoke"), "skipped");
	load_run(&r);
	assert_null(r.smoke_status);
	ledger_run_record_clear(&r);
	assert_cert_not_live();
}

/* The smoke test presents what the device read back, not what the CA
 * sent: with `chain = none` the device holds no intermediate, and a
 * broker that trusts only the root refuses it (the CA's reply held the
 * intermediate all along).  `chain = ca` on the same broker passes. */
static void
test_smoke_presents_the_chain_the_device_holds(void **state)
{
	(void)state;
	setup_station("chain = none\n");
	start_device("SMOKE-CHAIN-1", NULL);
	assert_smoke_failed("cert-refused", "policy");
	teardown(NULL);
	setup_station("chain = ca\n");
	start_device("SMOKE-CHAIN-2", NULL);
	assert_int_equal(provision(NULL), 0);
	assert_string_equal(prov_jstr(se->res, "smoke"), "passed");
}

/* A topic the broker's ACL does not give this device: PUBACK 0x87. */
static void
test_topic_outside_the_acl_fails_with_acl_denied(void **state)
{
	(void)state;
	setup_station("topic = factory/selftest/somebody-else\n");
	start_device("SMOKE-ACL-1", NULL);
	assert_smoke_failed("acl-denied", "policy");
}

/* The broker refuses the connection itself (CONNACK: here a client id
 * outside its allowed prefixes): "mqtt-refused" with the reason code. */
static void
test_connack_refusal_fails_with_mqtt_refused(void **state)
{
	(void)state;
	struct run_record r = { 0 };

	setup_station_broker(NULL, "clientid_prefixes allowed-\n");
	start_device("SMOKE-CONNACK-1", NULL);
	assert_smoke_failed("mqtt-refused", "policy");
	load_run(&r);
	assert_non_null(strstr(r.smoke_detail, "reason code 0x"));
	ledger_run_record_clear(&r);
}

/* Nobody listens where the broker should be. */
static void
test_broker_down_fails_with_broker_unreachable(void **state)
{
	(void)state;
	struct run_record r = { 0 };

	/* optional: no start check, the run meets the broker's absence */
	setup_station("smoke = optional\n");
	start_device("SMOKE-DOWN-1", NULL);
	char *closed = prov_closed_port_uri(); /* "tcp:127.0.0.1:PORT" */
	assert_int_equal(provision(closed + strlen("tcp:")), 1);
	free(closed);
	assert_string_equal(prov_jstr(se->res, "failed_step"), "smoke");
	assert_string_equal(prov_jstr(se->res, "error"), "hangup");
	assert_string_equal(prov_jstr(se->res, "smoke_detail"),
	    "broker-unreachable");
	load_run(&r);
	assert_string_equal(r.smoke_status, "failed");
	ledger_run_record_clear(&r);
	assert_cert_not_live();
}

/* With a broker configured the smoke test is required by default, and
 * the station checks at start that the broker answers: one that does not
 * (nothing on its port, or a certificate from another CA) is exit 3
 * naming it, before any device is touched or any run recorded; with the
 * test broker up the same station PASSes with its smoke test. */
static void
test_broker_checked_at_start(void **state)
{
	struct proc_out o = { 0 };
	struct ledger *l;
	char *closed = prov_closed_port_uri(); /* "tcp:127.0.0.1:PORT" */
	char *other = NULL;

	(void)state;
	setup_station(NULL);
	start_device("SMOKE-PRE-1", NULL);
	const char *down[] = { "provision", sim->uri, "--serial", "SMOKE-PRE-1",
		"--broker", closed + strlen("tcp:"), "--broker-ca",
		se->broker.ca_file, NULL };
	assert_int_equal(prov_station(se->env, down, &o), 3);
	assert_non_null(strstr(o.err, "start check"));
	assert_non_null(strstr(o.err, closed + strlen("tcp:")));
	assert_non_null(strstr(o.err, "No device was touched"));
	proc_out_clear(&o);

	/* The start check runs beside the opening of the ledger and the CA;
	 * a failure of the opening is still the one reported (here a ledger
	 * that is not a database, with the broker down as well). */
	char *ledger = xasprintf("%s/ledger.db", se->env->home);
	char *kept = xasprintf("%s.kept", ledger);
	assert_int_equal(rename(ledger, kept), 0);
	free(prov_env_write(se->env, "ledger.db",
	    "this is not a SQLite database, it is a test's text file.\n"));
	assert_int_not_equal(prov_station(se->env, down, &o), 0);
	assert_non_null(strstr(o.err, ledger));
	assert_null(strstr(o.err, "start check"));
	proc_out_clear(&o);
	assert_int_equal(rename(kept, ledger), 0);
	free(kept);
	free(ledger);

	/* A CA file that did not sign the broker's certificate. */
	other = xasprintf("%s/ca/root.pem", se->env->home);
	const char *untrusted[] = { "provision", sim->uri, "--serial",
		"SMOKE-PRE-1", "--broker", se->broker_arg, "--broker-ca", other,
		NULL };
	assert_int_equal(prov_station(se->env, untrusted, &o), 3);
	assert_non_null(strstr(o.err, "does not chain"));
	proc_out_clear(&o);

	l = prov_ledger(se->env);
	assert_int_equal(prov_count_certs(l, "SMOKE-PRE-1", NULL), 0);
	ledger_close(l);
	char *state_now = prov_probe_state(se->env, sim->uri);
	assert_non_null(state_now);
	assert_string_equal(state_now, "blank");
	free(state_now);

	assert_int_equal(provision(NULL), 0);
	assert_string_equal(prov_jstr(se->res, "smoke"), "passed");
	free(other);
	free(closed);
}

/* An opening that fails (a ledger that is not a database) while the start
 * check waits on a broker that never answers is reported at once: the
 * check is cut short, not waited for.  Its deadline is an hour here, so
 * a station that waited for it would be killed at prov_station's limit
 * and exit with no status. */
static void
test_failed_opening_cuts_the_start_check_short(void **state)
{
	struct proc_out o = { 0 };
	int lfd = -1, port;
	char *at = NULL, *ledger = NULL;

	(void)state;
	setup_station(NULL);
	prov_env_config(se->env, "step_timeout_ms = 3600000\n",
	    "[profile default]\n");
	start_device("SMOKE-HUNG-1", NULL);
	lfd = loopback_hung_listener(&port);
	at = xasprintf("127.0.0.1:%d", port);
	ledger = prov_env_write(se->env, "ledger.db",
	    "this is not a SQLite database, it is a test's text file.\n");
	const char *args[] = { "provision", sim->uri, "--serial",
		"SMOKE-HUNG-1", "--broker", at, "--broker-ca",
		se->broker.ca_file, NULL };
	int status = prov_station(se->env, args, &o);
	assert_true(status > 0);
	assert_non_null(strstr(o.err, ledger));
	assert_null(strstr(o.err, "start check"));
	proc_out_clear(&o);
	close(lfd);
	free(ledger);
	free(at);
}

/* A profile that requires the smoke test, and no broker: FAIL, and the
 * device is not committed. */
static void
test_required_smoke_without_broker_fails(void **state)
{
	(void)state;
	int status;

	se = xcalloc(1, sizeof *se); /* a home, no broker */
	se->env = prov_env_new();
	prov_env_config(se->env, NULL, "[profile default]\nsmoke = required\n");
	start_device("SMOKE-REQ-1", NULL);
	se->res = prov_provision(se->env, sim->uri, NULL, &status);
	assert_non_null(se->res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(se->res, "failed_step"), "smoke");
	assert_string_equal(prov_jstr(se->res, "error"), "config");
	char *state_now = prov_probe_state(se->env, sim->uri);
	assert_non_null(state_now);
	assert_string_not_equal(state_now, "committed");
	free(state_now);
	assert_cert_not_live();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    test_ec_device_passes_the_smoke_test_on_tls13, teardown),
		cmocka_unit_test_teardown(
		    test_rsa_device_passes_the_smoke_test_on_tls12, teardown),
		cmocka_unit_test_teardown(
		    test_chip_with_another_key_fails_at_smoke_with_the_handshake_reason,
		    teardown),
		cmocka_unit_test_teardown(
		    test_chip_with_another_key_fails_proof_before_the_smoke_test,
		    teardown),
		cmocka_unit_test_teardown(
		    test_smoke_presents_the_chain_the_device_holds, teardown),
		cmocka_unit_test_teardown(
		    test_topic_outside_the_acl_fails_with_acl_denied, teardown),
		cmocka_unit_test_teardown(
		    test_connack_refusal_fails_with_mqtt_refused, teardown),
		cmocka_unit_test_teardown(
		    test_broker_down_fails_with_broker_unreachable, teardown),
		cmocka_unit_test_teardown(
		    test_required_smoke_without_broker_fails, teardown),
		cmocka_unit_test_teardown(
		    test_failed_opening_cuts_the_start_check_short, teardown),
		cmocka_unit_test_teardown(test_broker_checked_at_start,
		    teardown),
	};

	return cmocka_run_group_tests_name("provision smoke", tests, NULL,
	    NULL);
}
