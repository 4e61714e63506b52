/*
 * Clock and key sanity end to end (issue 15, item 7): the real station
 * program, devsim as the device, the clock sources faked from outside:
 *
 *	clock_ca_date      a test HTTPS server standing for a remote CA (the
 *	                   hub backend's address) whose Date header is 2024;
 *	                   it answers every request 404 and counts the POSTs,
 *	                   so "the CA was never asked" is observed
 *	clock_broker_cert  a TLS server standing for the broker, presenting a
 *	                   certificate (chained to the configured broker CA)
 *	                   that becomes valid in two days
 *	clock_ntp_sync     the kernel's own flag, read by the test too: the
 *	                   station must agree with it either way
 *
 * and a key certified twice: devsim with a copy of a provisioned device's
 * --state file and the keygen-keep-key fault reports another serial with
 * the same key; its run FAILs at csr-policy naming the first device and
 * run, and the CA issues nothing.  The ledger's time refusal (a run
 * recorded a day ahead, through the ledger's own started_at_ms seam) stops
 * the station; its edges are in tests/db/test_ledger_sanity.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/https_server.h"
#include "tests/support/pki.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"
#include "tests/support/remote_ca_env.h"

#define OLD_DATE "Mon, 01 Jan 2024 00:00:00 GMT"

/* Only the checks a test is about: the others off, so the kernel's flag
 * (which the test cannot set) does not decide another test. */
#define ONLY_CA "clock_ntp_sync = off\nclock_broker_cert = off\n"
#define ONLY_BROKER "clock_ntp_sync = off\nclock_ca_date = off\n"

struct old_ca {
	int n_get, n_post;
};

static void
old_ca_handler(void *arg, const struct https_request *req,
    struct https_reply *reply)
{
	struct old_ca *ca = arg;

	if (strcmp(req->method, "GET") == 0)
		ca->n_get++;
	else
		ca->n_post++;
	reply->status = 404;
	reply->body = xstrdup("{\"error\":\"not here\"}");
	reply->date = OLD_DATE;
}

/* A hub-backend station whose CA says it is 2024; `extra` goes into
 * [station].  Provisions SN-CLK-1 once. */
static void
run_against_old_ca(struct rca_env *rca, struct old_ca *ca, const char *extra)
{
	struct https_server *srv =
	    https_server_start(pki_chain_server_ctx(rca->pki), old_ca_handler,
		ca);
	char *tf = rca_secret(rca, "hub.token", "clock-test-token-0001");
	char *sect = rca_ca_section(rca, "hub", "addr = %s\ntoken_file = %s\n",
	    https_server_addr(srv), tf);

	rca_config(rca, extra, sect);
	rca_device(rca, "SN-CLK-1");
	rca_provision(rca);
	https_server_stop(srv);
	free(sect);
	free(tf);
}

/* Required: FAIL at clock-check naming the check and both times, before
 * a key is made (the device is still blank) or the CA is asked. */
static void
test_ca_date_far_off_refuses_before_anything_is_made(void **state)
{
	struct rca_env *rca = rca_env_new("Clock CA");
	struct old_ca ca = { 0 };
	char *dev_state;
	const char *reason;

	(void)state;
	run_against_old_ca(rca, &ca, ONLY_CA);
	assert_int_equal(rca->status, 1);
	assert_string_equal(prov_jstr(rca->res, "failed_step"), "clock-check");
	assert_string_equal(prov_jstr(rca->res, "error"), "policy");
	reason = prov_jstr(rca->res, "reason");
	assert_non_null(strstr(reason, "clock_ca_date"));
	assert_non_null(strstr(reason, "says 2024-01-01T00:00:00Z"));
	assert_non_null(strstr(reason, "the station's clock says 20"));
	assert_string_equal(prov_jstr(rca->res, "headline"),
	    "Station clock is wrong");
	assert_true(ca.n_get >= 1);
	assert_int_equal(ca.n_post, 0);
	dev_state = prov_probe_state(rca->env, rca->sim->uri);
	assert_string_equal(dev_state, "blank");
	free(dev_state);
	rca_env_free(rca);
}

/* warn: the finding is a note in the run and the run goes on to the CA
 * (which then refuses: this test CA signs nothing). */
static void
test_ca_date_warn_only_notes_and_goes_on(void **state)
{
	struct rca_env *rca = rca_env_new("Clock CA");
	struct old_ca ca = { 0 };

	(void)state;
	run_against_old_ca(rca, &ca, ONLY_CA "clock_ca_date = warn\n");
	assert_int_equal(rca->status, 1);
	assert_string_equal(prov_jstr(rca->res, "failed_step"), "ca-sign");
	assert_int_equal(ca.n_post, 1);
	assert_non_null(strstr(rca->log,
	    "clock check clock_ca_date (warn "
	    "only)"));
	rca_env_free(rca);
}

/* A broker certificate valid from two days on: the station's "now" is
 * before it, so its clock (or the broker's certificate) is wrong. */
static void
test_broker_certificate_not_yet_valid_refuses(void **state)
{
	EVP_PKEY *ca_key = pki_key(0), *key = pki_key(0);
	X509 *ca = pki_cert("Broker Test CA", ca_key, NULL, NULL, 1, -1, 365);
	X509 *leaf = pki_cert("127.0.0.1", key, ca, ca_key, 0, 2, 400);
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char *ca_file = xasprintf("%s/broker-ca.pem", tc.env->home);
	struct https_server *srv;
	char *rest, *dev_state;
	const char *reason;
	int status;

	(void)state;
	pki_write_pem(ca_file, ca);
	assert_int_equal(SSL_CTX_use_certificate(ctx, leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	srv = https_server_start(ctx, old_ca_handler, &(struct old_ca){ 0 });
	/* smoke = optional: a broker certificate for a CN only would fail
	 * the start check's name before the clock check could judge it. */
	rest = xasprintf("[broker]\nhost = 127.0.0.1\nport = %d\nca = %s\n"
			 "[profile default]\nsmoke = optional\n",
	    https_server_port(srv), ca_file);
	prov_env_config(tc.env, ONLY_BROKER, rest);
	prov_case_device("SN-CLK-2", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	https_server_stop(srv);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "clock-check");
	reason = prov_jstr(tc.res, "reason");
	assert_non_null(strstr(reason, "clock_broker_cert"));
	assert_non_null(strstr(reason, "is valid from"));
	assert_non_null(strstr(reason, "the station's clock says"));
	dev_state = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(dev_state, "blank");
	free(dev_state);
	free(rest);
	free(ca_file);
	X509_free(leaf);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
}

/* require: the station agrees with the kernel's synchronised flag, which
 * the test reads the same way (adjtimex, read only). */
static void
test_ntp_sync_required_follows_the_kernel(void **state)
{
	struct timex tx = { 0 };
	int rc = adjtimex(&tx);
	int synced = rc != -1 && rc != TIME_ERROR && !(tx.status & STA_UNSYNC);
	int status;

	(void)state;
	if (rc == -1)
		skip();
	prov_env_config(tc.env,
	    "clock_ntp_sync = require\nclock_ca_date = off\n", NULL);
	prov_case_device("SN-CLK-3", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	if (synced) {
		assert_int_equal(status, 0);
		return;
	}
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "clock-check");
	assert_non_null(strstr(prov_jstr(tc.res, "reason"), "clock_ntp_sync"));
	assert_non_null(strstr(prov_jstr(tc.res, "reason"),
	    "not "
	    "synchronised"));
}

/* The ledger holds a run that started a day from now (the clock was
 * ahead then, or is behind now): the station refuses to start a run, with
 * exit 3 (the station cannot work) and the reason, and records none. */
static void
test_clock_behind_the_ledger_stops_the_station(void **state)
{
	struct run_start s = {
		.station_id = "st-clock",
		.device_uri = "tcp:127.0.0.1:1",
		.started_at_ms = ((int64_t)time(NULL) + 86400) * 1000,
	};
	struct proc_out o = { 0 };
	int64_t id = 0, n = 0;

	(void)state;
	prov_env_config(tc.env, "clock_ntp_sync = off\n", NULL);
	prov_case_device("SN-CLK-4", NULL);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_run_begin(tc.led, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_finish(tc.led, id, "FAIL", "connect",
			     "hangup", "set up by the test", NULL),
	    ST_OK);
	prov_station(tc.env,
	    (const char *[]){ "provision", tc.sim->uri, "--serial", "SN-CLK-4",
		NULL },
	    &o);
	assert_int_equal(o.status, 3);
	assert_non_null(strstr(o.err, "the clock went backwards"));
	assert_int_equal(ledger_count_runs(tc.led, NULL, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	proc_out_clear(&o);
}

/* Two devices, one key: the second FAILs at csr-policy naming the first
 * device and its run; the CA issued one certificate only. */
static void
test_key_certified_for_another_device_is_refused(void **state)
{
	char *a_state = xasprintf("%s/dev-a.state", tc.env->home);
	char *b_state = xasprintf("%s/dev-b.state", tc.env->home);
	const char *a_args[] = { "--serial", "SN-KEY-A", "--state", a_state,
		NULL };
	const char *b_args[] = { "--serial", "SN-KEY-B", "--state", b_state,
		"--fault", "keygen-keep-key", NULL };
	char *copy, *want;
	const char *reason;
	int64_t first_run;
	int status;

	(void)state;
	prov_env_config(tc.env, "clock_ntp_sync = off\n", NULL);
	tc.sim = devsim_proc_start(a_args);
	assert_non_null(tc.sim);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_int_equal(status, 0);
	first_run = json_integer_value(json_object_get(tc.res, "run_id"));
	json_decref(tc.res);
	devsim_proc_stop(tc.sim);
	copy = xasprintf("cp '%s' '%s'", a_state, b_state);
	assert_int_equal(system(copy), 0);
	tc.sim = devsim_proc_start(b_args);
	assert_non_null(tc.sim);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "csr-policy");
	assert_string_equal(prov_jstr(tc.res, "error"), "exists");
	assert_string_equal(prov_jstr(tc.res, "headline"),
	    "Key already certified");
	reason = prov_jstr(tc.res, "reason");
	want = xasprintf("of device SN-KEY-A, run %lld", (long long)first_run);
	assert_non_null(strstr(reason, want));
	tc.led = prov_ledger(tc.env);
	assert_int_equal(prov_count_certs(tc.led, "SN-KEY-B", NULL), 0);
	assert_int_equal(prov_audit(tc.env, tc.led), 1); /* A's alone */
	free(want);
	free(copy);
	free(a_state);
	free(b_state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_ca_date_far_off_refuses_before_anything_is_made),
		cmocka_unit_test(test_ca_date_warn_only_notes_and_goes_on),
		PROV_CASE_TEST(test_broker_certificate_not_yet_valid_refuses),
		PROV_CASE_TEST(test_ntp_sync_required_follows_the_kernel),
		PROV_CASE_TEST(
		    test_key_certified_for_another_device_is_refused),
		PROV_CASE_TEST(test_clock_behind_the_ledger_stops_the_station),
	};

	return cmocka_run_group_tests_name("provision sanity", tests, NULL,
	    NULL);
}
