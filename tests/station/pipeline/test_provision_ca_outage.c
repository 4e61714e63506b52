/*
 * A CA outage seen from the line: the real station program provisions
 * devsim against the Vault backend (the test server following Vault's
 * documented API, over TLS) with a short step deadline.  The station
 * asks the CA once at start (station_preflight): a CA that is down
 * (nobody listens on its port) or hangs (accepts, never answers) is exit
 * 3 naming it, before the device is touched or a run recorded; then the
 * CA comes back on the same port and the next run of the same device
 * passes.
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

#include "tests/support/remote_ca_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIOutageTokenMustNotLeak0010"

/* ca-sign gets 3 step deadlines: 3 s to find the CA down or silent. */
#define STEP_EXTRA "step_timeout_ms = 1000\n"

static struct rca_env *rca;
static struct vault_api_server *vault;

static int
setup(void **state)
{
	(void)state;
	rca = rca_env_new("Outage CA");
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

/* The station's config pointing at https://127.0.0.1:PORT, whether
 * anything listens there or not. */
static void
config_vault_on(int port)
{
	char *tf = rca_secret(rca, "vault.token", VAULT_TOKEN);
	char *ca = rca_ca_section(rca, "vault",
	    "addr = https://127.0.0.1:%d\n"
	    "role = device\ntoken_file = %s\n",
	    port, tf);

	rca_config(rca, STEP_EXTRA, ca);
	free(ca);
	free(tf);
}

static void
test_ca_down_stops_the_start_then_passes_once_it_is_back(void **state)
{
	int port = rca_free_port();

	(void)state;
	config_vault_on(port);
	rca_device(rca, "SN-OUT-1");
	rca_provision_refused(rca, "does not answer");

	/* The CA comes back where the station expects it. */
	vault = vault_api_server_start_on(rca->pki, VAULT_TOKEN, port);
	assert_int_equal(vault_api_server_port(vault), port);
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_int_equal(vault->n_sign, 1);
	rca_assert_no_secret(rca, VAULT_TOKEN, NULL);
}

static void
test_ca_hanging_stops_the_start_then_passes_once_it_answers(void **state)
{
	(void)state;
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	vault->mode = VAULT_HANG;
	int port = vault_api_server_port(vault);
	config_vault_on(port);
	rca_device(rca, "SN-OUT-2");
	rca_provision_refused(rca, "does not answer");
	assert_true(vault->n_requests >= 1); /* it was reached, and hung */
	assert_int_equal(vault->n_sign, 0);

	/* The silent CA is restarted on the same port and answers. */
	vault_api_server_stop(vault);
	vault = vault_api_server_start_on(rca->pki, VAULT_TOKEN, port);
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_int_equal(vault->n_sign, 1);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ca_down_stops_the_start_then_passes_once_it_is_back),
		T(test_ca_hanging_stops_the_start_then_passes_once_it_answers),
	};

	return cmocka_run_group_tests_name("station provision, CA outage",
	    tests, NULL, NULL);
}
