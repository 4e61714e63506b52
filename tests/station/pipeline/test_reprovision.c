/*
 * Re-provisioning (reprovision = allow) end to end: KEYGEN destroys the
 * device's old key, so the old certificate is revoked, reason superseded,
 * whatever the run's outcome, and ledger first, then the CA:
 *
 *  - with the local CA and devsim: a run that PASSes and one that FAILs
 *    after KEYGEN (devsim --fault csr-bad-sig) both leave the old
 *    certificate 'revoked' (superseded) in the ledger AND in the CA's
 *    revoked.txt, and the two agree;
 *  - with the test server following Vault's documented API, the station
 *    killed (SIGKILL) while its revoke is in flight: once with Vault not
 *    having revoked yet, once with Vault having revoked but the answer
 *    not arrived.  The next station command's recovery finishes the
 *    revocation; Vault and the ledger then agree, nothing else is
 *    revoked, and the new certificate (proven, run PASS) stays verified.
 *
 * The kill is deterministic: the test server holds the revoke request
 * unanswered, the test waits until it has arrived, then kills.
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
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/pipeline/recover.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/ledger_checks.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/station_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIReprovisionTokenMustNotLeak0013"
#define REPROVISION "[profile default]\nreprovision = allow\n"

/* The ledger row of certificate `serial` (asserts it is there). */
static struct cert_record
cert_row(struct ledger *l, const char *serial)
{
	struct cert_record c = { 0 };

	assert_int_equal(ledger_cert_get(l, serial, &c, NULL), ST_OK);
	return c;
}

/* `serial` is 'revoked' in the ledger with reason superseded. */
static void
assert_revoked_superseded(struct ledger *l, const char *serial)
{
	struct cert_record c = cert_row(l, serial);

	assert_string_equal(c.status, "revoked");
	assert_non_null(c.revoke_reason);
	assert_string_equal(c.revoke_reason, "superseded");
	ledger_cert_record_clear(&c);
}

/* The line of CA_DIR/revoked.txt for `serial` names reason superseded. */
static void
assert_ca_revoked_superseded(const char *home, const char *serial)
{
	char *path = xasprintf("%s/ca/revoked.txt", home);
	char *text = (char *)slurp(path, NULL);
	char *line = text ? strstr(text, serial) : NULL;

	assert_non_null(line);
	char *end = strchr(line, '\n');
	assert_non_null(end);
	*end = '\0';
	assert_non_null(strstr(line, " superseded"));
	free(text);
	free(path);
}

/* Provision tc.sim with the local CA; the JSON result stays in tc.res. */
static int
provision_local(void)
{
	int status;

	json_decref(tc.res);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_non_null(tc.res);
	return status;
}

static void
test_failed_reprovision_still_revokes_the_superseded_certificate(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL, REPROVISION);
	prov_case_device("SN-RE-1", NULL);
	assert_int_equal(provision_local(), 0);
	char *old = xstrdup(prov_jstr(tc.res, "cert_serial"));

	/* The same board comes back; its CSR signature is now bad, which
	 * is found after KEYGEN has replaced the old key. */
	devsim_proc_stop(tc.sim);
	prov_case_device("SN-RE-1", "csr-bad-sig");
	assert_int_equal(provision_local(), 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "csr-policy");

	tc.led = prov_ledger(tc.env);
	assert_revoked_superseded(tc.led, old);
	assert_ca_revoked_superseded(tc.env->home, old);
	assert_int_equal(prov_count_certs(tc.led, "SN-RE-1", "live"), 0);
	char *ledger = xasprintf("%s/ledger.db", tc.env->home);
	char *ca = xasprintf("%s/ca", tc.env->home);
	assert_int_equal(check_ca_revoked_agrees(ledger, ca), 0);
	free(ca);
	free(ledger);
	free(old);
}

static void
test_passed_reprovision_revokes_the_old_certificate_as_superseded(void **state)
{
	(void)state;
	prov_env_config(tc.env, NULL, REPROVISION);
	prov_case_device("SN-RE-2", NULL);
	assert_int_equal(provision_local(), 0);
	char *old = xstrdup(prov_jstr(tc.res, "cert_serial"));

	assert_int_equal(provision_local(), 0);
	char *new = xstrdup(prov_jstr(tc.res, "cert_serial"));

	assert_string_not_equal(old, new);
	tc.led = prov_ledger(tc.env);
	assert_revoked_superseded(tc.led, old);
	assert_ca_revoked_superseded(tc.env->home, old);
	struct cert_record c = cert_row(tc.led, new);
	assert_string_equal(c.status, "verified");
	assert_null(c.revoke_reason);
	ledger_cert_record_clear(&c);
	char *ledger = xasprintf("%s/ledger.db", tc.env->home);
	char *ca = xasprintf("%s/ca", tc.env->home);
	assert_int_equal(check_ca_revoked_agrees(ledger, ca), 0);
	assert_int_equal(check_device(ledger, "SN-RE-2", tc.sim->uri, 1), 0);
	free(ca);
	free(ledger);
	free(new);
	free(old);
}

/* ---- a station stopped while Vault is asked to revoke ------------------*/

static struct rca_env *rca;
static struct vault_api_server *vault;

static int
vault_setup(void **state)
{
	(void)state;
	rca = rca_env_new("Reprovision CA");
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	char *tf = rca_secret(rca, "vault.token", VAULT_TOKEN);
	char *ca = rca_ca_section(rca, "vault",
	    "addr = %s\nrole = device\n"
	    "token_file = %s\n" REPROVISION,
	    vault_api_server_addr(vault), tf);
	rca_config(rca, NULL, ca);
	free(ca);
	free(tf);
	return 0;
}

static int
vault_teardown(void **state)
{
	(void)state;
	vault_api_server_stop(vault);
	vault = NULL;
	rca_env_free(rca);
	rca = NULL;
	return 0;
}

static int
vault_revokes_seen(void)
{
	pthread_mutex_lock(&vault->lock);
	int n = vault->n_revoke;
	pthread_mutex_unlock(&vault->lock);
	return n;
}

/*
 * Re-provision with Vault in `mode`, kill the station once its revoke
 * request has reached Vault, bring Vault back (same port, answering),
 * run `station ledger list` (whose start recovers) and return the ledger.
 * *old and *new receive the two certificates' serials (caller frees).
 */
static struct ledger *
reprovision_killed_in_revoke(enum vault_mode mode, char **old, char **new)
{
	rca_device(rca, "SN-RE-V");
	assert_int_equal(rca_provision(rca), 0);
	*old = xstrdup(prov_jstr(rca->res, "cert_serial"));

	vault_api_server_set_mode(vault, mode);
	setenv("STATION_HOME", rca->env->home, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--config", rca->env->config, "provision", rca->sim->uri,
		"--json", NULL };
	int out = -1;
	pid_t pid = proc_spawn_piped(argv, &out);
	assert_true(pid > 0);
	/* Waiting for an event, not timing one: the revoke arrives once the
	 * run has ended, or the station has exited without it. */
	while (vault_revokes_seen() == 0 && proc_start_time(pid) != 0)
		usleep(10000);
	assert_int_equal(vault_revokes_seen(), 1);
	assert_int_equal(vault_api_server_revoked(vault, *old),
	    mode == VAULT_REVOKED_HANG);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(proc_wait_ms(pid, 30000), 128 + SIGKILL);
	close(out);

	/* As the kill left it: the intent recorded, the run ended PASS. */
	struct ledger *l = prov_ledger(rca->env);
	struct cert_record c = cert_row(l, *old);
	assert_string_equal(c.status, "superseded");
	ledger_cert_record_clear(&c);
	struct run_record r = { 0 };
	int64_t id = 0;
	assert_int_equal(ledger_count_runs(l, NULL, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_get(l, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "PASS");
	*new = xstrdup(r.cert_serial);
	ledger_run_record_clear(&r);
	ledger_close(l);

	/* Vault answers again; the next command recovers. */
	vault_api_server_set_mode(vault, VAULT_OK);
	const char *list[] = { "recover", NULL };
	struct proc_out o;
	assert_int_equal(prov_station(rca->env, list, &o), 0);
	proc_out_clear(&o);
	return prov_ledger(rca->env);
}

/* Recovery finished exactly the superseded certificate's revocation:
 * asked again once (Vault answers a second revoke with success). */
static void
assert_recovered(struct ledger *l, const char *old, const char *new)
{
	assert_revoked_superseded(l, old);
	assert_int_equal(vault->n_revoke, 2);
	assert_true(vault_api_server_revoked(vault, old));
	assert_false(vault_api_server_revoked(vault, new));
	assert_int_equal(vault->n_revoked, 1);
	struct cert_record c = cert_row(l, new);
	assert_string_equal(c.status, "verified");
	ledger_cert_record_clear(&c);
	assert_int_equal(prov_count_certs(l, "SN-RE-V", "live"), 1);
	int64_t running = -1;
	assert_int_equal(ledger_count_runs(l, "running", &running, NULL),
	    ST_OK);
	assert_int_equal(running, 0);
}

static void
test_stop_before_vault_revoked_is_finished_by_recovery(void **state)
{
	char *old = NULL, *new = NULL;

	(void)state;
	struct ledger *l =
	    reprovision_killed_in_revoke(VAULT_REVOKE_HANG, &old, &new);
	/* Nothing was revoked before the kill. */
	assert_recovered(l, old, new);
	ledger_close(l);
	free(old);
	free(new);
}

static void
test_stop_after_vault_revoked_is_finished_revoking_nothing_else(void **state)
{
	char *old = NULL, *new = NULL;

	(void)state;
	struct ledger *l =
	    reprovision_killed_in_revoke(VAULT_REVOKED_HANG, &old, &new);
	assert_recovered(l, old, new);
	ledger_close(l);
	free(old);
	free(new);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PROV_CASE_TEST(
		    test_failed_reprovision_still_revokes_the_superseded_certificate),
		PROV_CASE_TEST(
		    test_passed_reprovision_revokes_the_old_certificate_as_superseded),
		cmocka_unit_test_setup_teardown(
		    test_stop_before_vault_revoked_is_finished_by_recovery,
		    vault_setup, vault_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stop_after_vault_revoked_is_finished_revoking_nothing_else,
		    vault_setup, vault_teardown),
	};

	return cmocka_run_group_tests_name("re-provisioning", tests, NULL,
	    NULL);
}
