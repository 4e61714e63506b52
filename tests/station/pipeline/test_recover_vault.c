/*
 * Crash recovery with Vault as the CA: the backend's find_issued (GET
 * {mount}/cert/{serial} of the serial the run recorded from Vault's
 * reply, never LIST {mount}/certs, against the test server following
 * Vault's documented API over TLS), and station_recover() finding a
 * certificate Vault issued for a run whose station died after Vault's
 * reply (also in a mount of 10,000 certificates: one read, no listing),
 * leaving alone another device's certificate Vault returned instead, and
 * finishing a run that died before the reply (no serial: nothing to look
 * up, the log says where to look), with a real ledger file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/pipeline/station.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/vault_api_server.h"

#define TOKEN "hvs.CAESIRecoveryTokenMustNotLeak0005"

struct fx {
	char *tmp;
	struct pki_chain *pki;
	struct vault_api_server *vault;
	char *token_file;
	struct ca_test_settings set;
	struct ca_backend *ca;
	char *cause;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->pki = pki_chain_new(fx->tmp, "Vault Recovery");
	fx->vault = vault_api_server_start(fx->pki, TOKEN);
	fx->token_file = scratch_write(fx->tmp, "token", TOKEN "\n", 0600);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_test_done(fx->cause, NULL, fx->ca);
	vault_api_server_stop(fx->vault);
	pki_chain_free(fx->pki);
	free(fx->token_file);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx);
	return 0;
}

static void
open_vault(struct fx *fx, const char *token_file)
{
	char addr[64];

	snprintf(addr, sizeof addr, "%s", vault_api_server_addr(fx->vault));
	assert_int_equal(ca_open("vault",
			     ca_test_settings(&fx->set, "addr", addr, "role",
				 "device", "ca_bundle", fx->pki->root_pem,
				 "token_file", token_file, NULL),
			     &fx->ca, &fx->cause),
	    ST_OK);
}

/* Sign a CSR for `key` through the backend; returns the serial (new). */
static char *
issue(struct fx *fx, EVP_PKEY *key, const char *cn)
{
	char *subject = xasprintf("C=US,O=Example-Org,CN=%s", cn);
	X509_REQ *csr = pki_make_csr(
	    &(struct pki_csr_spec){ .key = key, .subject = subject });
	struct profile p;
	struct ca_issued issued = { 0 };

	pki_profile(&p);
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = cn,
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
key_sha256(EVP_PKEY *key, char hex[65])
{
	size_t len = 0;
	uint8_t *spki = pki_spki(key, &len);

	spki_sha256_hex(spki, len, hex);
	free(spki);
}

struct found {
	int n;
	char *serial;
};

static int
found_cb(X509 *cert, void *arg)
{
	struct found *f = arg;

	f->n++;
	free(f->serial);
	f->serial = cert_serial_hex(cert);
	return 0;
}

static st_err
find(struct fx *fx, const char *key, const char *serial, struct found *f)
{
	struct ca_lookup q = { .key_sha256 = key,
		.device_serial = "FIND-B",
		.serial_hex = serial };

	free(fx->cause);
	fx->cause = NULL;
	return ca_find_issued(fx->ca, &q, found_cb, f, &fx->cause);
}

static void
test_find_issued_reads_the_recorded_serial_and_lists_nothing(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *a = pki_key_ec("P-256"), *b = pki_key_ec("P-256");
	struct found f = { 0 };
	char hex_a[65], hex_b[65];

	open_vault(fx, fx->token_file);
	assert_null(fx->ca->ops->find_by_key); /* no search by listing */
	char *sa = issue(fx, a, "FIND-A");
	char *sb = issue(fx, b, "FIND-B");

	key_sha256(a, hex_a);
	key_sha256(b, hex_b);
	assert_int_equal(find(fx, hex_b, sb, &f), ST_OK);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.serial, sb);
	assert_int_equal(fx->vault->n_get, 1);
	assert_int_equal(fx->vault->n_list, 0);

	/* The recorded serial's certificate is for another key: not the
	 * run's. */
	assert_int_equal(find(fx, hex_a, sb, &f), ST_OK);
	assert_int_equal(f.n, 1);
	/* A serial Vault no longer has (tidied): nothing, no error. */
	assert_int_equal(find(fx, hex_b, "7f00aa", &f), ST_OK);
	assert_int_equal(f.n, 1);
	assert_int_equal(fx->vault->n_get, 3);
	/* No serial recorded: Vault cannot be searched, nothing is sent. */
	assert_int_equal(find(fx, hex_b, NULL, &f), ST_E_UNSUPPORTED);
	assert_int_equal(fx->vault->n_get, 3);
	assert_int_equal(fx->vault->n_list, 0);
	assert_string_not_equal(sa, sb);

	free(f.serial);
	free(sa);
	free(sb);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void
test_find_issued_with_a_refused_token_is_a_ca_error(void **state)
{
	struct fx *fx = *state;
	struct found f = { 0 };

	open_vault(fx, fx->token_file);
	/* The token is revoked at Vault after the station started. */
	snprintf(fx->vault->token, sizeof fx->vault->token, "%s",
	    "hvs.WrongRecoveryToken0006");
	assert_int_equal(find(fx, "00", "1a2b", &f), ST_E_CA);
	assert_non_null(strstr(fx->cause, "403"));
	assert_null(strstr(fx->cause, TOKEN));
	assert_int_equal(f.n, 0);
}

static struct station *
open_station(struct fx *fx, const char *home)
{
	char *ini = xasprintf(
	    "[station]\nhome = %s\n[ca]\nbackend = vault\n"
	    "addr = %s\nrole = device\ntoken_file = %s\nca_bundle = %s\n"
	    "root = %s\n",
	    home, vault_api_server_addr(fx->vault), fx->token_file,
	    fx->pki->root_pem, fx->pki->root_pem);
	char *path = scratch_write(home, "station.ini", ini, 0600);
	struct station *st = NULL;
	char *cause = NULL;

	if (station_open(&(struct station_opts){ .config_path = path }, &st,
		&cause) != ST_OK)
		fail_msg("station_open: %s", cause);
	free(path);
	free(ini);
	return st;
}

/* A run of device `serial` whose station died in ca-sign, after the
 * run's intent (the SHA-256 of `key`) was recorded, in a new station home
 * *home (<tmp>/home, new string; STATION_HOME set); returns its id. */
static int64_t
dead_run_in_ca_sign(struct fx *fx, EVP_PKEY *key, const char *serial,
    char **home)
{
	*home = xasprintf("%s/home", fx->tmp);
	assert_int_equal(mkdir(*home, 0700), 0);
	setenv("STATION_HOME", *home, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	struct station *st = open_station(fx, *home);
	struct run_start s = { .station_id = "st-test",
		.device_uri = "tcp:127.0.0.1:1",
		.owner_pid = proc_dead_pid(),
		.owner_start = 1 };
	struct device_record d = { .serial = serial };
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

/* The station died after Vault's reply arrived: the run recorded its
 * serial (ledger_run_ca_reply), not the certificate. */
static void
record_reply(const char *home, int64_t id, const char *serial)
{
	char *path = xasprintf("%s/ledger.db", home);
	struct ledger *l = NULL;

	assert_int_equal(ledger_open(path, &l, NULL), ST_OK);
	assert_int_equal(ledger_run_ca_reply(l, id, serial, NULL), ST_OK);
	ledger_close(l);
	free(path);
}

/* The station died after Vault issued but before the ledger recorded the
 * certificate: the next start finds it at Vault by the key recorded as
 * the run's intent, records it for the run, revokes it through Vault and
 * fails the run at ca-sign. */
static void
test_recovery_finds_what_vault_issued_for_a_dead_run(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	char *home = NULL;
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-V1", &home);

	/* Vault signs; the station that asked is gone before recording. */
	open_vault(fx, fx->token_file);
	char *serial = issue(fx, key, "REC-V1");
	record_reply(home, id, serial);
	int gets = fx->vault->n_get;

	struct station *st = open_station(fx, home);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(st->ledger, serial, &c, NULL), ST_OK);
	assert_int_equal(c.run_id, id);
	assert_string_equal(c.device_serial, "REC-V1");
	assert_string_equal(c.backend, "vault");
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	assert_int_equal(fx->vault->n_revoke, 1);
	assert_true(fx->vault->last_serial[0] != '\0');
	/* One read of the recorded serial; the mount was never listed. */
	assert_int_equal(fx->vault->n_get - gets, 1);
	assert_int_equal(fx->vault->n_list, 0);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.failed_step, "ca-sign");
	assert_string_equal(r.cert_serial, serial);
	ledger_run_record_clear(&r);

	station_close(st);
	unsetenv("STATION_HOME");
	free(serial);
	EVP_PKEY_free(key);
	free(home);
}

/* The station died while Vault answered with another device's
 * certificate: recovery looks up by the run's key, so that certificate
 * is neither recorded for the run nor revoked; the run still FAILs. */
static void
test_recovery_leaves_another_devices_certificate_alone(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	char *home = NULL;
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-V2", &home);

	fx->vault->mode = VAULT_OTHER_DEVICE;
	open_vault(fx, fx->token_file);
	char *foreign = issue(fx, key, "REC-V2");
	record_reply(home, id, foreign);

	struct station *st = open_station(fx, home);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(st->ledger, foreign, &c, NULL),
	    ST_E_NOTFOUND);
	assert_true(fx->vault->n_get > 0); /* recovery did look */
	assert_int_equal(fx->vault->n_revoke, 0);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_null(r.cert_serial);
	ledger_run_record_clear(&r);

	station_close(st);
	unsetenv("STATION_HOME");
	free(foreign);
	EVP_PKEY_free(key);
	free(home);
}

/* A mount of 10,000 certificates: a LIST of them is past the station's
 * reply cap.  Recovery reads the one recorded serial and lists nothing. */
static void
test_recovery_in_a_mount_of_10000_certificates_reads_one(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	char *home = NULL;

	vault_api_server_hold(fx->vault, 10000);
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-V3", &home);
	open_vault(fx, fx->token_file);
	char *serial = issue(fx, key, "REC-V3");
	record_reply(home, id, serial);
	int requests = fx->vault->n_requests;

	struct station *st = open_station(fx, home);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(st->ledger, serial, &c, NULL), ST_OK);
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	/* Exactly a read and a revoke; no LIST of the 10,000. */
	assert_int_equal(fx->vault->n_list, 0);
	assert_int_equal(fx->vault->n_requests - requests, 2);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	ledger_run_record_clear(&r);

	station_close(st);
	unsetenv("STATION_HOME");
	free(serial);
	EVP_PKEY_free(key);
	free(home);
}

/* The station died before Vault's reply arrived: no serial, nothing to
 * look up.  The run still ends (FAIL), nothing is asked of Vault's PKI,
 * and the log tells the administrator where to look. */
static void
test_recovery_without_a_recorded_reply_ends_the_run(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	char *home = NULL;
	int64_t id = dead_run_in_ca_sign(fx, key, "REC-V4", &home);

	struct station *st = open_station(fx, home);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.failed_step, "ca-sign");
	assert_null(r.cert_serial);
	ledger_run_record_clear(&r);
	assert_int_equal(fx->vault->n_requests, 0);
	assert_true(ca_test_seen("find it at the CA"));

	station_close(st);
	unsetenv("STATION_HOME");
	EVP_PKEY_free(key);
	free(home);
}

static void
test_no_credential_in_any_log_line_or_cause(void **state)
{
	(void)state;
	assert_true(ca_test_seen("issued serial"));
	assert_false(ca_test_secret_leaked(TOKEN));
	assert_false(ca_test_secret_leaked("hvs.WrongRecoveryToken0006"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_find_issued_reads_the_recorded_serial_and_lists_nothing),
		T(test_find_issued_with_a_refused_token_is_a_ca_error),
		T(test_recovery_finds_what_vault_issued_for_a_dead_run),
		T(test_recovery_leaves_another_devices_certificate_alone),
		T(test_recovery_in_a_mount_of_10000_certificates_reads_one),
		T(test_recovery_without_a_recorded_reply_ends_the_run),
		cmocka_unit_test(test_no_credential_in_any_log_line_or_cause),
	};

	ca_test_capture_logs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
