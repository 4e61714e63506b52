/*
 * A CA whose reply is not for the request, through `station provision`
 * with the test server following Vault's documented API (a thread of this
 * program) and devsim as the device: another device's certificate, or
 * this key under another name.  The run FAILs at ca-bind as a CA fault
 * (advice: call the PKI administrator, the device is fine); the
 * certificate is never recorded under this device (nor anywhere in the
 * ledger), this run revokes nothing at the CA (it is another device's
 * live certificate), the device is not written, and the fault (issuer,
 * serial, fingerprint, what differed) is in the error log and in the
 * run's events as `station ledger show` prints them.
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
#include "station/cert_check.h"
#include "station/util/xalloc.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIE2eBindTokenMustNotLeak0010"

static struct rca_env *rca;
static struct vault_api_server *vault;

static int
setup(void **state)
{
	(void)state;
	rca = rca_env_new("Bind CA");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vault_api_server_stop(vault);
	vault = NULL;
	rca_env_free(rca);
	rca = NULL;
	return 0;
}

static void
start_vault(enum vault_mode mode)
{
	char *tf;
	char *ca;

	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	vault->mode = mode;
	tf = rca_secret(rca, "vault.token", VAULT_TOKEN);
	ca = rca_ca_section(rca, "vault", "addr = %s\nrole = device\n"
	    "token_file = %s\n", vault_api_server_addr(vault), tf);
	rca_config(rca, NULL, ca);
	free(ca);
	free(tf);
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
		    "run_id")) == run_id && i < json_array_size(evs); i++) {
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

	start_vault(mode);
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
	    vault->cert_serial[0]), 0);
	assert_int_equal(vault->n_revoke, 0);

	/* The CA fault for the PKI administrator: issuer, serial,
	 * fingerprint and what differed, in the reason, the run's event
	 * and the error log. */
	detail = shown_bind_event(serial, id);
	assert_has(detail, "CA fault", "ca-bind event");
	assert_has(detail, foreign_serial, "ca-bind event");
	assert_has(detail, fp, "ca-bind event");
	assert_has(detail, "CN=Bind CA Intermediate'", "ca-bind event");
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

static void
test_another_devices_certificate_is_a_ca_fault_not_recorded_or_revoked(
    void **state)
{
	(void)state;
	expect_ca_fault(VAULT_OTHER_DEVICE, "SN-BIND-1", "a different key");
}

static void
test_certificate_for_another_name_is_a_ca_fault_not_recorded_or_revoked(
    void **state)
{
	(void)state;
	expect_ca_fault(VAULT_OTHER_SUBJECT, "SN-BIND-2",
	    "a different subject");
}

/* The same CA answering correctly: the run binds and PASSes. */
static void
test_bound_reply_passes(void **state)
{
	(void)state;
	start_vault(VAULT_OK);
	rca_device(rca, "SN-BIND-3");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_int_equal(vault->n_revoke, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_another_devices_certificate_is_a_ca_fault_not_recorded_or_revoked),
		T(test_certificate_for_another_name_is_a_ca_fault_not_recorded_or_revoked),
		T(test_bound_reply_passes),
	};

	return cmocka_run_group_tests_name("station provision: CA reply bound "
	    "before it is recorded", tests, NULL, NULL);
}
