/*
 * What a remote CA returns is taken exactly, end to end: the real station
 * program, devsim as the device, and the test server following Vault's
 * documented PKI API (vault_api_server.h) as the CA.
 *
 *	- a root-first ca_chain is stored on the device issuer first;
 *	- `chain = full | ca | none` writes intermediates + root,
 *	  intermediates only, nothing (read from the device afterwards);
 *	- the usages of Vault's default role (keyEncipherment, keyAgreement,
 *	  serverAuth beyond the profile's) FAIL at cert-check naming the
 *	  extra, and PASS once the profile allows them;
 *	- a leaf outliving its issuer, or with notBefore in the future beyond
 *	  [station] clock_skew_s, FAILs at cert-check;
 *	- a device that returns its chain reordered (devsim fault
 *	  chain-reorder) FAILs at readback with the chain named broken.
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

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "drivers/transport/transport.h"
#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIChainTestTokenMustNotLeak0011"

static struct rca_env *rca;
static struct vault_api_server *vault;

static int
setup(void **state)
{
	(void)state;
	rca = rca_env_new("Chain CA");
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

/* Vault in `mode` as the CA, `profile` (text after "[profile default]",
 * may be empty) as the default profile. */
static void
config_vault(enum vault_mode mode, const char *station, const char *profile)
{
	char *tf = rca_secret(rca, "vault.token", VAULT_TOKEN);
	char *ca = rca_ca_section(rca, "vault",
	    "addr = %s\nrole = device\ntoken_file = %s\n",
	    vault_api_server_addr(vault), tf);
	char *rest = xasprintf("%s\n[profile default]\n%s", ca, profile);

	vault_api_server_set_mode(vault, mode);
	rca_config(rca, station, rest);
	free(rest);
	free(ca);
	free(tf);
}

static void
start(enum vault_mode mode, const char *profile, const char *serial)
{
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	config_vault(mode, NULL, profile);
	rca_device(rca, serial);
}

/* The subjects' CNs of the chain devsim holds, "|"-separated (caller
 * frees): what a device would present after leaving the line. */
static char *
device_chain(void)
{
	struct transport *t = NULL;
	struct client *c;
	uint8_t *payload = NULL;
	size_t len = 0, pos = 0;
	struct tlv tv;
	char *out = xstrdup(""), *longer;
	char cn[128];

	assert_int_equal(transport_open(rca->sim->uri,
			     deadline_in(test_ms(5000)), &t, NULL),
	    ST_OK);
	c = client_new(t, NULL);
	assert_int_equal(dev_read_chain(c, &payload, &len, NULL), ST_OK);
	while (tlv_next(payload, len, &pos, &tv)) {
		const unsigned char *p = tv.val;
		X509 *x = d2i_X509(NULL, &p, tv.len);

		assert_int_equal(tv.tag, PROTO_T_CERT);
		assert_non_null(x);
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
		    NID_commonName, cn, sizeof cn);
		longer = xasprintf("%s%s%s", out, out[0] ? "|" : "", cn);
		free(out);
		out = longer;
		X509_free(x);
	}
	free(payload);
	client_free(c);
	return out;
}

static void
assert_chain(const char *want)
{
	char *got = device_chain();

	assert_string_equal(got, want);
	free(got);
}

/* FAIL at `step` with `kind`, the reason holding `says`. */
static void
assert_fails_at(const char *step, const char *kind, const char *says)
{
	const char *reason = prov_jstr(rca->res, "reason");

	assert_int_not_equal(rca->status, 0);
	assert_string_equal(prov_jstr(rca->res, "result"), "FAIL");
	assert_string_equal(prov_jstr(rca->res, "failed_step"), step);
	assert_string_equal(prov_jstr(rca->res, "error"), kind);
	if (reason == NULL || strstr(reason, says) == NULL)
		fail_msg("reason '%s' does not say '%s'", reason, says);
}

static void
test_root_first_ca_chain_is_stored_issuer_first(void **state)
{
	(void)state;
	start(VAULT_ROOT_FIRST, "", "SN-CHAIN-1");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_chain("Chain CA Intermediate|Chain CA Root");
}

static void
test_chain_full_writes_intermediates_and_root(void **state)
{
	(void)state;
	start(VAULT_OK, "chain = full\n", "SN-CHAIN-2");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_chain("Chain CA Intermediate|Chain CA Root");
}

static void
test_chain_ca_writes_intermediates_only(void **state)
{
	(void)state;
	start(VAULT_ROOT_FIRST, "chain = ca\n", "SN-CHAIN-3");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_chain("Chain CA Intermediate");
}

static void
test_chain_none_writes_nothing(void **state)
{
	(void)state;
	start(VAULT_OK, "chain = none\n", "SN-CHAIN-4");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
	assert_chain("");
}

static void
test_extra_usages_fail_naming_them_until_allowed(void **state)
{
	(void)state;
	start(VAULT_WIDE_USAGE, "", "SN-CHAIN-5");
	rca_provision(rca);
	assert_fails_at("cert-check", "policy",
	    "keyUsage keyEncipherment, which the profile does not ask for");
	/* Allowing the key usages leaves the extra purpose. */
	config_vault(VAULT_WIDE_USAGE, NULL,
	    "allow_key_usage = keyEncipherment, keyAgreement\n");
	rca_provision(rca);
	assert_fails_at("cert-check", "policy",
	    "extendedKeyUsage serverAuth, which the profile does not ask for");
	config_vault(VAULT_WIDE_USAGE, NULL,
	    "allow_key_usage = keyEncipherment, keyAgreement\n"
	    "allow_ext_key_usage = serverAuth\n");
	rca_provision(rca);
	rca_assert_pass(rca, "vault");
}

static void
test_leaf_outliving_its_issuer_fails(void **state)
{
	(void)state;
	start(VAULT_SHORT_ISSUER, "", "SN-CHAIN-6");
	rca_provision(rca);
	assert_fails_at("cert-check", "policy", "cert.outlives-issuer");
	assert_fails_at("cert-check", "policy",
	    "after its issuer 'CN=Vault Short Intermediate'");
}

static void
test_not_before_in_the_future_fails_beyond_the_skew(void **state)
{
	(void)state;
	start(VAULT_NOT_YET_VALID, "", "SN-CHAIN-7");
	rca_provision(rca);
	assert_fails_at("cert-check", "policy", "cert.not-yet-valid");
	/* An hour ahead is within a two-hour skew. */
	config_vault(VAULT_NOT_YET_VALID, "clock_skew_s = 7200\n", "");
	rca_provision(rca);
	assert_int_equal(rca->status, 0);
	assert_string_equal(prov_jstr(rca->res, "result"), "PASS");
}

static void
test_device_returning_a_reordered_chain_fails_at_readback(void **state)
{
	const char *args[] = { "--serial", "SN-CHAIN-8", "--fault",
		"chain-reorder", NULL };

	(void)state;
	vault = vault_api_server_start(rca->pki, VAULT_TOKEN);
	config_vault(VAULT_OK, NULL, "");
	rca->sim = devsim_proc_start(args);
	assert_non_null(rca->sim);
	rca_provision(rca);
	assert_fails_at("readback", "mismatch",
	    "the device's chain is broken: certificate 1 is "
	    "'O=Example-Org,CN=Chain CA Root' where "
	    "'O=Example-Org,CN=Chain CA Intermediate' was written");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_root_first_ca_chain_is_stored_issuer_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_chain_full_writes_intermediates_and_root, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_chain_ca_writes_intermediates_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_none_writes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_extra_usages_fail_naming_them_until_allowed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_leaf_outliving_its_issuer_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_before_in_the_future_fails_beyond_the_skew, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_returning_a_reordered_chain_fails_at_readback,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
