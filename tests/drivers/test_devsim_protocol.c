/*
 * devsim against the rules of docs/protocol.md that the client alone does
 * not exercise: the state machine (a committed device can be re-keyed, a
 * locked one cannot, COMMIT on a locked device is fine), HELLO's default
 * frame size, CONTINUE and chunk reply headers, empty chains, WRITE_CERT's
 * tag rules and SELFTEST's optional TEST_ID.  devsim runs as a real process
 * over TCP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/client.h"
#include "drivers/frame.h"
#include "drivers/proto.h"
#include "drivers/tlv.h"
#include "tests/support/pki.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"

static void
start(const char *const *args)
{
	dev_session_start(args);
	dev_session_connect(NULL);
}

static void
start_and_hello(const char *serial)
{
	const char *args[] = { "--serial", serial, NULL };
	struct dev_info info;
	char *cause = NULL;

	start(args);
	if (dev_hello(ds.cli, &info, &cause))
		fail_msg("HELLO: %s", cause);
	dev_info_clear(&info);
}

/* Send `w` (consumed; NULL = empty) as `cmd`; return the reply status. */
static uint8_t
call_status(uint8_t cmd, struct tlv_writer *w, uint8_t **resp,
    size_t *resp_len)
{
	size_t len = 0;
	uint8_t *req = w ? tlv_writer_take(w, &len) : NULL;
	uint8_t status = 0xFF, *out = NULL;
	size_t out_len = 0;

	client_call(ds.cli, cmd, req, len, &out, &out_len, &status, NULL);
	free(req);
	if (resp) {
		*resp = out;
		*resp_len = out_len;
	} else {
		free(out);
	}
	return status;
}

/* HELLO without MAX_FRAME means 256; a limit above 4096 is BAD_ARG. */
static void
test_hello_max_frame_default_and_range(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN0013", NULL };
	struct tlv_writer w;

	start(args);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	assert_int_equal(call_status(PROTO_CMD_HELLO, &w, NULL, NULL),
	    PROTO_ST_OK);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, 4097);
	assert_int_equal(call_status(PROTO_CMD_HELLO, &w, NULL, NULL),
	    PROTO_ST_BAD_ARG);
}

/* A CONTINUE with no reply pending is SEQUENCE, like every CONTINUE the
 * device cannot serve. */
static void
test_continue_with_nothing_pending_is_sequence(void **state)
{
	(void)state;
	start_and_hello("SN0014");
	assert_int_equal(call_status(PROTO_CMD_CONTINUE, NULL, NULL, NULL),
	    PROTO_ST_SEQUENCE);
}

/* Send one raw request frame and decode the device's next frame. */
static void
raw_exchange(struct transport *t, const struct frame *req, struct frame *out)
{
	uint8_t wire[1024], buf[512];
	size_t n = 0;
	struct frame_reader rd;
	int got = 0;

	assert_int_equal(frame_encode(req, wire, sizeof wire, &n, NULL), ST_OK);
	assert_int_equal(t->ops->write(t, wire, n, deadline_in(2000), NULL),
	    ST_OK);
	frame_reader_init(&rd, PROTO_MAX_FRAME);
	while (!got) {
		size_t len = 0;
		const uint8_t *p = buf;

		assert_int_equal(t->ops->read(t, buf, sizeof buf, &len,
		    deadline_in(2000), NULL), ST_OK);
		while (len > 0 && !got)
			assert_int_equal(frame_reader_feed(&rd, &p, &len, out,
			    &got, NULL), ST_OK);
	}
	out->payload = NULL; /* pointed into the reader */
	frame_reader_free(&rd);
}

/* A stored request chunk is answered CONTINUE with offset 0 and total 0,
 * and an out-of-order chunk gets an intact SEQUENCE reply (offset 0), not
 * a frame that breaks the chunk-bounds check. */
static void
test_chunk_replies_have_offset_0(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN0015", NULL };
	uint8_t filler[100];
	struct frame req = { .version = PROTO_VERSION, .seq = 100,
		.cmd = PROTO_CMD_WRITE_CHAIN, .offset = 0, .total = 300,
		.payload = filler, .payload_len = sizeof filler };
	struct frame rep;

	memset(filler, 0x5A, sizeof filler);
	start(args);
	raw_exchange(client_transport(ds.cli), &req, &rep);
	assert_int_equal(rep.status, PROTO_ST_CONTINUE);
	assert_int_equal(rep.seq, 100);
	assert_int_equal(rep.offset, 0);
	assert_int_equal(rep.total, 0);
	assert_int_equal(rep.payload_len, 0);
	req.seq = 101;
	req.offset = 200; /* 100 expected */
	raw_exchange(client_transport(ds.cli), &req, &rep);
	assert_int_equal(rep.status, PROTO_ST_SEQUENCE);
	assert_int_equal(rep.seq, 101);
	assert_int_equal(rep.offset, 0);
	assert_int_equal(rep.total, rep.payload_len);
}

/* The device's state as INFO reports it. */
static uint8_t
info_state(void)
{
	uint8_t *resp = NULL, st = 0xFF;
	size_t len = 0;

	assert_int_equal(call_status(PROTO_CMD_INFO, NULL, &resp, &len),
	    PROTO_ST_OK);
	assert_int_equal(tlv_get_u8(resp, len, PROTO_T_STATE, &st, NULL),
	    ST_OK);
	free(resp);
	return st;
}

/* KEYGEN and a certificate for the new key written: state CERTIFIED.
 * Returns the certificate (caller frees). */
static uint8_t *
keyed_and_certified(size_t *cert_len)
{
	uint8_t *spki = NULL, *cert;
	size_t spki_len = 0;
	char *cause = NULL;

	if (dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki, &spki_len, &cause))
		fail_msg("KEYGEN: %s", cause);
	cert = pki_cert_for_spki_der(spki, spki_len, "SN-LIFE", cert_len);
	assert_non_null(cert);
	if (dev_write_cert(ds.cli, cert, *cert_len, &cause))
		fail_msg("WRITE_CERT: %s", cause);
	free(spki);
	return cert;
}

/* COMMITTED (not locked) is reworkable: KEYGEN goes back to KEYED and
 * erases certificate and chain, WRITE_CERT goes back to CERTIFIED. */
static void
test_committed_device_can_be_rekeyed_and_recertified(void **state)
{
	(void)state;
	size_t cert_len = 0;
	uint8_t *cert, *back = NULL;
	size_t back_len = 0;
	char *cause = NULL;

	start_and_hello("SN-LIFE-1");
	cert = keyed_and_certified(&cert_len);
	assert_int_equal(dev_commit(ds.cli, 0, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_COMMITTED);
	assert_int_equal(dev_write_cert(ds.cli, cert, cert_len, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_CERTIFIED);
	assert_int_equal(dev_commit(ds.cli, 0, &cause), ST_OK);
	free(cert);
	cert = keyed_and_certified(&cert_len);
	assert_int_equal(dev_commit(ds.cli, 0, &cause), ST_OK);
	assert_int_equal(dev_write_chain(ds.cli, NULL, NULL, 0, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_COMMITTED);

	uint8_t *spki = NULL;
	size_t spki_len = 0;
	assert_int_equal(dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki,
	    &spki_len, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_KEYED);
	assert_int_equal(dev_read_cert(ds.cli, &back, &back_len, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	free(cause);
	free(spki);
	free(cert);
}

/* COMMIT on a LOCKED device succeeds and stays LOCKED (lock 0 does not
 * unlock); LOCK other than 0 or 1 is BAD_ARG; LOCKED refuses KEYGEN,
 * WRITE_CERT, WRITE_CHAIN and FACTORY_RESET with LOCKED. */
static void
test_locked_device_commit_ok_and_rest_locked(void **state)
{
	(void)state;
	size_t cert_len = 0;
	uint8_t *cert;
	struct tlv_writer w;
	char *cause = NULL;

	start_and_hello("SN-LIFE-2");
	cert = keyed_and_certified(&cert_len);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_LOCK, 2);
	assert_int_equal(call_status(PROTO_CMD_COMMIT, &w, NULL, NULL),
	    PROTO_ST_BAD_ARG);
	assert_int_equal(info_state(), PROTO_STATE_CERTIFIED);
	assert_int_equal(dev_commit(ds.cli, 1, &cause), ST_OK);
	assert_int_equal(dev_commit(ds.cli, 1, &cause), ST_OK);
	assert_int_equal(dev_commit(ds.cli, 0, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_LOCKED);

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_KEY_ALG, PROTO_ALG_EC_P256);
	tlv_put_u8(&w, PROTO_T_SLOT, 0);
	assert_int_equal(call_status(PROTO_CMD_KEYGEN, &w, NULL, NULL),
	    PROTO_ST_LOCKED);
	tlv_writer_init(&w);
	tlv_put(&w, PROTO_T_CERT, cert, cert_len);
	assert_int_equal(call_status(PROTO_CMD_WRITE_CERT, &w, NULL, NULL),
	    PROTO_ST_LOCKED);
	assert_int_equal(call_status(PROTO_CMD_WRITE_CHAIN, NULL, NULL, NULL),
	    PROTO_ST_LOCKED);
	assert_int_equal(call_status(PROTO_CMD_FACTORY_RESET, NULL, NULL,
	    NULL), PROTO_ST_LOCKED);
	/* SIGN still works on a locked key. */
	uint8_t digest[32] = { 1 }, *sig = NULL;
	size_t sig_len = 0;
	assert_int_equal(dev_sign(ds.cli, 0, PROTO_SIG_ECDSA_SHA256, digest,
	    sizeof digest, &sig, &sig_len, &cause), ST_OK);
	free(sig);
	free(cert);
}

/* FACTORY_RESET through the client API erases key and certificate: the
 * device is BLANK again and has no key to report, and can be keyed anew. */
static void
test_factory_reset_returns_a_committed_device_to_blank(void **state)
{
	(void)state;
	size_t cert_len = 0, spki_len = 0;
	uint8_t *cert, *spki = NULL;
	char *cause = NULL;

	start_and_hello("SN-LIFE-3");
	cert = keyed_and_certified(&cert_len);
	assert_int_equal(dev_commit(ds.cli, 0, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_COMMITTED);
	assert_int_equal(dev_factory_reset(ds.cli, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_BLANK);
	assert_int_equal(dev_pubkey(ds.cli, 0, &spki, &spki_len, &cause),
	    ST_E_DEVICE);
	free(cause);
	cause = NULL;
	assert_int_equal(dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki,
	    &spki_len, &cause), ST_OK);
	assert_int_equal(info_state(), PROTO_STATE_KEYED);
	free(spki);
	free(cert);
}

/* READ_CHAIN before any WRITE_CHAIN is BAD_STATE; an empty WRITE_CHAIN
 * stores an empty chain that READ_CHAIN returns as an empty message. */
static void
test_chain_empty_is_stored_and_missing_is_bad_state(void **state)
{
	(void)state;
	uint8_t *spki = NULL, *back = (uint8_t *)"x";
	size_t spki_len = 0, back_len = 99;
	char *cause = NULL;

	start_and_hello("SN-LIFE-3");
	assert_int_equal(dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki,
	    &spki_len, &cause), ST_OK);
	assert_int_equal(call_status(PROTO_CMD_READ_CHAIN, NULL, NULL, NULL),
	    PROTO_ST_BAD_STATE);
	assert_int_equal(dev_write_chain(ds.cli, NULL, NULL, 0, &cause), ST_OK);
	assert_int_equal(
	    dev_read_chain(ds.cli, &back, &back_len, &cause), ST_OK);
	assert_int_equal(back_len, 0);
	free(back);
	free(spki);
}

/* WRITE_CERT ignores tags it does not know but wants exactly one CERT. */
static void
test_write_cert_ignores_unknown_tags_wants_one_cert(void **state)
{
	(void)state;
	size_t cert_len = 0;
	uint8_t *cert;
	struct tlv_writer w;

	start_and_hello("SN-LIFE-4");
	cert = keyed_and_certified(&cert_len);
	tlv_writer_init(&w);
	tlv_put_str(&w, 0x7E, "a future tag");
	tlv_put(&w, PROTO_T_CERT, cert, cert_len);
	assert_int_equal(call_status(PROTO_CMD_WRITE_CERT, &w, NULL, NULL),
	    PROTO_ST_OK);
	tlv_writer_init(&w);
	tlv_put(&w, PROTO_T_CERT, cert, cert_len);
	tlv_put(&w, PROTO_T_CERT, cert, cert_len);
	assert_int_equal(call_status(PROTO_CMD_WRITE_CERT, &w, NULL, NULL),
	    PROTO_ST_BAD_ARG);
	free(cert);
}

/* SELFTEST without TEST_ID runs everything and passes; an unknown test
 * number is BAD_ARG. */
static void
test_selftest_id_optional_unknown_is_bad_arg(void **state)
{
	(void)state;
	uint8_t *resp = NULL, result = 0xFF;
	size_t len = 0;
	struct tlv_writer w;

	start_and_hello("SN-LIFE-5");
	assert_int_equal(call_status(PROTO_CMD_SELFTEST, NULL, &resp, &len),
	    PROTO_ST_OK);
	assert_int_equal(tlv_get_u8(resp, len, PROTO_T_TEST_RESULT, &result,
	    NULL), ST_OK);
	assert_int_equal(result, 0);
	free(resp);
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_TEST_ID, 9);
	assert_int_equal(call_status(PROTO_CMD_SELFTEST, &w, NULL, NULL),
	    PROTO_ST_BAD_ARG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DEV_SESSION_TEST(test_hello_max_frame_default_and_range),
		DEV_SESSION_TEST(
		    test_continue_with_nothing_pending_is_sequence),
		DEV_SESSION_TEST(test_chunk_replies_have_offset_0),
		DEV_SESSION_TEST(
		    test_committed_device_can_be_rekeyed_and_recertified),
		DEV_SESSION_TEST(test_locked_device_commit_ok_and_rest_locked),
		DEV_SESSION_TEST(
		    test_factory_reset_returns_a_committed_device_to_blank),
		DEV_SESSION_TEST(
		    test_chain_empty_is_stored_and_missing_is_bad_state),
		DEV_SESSION_TEST(
		    test_write_cert_ignores_unknown_tags_wants_one_cert),
		DEV_SESSION_TEST(test_selftest_id_optional_unknown_is_bad_arg),
	};

	return cmocka_run_group_tests_name("devsim follows protocol.md", tests,
	    NULL, NULL);
}
