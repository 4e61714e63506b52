/*
 * Re-provisioning (reprovision = allow) end to end with the remote CA
 * backends that revoke differently from the local CA:
 *
 *	hub    the test server following the device hub's documented API
 *	       (seed 000): the hub keeps one certificate per device and
 *	       replaces it on sign-csr, so the old certificate is replaced
 *	       at the hub by the new issuance; DELETE would revoke the NEW
 *	       one and is not sent for the old, which stays 'superseded'
 *	       with the reason shown; `station revoke` of the new one then
 *	       reaches the hub's DELETE
 *	cfssl  a real `cfssl serve -db-config` with its SQLite certificate
 *	       database (skipped when cfssl is not installed): the old
 *	       certificate is revoked through /api/v1/cfssl/revoke and shows
 *	       in CFSSL's CRL
 *
 * Both runs PASS (no FAIL after the device committed), the new
 * certificate is the device's one live certificate and 'verified', and
 * the old one has left service in the ledger with reason superseded.
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
#include <openssl/bn.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/hub_api_server.h"
#include "tests/support/remote_ca_env.h"

#define HUB_TOKEN "hub-reprovision-token-must-not-leak-0021"
#define CFSSL_KEY \
	"7b2e3d4c5a6b798897a6b5c4d3e2f1000f1e2d3c4b5a69788796a5b4c3d2e1f1"
#define REPROVISION "[profile default]\nreprovision = allow\n"

static struct rca_env *rca;
static struct hub_api_server *hub;
static pid_t cfssl_pid;

static int
setup(void **state)
{
	(void)state;
	rca = rca_env_new("Reprovision CA");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hub_api_server_stop(hub);
	hub = NULL;
	rca_cfssl_stop(cfssl_pid);
	cfssl_pid = 0;
	rca_env_free(rca);
	rca = NULL;
	return 0;
}

/* The ledger row of `serial`; caller clears. */
static struct cert_record
cert_row(const char *serial)
{
	struct cert_record c = { 0 };
	struct ledger *l = prov_ledger(rca->env);

	assert_int_equal(ledger_cert_get(l, serial, &c, NULL), ST_OK);
	ledger_close(l);
	return c;
}

static void
config_hub(void)
{
	char *tf = rca_secret(rca, "hub.token", HUB_TOKEN);
	char *ca = rca_ca_section(rca, "hub", "addr = %s\ntoken_file = %s\n",
	    hub_api_server_addr(hub), tf);
	char *rest = xasprintf("%s%s", ca, REPROVISION);

	rca_config(rca, NULL, rest);
	free(rest);
	free(ca);
	free(tf);
}

static void
test_hub_reprovision_passes_and_supersedes_the_old_certificate(void **state)
{
	struct cert_record c;
	char *old, *new;

	(void)state;
	hub = hub_api_server_start(rca->pki);
	snprintf(hub->bearer, sizeof hub->bearer, "Bearer %s", HUB_TOKEN);
	config_hub();
	rca_device(rca, "SN-HUB-RE-1");
	rca_provision(rca);
	rca_assert_pass(rca, "hub");
	old = xstrdup(prov_jstr(rca->res, "cert_serial"));

	rca_provision(rca);
	rca_assert_pass(rca, "hub");
	new = xstrdup(prov_jstr(rca->res, "cert_serial"));
	assert_string_not_equal(old, new);

	/* The hub replaced the old certificate with the new one: no DELETE
	 * (it would revoke the new one); the old stays 'superseded' in the
	 * ledger, the run said why. */
	c = cert_row(old);
	assert_string_equal(c.status, "superseded");
	assert_string_equal(c.revoke_reason ? c.revoke_reason : "(null)",
	    "superseded");
	assert_non_null(c.status_note);
	assert_non_null(strstr(c.status_note, "superseded: KEYGEN in run"));
	assert_non_null(strstr(c.status_note, "the CA cannot revoke it"));
	assert_non_null(strstr(c.status_note, "was replaced there"));
	ledger_cert_record_clear(&c);
	assert_int_equal(hub->n_delete, 0);
	assert_false(hub_api_server_revoked(hub, new));
	assert_non_null(strstr(rca->log, "was replaced there"));
	c = cert_row(new);
	assert_string_equal(c.status, "verified");
	ledger_cert_record_clear(&c);

	/* The hub said it cannot: the next starts do not ask it again. */
	int gets = hub->n_get;
	const char *list[] = { "ledger", "list", NULL };
	struct proc_out lo;
	assert_int_equal(prov_station(rca->env, list, &lo), 0);
	proc_out_clear(&lo);
	assert_int_equal(hub->n_get, gets);

	/* `station revoke` of the device's live certificate reaches the
	 * hub's DELETE. */
	const char *args[] = { "revoke", new, "--reason", "keyCompromise",
		NULL };
	struct proc_out o;
	if (prov_station(rca->env, args, &o) != 0)
		fail_msg("station revoke: %s %s", o.out, o.err);
	proc_out_clear(&o);
	assert_int_equal(hub->n_delete, 1);
	assert_true(hub_api_server_revoked(hub, new));
	c = cert_row(new);
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	rca_assert_no_secret(rca, HUB_TOKEN, NULL);
	free(old);
	free(new);
}

static void
config_cfssl(void)
{
	char *kf = rca_secret(rca, "cfssl.key", CFSSL_KEY);
	char *ca = rca_ca_section(rca, "cfssl",
	    "addr = %s\nprofile = device\n"
	    "auth_key_file = %s\nchain_file = %s\n",
	    rca_cfssl_addr(rca), kf, rca->pki->inter_pem);
	char *rest = xasprintf("%s%s", ca, REPROVISION);

	rca_config(rca, NULL, rest);
	free(rest);
	free(ca);
	free(kf);
}

/* The decimal form of hex `serial` (CFSSL's database key; new). */
static char *
serial_dec(const char *hex)
{
	BIGNUM *bn = NULL;
	char *dec, *out;

	assert_true(BN_hex2bn(&bn, hex) > 0);
	dec = BN_bn2dec(bn);
	out = xstrdup(dec);
	OPENSSL_free(dec);
	BN_free(bn);
	return out;
}

static void
test_cfssl_reprovision_passes_and_revokes_the_old_certificate(void **state)
{
	struct cert_record c;
	char status[16], *old, *new, *dec;
	int reason = -1;

	(void)state;
	if (!rca_have_cfssl())
		skip();
	cfssl_pid = rca_cfssl_start(rca, CFSSL_KEY);
	assert_true(cfssl_pid > 0);
	config_cfssl();
	rca_device(rca, "SN-CFSSL-RE-1");
	rca_provision(rca);
	rca_assert_pass(rca, "cfssl");
	old = xstrdup(prov_jstr(rca->res, "cert_serial"));

	rca_provision(rca);
	rca_assert_pass(rca, "cfssl");
	new = xstrdup(prov_jstr(rca->res, "cert_serial"));
	assert_string_not_equal(old, new);

	/* Revoked in the ledger and at CFSSL, reason superseded; the new
	 * one is good at CFSSL. */
	c = cert_row(old);
	assert_string_equal(c.status, "revoked");
	assert_string_equal(c.revoke_reason ? c.revoke_reason : "(null)",
	    "superseded");
	ledger_cert_record_clear(&c);
	dec = serial_dec(old);
	assert_int_equal(cfssl_serve_db_status(&rca->cfssl, dec, status,
			     &reason),
	    0);
	assert_string_equal(status, "revoked");
	assert_int_equal(reason, 4); /* RFC 5280 superseded */
	free(dec);
	dec = serial_dec(new);
	assert_int_equal(cfssl_serve_db_status(&rca->cfssl, dec, status,
			     &reason),
	    0);
	assert_string_equal(status, "good");
	free(dec);
	rca_assert_no_secret(rca, CFSSL_KEY, NULL);
	free(old);
	free(new);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_hub_reprovision_passes_and_supersedes_the_old_certificate,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cfssl_reprovision_passes_and_revokes_the_old_certificate,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
