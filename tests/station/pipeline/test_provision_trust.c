/*
 * The server-trust step end to end (issue 15, item 6): the real station
 * program and devsim.  A profile with server_ca (two anchors) and an
 * endpoint PASSes and leaves exactly that on the device (read back here
 * through the protocol); firmware without CAP_SERVER_TRUST (devsim
 * --fault no-server-trust) PASSes when the profile asks for nothing and
 * FAILs naming the capability when it does, before a key is made or a
 * certificate issued; a device that reads back another anchor FAILs.
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
#include <openssl/x509.h>

#include "drivers/proto/client.h"
#include "drivers/transport/transport.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

/* [profile default] asks for nothing; [profile cloud] for two anchors and
 * an endpoint. */
static struct {
	uint8_t *der[2];
	size_t len[2];
} anchors;

static void
config_cloud(void)
{
	EVP_PKEY *k1 = pki_key(0), *k2 = pki_key(0);
	X509 *a1 = pki_cert("Cloud Root CA", k1, NULL, NULL, 1, -1, 3650);
	X509 *a2 = pki_cert("Broker CA", k2, NULL, NULL, 1, -1, 3650);
	char *p1 = pki_pem(a1), *p2 = pki_pem(a2);
	char *pem = xasprintf("%s%s", p1, p2);
	char *path = prov_env_write(tc.env, "cloud-ca.pem", pem);
	X509 *a[] = { a1, a2 };

	for (int i = 0; i < 2; i++) {
		unsigned char *der = NULL;
		int n = i2d_X509(a[i], &der);

		assert_true(n > 0);
		anchors.der[i] = xmemdup(der, (size_t)n);
		anchors.len[i] = (size_t)n;
		OPENSSL_free(der);
	}
	prov_env_config(tc.env, "clock_ntp_sync = off\n",
	    "[profile default]\n"
	    "[profile cloud]\n"
	    "server_ca = cloud-ca.pem\n"
	    "endpoint = broker.example.com:8883\n");
	free(path);
	free(pem);
	free(p1);
	free(p2);
	X509_free(a1);
	X509_free(a2);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
}

static void
anchors_free(void)
{
	for (int i = 0; i < 2; i++) {
		free(anchors.der[i]);
		anchors.der[i] = NULL;
	}
}

static json_t *
provision(const char *profile, int *status)
{
	const char *with[] = { "--profile", profile, NULL };

	return prov_provision(tc.env, tc.sim->uri, profile ? with : NULL,
	    status);
}

/* What the device holds now, through the protocol (READ_TRUST). */
static void
assert_device_holds_the_trust(void)
{
	const uint8_t *der[] = { anchors.der[0], anchors.der[1] };
	struct dev_trust t = { der, anchors.len, 2, "broker.example.com",
		8883 };
	struct transport *tr = NULL;
	struct client *c;
	struct dev_info info = { 0 };
	uint8_t *want, *got = NULL;
	size_t want_len, got_len = 0;

	assert_int_equal(transport_open(tc.sim->uri, deadline_in(test_ms(5000)),
			     &tr, NULL),
	    ST_OK);
	c = client_new(tr, NULL);
	assert_int_equal(dev_hello(c, &info, NULL), ST_OK);
	assert_int_equal(dev_read_trust(c, &got, &got_len, NULL), ST_OK);
	want = dev_trust_message(&t, &want_len);
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
	free(want);
	free(got);
	dev_info_clear(&info);
	client_free(c);
}

static void
test_trust_and_endpoint_written_and_read_back_pass(void **state)
{
	int status;

	(void)state;
	config_cloud();
	prov_case_device("SN-TR-1", NULL);
	tc.res = provision("cloud", &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");
	assert_device_holds_the_trust();
	anchors_free();
}

/* A v1 device without the capability, a profile asking nothing: PASS,
 * exactly as before the extension. */
static void
test_v1_device_passes_when_the_profile_asks_nothing(void **state)
{
	int status;

	(void)state;
	config_cloud();
	prov_case_device("SN-TR-2", "no-server-trust");
	tc.res = provision(NULL, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");
	anchors_free();
}

/* Under profile "cloud", a devsim with `fault` FAILs at server-trust
 * with `error` and `reason_part`, before a key is made (still blank) or
 * a certificate issued. */
static void
expect_trust_fail(const char *serial, const char *fault, const char *error,
    const char *reason_part)
{
	char *dev_state;
	int status;

	config_cloud();
	prov_case_device(serial, fault);
	tc.res = provision("cloud", &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 1);
	assert_string_equal(prov_jstr(tc.res, "failed_step"), "server-trust");
	assert_string_equal(prov_jstr(tc.res, "error"), error);
	assert_non_null(strstr(prov_jstr(tc.res, "reason"), reason_part));
	dev_state = prov_probe_state(tc.env, tc.sim->uri);
	assert_string_equal(dev_state, "blank");
	free(dev_state);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(prov_audit(tc.env, tc.led), 0);
	anchors_free();
}

/* The v1 device under a profile that asks: FAIL naming the capability. */
static void
test_v1_device_fails_naming_the_capability(void **state)
{
	(void)state;
	expect_trust_fail("SN-TR-3", "no-server-trust", "unsupported",
	    "does not offer CAP_SERVER_TRUST");
	assert_string_equal(prov_jstr(tc.res, "headline"),
	    "Device cannot store server trust");
}

/* A device that gives back another anchor: FAIL. */
static void
test_trust_readback_mismatch_fails(void **state)
{
	(void)state;
	expect_trust_fail("SN-TR-4", "trust-readback-lie", "mismatch",
	    "different server trust");
	assert_string_equal(prov_jstr(tc.res, "headline"),
	    "Device stored a different server trust");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PROV_CASE_TEST(
		    test_trust_and_endpoint_written_and_read_back_pass),
		PROV_CASE_TEST(
		    test_v1_device_passes_when_the_profile_asks_nothing),
		PROV_CASE_TEST(test_v1_device_fails_naming_the_capability),
		PROV_CASE_TEST(test_trust_readback_mismatch_fails),
	};

	return cmocka_run_group_tests_name("provision server trust", tests,
	    NULL, NULL);
}
