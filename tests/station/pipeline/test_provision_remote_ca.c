/*
 * `station provision` end to end with each remote CA backend: the real
 * station program, a config file naming the backend, devsim as the device,
 * and the CA over TLS on 127.0.0.1 with a PKI made here (its root is the
 * pinned `[ca] root`):
 *
 *	vault  the test server following Vault's documented API (a thread
 *	       of this test program)
 *	cfssl  a real `cfssl serve` (skipped when cfssl is not installed)
 *	hub    the test server following the device hub's documented API
 *
 * Each reaches PASS with a certificate that verifies to the root and a
 * ledger row naming the backend; each CA's refusal fails at ca-sign with
 * its reason and the device unwritten, but a Vault token Vault refuses,
 * which stops the station at start (exit 3) before any device.  A Vault whose reply is not for the
 * request (another device's certificate, or this key under another name)
 * is a CA fault at ca-bind: the certificate is never recorded (under this
 * device or at all), this run revokes nothing at the CA (it may be another
 * device's live identity), the device is unwritten, and the fault
 * (issuer, serial, fingerprint, what differed) is in the error log and in
 * the run's events as `station ledger show` prints them.  After the runs, no credential is
 * in the state directory, the debug log or an export.  The CA outage
 * cases (down, hanging, back again) are in test_provision_ca_outage.c.
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
#include <openssl/pem.h>

#include "db/ledger.h"
#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"
#include "tests/support/hub_api_server.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIE2eStationTokenMustNotLeak0007"
#define BAD_TOKEN "hvs.CAESIE2eRevokedTokenMustNotLeak0008"
#define CFSSL_KEY \
	"5a1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define CFSSL_WRONG \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HUB_TOKEN "hub-e2e-bearer-token-must-not-leak-0009"

static struct rca_env *rca;
static struct vault_api_server *vault;
static struct hub_api_server *hub;
static pid_t cfssl_pid;
static int have_cfssl;

static int
setup(void **state)
{
	(void)state;
	rca = rca_env_new("E2E CA");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vault_api_server_stop(vault);
	vault = NULL;
	hub_api_server_stop(hub);
	hub = NULL;
	rca_cfssl_stop(cfssl_pid);
	cfssl_pid = 0;
	rca_env_free(rca);
	rca = NULL;
	return 0;
}

static void
config_vault(const char *token)
{
	char *tf = rca_secret(rca, "vault.token", token);
	char *ca = rca_ca_section(rca, "vault",
	    "addr = %s\nrole = device\n"
	    "token_file = %s\n",
	    vault_api_server_addr(vault), tf);

	rca_config(rca, NULL, ca);
	free(ca);
	free(tf);
}

static void
test_vault_backend_provisions_devsim_to_pass(void **state)
{
	(void)state;
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	config_vault(VAULT_TOKEN);
	rca_device(rca, "SN-VAULT-1");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_int_equal(vault->n_sign, 1);
	assert_string_equal(vault->last_common_name, "SN-VAULT-1");
	rca_assert_no_secret(rca, VAULT_TOKEN, NULL);
}

/* A token Vault refuses stops the station at start (the token lookup),
 * exit 3, before any device is touched or any run recorded. */
static void
test_vault_bad_token_stops_the_station_before_any_device(void **state)
{
	const char *args[] = { "provision", NULL, "--json", NULL };
	struct proc_out o;
	char *st;

	(void)state;
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	config_vault(BAD_TOKEN);
	rca_device(rca, "SN-VAULT-2");
	args[1] = rca->sim->uri;
	assert_int_equal(prov_station(rca->env, args, &o), 3);
	assert_non_null(strstr(o.err, "Vault refused the token (403)"));
	assert_non_null(strstr(o.err, "invalid or has expired"));
	assert_null(strstr(o.err, BAD_TOKEN));
	proc_out_clear(&o);
	assert_int_equal(vault->n_lookup, 1);
	assert_int_equal(vault->n_sign, 0);
	st = prov_probe_state(rca->env, rca->sim->uri);
	assert_string_equal(st ? st : "(probe failed)", "blank");
	free(st);
	struct ledger *l = prov_ledger(rca->env);
	assert_int_equal(prov_count_certs(l, "SN-VAULT-2", NULL), 0);
	ledger_close(l);
}

static void
assert_has(const char *text, const char *part, const char *what)
{
	if (text == NULL)
		fail_msg("%s is missing; it should hold '%s'", what, part);
	if (strstr(text, part) == NULL)
		fail_msg("%s '%s' does not hold '%s'", what, text, part);
}

/* The run's ca-bind event as `station ledger show --json` gives it: its
 * detail (caller frees), asserting the event says "fail". */
static char *
shown_bind_event(const char *serial, int64_t run_id)
{
	const char *args[] = { "ledger", "show", serial, "--json", NULL };
	struct proc_out o;
	char *detail = NULL, *line, *save = NULL;

	assert_int_equal(prov_station(rca->env, args, &o), 0);
	for (line = strtok_r(o.out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);
		json_t *evs = json_object_get(j, "events");

		for (size_t i = 0; json_integer_value(json_object_get(j,
				       "run_id")) == run_id &&
		     i < json_array_size(evs);
		     i++) {
			json_t *e = json_array_get(evs, i);

			if (strcmp(prov_jstr(e, "step"), "ca-bind") != 0)
				continue;
			assert_string_equal(prov_jstr(e, "status"), "fail");
			free(detail);
			detail = xstrdup(prov_jstr(e, "detail"));
		}
		json_decref(j);
	}
	proc_out_clear(&o);
	if (detail == NULL)
		fail_msg("no ca-bind event for run %lld", (long long)run_id);
	return detail;
}

/*
 * Provision device `serial` against a Vault answering in `mode`; expect
 * the CA fault naming `what` and everything the header promises.
 */
static void
expect_ca_fault(enum vault_mode mode, const char *serial, const char *what)
{
	int64_t id;
	struct ledger *l;
	struct cert_record c = { 0 };
	char fp[65], *foreign_serial, *reason, *detail, *state;

	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	vault->mode = mode;
	config_vault(VAULT_TOKEN);
	rca_device(rca, serial);
	assert_int_equal(rca_provision(rca), 1);
	id = json_integer_value(json_object_get(rca->res, "run_id"));
	assert_string_equal(prov_jstr(rca->res, "failed_step"), "ca-bind");
	assert_string_equal(prov_jstr(rca->res, "error"), "ca");
	reason = xstrdup(prov_jstr(rca->res, "reason"));
	char *want = xasprintf("the CA returned a certificate for %s", what);
	if (strncmp(reason, want, strlen(want)) != 0)
		fail_msg("reason '%s' does not start '%s'", reason, want);
	free(want);
	assert_has(prov_jstr(rca->res, "advice"), "PKI administrator",
	    "advice");
	assert_has(prov_jstr(rca->res, "advice"), "The device is fine",
	    "advice");
	assert_true(json_is_null(json_object_get(rca->res, "cert_serial")));
	assert_true(json_is_null(json_object_get(rca->res, "fingerprint")));

	/* The certificate the CA returned: the one it issued. */
	assert_int_equal(vault->n_certs, 1);
	BIO *b = BIO_new_mem_buf(vault->cert_pem[0], -1);
	X509 *foreign = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(foreign);
	foreign_serial = cert_serial_hex(foreign);
	cert_fingerprint_sha256(foreign, fp);
	X509_free(foreign);

	/* Not recorded: not under this device, not anywhere. */
	l = prov_ledger(rca->env);
	prov_assert_run(l, id, "FAIL", "ca-bind", "ca");
	assert_int_equal(prov_count_certs(l, serial, NULL), 0);
	assert_int_equal(prov_count_certs(l, VAULT_OTHER_CN, NULL), 0);
	assert_int_equal(ledger_cert_get(l, foreign_serial, &c, NULL),
	    ST_E_NOTFOUND);
	ledger_close(l);

	/* Not revoked by this run: another device's live identity. */
	assert_int_equal(vault_api_server_revokes_of(vault,
			     vault->cert_serial[0]),
	    0);
	assert_int_equal(vault->n_revoke, 0);

	/* The CA fault for the PKI administrator: issuer, serial,
	 * fingerprint and what differed, in the reason, the run's event
	 * and the error log. */
	detail = shown_bind_event(serial, id);
	assert_has(detail, "CA fault", "ca-bind event");
	assert_has(detail, foreign_serial, "ca-bind event");
	assert_has(detail, fp, "ca-bind event");
	assert_has(detail, "CN=E2E CA Intermediate'", "ca-bind event");
	assert_has(reason, fp, "reason");
	assert_has(rca->log, "CA fault", "log");
	assert_has(rca->log, foreign_serial, "log");

	/* Nothing was written to the device. */
	state = prov_probe_state(rca->env, rca->sim->uri);
	assert_string_equal(state ? state : "(probe failed)", "keyed");
	free(state);
	free(detail);
	free(reason);
	free(foreign_serial);
}

/* A Vault that returns another device's certificate (a mixed-up reply):
 * a CA fault at ca-bind, never recorded, never revoked by this run. */
static void
test_another_devices_certificate_is_a_ca_fault(void **state)
{
	(void)state;
	expect_ca_fault(VAULT_OTHER_DEVICE, "SN-BIND-1", "a different key");
}

/* This key under another device's name: the same CA fault. */
static void
test_certificate_for_another_name_is_a_ca_fault(void **state)
{
	(void)state;
	expect_ca_fault(VAULT_OTHER_SUBJECT, "SN-BIND-2",
	    "a different subject");
}

static void
config_cfssl(const char *key)
{
	char *kf = rca_secret(rca, "cfssl.key", key);
	char *ca = rca_ca_section(rca, "cfssl",
	    "addr = %s\nprofile = device\n"
	    "auth_key_file = %s\nchain_file = %s\n",
	    rca_cfssl_addr(rca), kf, rca->pki->inter_pem);

	rca_config(rca, NULL, ca);
	free(ca);
	free(kf);
}

static void
test_cfssl_backend_authsign_provisions_devsim_to_pass(void **state)
{
	(void)state;
	if (!have_cfssl)
		skip();
	cfssl_pid = rca_cfssl_start(rca, CFSSL_KEY);
	assert_true(cfssl_pid > 0);
	config_cfssl(CFSSL_KEY);
	rca_device(rca, "SN-CFSSL-1");
	rca_provision(rca);
	rca_assert_pass(rca, "cfssl");
	rca_assert_no_secret(rca, CFSSL_KEY, NULL);
}

static void
test_cfssl_wrong_auth_key_fails_at_ca_sign_writing_nothing(void **state)
{
	(void)state;
	if (!have_cfssl)
		skip();
	cfssl_pid = rca_cfssl_start(rca, CFSSL_KEY);
	assert_true(cfssl_pid > 0);
	config_cfssl(CFSSL_WRONG);
	rca_device(rca, "SN-CFSSL-2");
	rca_provision(rca);
	rca_assert_fail(rca, "ca", "CFSSL refused the request");
	rca_assert_no_secret(rca, CFSSL_WRONG, CFSSL_KEY);
}

static void
config_hub(void)
{
	char *tf = rca_secret(rca, "hub.token", HUB_TOKEN);
	char *ca = rca_ca_section(rca, "hub", "addr = %s\ntoken_file = %s\n",
	    hub_api_server_addr(hub), tf);

	rca_config(rca, NULL, ca);
	free(ca);
	free(tf);
}

static void
start_hub(enum hub_mode mode)
{
	hub = hub_api_server_start(rca->pki);
	hub->mode = mode;
	snprintf(hub->bearer, sizeof hub->bearer, "Bearer %s", HUB_TOKEN);
}

static void
test_hub_backend_provisions_devsim_to_pass(void **state)
{
	(void)state;
	start_hub(HUB_OK);
	config_hub();
	rca_device(rca, "SN-HUB-1");
	rca_provision(rca);
	rca_assert_pass(rca, "hub");
	assert_int_equal(hub->n_sign, 1);
	assert_non_null(strstr(hub->last_path, "/SN-HUB-1/sign-csr"));
	rca_assert_no_secret(rca, HUB_TOKEN, NULL);
}

static void
test_hub_404_refusal_fails_at_ca_sign_and_writes_nothing(void **state)
{
	(void)state;
	start_hub(HUB_UNKNOWN_DEVICE);
	config_hub();
	rca_device(rca, "SN-HUB-2");
	rca_provision(rca);
	rca_assert_fail(rca, "ca", "the hub refused (HTTP 404)");
	assert_non_null(strstr(prov_jstr(rca->res, "reason"), HUB_REFUSAL_MSG));
	rca_assert_no_secret(rca, HUB_TOKEN, NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vault_backend_provisions_devsim_to_pass),
		T(test_vault_bad_token_stops_the_station_before_any_device),
		T(test_another_devices_certificate_is_a_ca_fault),
		T(test_certificate_for_another_name_is_a_ca_fault),
		T(test_cfssl_backend_authsign_provisions_devsim_to_pass),
		T(test_cfssl_wrong_auth_key_fails_at_ca_sign_writing_nothing),
		T(test_hub_backend_provisions_devsim_to_pass),
		T(test_hub_404_refusal_fails_at_ca_sign_and_writes_nothing),
	};

	have_cfssl = rca_have_cfssl();
	if (!have_cfssl)
		print_message("cfssl is not installed (Debian: golang-cfssl): "
			      "skipping the cfssl end-to-end tests\n");
	return cmocka_run_group_tests_name("station provision with remote CAs",
	    tests, NULL, NULL);
}
