/* The hub CA backend against a test server following the device hub's
 * documented certificate API (seed 000), over TLS with a test PKI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "station/ca/hub.h"
#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/hub_api_server.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define HUB_TOKEN "hub-api-token-that-must-not-leak-7731"

struct fx {
	char *tmp;
	struct pki_chain *pki;
	struct hub_api_server *hub;
	EVP_PKEY *dev;
	X509_REQ *csr;
	struct profile profile;
	struct ca_test_settings set;
	struct ca_backend *ca;
	struct ca_issued issued;
	char *cause;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->pki = pki_chain_new(fx->tmp, "Hub Test");
	fx->hub = hub_api_server_start(fx->pki);
	pki_device(SUBJECT, "DNS:sn0001.devices.example.com", &fx->dev,
	    &fx->csr, &fx->profile);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_test_done(fx->cause, &fx->issued, fx->ca);
	hub_api_server_stop(fx->hub);
	pki_chain_free(fx->pki);
	X509_REQ_free(fx->csr);
	EVP_PKEY_free(fx->dev);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

static st_err
open_with(struct fx *fx, const char *k, const char *v)
{
	char addr[64];

	snprintf(addr, sizeof addr, "%s", hub_api_server_addr(fx->hub));
	return ca_open("hub",
	    ca_test_settings(&fx->set, "addr", addr, "ca_bundle",
		fx->pki->root_pem, k, v, NULL),
	    &fx->ca, &fx->cause);
}

static st_err
sign(struct fx *fx)
{
	struct ca_request req = { .csr = fx->csr,
		.profile = &fx->profile,
		.device_serial = "SN0001",
		.fw_version = "1.2.3",
		.hw_version = "v2.1",
		.deadline = deadline_in(test_ms(5000)) };

	return ca_sign(fx->ca, &req, &fx->issued, &fx->cause);
}

static void
test_sign_csr_gives_a_certificate_that_passes_cert_check(void **state)
{
	struct fx *fx = *state;
	struct cert_expect exp = { .csr = fx->csr,
		.profile = &fx->profile,
		.subject = SUBJECT,
		.root = fx->pki->root };
	const char *rule = NULL;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_string_equal(fx->hub->last_path,
	    "/api/devices/certificates/SN0001/sign-csr");
	assert_string_equal(fx->hub->last_fw, "1.2.3");
	assert_string_equal(fx->hub->last_hw, "v2.1");
	assert_int_equal(sk_X509_num(fx->issued.chain), 1); /* caCert */
	assert_int_equal(cert_check(&fx->issued, &exp, &rule, &fx->cause),
	    ST_OK);
}

static void
test_refusal_gives_the_hubs_reason(void **state)
{
	struct fx *fx = *state;

	fx->hub->mode = HUB_UNKNOWN_DEVICE;
	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_E_CA);
	assert_non_null(strstr(fx->cause, "HTTP 404"));
	assert_non_null(strstr(fx->cause, HUB_REFUSAL_MSG));
	assert_null(fx->issued.cert);
}

static void
test_fingerprint_of_another_certificate_is_refused(void **state)
{
	struct fx *fx = *state;

	fx->hub->mode = HUB_BAD_FINGERPRINT;
	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_E_CA);
	assert_non_null(strstr(fx->cause, "fingerprint"));
	assert_null(fx->issued.cert);
}

static void
test_bearer_token_is_sent_and_never_quoted(void **state)
{
	struct fx *fx = *state;
	char *file = scratch_write(fx->tmp, "hub.token", HUB_TOKEN, 0600);

	snprintf(fx->hub->bearer, sizeof fx->hub->bearer, "Bearer %s",
	    HUB_TOKEN);
	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_E_CA); /* no token: 401 */
	assert_non_null(strstr(fx->cause, "HTTP 401"));
	ca_free(fx->ca);
	fx->ca = NULL;
	assert_int_equal(open_with(fx, "token_file", file), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_null(strstr(fx->ca->describe, HUB_TOKEN));
	free(file);
}

static st_err
revoke_issued(struct fx *fx, const char *serial, const char *device)
{
	struct ca_cert_ref ref = { .serial_hex = serial,
		.device_serial = device };

	free(fx->cause);
	fx->cause = NULL;
	return ca_revoke_cert(fx->ca, &ref, "superseded", &fx->cause);
}

/* The hub revokes a device's current certificate: looked up first (GET),
 * then DELETE; a serial alone is not enough. */
static void
test_revoke_deletes_the_devices_current_certificate(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_int_equal(ca_revoke(fx->ca, fx->issued.serial_hex, NULL,
			     &fx->cause),
	    ST_E_UNSUPPORTED);
	assert_int_equal(fx->hub->n_delete, 0);
	assert_int_equal(revoke_issued(fx, fx->issued.serial_hex, "SN0001"),
	    ST_OK);
	assert_int_equal(fx->hub->n_get, 1);
	assert_int_equal(fx->hub->n_delete, 1);
	assert_string_equal(fx->hub->last_method, "DELETE");
	assert_string_equal(fx->hub->last_path,
	    "/api/devices/certificates/SN0001");
	assert_true(hub_api_server_revoked(fx->hub, fx->issued.serial_hex));
	/* Again: the hub holds none now (404), nothing left to revoke. */
	assert_int_equal(revoke_issued(fx, fx->issued.serial_hex, "SN0001"),
	    ST_OK);
	assert_int_equal(fx->hub->n_delete, 1);
	/* A device id that cannot go into a URL is never sent. */
	assert_int_equal(revoke_issued(fx, fx->issued.serial_hex, "../x"),
	    ST_E_UNSUPPORTED);
	assert_int_equal(fx->hub->n_get, 2);
}

/* After a re-provisioning the hub's current certificate is the new one:
 * revoking the old one must not DELETE (that would take the new one). */
static void
test_revoke_of_a_replaced_certificate_sends_no_delete(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	char *old = xstrdup(fx->issued.serial_hex);
	ca_issued_clear(&fx->issued);
	assert_int_equal(sign(fx), ST_OK);

	assert_int_equal(revoke_issued(fx, old, "SN0001"), ST_E_UNSUPPORTED);
	assert_non_null(strstr(fx->cause, "was replaced there"));
	assert_non_null(strstr(fx->cause, old));
	assert_int_equal(fx->hub->n_delete, 0);
	assert_false(hub_api_server_revoked(fx->hub, fx->issued.serial_hex));
	free(old);
}

struct found {
	int n;
	char serial[80];
};

static int
found_cb(X509 *cert, void *arg)
{
	struct found *f = arg;
	char *serial = cert_serial_hex(cert);

	f->n++;
	snprintf(f->serial, sizeof f->serial, "%s", serial);
	free(serial);
	return 0;
}

/* Crash recovery: the device's current certificate, if it is for the
 * run's key. */
static void
test_find_issued_reads_the_devices_current_certificate(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *other = pki_key_ec("P-256");
	struct found f = { 0 };
	char key[65], other_key[65];
	size_t len = 0;
	uint8_t *spki;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	cert_key_sha256(fx->issued.cert, key);
	spki = pki_spki(other, &len);
	spki_sha256_hex(spki, len, other_key);
	free(spki);

	struct ca_lookup q = { .key_sha256 = key, .device_serial = "SN0001" };
	assert_int_equal(ca_find_issued(fx->ca, &q, found_cb, &f, &fx->cause),
	    ST_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.serial, fx->issued.serial_hex);
	assert_string_equal(fx->hub->last_method, "GET");

	q.key_sha256 = other_key; /* the hub's certificate is not for it */
	assert_int_equal(ca_find_issued(fx->ca, &q, found_cb, &f, &fx->cause),
	    ST_OK);
	assert_int_equal(f.n, 1);
	q.device_serial = "SN-NONE"; /* the hub holds none: 404 */
	assert_int_equal(ca_find_issued(fx->ca, &q, found_cb, &f, &fx->cause),
	    ST_OK);
	assert_int_equal(f.n, 1);
	q.device_serial = NULL;
	assert_int_equal(ca_find_issued(fx->ca, &q, found_cb, &f, &fx->cause),
	    ST_E_UNSUPPORTED);
	EVP_PKEY_free(other);
}

static void
test_validate_after_sign_asks_the_hub_about_the_new_certificate(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, "validate_after_sign", "maybe"),
	    ST_E_CONFIG);
	assert_int_equal(open_with(fx, "validate_after_sign", "yes"), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_int_equal(fx->hub->n_validate, 1);
	assert_non_null(
	    strstr(fx->hub->last_path, "/api/devices/certificates/validate/"));
	ca_issued_clear(&fx->issued);

	fx->hub->mode = HUB_VALIDATE_FALSE;
	assert_int_equal(sign(fx), ST_E_CA);
	assert_non_null(strstr(fx->cause, "hub validate"));
	assert_null(fx->issued.cert);
	assert_int_equal(fx->hub->n_validate, 2);
}

static void
test_validate_is_off_unless_asked(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_int_equal(fx->hub->n_validate, 0);
}

/* brokerUrl/mqttSecurePort reach the issued certificate only as a
 * checked address. */
static void
test_broker_fields_are_kept_only_when_they_are_an_address(void **state)
{
	struct fx *fx = *state;
	char *host = NULL;

	assert_int_equal(open_with(fx, NULL, NULL), ST_OK); /* off */
	assert_int_equal(sign(fx), ST_OK);
	assert_null(fx->issued.broker_host);
	ca_issued_clear(&fx->issued);
	ca_free(fx->ca);
	fx->ca = NULL;
	assert_int_equal(open_with(fx, "broker_from_reply", "on"), ST_E_CONFIG);
	assert_int_equal(open_with(fx, "broker_from_reply", "yes"), ST_OK);
	assert_int_equal(sign(fx), ST_OK);
	assert_string_equal(fx->issued.broker_host, "localhost");
	assert_int_equal(fx->issued.broker_port, 8883);
	ca_issued_clear(&fx->issued);

	snprintf(fx->hub->broker_url, sizeof fx->hub->broker_url,
	    "evil host;rm -rf");
	assert_int_equal(sign(fx), ST_OK);
	assert_null(fx->issued.broker_host);
	assert_int_equal(fx->issued.broker_port, 0);

	assert_int_equal(hub_broker_check("mqtts://broker.example/", 8883,
			     &host, NULL),
	    ST_OK);
	assert_string_equal(host, "broker.example");
	free(host);
	assert_int_equal(hub_broker_check("10.0.0.7", 8883, &host, NULL),
	    ST_OK);
	free(host);
	assert_int_equal(hub_broker_check("broker.example", 0, &host, NULL),
	    ST_E_CA);
	assert_int_equal(hub_broker_check("broker.example", 70000, &host, NULL),
	    ST_E_CA);
	assert_int_equal(hub_broker_check("http://x.example", 8883, &host,
			     NULL),
	    ST_E_CA);
	assert_int_equal(hub_broker_check("-x.example", 8883, &host, NULL),
	    ST_E_CA);
	assert_int_equal(hub_broker_check("x.example/path", 8883, &host, NULL),
	    ST_E_CA);
	assert_int_equal(hub_broker_check("", 8883, &host, NULL), ST_E_CA);
	assert_null(host);
}

static void
test_reply_parser_refuses_what_contradicts_the_certificate(void **state)
{
	struct fx *fx = *state;
	struct hub_reply info = { 0 };
	X509 *cert = pki_chain_sign(fx->pki, fx->csr, 30, NULL);
	char *pem = pki_pem(cert);
	json_t *j = json_pack("{s:s, s:s, s:s, s:i}", "deviceId", "SN0001",
	    "clientCert", pem, "brokerUrl", "mqtt.example", "mqttSecurePort",
	    8883);
	char *body = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	assert_int_equal(hub_parse_reply(body, strlen(body), "SN0001",
			     &fx->issued, &info, &fx->cause),
	    ST_OK);
	assert_string_equal(info.broker_url, "mqtt.example");
	assert_int_equal(info.mqtt_secure_port, 8883);
	hub_reply_clear(&info);
	ca_issued_clear(&fx->issued);
	assert_int_equal(hub_parse_reply(body, strlen(body), "SN0002",
			     &fx->issued, NULL, &fx->cause),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "for device 'SN0001'"));
	assert_int_equal(hub_parse_reply("{\"caCert\":\"x\"}", 14, "SN0001",
			     &fx->issued, NULL, &fx->cause),
	    ST_E_CA);
	assert_non_null(strstr(fx->cause, "no clientCert"));
	assert_null(fx->issued.cert);
	free(body);
	free(pem);
	X509_free(cert);
}

/* A CA that hands out a negative or zero serial (forbidden by RFC 5280)
 * would put "-1a2b" or "0" in the ledger, which no CA revokes. */
static void
test_certificate_with_a_serial_that_is_not_positive_is_refused(void **state)
{
	struct fx *fx = *state;
	const long serials[] = { -0x1a2b, 0 };

	for (size_t i = 0; i < 2; i++) {
		X509 *cert = pki_chain_sign(fx->pki, fx->csr, 30, NULL);

		assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert),
				     serials[i]),
		    1);
		assert_true(
		    X509_sign(cert, fx->pki->inter_key, EVP_sha256()) > 0);
		char *pem = pki_pem(cert);
		json_t *j = json_pack("{s:s}", "clientCert", pem);
		char *body = json_dumps(j, JSON_COMPACT);

		assert_int_equal(hub_parse_reply(body, strlen(body), "SN0001",
				     &fx->issued, NULL, &fx->cause),
		    ST_E_CA);
		assert_non_null(strstr(fx->cause,
		    "clientCert: the "
		    "certificate's serial number is not a positive integer"));
		assert_null(fx->issued.cert);
		assert_null(fx->issued.serial_hex);
		free(fx->cause);
		fx->cause = NULL;
		json_decref(j);
		free(body);
		free(pem);
		X509_free(cert);
	}
}

static void
test_no_credential_in_any_log_line_or_cause(void **state)
{
	(void)state;
	assert_true(ca_test_seen("issued serial"));
	assert_false(ca_test_secret_leaked(HUB_TOKEN));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sign_csr_gives_a_certificate_that_passes_cert_check),
		T(test_refusal_gives_the_hubs_reason),
		T(test_fingerprint_of_another_certificate_is_refused),
		T(test_bearer_token_is_sent_and_never_quoted),
		T(test_revoke_deletes_the_devices_current_certificate),
		T(test_revoke_of_a_replaced_certificate_sends_no_delete),
		T(test_find_issued_reads_the_devices_current_certificate),
		T(test_validate_after_sign_asks_the_hub_about_the_new_certificate),
		T(test_validate_is_off_unless_asked),
		T(test_broker_fields_are_kept_only_when_they_are_an_address),
		T(test_reply_parser_refuses_what_contradicts_the_certificate),
		T(test_certificate_with_a_serial_that_is_not_positive_is_refused),
		cmocka_unit_test(test_no_credential_in_any_log_line_or_cause),
	};

	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
