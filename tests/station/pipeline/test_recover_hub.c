/*
 * Crash recovery with the device hub as the CA, against the test server
 * following the hub's documented API (seed 000) over TLS, with a real
 * ledger file: a run whose station died in ca-sign, after the hub signed
 * but before the ledger recorded the certificate.  The hub cannot search
 * by key, but it says which certificate a device holds (GET
 * /api/devices/certificates/{deviceId}); recovery takes it when it is for
 * the run's key, records it for the run and revokes it (DELETE, it being
 * the device's current certificate), and the run ends FAIL.  A
 * certificate the hub holds for the device under another key (a later
 * issuance) is left alone.
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

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/pipeline/station.h"
#include "station/x509/cert_check.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/hub_api_server.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct fx {
	char *tmp, *home;
	struct pki_chain *pki;
	struct hub_api_server *hub;
	struct ca_test_settings set;
	struct ca_backend *ca;
	char *cause;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->pki = pki_chain_new(fx->tmp, "Hub Recovery");
	fx->hub = hub_api_server_start(fx->pki);
	fx->home = xasprintf("%s/home", fx->tmp);
	assert_int_equal(mkdir(fx->home, 0700), 0);
	setenv("STATION_HOME", fx->home, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	unsetenv("STATION_HOME");
	ca_test_done(fx->cause, NULL, fx->ca);
	hub_api_server_stop(fx->hub);
	pki_chain_free(fx->pki);
	scratch_rmtree(fx->tmp);
	free(fx->home);
	free(fx->tmp);
	free(fx);
	return 0;
}

static struct station *
open_station(struct fx *fx)
{
	char *ini = xasprintf("[station]\nhome = %s\n[ca]\nbackend = hub\n"
			      "addr = %s\nca_bundle = %s\nroot = %s\n",
	    fx->home, hub_api_server_addr(fx->hub), fx->pki->root_pem,
	    fx->pki->root_pem);
	char *path = scratch_write(fx->home, "station.ini", ini, 0600);
	struct station *st = NULL;
	char *cause = NULL;

	if (station_open(&(struct station_opts){ .config_path = path }, &st,
		&cause) != ST_OK)
		fail_msg("station_open: %s", cause);
	free(path);
	free(ini);
	return st;
}

static void
key_sha256(EVP_PKEY *key, char hex[65])
{
	size_t len = 0;
	uint8_t *spki = pki_spki(key, &len);

	spki_sha256_hex(spki, len, hex);
	free(spki);
}

/* A run of `device` whose station died in ca-sign after recording the
 * intent for `key`; returns its id. */
static int64_t
dead_run_in_ca_sign(struct fx *fx, EVP_PKEY *key, const char *device)
{
	struct station *st = open_station(fx);
	struct run_start s = { .station_id = "st-test",
		.device_uri = "tcp:127.0.0.1:1",
		.owner_pid = proc_dead_pid(),
		.owner_start = 1 };
	struct device_record d = { .serial = device };
	char hex[65];
	int64_t id = 0;

	assert_int_equal(ledger_run_begin(st->ledger, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_device(st->ledger, id, &d, NULL), ST_OK);
	assert_int_equal(ledger_run_event(st->ledger, id, "csr-policy",
			     LEDGER_EV_OK, NULL, NULL),
	    ST_OK);
	key_sha256(key, hex);
	assert_int_equal(ledger_run_ca_request(st->ledger, id, hex, NULL),
	    ST_OK);
	station_close(st);
	return id;
}

/* The hub signs a CSR for `key` as device `device`; the serial (new). */
static char *
hub_signs(struct fx *fx, EVP_PKEY *key, const char *device)
{
	char addr[64];
	char *subject = xasprintf("C=US,O=Example-Org,CN=%s", device);
	X509_REQ *csr = pki_make_csr(
	    &(struct pki_csr_spec){ .key = key, .subject = subject });
	struct ca_issued issued = { 0 };
	struct profile p;

	if (fx->ca == NULL) {
		snprintf(addr, sizeof addr, "%s", hub_api_server_addr(fx->hub));
		assert_int_equal(ca_open("hub",
				     ca_test_settings(&fx->set, "addr", addr,
					 "ca_bundle", fx->pki->root_pem, NULL),
				     &fx->ca, &fx->cause),
		    ST_OK);
	}
	pki_profile(&p);
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = device,
		.deadline = deadline_in(test_ms(5000)) };
	if (ca_sign(fx->ca, &req, &issued, &fx->cause) != ST_OK)
		fail_msg("sign: %s", fx->cause);
	char *serial = xstrdup(issued.serial_hex);
	ca_issued_clear(&issued);
	X509_REQ_free(csr);
	free(subject);
	return serial;
}

static void
test_recovery_takes_the_devices_certificate_from_the_hub(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-H1");
	char *serial = hub_signs(fx, key, "REC-H1");

	struct station *st = open_station(fx);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(st->ledger, serial, &c, NULL), ST_OK);
	assert_int_equal(c.run_id, id);
	assert_string_equal(c.device_serial, "REC-H1");
	assert_string_equal(c.backend, "hub");
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	assert_true(hub_api_server_revoked(fx->hub, serial));
	assert_int_equal(fx->hub->n_delete, 1);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.failed_step, "ca-sign");
	assert_string_equal(r.cert_serial, serial);
	ledger_run_record_clear(&r);

	station_close(st);
	free(serial);
	EVP_PKEY_free(key);
}

/* The hub's certificate for the device is for another key: not the
 * run's; nothing recorded, nothing revoked, the run still ends. */
static void
test_recovery_leaves_a_certificate_for_another_key_alone(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256"), *later = pki_key_ec("P-256");
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-H2");
	char *other = hub_signs(fx, later, "REC-H2");

	struct station *st = open_station(fx);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(st->ledger, other, &c, NULL),
	    ST_E_NOTFOUND);
	assert_true(fx->hub->n_get >= 1); /* recovery did look */
	assert_int_equal(fx->hub->n_delete, 0);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_null(r.cert_serial);
	ledger_run_record_clear(&r);

	station_close(st);
	free(other);
	EVP_PKEY_free(key);
	EVP_PKEY_free(later);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_recovery_takes_the_devices_certificate_from_the_hub),
		T(test_recovery_leaves_a_certificate_for_another_key_alone),
	};

	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
