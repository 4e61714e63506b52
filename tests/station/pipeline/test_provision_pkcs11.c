/*
 * `station provision` against devsim --chip pkcs11: the device's key is
 * generated in a SoftHSM2 token and every signature the station asks for
 * (the CSR, the proof of possession, the mTLS handshake with a real
 * Mosquitto) is made there.  The run reaches PASS, smoke test included,
 * and the ledger records the chip HELLO named; then the test opens the
 * token itself through the PKCS#11 API and finds the key born there and
 * unreadable (CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE; its private value refused), devsim's state file
 * naming the key and holding no key bytes, and a restarted devsim
 * answering with the same key and certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <p11-kit-1/p11-kit/pkcs11.h>
#include <sqlite3.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/smoke_env.h"
#include "tests/support/dev_session.h"
#include "tests/support/p11_inspect.h"
#include "tests/support/provision_env.h"
#include "tests/support/secret_scan.h"
#include "tests/support/station_env.h"

#define SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define STATE_TAG_CHIP 1 /* devsim --state file: the chip's blob */

static struct smoke_env *se;
static char *state, *token_dir;

static void
setup_station(const char *profile_lines)
{
	char *mk;

	if (access(SOFTHSM_MODULE, R_OK) != 0) {
		fprintf(stderr, "softhsm2 is not installed: skipping\n");
		skip();
	}
	se = smoke_env_new(profile_lines, NULL, 120);
	/* The device's storage, outside the station's home. */
	state = xasprintf("%s/device/dev.state", se->env->home);
	token_dir = xasprintf("%s.pkcs11", state);
	mk = xasprintf("mkdir -p '%s/device'", se->env->home);
	assert_int_equal(system(mk), 0);
	free(mk);
}

static int
teardown(void **st)
{
	dev_session_teardown(st);
	smoke_env_free(se);
	se = NULL;
	free(state);
	free(token_dir);
	state = token_dir = NULL;
	return 0;
}

static void
start_device(const char *serial)
{
	const char *args[] = { "--serial", serial, "--chip", "pkcs11",
		"--state", state, NULL };

	dev_session_start(args);
}

/* The chip the ledger recorded for `serial` (HELLO's CHIP; caller frees),
 * read from the ledger file without the station's code. */
static char *
ledger_chip(const char *serial)
{
	char *path = xasprintf("%s/ledger.db", se->env->home), *chip = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT chip FROM devices WHERE serial = ?", -1,
			     &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		chip = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return chip;
}

static void
provision_passes(const char *serial)
{
	char *chip;
	int status = smoke_env_provision(se, ds.sim->uri, NULL);

	if (status != 0)
		fail_msg("provision: %s", json_dumps(se->res, 0));
	assert_string_equal(prov_jstr(se->res, "result"), "PASS");
	assert_string_equal(prov_jstr(se->res, "smoke"), "passed");
	chip = ledger_chip(serial);
	assert_non_null(chip);
	assert_string_equal(chip, "pkcs11-p256-rsa2048");
	free(chip);
}

/* The token's key: one pair, born in the token, never readable. */
static void
assert_key_stays_in_token(void)
{
	struct p11_key_facts k;

	assert_int_equal(p11_inspect(token_dir, "devsim slot 0", &k), 0);
	assert_int_equal(k.private_keys, 1);
	assert_int_equal(k.public_keys, 1);
	assert_int_equal(k.token, 1);
	assert_int_equal(k.priv, 1);
	assert_int_equal(k.local, 1);
	assert_int_equal(k.sensitive, 1);
	assert_int_equal(k.extractable, 0);
	assert_int_equal(k.always_sensitive, 1);
	assert_int_equal(k.never_extractable, 1);
	assert_int_equal(k.value_rv, CKR_ATTRIBUTE_SENSITIVE);
	assert_true(k.value_len == CK_UNAVAILABLE_INFORMATION);
}

/* The state file's chip blob names the key and holds no key: no element
 * decodes as a private key, and no PEM key is anywhere in the device's
 * storage (state file, pins, token store). */
static void
assert_state_holds_no_key(void)
{
	size_t len = 0, pos = 0;
	uint8_t *file = slurp(state, &len);
	struct secret_set *none = secret_set_new();
	struct tlv chip, e;
	int n = 0, files = 0;
	char *dev_dir = xasprintf("%s/device", se->env->home);

	assert_non_null(file);
	assert_int_equal(tlv_validate(file, len, NULL), ST_OK);
	assert_true(tlv_find(file, len, STATE_TAG_CHIP, &chip));
	while (tlv_next(chip.val, chip.len, &pos, &e)) {
		assert_int_equal(e.tag, 0);
		assert_memory_equal(e.val, "devsim slot 0", e.len);
		assert_int_equal(secret_set_add_key_der(none, "slot 0", e.val,
				     e.len),
		    -1);
		n++;
	}
	assert_int_equal(n, 1);
	assert_int_equal(secret_scan(none, dev_dir, NULL, &files), 0);
	assert_true(files >= 3);
	secret_set_free(none);
	free(dev_dir);
	free(file);
}

/* devsim restarted on the same state and token: HELLO names the chip,
 * READ_CERT gives the certificate the run issued (its fingerprint) and
 * PUBKEY that certificate's key. */
static void
assert_restart_keeps_key_and_cert(const char *serial)
{
	struct dev_info info;
	uint8_t *cert = NULL, *spki = NULL, *cert_spki = NULL, md[32];
	size_t cert_len = 0, spki_len = 0;
	char *cause = NULL, hex[65];
	const unsigned char *p;
	X509 *x;
	int n;

	client_free(ds.cli);
	devsim_proc_stop(ds.sim);
	ds = (struct dev_session){ 0 };
	assert_key_stays_in_token();
	assert_state_holds_no_key();
	start_device(serial);
	dev_session_connect(NULL);
	if (dev_hello(ds.cli, &info, &cause))
		fail_msg("HELLO: %s", cause);
	assert_string_equal(info.chip, "pkcs11-p256-rsa2048");
	assert_string_equal(proto_state_name(info.state), "committed");
	dev_info_clear(&info);
	if (dev_read_cert(ds.cli, &cert, &cert_len, &cause))
		fail_msg("READ_CERT: %s", cause);
	SHA256(cert, cert_len, md);
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex, prov_jstr(se->res, "fingerprint"));
	if (dev_pubkey(ds.cli, 0, &spki, &spki_len, &cause))
		fail_msg("PUBKEY: %s", cause);
	p = cert;
	x = d2i_X509(NULL, &p, (long)cert_len);
	assert_non_null(x);
	n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &cert_spki);
	assert_int_equal((size_t)n, spki_len);
	assert_memory_equal(cert_spki, spki, spki_len);
	OPENSSL_free(cert_spki);
	X509_free(x);
	free(cert);
	free(spki);
}

/* EC P-256 (the default profile), TLS 1.3. */
static void
test_pkcs11_ec_device_passes_and_key_never_leaves_token(void **st)
{
	(void)st;

	setup_station("");
	start_device("P11-EC-1");
	provision_passes("P11-EC-1");
	assert_restart_keeps_key_and_cert("P11-EC-1");
}

/* RSA-2048 on TLS 1.2: the token signs RSA-PSS for the handshake. */
static void
test_pkcs11_rsa_device_passes_on_tls12(void **st)
{
	(void)st;

	setup_station("key = rsa-2048\ntls = 1.2\n");
	start_device("P11-RSA-1");
	provision_passes("P11-RSA-1");
	assert_restart_keeps_key_and_cert("P11-RSA-1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    test_pkcs11_ec_device_passes_and_key_never_leaves_token,
		    teardown),
		cmocka_unit_test_teardown(
		    test_pkcs11_rsa_device_passes_on_tls12, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
