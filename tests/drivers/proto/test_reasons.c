/*
 * The reasons the station gives for protocol faults (docs/protocol.md
 * 5.4): each names the command (READ_CERT, never CONTINUE, for a chunk
 * of READ_CERT's reply), the field (SERIAL, never "field 0x03") and the
 * rule that was broken; a device MESSAGE that breaks the rules of 7.1
 * is shown cut and escaped, not dropped.  The faults come from a
 * scripted device (tests/support/script_dev.h) over real TCP, since no
 * honest device makes them; the texts are asserted whole where they
 * are the station's own.  The same scripted device shows the station's
 * side of 5.1: a bad frame or a stale reply followed by the intact reply
 * in the same burst costs no retransmission.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "tests/support/proc.h"
#include "tests/support/script_dev.h"

/* What the script answers with. */
enum act {
	ACT_OVERSIZE,	 /* 5000 bytes before the delimiter */
	ACT_NAK,	 /* a NAK to everything */
	ACT_CHUNK_THEN,	 /* a 400-byte reply in chunks, CONTINUE: `then` */
	ACT_MESSAGE,	 /* BAD_STATE with MESSAGE msg[msg_len] */
	ACT_WRONG_CMD,	 /* a reply with another command */
	ACT_LONG_PUBKEY, /* KEYGEN: a 1100-byte PUBKEY */
	ACT_HELLO_NO_SERIAL,
	ACT_NOISE_THEN_REPLY, /* a bad frame, then the reply, one write */
	ACT_STALE_THEN_REPLY, /* a reply with another seq, then the reply */
};

enum then {
	THEN_SEQUENCE, /* CONTINUE answered SEQUENCE */
	THEN_SILENT,   /* CONTINUE not answered */
	THEN_BAD_OFFSET,
};

struct script {
	enum act act;
	enum then then;
	uint8_t msg[400];
	size_t msg_len;
};

static size_t
answer(void *ctx, const struct frame *req, uint8_t *out, size_t cap)
{
	struct script *s = ctx;
	uint8_t body[1200];
	struct tlv_writer w;
	uint8_t *p;
	size_t n, len;

	switch (s->act) {
	case ACT_OVERSIZE:
		out[0] = 0;
		memset(out + 1, 0x41, 5000);
		out[5001] = 0;
		return 5002;
	case ACT_NAK:
		return script_reply(&(struct frame){ .cmd = PROTO_CMD_NAK },
		    PROTO_ST_BAD_FRAME, 0, 0, NULL, 0, out, cap);
	case ACT_CHUNK_THEN:
		/* A CERT of 397 bytes: 400 in all, 242 in the first frame. */
		body[0] = PROTO_T_CERT;
		body[1] = 0x01;
		body[2] = 0x8d;
		memset(body + 3, 0x30, 397);
		if (req->cmd != PROTO_CMD_CONTINUE)
			return script_reply(req, PROTO_ST_OK, 0, 400, body, 242,
			    out, cap);
		if (s->then == THEN_SILENT)
			return 0;
		if (s->then == THEN_BAD_OFFSET)
			return script_reply(req, PROTO_ST_OK, 100, 400,
			    body + 100, 158, out, cap);
		tlv_writer_init(&w);
		tlv_put_str(&w, PROTO_T_MESSAGE, "no reply is pending");
		p = tlv_writer_take(&w, &len);
		n = script_reply_msg(req, PROTO_ST_SEQUENCE, p, len, out, cap);
		free(p);
		return n;
	case ACT_MESSAGE:
		tlv_writer_init(&w);
		tlv_put(&w, PROTO_T_MESSAGE, s->msg, s->msg_len);
		p = tlv_writer_take(&w, &len);
		n = script_reply_msg(req, PROTO_ST_BAD_STATE, p, len, out, cap);
		free(p);
		return n;
	case ACT_WRONG_CMD: {
		struct frame other = *req;

		other.cmd = PROTO_CMD_READ_CHAIN;
		return script_reply_msg(&other, PROTO_ST_OK, NULL, 0, out, cap);
	}
	case ACT_LONG_PUBKEY:
		tlv_writer_init(&w);
		memset(body, 0x30, 1100);
		tlv_put(&w, PROTO_T_PUBKEY, body, 1100);
		p = tlv_writer_take(&w, &len);
		/* 1103 bytes: the station takes 4096-byte frames. */
		n = script_reply_msg(req, PROTO_ST_OK, p, len, out, cap);
		free(p);
		return n;
	case ACT_NOISE_THEN_REPLY:
	case ACT_STALE_THEN_REPLY: {
		struct frame stale = *req;

		stale.seq = (uint16_t)(req->seq - 1);
		tlv_writer_init(&w);
		tlv_put(&w, PROTO_T_CERT, "\x30\x00", 2);
		p = tlv_writer_take(&w, &len);
		if (s->act == ACT_NOISE_THEN_REPLY) {
			memcpy(out, "\x00\x05\x11\x22\x33\x00", 6);
			n = 6;
		} else {
			n = script_reply_msg(&stale, PROTO_ST_OK, p, len, out,
			    cap);
		}
		n += script_reply_msg(req, PROTO_ST_OK, p, len, out + n,
		    cap - n);
		free(p);
		return n;
	}
	case ACT_HELLO_NO_SERIAL:
		tlv_writer_init(&w);
		tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
		tlv_put_u16(&w, PROTO_T_MAX_FRAME, 256);
		p = tlv_writer_take(&w, &len);
		n = script_reply_msg(req, PROTO_ST_OK, p, len, out, cap);
		free(p);
		return n;
	}
	return 0;
}

static struct script_dev *sd;
static struct client *cli;

static int
teardown(void **state)
{
	(void)state;
	client_free(cli);
	cli = NULL;
	script_dev_stop(sd);
	sd = NULL;
	return 0;
}

/* A client on a scripted device; attempts of 100 ms keep the silent
 * cases short (the texts, not the times, are asserted). */
static void
connect_script(struct script *s)
{
	struct client_opts o;
	struct transport *t = NULL;
	char *cause = NULL;

	sd = script_dev_start(answer, s);
	if (transport_open(script_dev_uri(sd), deadline_in(test_ms(5000)), &t,
		&cause))
		fail_msg("%s", cause);
	client_opts_default(&o);
	o.reply_timeout_ms = 100;
	cli = client_new(t, &o);
}

/* READ_CERT through the client: the error and its cause. */
static st_err
read_cert(char **cause)
{
	uint8_t *der = NULL;
	size_t len = 0;
	st_err err = dev_read_cert(cli, &der, &len, cause);

	free(der);
	return err;
}

/* A frame longer than the station's limit: the command and the rule,
 * not "line noise?". */
static void
test_oversize_frame_names_command_and_limit(void **state)
{
	struct script s = { .act = ACT_OVERSIZE };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_FRAME);
	assert_string_equal(cause,
	    "READ_CERT: frame longer than the 4096-byte maximum, dropped; "
	    "no intact reply after 16 attempts");
	free(cause);
}

/* NAKs to every attempt say the device received the request corrupt. */
static void
test_nak_every_time_says_so(void **state)
{
	struct script s = { .act = ACT_NAK };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_FRAME);
	assert_string_equal(cause,
	    "READ_CERT: the device answered NAK: it received the request "
	    "corrupt; no intact reply after 16 attempts");
	free(cause);
}

/* An error to the CONTINUE for a chunk of READ_CERT's reply is
 * READ_CERT's, at that offset. */
static void
test_continue_error_names_the_command(void **state)
{
	struct script s = { .act = ACT_CHUNK_THEN, .then = THEN_SEQUENCE };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_DEVICE);
	assert_string_equal(cause,
	    "device refused READ_CERT (reply chunk at offset 242): SEQUENCE - "
	    "device message 'no reply is pending'");
	assert_null(strstr(cause, "CONTINUE"));
	free(cause);
}

/* Silence after the first chunk: READ_CERT did not answer. */
static void
test_continue_silence_names_the_command(void **state)
{
	struct script s = { .act = ACT_CHUNK_THEN, .then = THEN_SILENT };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_TIMEOUT);
	assert_string_equal(cause,
	    "device did not answer READ_CERT (reply chunk at offset 242) (4 "
	    "attempts, 100 ms each)");
	free(cause);
}

/* A reply chunk at another offset than the one asked for. */
static void
test_continue_wrong_offset_names_the_command(void **state)
{
	struct script s = { .act = ACT_CHUNK_THEN, .then = THEN_BAD_OFFSET };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_PROTO);
	assert_string_equal(cause,
	    "READ_CERT (reply chunk at offset 242): chunk at offset 100, "
	    "total 400, 158 bytes; expected offset 242, total 400 and 1 to "
	    "158 bytes");
	free(cause);
}

/* A reply that carries another command than the request. */
static void
test_wrong_command_in_reply(void **state)
{
	struct script s = { .act = ACT_WRONG_CMD };
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_PROTO);
	assert_string_equal(cause,
	    "READ_CERT: the reply carries command READ_CHAIN (0x23); a reply "
	    "echoes the request's command");
	free(cause);
}

/* Reply fields are named: PUBKEY, SERIAL, never a tag number. */
static void
test_reply_fields_are_named(void **state)
{
	struct script s = { .act = ACT_LONG_PUBKEY };
	struct dev_info info;
	uint8_t *spki = NULL;
	size_t len = 0;
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(dev_keygen(cli, PROTO_ALG_EC_P256, 0, &spki, &len,
			     &cause),
	    ST_E_PROTO);
	assert_string_equal(cause,
	    "KEYGEN reply: PUBKEY is 1100 bytes long, longer than the "
	    "1024-byte maximum");
	free(cause);
	cause = NULL;
	s.act = ACT_HELLO_NO_SERIAL;
	assert_int_equal(dev_hello(cli, &info, &cause), ST_E_PROTO);
	assert_string_equal(cause, "HELLO reply: SERIAL missing");
	free(cause);
}

/* The device's MESSAGE for `text` (len bytes) in a BAD_STATE reply to
 * READ_CERT: the whole cause. */
static char *
refusal_with(const void *text, size_t len)
{
	static struct script s;
	char *cause = NULL;

	memset(&s, 0, sizeof s);
	s.act = ACT_MESSAGE;
	memcpy(s.msg, text, len);
	s.msg_len = len;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_E_DEVICE);
	client_free(cli);
	cli = NULL;
	script_dev_stop(sd);
	sd = NULL;
	return cause;
}

/* 200 bytes are shown whole; 201 are cut to 200 and the rule named. */
static void
test_message_over_200_bytes_is_cut_not_dropped(void **state)
{
	char text[201], want[400], *cause;

	(void)state;
	memset(text, 'm', sizeof text);
	cause = refusal_with(text, 200);
	snprintf(want, sizeof want,
	    "device refused READ_CERT: BAD_STATE - device message '%.200s'",
	    text);
	assert_string_equal(cause, want);
	free(cause);
	cause = refusal_with(text, 201);
	snprintf(want, sizeof want,
	    "device refused READ_CERT: BAD_STATE - device message '%.200s... "
	    "(MESSAGE breaks the rules: it is longer than 200 bytes)'",
	    text);
	assert_string_equal(cause, want);
	free(cause);
}

/* Control bytes (a NUL, an ESC) and bytes that are not UTF-8 are shown
 * escaped, with the rule. */
static void
test_message_with_bad_bytes_is_escaped_not_dropped(void **state)
{
	char *cause;

	(void)state;
	cause = refusal_with("no\0key\x1b[2J", 10);
	assert_string_equal(cause,
	    "device refused READ_CERT: BAD_STATE - device message "
	    "'no\\x00key\\x1b[2J (MESSAGE breaks the rules: it holds control "
	    "bytes)'");
	free(cause);
	cause = refusal_with("slot \xff", 6);
	assert_string_equal(cause,
	    "device refused READ_CERT: BAD_STATE - device message 'slot \\xff "
	    "(MESSAGE breaks the rules: it is not UTF-8)'");
	free(cause);
	/* Well-formed UTF-8 keeps to the rules: escaped, no complaint. */
	cause = refusal_with("gr\xc3\xbc\xc3\x9f", 6);
	assert_string_equal(cause,
	    "device refused READ_CERT: BAD_STATE - device message "
	    "'gr\\xc3\\xbc\\xc3\\x9f'");
	free(cause);
}

/* 5.1: the intact reply right behind a bad frame (or a stale reply)
 * ends the exchange: looked at before any retransmission. */
static void
test_reply_behind_noise_is_taken_without_retransmission(void **state)
{
	struct script s = { .act = ACT_NOISE_THEN_REPLY };
	struct client_stats st;
	char *cause = NULL;

	(void)state;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_OK);
	client_get_stats(cli, &st);
	assert_int_equal(st.bad_frames, 1);
	assert_int_equal(st.retransmits, 0);
	assert_int_equal(script_dev_requests(sd), 1);
	client_free(cli);
	cli = NULL;
	script_dev_stop(sd);
	sd = NULL;

	s.act = ACT_STALE_THEN_REPLY;
	connect_script(&s);
	assert_int_equal(read_cert(&cause), ST_OK);
	client_get_stats(cli, &st);
	assert_int_equal(st.stale_frames, 1);
	assert_int_equal(st.retransmits, 0);
	assert_null(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
		    test_oversize_frame_names_command_and_limit, teardown),
		cmocka_unit_test_teardown(test_nak_every_time_says_so,
		    teardown),
		cmocka_unit_test_teardown(test_continue_error_names_the_command,
		    teardown),
		cmocka_unit_test_teardown(
		    test_continue_silence_names_the_command, teardown),
		cmocka_unit_test_teardown(
		    test_continue_wrong_offset_names_the_command, teardown),
		cmocka_unit_test_teardown(test_wrong_command_in_reply,
		    teardown),
		cmocka_unit_test_teardown(test_reply_fields_are_named,
		    teardown),
		cmocka_unit_test_teardown(
		    test_message_over_200_bytes_is_cut_not_dropped, teardown),
		cmocka_unit_test_teardown(
		    test_message_with_bad_bytes_is_escaped_not_dropped,
		    teardown),
		cmocka_unit_test_teardown(
		    test_reply_behind_noise_is_taken_without_retransmission,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
