/*
 * The baud switch after HELLO (docs/protocol.md 8.17) between the station's
 * client and devsim as a real process over TCP, with the URI saying the
 * endpoint follows the device's line rate (?baud=..&max_baud=..): the
 * highest rate both allow is proposed and confirmed by a HELLO at it; a
 * URI without max_baud, a device without CAP_BAUD_SWITCH and one that
 * refuses keep the starting rate; a device that acknowledges and then
 * hears nothing at the new rate (baud-mute) is found again at the old
 * one.  The link works at the end in every case (a chain written and read
 * back).  The same over the emulated USB-serial adapter is in
 * tests/drivers/transport/test_uart.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/transport/transport.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

/* devsim with `args`; a client on its URI + `query`; HELLO (and the
 * switch).  Returns the transport's rate afterwards. */
static unsigned
hello_with(const char *const *args, const char *query, struct dev_info *info,
    struct client_stats *st)
{
	struct transport *t = NULL;
	char *uri, *cause = NULL;
	size_t n;

	dev_session_start(args);
	n = strlen(ds.sim->uri) + strlen(query) + 1;
	uri = malloc(n);
	assert_non_null(uri);
	snprintf(uri, n, "%s%s", ds.sim->uri, query);
	if (transport_open(uri, deadline_in(test_ms(5000)), &t, &cause))
		fail_msg("connecting to %s: %s", uri, cause);
	free(uri);
	ds.cli = client_new(t, NULL);
	if (dev_hello(ds.cli, info, &cause))
		fail_msg("HELLO: %s", cause);
	client_get_stats(ds.cli, st);
	return t->baud;
}

/* KEYGEN, then a 2 KB chain written and read back byte for byte. */
static void
link_works(void)
{
	uint8_t certs[2][1024];

	assert_int_equal(RAND_bytes(&certs[0][0], sizeof certs), 1);
	dev_chain_round_trip(ds.cli, certs[0], certs[1], sizeof certs[0]);
}

/* Device up to 921600, URI up to 3000000: 921600, confirmed by a second
 * HELLO (three exchanges: HELLO, SET_BAUD, HELLO). */
static void
test_switch_to_the_device_maximum(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD1", "--baud", "115200",
		"--max-baud", "921600", NULL };
	struct dev_info info;
	struct client_stats st;
	unsigned baud =
	    hello_with(args, "?baud=115200&max_baud=3000000", &info, &st);

	assert_true(info.caps & PROTO_CAP_BAUD_SWITCH);
	assert_int_equal(info.max_baud, 921600);
	assert_string_equal(info.serial, "BAUD1");
	assert_int_equal(baud, 921600);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.retransmits, 0);
	dev_info_clear(&info);
	link_works();
}

/* The URI's max_baud below the device's: the URI's. */
static void
test_switch_to_the_uri_maximum(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD2", "--baud", "115200",
		"--max-baud", "3000000", NULL };
	struct dev_info info;
	struct client_stats st;

	assert_int_equal(hello_with(args, "?baud=115200&max_baud=460800", &info,
			     &st),
	    460800);
	dev_info_clear(&info);
	link_works();
}

/* ?baud= alone holds the rate: no SET_BAUD is sent. */
static void
test_baud_alone_holds_the_rate(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD3", "--baud", "115200",
		"--max-baud", "921600", NULL };
	struct dev_info info;
	struct client_stats st;

	assert_int_equal(hello_with(args, "?baud=115200", &info, &st), 115200);
	assert_int_equal(st.requests, 1);
	dev_info_clear(&info);
	link_works();
}

/* A version-1 device (no CAP_BAUD_SWITCH, no --max-baud): nothing but
 * HELLO, at the starting rate. */
static void
test_device_without_the_bit_is_not_asked(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD4", "--baud", "115200",
		"--window", "1", NULL };
	struct dev_info info;
	struct client_stats st;

	assert_int_equal(hello_with(args, "?baud=115200&max_baud=921600", &info,
			     &st),
	    115200);
	assert_false(info.caps & PROTO_CAP_BAUD_SWITCH);
	assert_int_equal(info.max_baud, 0);
	assert_int_equal(st.requests, 1);
	dev_info_clear(&info);
	link_works();
}

/* A device that announces the bit but refuses (an adapter that cannot):
 * the starting rate, no error. */
static void
test_refused_switch_keeps_the_rate(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD5", "--baud", "115200",
		"--max-baud", "921600", "--fault", "baud-refuse", NULL };
	struct dev_info info;
	struct client_stats st;

	assert_int_equal(hello_with(args, "?baud=115200&max_baud=921600", &info,
			     &st),
	    115200);
	assert_int_equal(st.requests, 2);
	dev_info_clear(&info);
	link_works();
}

/* Acknowledged, then nothing heard at the new rate: the station goes back
 * to the starting rate once the device has, and finds it there. */
static void
test_mute_after_ack_falls_back(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD6", "--baud", "115200",
		"--max-baud", "921600", "--fault", "baud-mute", NULL };
	struct dev_info info;
	struct client_stats st;

	assert_int_equal(hello_with(args, "?baud=115200&max_baud=921600", &info,
			     &st),
	    115200);
	assert_string_equal(info.serial, "BAUD6");
	/* HELLO, SET_BAUD, the HELLO at 921600 that went unheard, the
	 * HELLO at 115200. */
	assert_int_equal(st.requests, 4);
	dev_info_clear(&info);
	link_works();
}

/* `station provision` as a program over the URI `query` against devsim
 * with `args`: PASS. */
static void
provision_passes(const char *const *args, const char *query)
{
	const char *bin = getenv("STATION_BIN");
	char *home = scratch_dir(), *uri;
	struct proc_out o;
	size_t n;

	if (bin == NULL)
		skip();
	dev_session_start(args);
	n = strlen(ds.sim->uri) + strlen(query) + 1;
	uri = malloc(n);
	assert_non_null(uri);
	snprintf(uri, n, "%s%s", ds.sim->uri, query);
	const char *argv[] = { bin, "provision", uri, "--serial", args[1],
		"--json", "--quiet", NULL };
	int status = proc_run(argv, home, 60000, &o);
	if (status != 0)
		fprintf(stderr, "provision: %s\n%s\n", o.out, o.err);
	assert_int_equal(status, 0);
	assert_non_null(strstr(o.out, "\"result\":\"PASS\""));
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
	free(uri);
}

/* The whole pipeline after a switch to 921600. */
static void
test_provision_after_the_switch(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD7", "--baud", "115200",
		"--max-baud", "921600", NULL };

	provision_passes(args, "?baud=115200&max_baud=921600");
}

/* A version-1 device that ignores every new bit (no window, no switch)
 * PASSes with a URI that would allow both. */
static void
test_version_1_device_passes(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "BAUD8", "--baud", "115200",
		"--window", "1", "--max-frame", "256", NULL };

	provision_passes(args, "?baud=115200&max_baud=921600");
}

/* The tcp: rate options are checked before anything is opened. */
static void
test_tcp_rate_options(void **state)
{
	static const struct {
		const char *uri;
		st_err want;
		const char *names;
	} cases[] = {
		{ "tcp:127.0.0.1:4000?baud=115200", ST_OK, NULL },
		{ "tcp:127.0.0.1:4000?baud=115200&max_baud=921600", ST_OK,
		    NULL },
		{ "tcp:127.0.0.1:4000?max_baud=921600", ST_E_URI, "baud=" },
		{ "tcp:127.0.0.1:4000?baud=921600&max_baud=115200", ST_E_URI,
		    "below" },
		{ "tcp:127.0.0.1:4000?baud=fast", ST_E_URI, "baud" },
		{ "tcp:127.0.0.1:4000?speed=9600", ST_E_URI, "speed" },
		{ "tcp:127.0.0.1:x?baud=9600", ST_E_URI, "port" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *cause = NULL;

		assert_int_equal(transport_check(cases[i].uri, &cause),
		    cases[i].want);
		if (cases[i].names)
			assert_non_null(strstr(cause, cases[i].names));
		free(cause);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DEV_SESSION_TEST(test_switch_to_the_device_maximum),
		DEV_SESSION_TEST(test_switch_to_the_uri_maximum),
		DEV_SESSION_TEST(test_baud_alone_holds_the_rate),
		DEV_SESSION_TEST(test_device_without_the_bit_is_not_asked),
		DEV_SESSION_TEST(test_refused_switch_keeps_the_rate),
		DEV_SESSION_TEST(test_mute_after_ack_falls_back),
		DEV_SESSION_TEST(test_provision_after_the_switch),
		DEV_SESSION_TEST(test_version_1_device_passes),
		cmocka_unit_test(test_tcp_rate_options),
	};

	return cmocka_run_group_tests_name("baud switch", tests, NULL, NULL);
}
