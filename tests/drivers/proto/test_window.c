/*
 * Windowed chunk transfer (docs/protocol.md 6.3) between the station's
 * client and devsim as a real process over TCP: the window HELLO agrees
 * on, several frames sent before the first reply is read (seen through a
 * transport that counts the frames written between reads), chains byte
 * for byte both ways, the retransmission rules through bit errors, lost
 * and duplicated bytes (every chunk stored once, in order), and a
 * version-1 device (no window) served exactly as before.  The same for
 * compact frames (6.4): agreed with the window behind CAP_COMPACT, fewer
 * exchanges and bytes for the same chain, the same retransmission rules
 * (the faulty-line tests run with them), and a windowed device without
 * the bit served with full frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "station/util/xalloc.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"

/* A transport that passes everything through and records the most
 * frames (trailing delimiters) written without a read in between. */
struct counting {
	struct transport base;
	struct transport *inner;
	size_t since_read, max_burst;
};

static st_err
counting_write(struct transport *t, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct counting *c = (struct counting *)t;

	/* Every frame ends "... 0x00" with its leading 0x00 before: count
	 * pairs as one frame. */
	for (size_t i = 1; i < len; i++)
		if (buf[i] == 0x00 && buf[i - 1] != 0x00)
			c->since_read++;
	if (c->since_read > c->max_burst)
		c->max_burst = c->since_read;
	return c->inner->ops->write(c->inner, buf, len, dl, cause);
}

static st_err
counting_read(struct transport *t, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct counting *c = (struct counting *)t;
	st_err err = c->inner->ops->read(c->inner, buf, cap, got, dl, cause);

	if (err == ST_OK && *got > 0)
		c->since_read = 0;
	return err;
}

static void
counting_flush(struct transport *t)
{
	struct counting *c = (struct counting *)t;

	c->inner->ops->flush_input(c->inner);
}

static void
counting_close(struct transport *t)
{
	struct counting *c = (struct counting *)t;

	transport_close(c->inner);
	free(c);
}

static const struct transport_ops counting_ops = {
	.scheme = "counting",
	.summary = "counts frames written between reads (tests)",
	.write = counting_write,
	.read = counting_read,
	.flush_input = counting_flush,
	.close = counting_close,
};

/* devsim with `args`, a client through the counting transport, HELLO. */
static struct counting *
connect_counting(const char *const *args, const struct client_opts *o,
    struct dev_info *info)
{
	struct transport *inner = NULL;
	struct counting *c = xcalloc(1, sizeof *c);
	char *cause = NULL;

	dev_session_start(args);
	if (transport_open(ds.sim->uri, deadline_in(test_ms(5000)), &inner,
		&cause))
		fail_msg("connecting to %s: %s", ds.sim->uri, cause);
	transport_init(&c->base, &counting_ops, "counting", ds.sim->uri);
	c->inner = inner;
	ds.cli = client_new(&c->base, o);
	if (dev_hello(ds.cli, info, &cause))
		fail_msg("HELLO: %s", cause);
	return c;
}

/* WRITE_CHAIN of `n` random 1000-byte certificates and READ_CHAIN: the
 * device gives back exactly the message written. */
static void
chain_round_trip(int n)
{
	uint8_t certs[4][1000];
	const uint8_t *der[4] = { certs[0], certs[1], certs[2], certs[3] };
	size_t len[4] = { 1000, 1000, 1000, 1000 };

	assert_true(n <= 4);
	assert_int_equal(RAND_bytes(&certs[0][0], sizeof certs), 1);
	dev_chain_check(ds.cli, der, len, (size_t)n);
}

/* devsim's default window (4) is agreed and used both ways: four request
 * chunks and four CONTINUEs leave before a reply is read. */
static void
test_window_agreed_and_used(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "WIN1", "--max-frame", "256", NULL };
	struct dev_info info;
	struct counting *c = connect_counting(args, NULL, &info);
	struct client_stats st;

	assert_true(info.caps & PROTO_CAP_WINDOW);
	assert_int_equal(info.window, 4);
	assert_int_equal(client_window(ds.cli), 4);
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	c->max_burst = 0;
	chain_round_trip(3);
	assert_int_equal(c->max_burst, 4);
	client_get_stats(ds.cli, &st);
	assert_int_equal(st.retransmits, 0);
}

/* --window 8 takes the station's whole window; --window 16 is held to
 * the station's 8. */
static void
test_window_is_the_smaller_of_both(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "WIN2", "--max-frame", "256",
		"--window", "16", NULL };
	struct dev_info info;
	struct counting *c = connect_counting(args, NULL, &info);

	assert_int_equal(info.window, PROTO_STATION_WINDOW);
	assert_int_equal(client_window(ds.cli), PROTO_STATION_WINDOW);
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	c->max_burst = 0;
	chain_round_trip(4);
	assert_int_equal(c->max_burst, PROTO_STATION_WINDOW);
}

/* A version-1 device (--window 1: no CAP_WINDOW, no WINDOW) is served
 * one exchange at a time, as before. */
static void
test_version_1_device_one_frame_at_a_time(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "WIN3", "--max-frame", "256",
		"--window", "1", NULL };
	struct dev_info info;
	struct counting *c = connect_counting(args, NULL, &info);

	assert_false(info.caps & PROTO_CAP_WINDOW);
	assert_int_equal(info.window, 1);
	assert_int_equal(client_window(ds.cli), 1);
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	c->max_burst = 0;
	chain_round_trip(3);
	assert_int_equal(c->max_burst, 1);
}

/* Through a faulty line: every chain comes back exactly as written (no
 * chunk stored twice or skipped), with retransmissions. */
static void
windowed_through(const char *fault)
{
	const char *args[] = { "--serial", "WIN4", "--max-frame", "256",
		"--fault", fault, "--seed", "11", NULL };
	struct client_opts o;
	struct dev_info info;
	struct client_stats st;

	client_opts_default(&o);
	o.reply_timeout_ms = test_ms(150);
	o.retries = 12;
	connect_counting(args, &o, &info);
	assert_int_equal(info.window, 4);
	assert_true(info.compact);
	assert_true(client_compact(ds.cli));
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	for (int i = 0; i < 15; i++)
		chain_round_trip(1 + i % 4);
	client_get_stats(ds.cli, &st);
	assert_true(st.retransmits > 0);
}

static void
test_window_through_bit_errors(void **state)
{
	(void)state;
	windowed_through("ber=2e-4");
}

static void
test_window_through_duplicated_bytes(void **state)
{
	(void)state;
	windowed_through("dup=0.002");
}

static void
test_window_through_dropped_bytes(void **state)
{
	(void)state;
	windowed_through("drop=0.002");
}

/* The exchanges and wire bytes of one 3009-byte chain written and read
 * back (three 1000-byte certificates). */
static void
chain_cost(unsigned long *exchanges, unsigned long *bytes)
{
	struct client_stats a, b;

	client_get_stats(ds.cli, &a);
	chain_round_trip(3);
	client_get_stats(ds.cli, &b);
	*exchanges = b.requests - a.requests;
	*bytes = (b.bytes_out - a.bytes_out) + (b.bytes_in - a.bytes_in);
}

/* devsim's default (window 4, CAP_COMPACT): compact frames agreed; the
 * 3009-byte chain takes 12 exchanges each way (a 242-byte first chunk,
 * then 253-byte compact chunks carrying the rest and the CRC-32) where
 * full frames take 13, and fewer bytes; a windowed device without the
 * bit (--fault no-compact) gets full frames and 13 each way, as before. */
static void
test_compact_frames_agreed_and_used(void **state)
{
	(void)state;
	const char *with[] = { "--serial", "CMP1", "--max-frame", "256", NULL };
	const char *without[] = { "--serial", "CMP2", "--max-frame", "256",
		"--fault", "no-compact", NULL };
	unsigned long ex_c, by_c, ex_f, by_f;
	struct dev_info info;

	connect_counting(with, NULL, &info);
	assert_true(info.caps & PROTO_CAP_COMPACT);
	assert_true(info.compact);
	assert_true(client_compact(ds.cli));
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	chain_cost(&ex_c, &by_c);
	dev_session_teardown(NULL);

	connect_counting(without, NULL, &info);
	assert_false(info.caps & PROTO_CAP_COMPACT);
	assert_false(info.compact);
	assert_int_equal(info.window, 4);
	assert_false(client_compact(ds.cli));
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	chain_cost(&ex_f, &by_f);

	assert_int_equal(ex_c, 24);
	assert_int_equal(ex_f, 26);
	assert_true(by_c + 100 < by_f);
}

/* HELLO replies as a device could send them: WINDOW counts only behind
 * CAP_WINDOW, below 2 means none, above the station's is held to it. */
static void
test_window_parse_rules(void **state)
{
	(void)state;
	static const struct {
		uint32_t caps;
		int window; /* -1: no WINDOW tag */
		uint8_t want;
	} cases[] = {
		{ PROTO_CAP_WINDOW, 4, 4 },
		{ 0, 4, 1 },
		{ PROTO_CAP_WINDOW, -1, 1 },
		{ PROTO_CAP_WINDOW, 0, 1 },
		{ PROTO_CAP_WINDOW, 1, 1 },
		{ PROTO_CAP_WINDOW, 200, PROTO_STATION_WINDOW },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct tlv_writer w;
		struct dev_info info;
		uint8_t *msg;
		size_t len;
		char *cause = NULL;

		tlv_writer_init(&w);
		tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
		tlv_put_u16(&w, PROTO_T_MAX_FRAME, 256);
		tlv_put_str(&w, PROTO_T_SERIAL, "P1");
		tlv_put_u32(&w, PROTO_T_CAPS, cases[i].caps);
		if (cases[i].window >= 0)
			tlv_put_u8(&w, PROTO_T_WINDOW,
			    (uint8_t)cases[i].window);
		msg = tlv_writer_take(&w, &len);
		assert_int_equal(dev_info_parse(msg, len, &info, &cause),
		    ST_OK);
		assert_int_equal(info.window, cases[i].want);
		dev_info_clear(&info);
		free(msg);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DEV_SESSION_TEST(test_window_agreed_and_used),
		DEV_SESSION_TEST(test_window_is_the_smaller_of_both),
		DEV_SESSION_TEST(test_version_1_device_one_frame_at_a_time),
		DEV_SESSION_TEST(test_window_through_bit_errors),
		DEV_SESSION_TEST(test_window_through_duplicated_bytes),
		DEV_SESSION_TEST(test_window_through_dropped_bytes),
		cmocka_unit_test(test_window_parse_rules),
		DEV_SESSION_TEST(test_compact_frames_agreed_and_used),
	};

	return cmocka_run_group_tests_name("windowed chunk transfer", tests,
	    NULL, NULL);
}
