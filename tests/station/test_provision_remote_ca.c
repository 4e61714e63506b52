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
 * its reason and the device unwritten.  After the runs, no credential is
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
	char *ca = rca_ca_section(rca, "vault", "addr = %s\nrole = device\n"
	    "token_file = %s\n", vault_api_server_addr(vault), tf);

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

static void
test_vault_bad_token_fails_at_ca_sign_and_writes_nothing(void **state)
{
	(void)state;
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	config_vault(BAD_TOKEN);
	rca_device(rca, "SN-VAULT-2");
	rca_provision(rca);
	rca_assert_fail(rca, "ca", "Vault refused the token (403)");
	assert_int_equal(vault->n_sign, 0);
	rca_assert_no_secret(rca, BAD_TOKEN, VAULT_TOKEN);
}

static void
config_cfssl(const char *key)
{
	char *kf = rca_secret(rca, "cfssl.key", key);
	char *ca = rca_ca_section(rca, "cfssl", "addr = %s\nprofile = device\n"
	    "auth_key_file = %s\nchain_file = %s\n", rca_cfssl_addr(rca),
	    kf, rca->pki->inter_pem);

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
	assert_non_null(strstr(prov_jstr(rca->res, "reason"),
	    HUB_REFUSAL_MSG));
	rca_assert_no_secret(rca, HUB_TOKEN, NULL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vault_backend_provisions_devsim_to_pass),
		T(test_vault_bad_token_fails_at_ca_sign_and_writes_nothing),
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
