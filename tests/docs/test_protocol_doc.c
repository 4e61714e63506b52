/*
 * docs/protocol.md against the code: every example frame in the document
 * decodes with the real codec to the header the document claims, every
 * COBS and CRC example is what the codec computes, and the command, status,
 * state and tag tables hold the values drivers/proto.h defines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "station/util/xalloc.h"
#include "tests/support/scratch.h"

#define MAX_BYTES 8192

struct bytes {
	uint8_t b[MAX_BYTES];
	size_t n;
};

static char *doc;

static int
setup(void **state)
{
	(void)state;
	const char *dir = getenv("STATION_SRCDIR");
	char path[4096];

	snprintf(path, sizeof path, "%s/docs/protocol.md", dir ? dir : ".");
	doc = scratch_read(path);
	if (doc == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(doc);
	return 0;
}

/* Copy of the line starting at *p (without the newline); advances *p. */
static int
next_line(const char **p, char *line, size_t cap)
{
	if (**p == '\0')
		return 0;
	const char *nl = strchr(*p, '\n');
	size_t n = nl ? (size_t)(nl - *p) : strlen(*p);

	assert_true(n < cap);
	memcpy(line, *p, n);
	line[n] = '\0';
	*p += nl ? n + 1 : n;
	return 1;
}

/* Hex bytes separated by blanks; "a .. b" stands for a+1 .. b-1 between. */
static void
parse_hex(const char *s, struct bytes *out)
{
	while (*s) {
		if (*s == ' ' || *s == '\t') {
			s++;
			continue;
		}
		if (s[0] == '.' && s[1] == '.') {
			assert_true(out->n > 0);
			while (*s == '.' || *s == ' ')
				s++;
			unsigned end = (unsigned)strtoul(s, NULL, 16);
			for (unsigned v = out->b[out->n - 1] + 1u; v < end; v++)
				out->b[out->n++] = (uint8_t)v;
			continue;
		}
		char *endp;
		unsigned long v = strtoul(s, &endp, 16);
		assert_true(endp == s + 2);
		assert_true(out->n < MAX_BYTES);
		out->b[out->n++] = (uint8_t)v;
		s = endp;
	}
}

/* The rest of a frame or compact block, up to its closing fence: the
 * expect: line into `expect` ("" if none), the bytes into `wire`. */
static void
read_block(const char **p, char *expect, size_t cap, struct bytes *wire)
{
	char line[512];

	expect[0] = '\0';
	wire->n = 0;
	while (next_line(p, line, sizeof line) && strcmp(line, "```") != 0) {
		if (strncmp(line, "expect:", 7) == 0)
			snprintf(expect, cap, "%s", line + 7);
		else
			parse_hex(line, wire);
	}
}

/* Value of `key=` in an expect line, or NULL. */
static const char *
claimed(const char *line, const char *key, char *val, size_t cap)
{
	size_t klen = strlen(key);

	for (const char *p = strstr(line, key); p; p = strstr(p + 1, key)) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			size_t n = strcspn(p + klen + 1, " ");
			assert_true(n < cap);
			memcpy(val, p + klen + 1, n);
			val[n] = '\0';
			return val;
		}
	}
	return NULL;
}

static void
check_frame_block(const char *expect, const struct bytes *wire, int *saw_nak)
{
	static uint8_t scratch[MAX_BYTES];
	struct frame f;
	char *cause = NULL;
	char v[64];

	assert_true(wire->n >= 3);
	assert_int_equal(wire->b[0], 0);
	assert_int_equal(wire->b[wire->n - 1], 0);
	assert_null(memchr(wire->b + 1, 0, wire->n - 2));
	st_err err = frame_decode(wire->b + 1, wire->n - 2, PROTO_MAX_FRAME,
	    scratch, sizeof scratch, &f, &cause);
	if (err)
		fail_msg("example '%s' does not decode: %s", expect, cause);
	/* Every field must be stated, so the doc cannot omit a claim. */
	assert_non_null(claimed(expect, "flags", v, sizeof v));
	assert_int_equal(strtoul(v, NULL, 0), f.flags);
	assert_non_null(claimed(expect, "seq", v, sizeof v));
	assert_int_equal(strtoul(v, NULL, 0), f.seq);
	assert_non_null(claimed(expect, "cmd", v, sizeof v));
	assert_string_equal(v, proto_cmd_name(f.cmd));
	assert_non_null(claimed(expect, "status", v, sizeof v));
	assert_string_equal(v, proto_status_name(f.status));
	assert_non_null(claimed(expect, "offset", v, sizeof v));
	assert_int_equal(strtoul(v, NULL, 0), f.offset);
	assert_non_null(claimed(expect, "total", v, sizeof v));
	assert_int_equal(strtoul(v, NULL, 0), f.total);
	assert_non_null(claimed(expect, "len", v, sizeof v));
	assert_int_equal(strtoul(v, NULL, 0), f.payload_len);
	/* Re-encoding gives the same bytes: the example is canonical. */
	uint8_t again[MAX_BYTES];
	size_t n = 0;
	assert_int_equal(frame_encode(&f, again, sizeof again, &n, NULL),
	    ST_OK);
	assert_int_equal(n, wire->n);
	assert_memory_equal(again, wire->b, n);
	/* Whole messages (offset 0, all of total) are valid TLV. */
	if (f.offset == 0 && f.payload_len == f.total)
		assert_int_equal(tlv_validate(f.payload, f.payload_len, NULL),
		    ST_OK);
	if (f.cmd == PROTO_CMD_NAK) {
		assert_int_equal(f.status, PROTO_ST_BAD_FRAME);
		assert_int_equal(f.seq, 0);
		assert_true(f.flags & PROTO_FLAG_RESPONSE);
		(*saw_nak)++;
	}
}

/* Every ```frame block decodes to the header its expect: line states. */
static void
test_doc_frame_examples_decode_as_stated(void **state)
{
	(void)state;
	const char *p = doc;
	char line[512];
	int blocks = 0, naks = 0, requests = 0, replies = 0, continues = 0;

	while (next_line(&p, line, sizeof line)) {
		if (strcmp(line, "```frame") != 0)
			continue;
		static struct bytes wire;
		char expect[512];

		read_block(&p, expect, sizeof expect, &wire);
		assert_true(expect[0] != '\0');
		check_frame_block(expect, &wire, &naks);
		if (!(strtoul(strstr(expect, "flags=") + 6, NULL, 0) &
			PROTO_FLAG_RESPONSE))
			requests++;
		else
			replies++;
		if (strstr(expect, "cmd=CONTINUE"))
			continues++;
		blocks++;
	}
	/* HELLO both ways, a NAK, and a chunked exchange at least. */
	assert_true(blocks >= 8);
	assert_true(naks >= 1);
	assert_true(requests >= 3);
	assert_true(replies >= 3);
	assert_true(continues >= 2);
	assert_non_null(strstr(doc, "cmd=HELLO status=OK"));
	/* ATTEST (8.18): its request and a version-1 device's answer. */
	assert_non_null(strstr(doc, "cmd=ATTEST status=OK"));
	assert_non_null(strstr(doc, "cmd=ATTEST status=UNKNOWN_CMD"));
}

/* Every ```compact block (docs/protocol.md 6.4, 9.7) is a compact frame
 * with only its trailing delimiter that decodes to the seq and length its
 * expect: line states and encodes back to the same bytes; where it ends a
 * message, its last four payload bytes are the CRC-32 claimed, which is
 * that of 9.4's 253-byte WRITE_CERT message. */
static void
test_doc_compact_examples(void **state)
{
	(void)state;
	const char *p = doc;
	char line[512], v[64];
	uint8_t msg[253];
	int blocks = 0, ends = 0;

	/* CERT tag and length, "30 81 f7", then the filler 00 01 02 ... */
	msg[0] = 0x1a;
	msg[1] = 0x00;
	msg[2] = 0xfa;
	msg[3] = 0x30;
	msg[4] = 0x81;
	msg[5] = 0xf7;
	for (size_t i = 6; i < sizeof msg; i++)
		msg[i] = (uint8_t)(i - 6);
	while (next_line(&p, line, sizeof line)) {
		static struct bytes wire;
		static uint8_t scratch[MAX_BYTES], again[MAX_BYTES];
		char expect[512];
		struct frame f;
		size_t n = 0;
		char *cause = NULL;

		if (strcmp(line, "```compact") != 0)
			continue;
		read_block(&p, expect, sizeof expect, &wire);
		assert_true(wire.n >= 4);
		assert_int_not_equal(wire.b[0], 0);
		assert_int_equal(wire.b[wire.n - 1], 0);
		assert_null(memchr(wire.b, 0, wire.n - 1));
		if (frame_decode(wire.b, wire.n - 1, PROTO_MIN_FRAME, scratch,
			sizeof scratch, &f, &cause))
			fail_msg("example '%s' does not decode: %s", expect,
			    cause);
		assert_true(f.compact);
		assert_non_null(claimed(expect, "seq", v, sizeof v));
		assert_int_equal(strtoul(v, NULL, 0), f.seq);
		assert_non_null(claimed(expect, "len", v, sizeof v));
		assert_int_equal(strtoul(v, NULL, 0), f.payload_len);
		assert_int_equal(frame_encode(&f, again, sizeof again, &n,
				     NULL),
		    ST_OK);
		assert_int_equal(n, wire.n);
		assert_memory_equal(again, wire.b, n);
		if (claimed(expect, "message-crc32", v, sizeof v)) {
			const uint8_t *c = f.payload + f.payload_len - 4;
			uint32_t want = (uint32_t)strtoul(v, NULL, 16);

			assert_true(f.payload_len >= 4);
			assert_int_equal((uint32_t)c[0] | (uint32_t)c[1] << 8 |
				(uint32_t)c[2] << 16 | (uint32_t)c[3] << 24,
			    want);
			assert_int_equal(crc32_ieee(msg, sizeof msg), want);
			/* The bytes before it are the message's end. */
			assert_memory_equal(f.payload,
			    msg + sizeof msg - (f.payload_len - 4),
			    f.payload_len - 4);
			ends++;
		}
		blocks++;
	}
	assert_true(blocks >= 2);
	assert_true(ends >= 2);
	/* The CRC-16's check value as the document states it. */
	assert_int_equal(crc16_x25("123456789", 9), 0x906e);
	assert_non_null(strstr(doc, "`123456789` is `906e`"));
}

/* Every ```cobs block: raw encodes to the cobs line and back. */
static void
test_doc_cobs_examples_match_codec(void **state)
{
	(void)state;
	const char *p = doc;
	char line[512];
	int blocks = 0;

	while (next_line(&p, line, sizeof line)) {
		if (strcmp(line, "```cobs") != 0)
			continue;
		static struct bytes raw, enc;
		static uint8_t out[MAX_BYTES], back[MAX_BYTES];
		size_t back_len = 0;

		raw.n = enc.n = 0;
		while (next_line(&p, line, sizeof line) &&
		    strcmp(line, "```") != 0) {
			if (strncmp(line, "raw:", 4) == 0)
				parse_hex(line + 4, &raw);
			else if (strncmp(line, "cobs:", 5) == 0)
				parse_hex(line + 5, &enc);
			else
				fail_msg("unexpected line in cobs block: %s",
				    line);
		}
		assert_true(raw.n > 0);
		size_t n = cobs_encode(raw.b, raw.n, out);
		assert_int_equal(n, enc.n);
		assert_memory_equal(out, enc.b, n);
		assert_int_equal(cobs_decode(enc.b, enc.n, back, &back_len,
				     NULL),
		    ST_OK);
		assert_int_equal(back_len, raw.n);
		assert_memory_equal(back, raw.b, raw.n);
		blocks++;
	}
	assert_true(blocks >= 3);
}

/* The ```crc block states the codec's CRC-32 of its text. */
static void
test_doc_crc_example_matches_codec(void **state)
{
	(void)state;
	const char *p = doc;
	char line[512], text[512] = "";
	int blocks = 0;

	while (next_line(&p, line, sizeof line)) {
		if (strcmp(line, "```crc") != 0)
			continue;
		unsigned long want = 0;
		int have = 0;

		while (next_line(&p, line, sizeof line) &&
		    strcmp(line, "```") != 0) {
			if (strncmp(line, "ascii: ", 7) == 0)
				snprintf(text, sizeof text, "%s", line + 7);
			else if (strncmp(line, "crc32: ", 7) == 0) {
				want = strtoul(line + 7, NULL, 16);
				have = 1;
			}
		}
		assert_true(have);
		assert_int_equal(crc32_ieee(text, strlen(text)), want);
		blocks++;
	}
	assert_int_equal(blocks, 1);
	assert_int_equal(crc32_ieee("123456789", 9), 0xCBF43926u);
}

struct named {
	int value;
	const char *name;
};

#define C(x) \
	{ \
		PROTO_CMD_##x, #x \
	}
static const struct named cmds[] = { C(NAK), C(HELLO), C(INFO), C(SET_BAUD),
	C(KEYGEN), C(PUBKEY), C(CSR), C(SIGN), C(ATTEST), C(WRITE_CERT),
	C(WRITE_CHAIN), C(READ_CERT), C(READ_CHAIN), C(WRITE_TRUST),
	C(READ_TRUST), C(COMMIT), C(FACTORY_RESET), C(SELFTEST), C(CONTINUE),
	{ -1, NULL } };
#undef C
#define S(x) \
	{ \
		PROTO_ST_##x, #x \
	}
static const struct named statuses[] = { S(OK), S(CONTINUE), S(BUSY),
	S(BAD_FRAME), S(UNKNOWN_CMD), S(BAD_ARG), S(BAD_STATE), S(UNSUPPORTED),
	S(CHIP), S(STORAGE), S(LOCKED), S(TOO_LARGE), S(NO_KEY), S(SEQUENCE),
	{ -1, NULL } };
#undef S
#define T(x) \
	{ \
		PROTO_T_##x, #x \
	}
static const struct named tags[] = { T(VERSION), T(MAX_FRAME), T(SERIAL),
	T(MODEL), T(HW_VERSION), T(FW_VERSION), T(CHIP), T(CAPS), T(STATE),
	T(KEY_ALG), T(SLOT), T(PUBKEY), T(SUBJECT), T(SAN_DNS), T(SAN_URI),
	T(CSR), T(SIG_ALG), T(DIGEST), T(SIGNATURE), T(CERT), T(LOCK),
	T(MESSAGE), T(TEST_ID), T(TEST_RESULT), T(TRUST_CA), T(SERVER_HOST),
	T(SERVER_PORT), T(WINDOW), T(BAUD), T(NONCE), T(ATTEST), T(ATTEST_SIG),
	T(TPM_PUBLIC), T(AK_CERT), { -1, NULL } };
#undef T
#define ST(x, n) \
	{ \
		PROTO_STATE_##x, n \
	}
static const struct named states[] = { ST(BLANK, "blank"), ST(KEYED, "keyed"),
	ST(CERTIFIED, "certified"), ST(COMMITTED, "committed"),
	ST(LOCKED, "locked"), { -1, NULL } };
#undef ST

/*
 * The table after `<!-- table:NAME -->`: rows "| value | `name` | ...".
 * Every row must match `known`, and every entry of `known` must have a row.
 */
static void
check_table(const char *marker, const struct named *known)
{
	const char *p = strstr(doc, marker);
	char line[1024];
	int rows = 0, entries = 0;

	assert_non_null(p);
	next_line(&p, line, sizeof line);
	while (next_line(&p, line, sizeof line) && line[0] == '|') {
		char *tick = strchr(line, '`');
		if (tick == NULL || strncmp(line, "| ---", 5) == 0 ||
		    strstr(line, "| ---"))
			continue;
		long value = strtol(line + 1, NULL, 0);
		char *end = strchr(tick + 1, '`');
		assert_non_null(end);
		*end = '\0';
		int found = 0;
		for (const struct named *k = known; k->name; k++) {
			if (strcmp(k->name, tick + 1) == 0) {
				if (k->value != value)
					fail_msg(
					    "%s: %s is %ld in the doc, %d in "
					    "proto.h",
					    marker, k->name, value, k->value);
				found = 1;
			}
		}
		if (!found)
			fail_msg("%s: %s not in proto.h", marker, tick + 1);
		rows++;
	}
	for (const struct named *k = known; k->name; k++)
		entries++;
	assert_int_equal(rows, entries);
}

/* The command, status, tag and state tables equal drivers/proto.h. */
static void
test_doc_tables_match_proto_h(void **state)
{
	(void)state;
	check_table("<!-- table:commands -->", cmds);
	check_table("<!-- table:statuses -->", statuses);
	check_table("<!-- table:tags -->", tags);
	check_table("<!-- table:states -->", states);
	/* And the names proto.c gives are the same. */
	for (const struct named *k = cmds; k->name; k++)
		assert_string_equal(proto_cmd_name(k->value), k->name);
	for (const struct named *k = statuses; k->name; k++)
		assert_string_equal(proto_status_name(k->value), k->name);
	for (const struct named *k = tags; k->name; k++)
		assert_string_equal(proto_tag_name(k->value), k->name);
	for (const struct named *k = states; k->name; k++)
		assert_string_equal(proto_state_name(k->value), k->name);
}

/* The capability table lists exactly proto.h's bits: a row
 * "| `0x%08x` | `CAP_NAME` |" per PROTO_CAP_NAME, and no other row. */
static void
test_doc_caps_match_proto_h(void **state)
{
#define CAP(x) \
	{ \
		PROTO_CAP_##x, "CAP_" #x \
	}
	static const struct named caps[] = { CAP(EC_P256), CAP(RSA_2048),
		CAP(LOCK), CAP(SELFTEST), CAP(FACTORY_RESET), CAP(SERVER_TRUST),
		CAP(WINDOW), CAP(BAUD_SWITCH), CAP(COMPACT), CAP(ATTEST),
		{ -1, NULL } };
#undef CAP
	const char *p = strstr(doc, "<!-- table:caps -->");
	char line[1024];
	int rows = 0, entries = 0;

	(void)state;
	assert_non_null(p);
	for (const struct named *k = caps; k->name; k++) {
		char row[96];

		snprintf(row, sizeof row, "\n| `0x%08x` | `%s` |", k->value,
		    k->name);
		if (strstr(p, row) == NULL)
			fail_msg("docs/protocol.md: no capability row '%s'",
			    row + 1);
		entries++;
	}
	next_line(&p, line, sizeof line);
	while (next_line(&p, line, sizeof line) && line[0] == '|') {
		if (strncmp(line, "| `0x", 5) == 0)
			rows++;
	}
	assert_int_equal(rows, entries);
	/* `station probe` names every one of them (proto_cap_names), in
	 * the table's order; a bit without a name there shows in hex. */
	for (int i = 0; caps[i].name; i++) {
		assert_non_null(proto_cap_names[i].name);
		assert_int_equal(proto_cap_names[i].bit, caps[i].value);
	}
	assert_null(proto_cap_names[entries].name);
}

/* The overhead figures of section 10 are what the codec's bound gives. */
static void
test_doc_overhead_figures(void **state)
{
	(void)state;
	size_t wire = frame_wire_size(2048);

	assert_int_equal(wire, 2073);
	assert_true((wire - 2048) * 100 <= 2048 * 2);
	assert_non_null(strstr(doc, "2073 bytes on the\nwire, 25 bytes"));
	assert_int_equal(frame_wire_size(0), 17);
	assert_int_equal(frame_wire_size(242), 260);
	assert_int_equal(frame_wire_size(112), 129);
	assert_non_null(strstr(doc, "| 2090 |"));
	assert_non_null(strstr(doc, "| 2362 |"));
	assert_int_equal(frame_wire_size(2048) + frame_wire_size(0), 2090);
	assert_int_equal(8 * frame_wire_size(242) + frame_wire_size(112) +
		9 * frame_wire_size(0),
	    2362);
	/* Windowed (6.3): the request direction and the last reply. */
	assert_int_equal(8 * frame_wire_size(242) + frame_wire_size(112) +
		frame_wire_size(0),
	    2226);
	assert_non_null(strstr(doc, "2226 bytes or\n193.2 ms, **92.0 %**"));
	/* Compact (6.4): 2048 bytes and the CRC-32 after a 242-byte first
	 * chunk are 7 compact chunks of 253 and one of 39. */
	assert_int_equal(2048 + 4 - 242, 7 * 253 + 39);
	assert_int_equal(PROTO_MIN_FRAME - PROTO_COMPACT_OVERHEAD, 253);
	assert_int_equal(compact_wire_size(253), 259);
	assert_int_equal(compact_wire_size(39), 44);
	assert_int_equal(frame_wire_size(242) + 7 * compact_wire_size(253) +
		compact_wire_size(39) + frame_wire_size(0),
	    2134);
	assert_non_null(strstr(doc, "2134 bytes\nor 185.2 ms, **96.0 %**"));
	assert_int_equal((int)(2048 * 1000 / 2134), 959);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doc_frame_examples_decode_as_stated),
		cmocka_unit_test(test_doc_compact_examples),
		cmocka_unit_test(test_doc_cobs_examples_match_codec),
		cmocka_unit_test(test_doc_crc_example_matches_codec),
		cmocka_unit_test(test_doc_tables_match_proto_h),
		cmocka_unit_test(test_doc_caps_match_proto_h),
		cmocka_unit_test(test_doc_overhead_figures),
	};

	return cmocka_run_group_tests_name("protocol_doc", tests, setup,
	    teardown);
}
