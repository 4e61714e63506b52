/*
 * The agent firmware under QEMU (make check-firmware; not part of make
 * check, which needs no cross toolchain): build/bin/devsim-qemu starts
 * the mps2-an385 image with devsim's interface, and `station provision`
 * over tcp: reaches PASS against it, smoke test included, the TLS
 * handshake to the real test Mosquitto signed by mbedTLS on the emulated
 * Cortex-M3 through the SIGN command.  A profile asking for an RSA key the
 * firmware's chip does not offer fails with the device's reason.  The
 * firmware takes a window of 4 (protocol.md 6.3) and no baud switch: a
 * chain goes there and back through the window, byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "drivers/transport/transport.h"
#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/provision_env.h"
#include "tests/support/smoke_env.h"

static struct smoke_env *se;
static struct devsim_proc *sim;

/* A station home with `profile_lines`, and a broker trusting its CA. */
static void
setup_station(const char *profile_lines)
{
	se = smoke_env_new(profile_lines, NULL, 300);
}

static int
teardown(void **state)
{
	(void)state;
	devsim_proc_stop(sim);
	sim = NULL;
	smoke_env_free(se);
	se = NULL;
	return 0;
}

static void
start_firmware(const char *serial)
{
	const char *args[] = { "--serial", serial, "--lifetime", "300", NULL };

	sim = devsim_proc_start(args);
	assert_non_null(sim);
	assert_non_null(strstr(sim->uri, "tcp:127.0.0.1:"));
}

static int
provision(void)
{
	return smoke_env_provision(se, sim->uri, NULL);
}

/* The whole flow on the firmware: PASS, the smoke test passed on the
 * broker, the ledger's run says so and holds a live certificate. */
static void
test_firmware_provisions_with_smoke_test(void **state)
{
	(void)state;
	struct run_record r = { 0 };
	struct ledger *l;

	setup_station(NULL);
	start_firmware("FW-E2E-1");
	assert_int_equal(provision(), 0);
	assert_string_equal(prov_jstr(se->res, "result"), "PASS");
	assert_string_equal(prov_jstr(se->res, "serial"), "FW-E2E-1");
	assert_string_equal(prov_jstr(se->res, "smoke"), "passed");
	l = prov_ledger(se->env);
	assert_int_equal(ledger_run_get(l,
			     (int64_t)json_integer_value(
				 json_object_get(se->res, "run_id")),
			     &r, NULL),
	    ST_OK);
	assert_string_equal(r.result, "PASS");
	assert_string_equal(r.smoke_status, "passed");
	assert_non_null(strstr(r.smoke_detail, "factory/selftest/FW-E2E-1"));
	assert_int_equal(prov_count_certs(l, "FW-E2E-1", "live"), 1);
	ledger_run_record_clear(&r);
	ledger_close(l);
}

/* The firmware's chip offers P-256 only: an RSA profile fails, and no
 * certificate is issued. */
static void
test_rsa_profile_fails_on_the_p256_chip(void **state)
{
	(void)state;
	struct ledger *l;

	setup_station("key = rsa-2048\n");
	start_firmware("FW-E2E-2");
	assert_int_equal(provision(), 1);
	assert_string_equal(prov_jstr(se->res, "result"), "FAIL");
	assert_string_equal(prov_jstr(se->res, "failed_step"), "keygen");
	assert_non_null(strstr(prov_jstr(se->res, "reason"), "UNSUPPORTED"));
	l = prov_ledger(se->env);
	assert_int_equal(prov_count_certs(l, "FW-E2E-2", "live"), 0);
	ledger_close(l);
}

/* HELLO through the station's client: the firmware agrees a window of 4
 * and offers no baud switch; a 3-certificate chain (three frames of 1024
 * bytes in flight) is written and read back unchanged. */
static void
test_firmware_window(void **state)
{
	(void)state;
	static uint8_t certs[3][1000];
	const uint8_t *der[3] = { certs[0], certs[1], certs[2] };
	size_t len[3] = { 1000, 1000, 1000 }, want_len, back_len = 0, spki_len;
	struct transport *t = NULL;
	struct client *cli;
	struct dev_info info;
	struct tlv_writer w;
	uint8_t *want, *back = NULL, *spki = NULL;
	char *cause = NULL;

	start_firmware("FW-E2E-3");
	for (size_t i = 0; i < sizeof certs; i++)
		certs[i / 1000][i % 1000] = (uint8_t)(i * 7 + 1);
	if (transport_open(sim->uri, deadline_in(5000), &t, &cause))
		fail_msg("connecting to %s: %s", sim->uri, cause);
	cli = client_new(t, NULL);
	if (dev_hello(cli, &info, &cause))
		fail_msg("HELLO: %s", cause);
	assert_true(info.caps & PROTO_CAP_WINDOW);
	assert_false(info.caps & PROTO_CAP_BAUD_SWITCH);
	assert_int_equal(info.window, 4);
	assert_int_equal(client_window(cli), 4);
	dev_info_clear(&info);
	if (dev_keygen(cli, PROTO_ALG_EC_P256, 0, &spki, &spki_len, &cause))
		fail_msg("KEYGEN: %s", cause);
	free(spki);
	if (dev_write_chain(cli, der, len, 3, &cause))
		fail_msg("WRITE_CHAIN: %s", cause);
	if (dev_read_chain(cli, &back, &back_len, &cause))
		fail_msg("READ_CHAIN: %s", cause);
	tlv_writer_init(&w);
	for (int i = 0; i < 3; i++)
		tlv_put(&w, PROTO_T_CERT, der[i], len[i]);
	want = tlv_writer_take(&w, &want_len);
	assert_int_equal(back_len, want_len);
	assert_memory_equal(back, want, want_len);
	free(want);
	free(back);
	client_free(cli);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    test_firmware_provisions_with_smoke_test, teardown),
		cmocka_unit_test_teardown(
		    test_rsa_profile_fails_on_the_p256_chip, teardown),
		cmocka_unit_test_teardown(test_firmware_window, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
