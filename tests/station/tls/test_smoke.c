/* The mTLS smoke test against a real Mosquitto: passes for EC and RSA on
 * TLS 1.2 and 1.3 with one chip signature per handshake, and names each
 * kind of failure with its stable diagnosis id; begun early, it waits for
 * the device's identity, refuses what it cannot take and lets go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "station/tls/smoke.h"
#include "tests/support/broker.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"

static struct world {
	char dir[64];
	char root_pem[128];
	struct test_broker broker;
	EVP_PKEY *root_key, *int_key, *foreign_key;
	X509 *root, *inter, *foreign_root;
	STACK_OF(X509) * chain;
} w;

/* A device: its key on the "chip", its certificate, its external key. */
struct device {
	EVP_PKEY *chip_key;
	EVP_PKEY *cert_key; /* == chip_key unless testing a wrong chip */
	X509 *cert;
	struct test_chip chip;
	struct extkey *key;
};

static int
world_setup(void **state)
{
	(void)state;
	snprintf(w.dir, sizeof w.dir, "/tmp/station-smoke-XXXXXX");
	assert_non_null(mkdtemp(w.dir));
	w.root_key = pki_key(0);
	w.int_key = pki_key(0);
	w.foreign_key = pki_key(0);
	w.root =
	    pki_cert("Test Device Root", w.root_key, NULL, NULL, 1, -1, 30);
	w.inter = pki_cert("Test Device Issuing", w.int_key, w.root, w.root_key,
	    1, -1, 30);
	w.foreign_root =
	    pki_cert("Foreign Root", w.foreign_key, NULL, NULL, 1, -1, 30);
	w.chain = sk_X509_new_null();
	sk_X509_push(w.chain, w.inter);
	snprintf(w.root_pem, sizeof w.root_pem, "%s/root.pem", w.dir);
	pki_write_pem(w.root_pem, w.root);
	return test_broker_start(&w.broker, w.dir, w.root_pem, 300);
}

static int
world_teardown(void **state)
{
	char cmd[128];

	(void)state;
	test_broker_stop(&w.broker);
	sk_X509_free(w.chain);
	X509_free(w.root);
	X509_free(w.inter);
	X509_free(w.foreign_root);
	EVP_PKEY_free(w.root_key);
	EVP_PKEY_free(w.int_key);
	EVP_PKEY_free(w.foreign_key);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", w.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* rsa: key type; wrong_chip: the chip holds another key than the
 * certificate's; issuer/issuer_key: NULL = the test intermediate. */
static struct device *
device_new(const char *cn, int rsa, int wrong_chip, long from_days,
    long to_days, X509 *issuer, EVP_PKEY *issuer_key)
{
	struct device *d = calloc(1, sizeof *d);
	size_t len;
	uint8_t *spki;

	assert_non_null(d);
	d->chip_key = pki_key(rsa);
	d->cert_key = wrong_chip ? pki_key(rsa) : d->chip_key;
	d->cert = pki_cert(cn, d->cert_key, issuer ? issuer : w.inter,
	    issuer_key ? issuer_key : w.int_key, 0, from_days, to_days);
	d->chip.key = d->chip_key;
	/* As in production: the extkey carries the certificate's key. */
	spki = pki_spki(d->cert_key, &len);
	assert_int_equal(extkey_new(spki, len, test_chip_sign, &d->chip,
			     &d->key, NULL),
	    ST_OK);
	free(spki);
	return d;
}

static void
device_free(struct device *d)
{
	extkey_free(d->key);
	X509_free(d->cert);
	if (d->cert_key != d->chip_key)
		EVP_PKEY_free(d->cert_key);
	EVP_PKEY_free(d->chip_key);
	free(d);
}

static char topic_buf[128];

static struct smoke_params
params_for(struct device *d, const char *cn, int tls)
{
	struct smoke_params p = {
		.host = "127.0.0.1",
		.port = w.broker.port,
		.ca_file = w.broker.ca_file,
		.server_name = "localhost",
		.tls_version = tls,
		.client_id = cn,
		.cert = d->cert,
		.chain = w.chain,
		.key = d->key,
		.deadline = deadline_in(test_ms(10000)),
	};

	snprintf(topic_buf, sizeof topic_buf, "factory/selftest/%s", cn);
	p.topic = topic_buf;
	return p;
}

static void
expect_pass(int rsa, int tls)
{
	const char *cn = rsa ? "dev-rsa" : "dev-ec";
	struct device *d = device_new(cn, rsa, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, cn, tls);
	struct smoke_result r;
	char *cause = NULL;

	assert_int_equal(smoke_run(&p, &r, &cause), ST_OK);
	assert_string_equal(r.diagnosis, "pass");
	assert_true(r.puback_reason == 0x00 || r.puback_reason == 0x10);
	assert_string_equal(r.tls_version, tls == 13 ? "TLSv1.3" : "TLSv1.2");
	assert_non_null(r.cipher);
	/* One handshake, one signature by the chip. */
	assert_int_equal(d->chip.calls, 1);
	assert_int_equal(extkey_sign_count(d->key), 1);
	assert_null(cause);
	smoke_result_clear(&r);
	device_free(d);
}

static void
test_ec_tls13_passes(void **s)
{
	(void)s;
	expect_pass(0, 13);
}
static void
test_ec_tls12_passes(void **s)
{
	(void)s;
	expect_pass(0, 12);
}
static void
test_rsa_tls13_passes(void **s)
{
	(void)s;
	expect_pass(1, 13);
}
static void
test_rsa_tls12_passes(void **s)
{
	(void)s;
	expect_pass(1, 12);
}

/* Runs one smoke test that must fail with `kind` and diagnosis `id`. */
static void
expect_failure(struct device *d, struct smoke_params *p, st_err kind,
    const char *id)
{
	struct smoke_result r;
	char *cause = NULL;

	st_err got = smoke_run(p, &r, &cause);

	if (got != kind)
		print_message("cause: %s\n", cause ? cause : "(none)");
	assert_int_equal(got, kind);
	assert_string_equal(r.diagnosis, id);
	assert_non_null(cause);
	assert_non_null(strstr(cause, id));
	smoke_result_clear(&r);
	free(cause);
	device_free(d);
}

/* The chip holds another key than the certificate's. */
static void
test_wrong_chip_key_is_signature_refused(void **state)
{
	(void)state;
	struct device *d = device_new("dev-wrong", 0, 1, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-wrong", 13);

	expect_failure(d, &p, ST_E_POLICY, "signature-refused");
}

static void
test_wrong_chip_key_tls12_is_signature_refused(void **state)
{
	(void)state;
	struct device *d = device_new("dev-wrong2", 1, 1, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-wrong2", 12);

	expect_failure(d, &p, ST_E_POLICY, "signature-refused");
}

static void
test_foreign_ca_certificate_is_cert_refused(void **state)
{
	(void)state;
	struct device *d = device_new("dev-foreign", 0, 0, -1, 30,
	    w.foreign_root, w.foreign_key);
	struct smoke_params p = params_for(d, "dev-foreign", 13);

	p.chain = NULL;
	expect_failure(d, &p, ST_E_POLICY, "cert-refused");
}

static void
test_expired_certificate_is_cert_refused(void **state)
{
	(void)state;
	struct device *d = device_new("dev-old", 0, 0, -10, -1, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-old", 12);

	expect_failure(d, &p, ST_E_POLICY, "cert-refused");
}

/* Publishing on another device's topic is refused by the broker's ACL. */
static void
test_other_devices_topic_is_acl_denied(void **state)
{
	(void)state;
	struct device *d = device_new("dev-acl", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-acl", 13);
	struct smoke_result r;

	p.topic = "factory/selftest/dev-someone-else";
	assert_int_equal(smoke_run(&p, &r, NULL), ST_E_POLICY);
	assert_string_equal(r.diagnosis, "acl-denied");
	assert_int_equal(r.puback_reason, 0x87);
	smoke_result_clear(&r);
	device_free(d);
}

/* A loopback port: listening (accepts TCP, never speaks TLS; *fd is
 * the listener) when `listening`, else one that was just free and is
 * closed again. */
static int
loopback_port(int listening, int *fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sa;

	*fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(*fd, (struct sockaddr *)&sa, sizeof sa), 0);
	if (listening)
		assert_int_equal(listen(*fd, 4), 0);
	assert_int_equal(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	if (!listening) {
		close(*fd);
		*fd = -1;
	}
	return ntohs(sa.sin_port);
}

static void
test_closed_port_is_broker_unreachable(void **state)
{
	(void)state;
	struct device *d = device_new("dev-down", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-down", 13);
	int fd;

	p.port = loopback_port(0, &fd);
	expect_failure(d, &p, ST_E_HANGUP, "broker-unreachable");
}

/* A listener that accepts TCP but never speaks TLS: the deadline ends it. */
static void
test_silent_listener_is_timeout(void **state)
{
	(void)state;
	struct device *d = device_new("dev-silent", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-silent", 13);
	int fd;

	p.port = loopback_port(1, &fd);
	p.deadline = deadline_in(300);
	expect_failure(d, &p, ST_E_TIMEOUT, "timeout");
	close(fd);
}

static void
test_wrong_server_name_is_broker_wrong_host(void **state)
{
	(void)state;
	struct device *d = device_new("dev-host", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-host", 13);

	p.server_name = "broker.wrong.example";
	expect_failure(d, &p, ST_E_POLICY, "broker-wrong-host");
}

/* The device root does not trust the broker's own CA. */
static void
test_foreign_trust_file_is_broker_untrusted(void **state)
{
	(void)state;
	struct device *d = device_new("dev-trust", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-trust", 12);

	p.ca_file = w.root_pem;
	expect_failure(d, &p, ST_E_POLICY, "broker-untrusted");
}

/* A Mosquitto with its own default set_tcp_nodelay (false), as a
 * factory's broker has it: the smoke test passes against it the same way
 * (TCP_QUICKACK on the station's side; the 40 ms it saves is measured by
 * tests/bench/bench_smoke.c, not asserted here). */
static void
test_default_configured_broker_passes(void **state)
{
	struct test_broker b;
	char dir[600];
	struct device *d = device_new("dev-nagle", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-nagle", 13);
	struct smoke_result r;
	char *cause = NULL;

	(void)state;
	snprintf(dir, sizeof dir, "%s/nagle", w.dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(setenv("BROKER_TCP_NODELAY", "false", 1), 0);
	assert_int_equal(test_broker_start(&b, dir, w.root_pem, 120), 0);
	unsetenv("BROKER_TCP_NODELAY");
	p.port = b.port;
	p.ca_file = b.ca_file;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(smoke_run(&p, &r, &cause), ST_OK);
		assert_string_equal(r.diagnosis, "pass");
		assert_string_equal(r.tls_version, "TLSv1.3");
		smoke_result_clear(&r);
	}
	assert_int_equal(extkey_sign_count(d->key), 3);
	test_broker_stop(&b);
	device_free(d);
}

/* ---- early smoke tests (smoke_begin): the identity handed over later */

/* The early test of `p` without its identity. */
static struct smoke_early *
begin_early(const struct smoke_params *p)
{
	struct smoke_params q = *p;
	struct smoke_early *e;

	q.cert = NULL;
	q.chain = NULL;
	q.topic = NULL;
	e = smoke_begin(&q);
	assert_non_null(e);
	return e;
}

/* The same, once its thread has the broker's part done and waits. */
static struct smoke_early *
begin_waiting(const struct smoke_params *p)
{
	struct smoke_early *e = begin_early(p);
	struct deadline dl = deadline_in(test_ms(10000));

	while (!smoke_early_waiting(e) && !deadline_passed(dl))
		usleep(1000);
	assert_true(smoke_early_waiting(e));
	return e;
}

static void
expect_early_pass(int rsa, int tls)
{
	const char *cn = rsa ? "dev-early-rsa" : "dev-early";
	struct device *d = device_new(cn, rsa, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, cn, tls);
	struct smoke_early *e = begin_waiting(&p);
	struct smoke_result r;
	char *cause = NULL;

	/* The broker's part is done and the chip was not asked. */
	assert_int_equal(d->chip.calls, 0);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, p.host, p.port,
			     p.topic, p.deadline),
	    0);
	assert_int_equal(smoke_end(e, &r, &cause), ST_OK);
	assert_string_equal(r.diagnosis, "pass");
	assert_true(r.puback_reason == 0x00 || r.puback_reason == 0x10);
	assert_string_equal(r.tls_version, tls == 13 ? "TLSv1.3" : "TLSv1.2");
	assert_int_equal(d->chip.calls, 1);
	assert_null(cause);
	smoke_result_clear(&r);
	device_free(d);
}

static void
test_early_smoke_waits_for_the_identity_then_passes(void **state)
{
	(void)state;
	expect_early_pass(0, 13);
	expect_early_pass(0, 12);
	expect_early_pass(1, 13);
}

static void
test_early_smoke_abandoned_before_the_hand_over_signs_nothing(void **state)
{
	(void)state;
	struct device *d = device_new("dev-gone", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-gone", 13);

	smoke_abandon(begin_waiting(&p));
	assert_int_equal(d->chip.calls, 0);
	assert_int_equal(extkey_sign_count(d->key), 0);
	/* Not begun at all: nothing to let go. */
	smoke_abandon(NULL);
	device_free(d);
}

/* What the early test cannot take is refused, nothing handed over. */
static void
test_early_smoke_refuses_what_it_cannot_take(void **state)
{
	(void)state;
	struct device *d = device_new("dev-mine", 0, 0, -1, 30, NULL, NULL);
	struct device *other =
	    device_new("dev-other", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-mine", 13);
	struct smoke_early *e = begin_waiting(&p);

	assert_int_equal(smoke_hand(e, other->cert, w.chain, p.host, p.port,
			     p.topic, p.deadline),
	    -1);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, "localhost", p.port,
			     p.topic, p.deadline),
	    -1);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, p.host, p.port + 1,
			     p.topic, p.deadline),
	    -1);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, p.host, p.port, NULL,
			     p.deadline),
	    -1);
	assert_true(smoke_early_waiting(e));
	smoke_abandon(e);
	assert_int_equal(d->chip.calls, 0);
	device_free(other);
	device_free(d);
}

/* A failure of the broker's part is the verdict smoke_run gives. */
static void
test_early_smoke_closed_port_is_broker_unreachable(void **state)
{
	(void)state;
	struct device *d = device_new("dev-e-down", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-e-down", 13);
	struct smoke_early *e;
	struct smoke_result r;
	char *cause = NULL;
	int fd;

	p.port = loopback_port(0, &fd);
	e = begin_early(&p);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, p.host, p.port,
			     p.topic, p.deadline),
	    0);
	assert_int_equal(smoke_end(e, &r, &cause), ST_E_HANGUP);
	assert_string_equal(r.diagnosis, "broker-unreachable");
	assert_non_null(strstr(cause, "broker-unreachable"));
	smoke_result_clear(&r);
	free(cause);
	device_free(d);
}

/* Begun with a long wait, handed a short deadline: the step's deadline
 * bounds what is left (a broker that never answers). */
static void
test_early_smoke_keeps_the_deadline_handed_over(void **state)
{
	(void)state;
	struct device *d = device_new("dev-e-slow", 0, 0, -1, 30, NULL, NULL);
	struct smoke_params p = params_for(d, "dev-e-slow", 13);
	struct smoke_early *e;
	struct smoke_result r;
	char *cause = NULL;
	int fd;

	p.port = loopback_port(1, &fd);
	p.deadline = deadline_in(test_ms(600000));
	e = begin_early(&p);
	assert_int_equal(smoke_hand(e, d->cert, w.chain, p.host, p.port,
			     p.topic, deadline_in(300)),
	    0);
	assert_int_equal(smoke_end(e, &r, &cause), ST_E_TIMEOUT);
	assert_string_equal(r.diagnosis, "timeout");
	smoke_result_clear(&r);
	free(cause);
	close(fd);
	device_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ec_tls13_passes),
		cmocka_unit_test(test_ec_tls12_passes),
		cmocka_unit_test(test_rsa_tls13_passes),
		cmocka_unit_test(test_rsa_tls12_passes),
		cmocka_unit_test(test_wrong_chip_key_is_signature_refused),
		cmocka_unit_test(
		    test_wrong_chip_key_tls12_is_signature_refused),
		cmocka_unit_test(test_foreign_ca_certificate_is_cert_refused),
		cmocka_unit_test(test_expired_certificate_is_cert_refused),
		cmocka_unit_test(test_other_devices_topic_is_acl_denied),
		cmocka_unit_test(test_closed_port_is_broker_unreachable),
		cmocka_unit_test(test_silent_listener_is_timeout),
		cmocka_unit_test(test_wrong_server_name_is_broker_wrong_host),
		cmocka_unit_test(test_foreign_trust_file_is_broker_untrusted),
		cmocka_unit_test(test_default_configured_broker_passes),
		cmocka_unit_test(
		    test_early_smoke_waits_for_the_identity_then_passes),
		cmocka_unit_test(
		    test_early_smoke_abandoned_before_the_hand_over_signs_nothing),
		cmocka_unit_test(test_early_smoke_refuses_what_it_cannot_take),
		cmocka_unit_test(
		    test_early_smoke_closed_port_is_broker_unreachable),
		cmocka_unit_test(
		    test_early_smoke_keeps_the_deadline_handed_over),
	};

	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
