/*
 * The hub's broker for the smoke test ([ca] broker_from_reply = yes, no
 * [broker] configured), end to end: the real station program, devsim,
 * the test server following the device hub's documented API (seed 000)
 * and a real Mosquitto (tests/support/broker.h) on 127.0.0.1.
 *
 * The hub names the broker in its sign-csr reply (brokerUrl,
 * mqttSecurePort).  The smoke test connects to exactly that address and
 * checks the broker's certificate against the pinned root ([ca] root):
 * this Mosquitto's certificate comes from its own test CA, so the
 * handshake is refused and the run FAILs at smoke naming the hub's
 * address — the address was used, and a broker outside the pinned PKI
 * is not trusted.  A brokerUrl that is not an address (hostile input) is
 * ignored: the smoke test is skipped as with no broker, and the run
 * PASSes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/hub_api_server.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/scratch.h"

static struct rca_env *rca;
static struct hub_api_server *hub;
static struct test_broker broker;

static int
setup(void **state)
{
	char *dir;

	(void)state;
	rca = rca_env_new("Hub Broker CA");
	dir = xasprintf("%s/broker", rca->tmp);
	if (mkdir(dir, 0700) != 0)
		fail_msg("mkdir %s", dir);
	if (test_broker_start(&broker, dir, rca->pki->root_pem, 120) != 0)
		fail_msg("the test broker did not start");
	free(dir);
	hub = hub_api_server_start(rca->pki);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_broker_stop(&broker);
	hub_api_server_stop(hub);
	hub = NULL;
	rca_env_free(rca);
	rca = NULL;
	return 0;
}

static void
config_hub(void)
{
	char *ca = rca_ca_section(rca, "hub",
	    "addr = %s\nbroker_from_reply = yes\n", hub_api_server_addr(hub));

	rca_config(rca, NULL, ca);
	free(ca);
}

static void
test_smoke_goes_to_the_broker_the_hub_names(void **state)
{
	char *where;

	(void)state;
	snprintf(hub->broker_url, sizeof hub->broker_url, "127.0.0.1");
	hub->broker_port = broker.port;
	config_hub();
	rca_device(rca, "SN-HUB-BRK-1");
	assert_int_equal(rca_provision(rca), 1);
	assert_string_equal(prov_jstr(rca->res, "failed_step"), "smoke");
	assert_string_equal(prov_jstr(rca->res, "smoke"), "failed");
	where = xasprintf("127.0.0.1:%d", broker.port);
	assert_non_null(strstr(rca->log, where));
	assert_non_null(strstr(rca->log, "the broker the CA named"));
	/* Reached, and refused for its certificate, checked against the
	 * pinned root. */
	assert_non_null(
	    strstr(prov_jstr(rca->res, "reason"), "[broker-untrusted]"));
	assert_non_null(
	    strstr(prov_jstr(rca->res, "reason"), rca->pki->root_pem));
	free(where);
}

static void
test_a_brokerurl_that_is_not_an_address_is_ignored(void **state)
{
	(void)state;
	snprintf(hub->broker_url, sizeof hub->broker_url,
	    "127.0.0.1;touch /tmp/x");
	hub->broker_port = broker.port;
	config_hub();
	rca_device(rca, "SN-HUB-BRK-2");
	rca_provision(rca);
	rca_assert_pass(rca, "hub");
	assert_string_equal(prov_jstr(rca->res, "smoke"), "skipped");
	assert_non_null(strstr(rca->log, "not a usable address"));
	assert_null(strstr(rca->log, "the broker the CA named"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_smoke_goes_to_the_broker_the_hub_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_brokerurl_that_is_not_an_address_is_ignored, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
