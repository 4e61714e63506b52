/* TLV payloads: round trips, malformed input, typed getters' errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"

/* Build a payload from a writer; the caller frees. */
static uint8_t *
take(struct tlv_writer *w, size_t *len)
{
	return tlv_writer_take(w, len);
}

/* Every put has a getter that returns the same value, and the bytes on the
 * wire are tag, big-endian length, big-endian value. */
static void
test_round_trip_every_type(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	static const uint8_t blob[] = { 0x30, 0x00, 0xff, 0x00 };

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, 0xA5);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, 0x1234);
	tlv_put_u32(&w, PROTO_T_CAPS, 0xDEADBEEF);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN0001");
	tlv_put(&w, PROTO_T_CERT, blob, sizeof blob);
	tlv_put_str(&w, PROTO_T_MODEL, "");
	uint8_t *buf = take(&w, &len);

	static const uint8_t want[] = { 0x01, 0x00, 0x01, 0xA5, 0x02, 0x00,
		0x02, 0x12, 0x34, 0x08, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF,
		0x03, 0x00, 0x06, 'S', 'N', '0', '0', '0', '1', 0x1a, 0x00,
		0x04, 0x30, 0x00, 0xff, 0x00, 0x04, 0x00, 0x00 };
	assert_int_equal(len, sizeof want);
	assert_memory_equal(buf, want, len);
	assert_int_equal(tlv_validate(buf, len, NULL), ST_OK);

	uint8_t u8 = 0;
	uint16_t u16 = 0;
	uint32_t u32 = 0;
	char *s = NULL;
	const uint8_t *val = NULL;
	size_t vlen = 0;
	assert_int_equal(tlv_get_u8(buf, len, PROTO_T_VERSION, &u8, NULL),
	    ST_OK);
	assert_int_equal(u8, 0xA5);
	assert_int_equal(tlv_get_u16(buf, len, PROTO_T_MAX_FRAME, &u16, NULL),
	    ST_OK);
	assert_int_equal(u16, 0x1234);
	assert_int_equal(tlv_get_u32(buf, len, PROTO_T_CAPS, &u32, NULL),
	    ST_OK);
	assert_int_equal(u32, 0xDEADBEEF);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_SERIAL, 64, &s, NULL),
	    ST_OK);
	assert_string_equal(s, "SN0001");
	free(s);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_MODEL, 64, &s, NULL),
	    ST_OK);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(tlv_get_bytes(buf, len, PROTO_T_CERT, 100, &val, &vlen,
			     NULL),
	    ST_OK);
	assert_int_equal(vlen, sizeof blob);
	assert_memory_equal(val, blob, sizeof blob);
	free(buf);
}

/* Boundary integers survive (0 and all-ones of each width). */
static void
test_integer_extremes_round_trip(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;

	tlv_writer_init(&w);
	tlv_put_u8(&w, 1, 0);
	tlv_put_u8(&w, 2, 0xFF);
	tlv_put_u16(&w, 3, 0);
	tlv_put_u16(&w, 4, 0xFFFF);
	tlv_put_u32(&w, 5, 0);
	tlv_put_u32(&w, 6, 0xFFFFFFFFu);
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_get_u8(buf, len, 1, &u8, NULL), ST_OK);
	assert_int_equal(u8, 0);
	assert_int_equal(tlv_get_u8(buf, len, 2, &u8, NULL), ST_OK);
	assert_int_equal(u8, 0xFF);
	assert_int_equal(tlv_get_u16(buf, len, 3, &u16, NULL), ST_OK);
	assert_int_equal(u16, 0);
	assert_int_equal(tlv_get_u16(buf, len, 4, &u16, NULL), ST_OK);
	assert_int_equal(u16, 0xFFFF);
	assert_int_equal(tlv_get_u32(buf, len, 5, &u32, NULL), ST_OK);
	assert_int_equal(u32, 0);
	assert_int_equal(tlv_get_u32(buf, len, 6, &u32, NULL), ST_OK);
	assert_int_equal(u32, 0xFFFFFFFFu);
	free(buf);
}

/* A value of the largest expressible length (65535) round-trips. */
static void
test_max_length_value_round_trips(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len, vlen = 0;
	const uint8_t *val = NULL;
	uint8_t *big = malloc(0xFFFF);

	for (size_t i = 0; i < 0xFFFF; i++)
		big[i] = (uint8_t)(i * 13);
	tlv_writer_init(&w);
	tlv_put(&w, PROTO_T_CERT, big, 0xFFFF);
	uint8_t *buf = take(&w, &len);
	assert_int_equal(len, 0xFFFF + TLV_HEADER_LEN);
	assert_int_equal(buf[1], 0xFF);
	assert_int_equal(buf[2], 0xFF);
	assert_int_equal(tlv_validate(buf, len, NULL), ST_OK);
	assert_int_equal(tlv_get_bytes(buf, len, PROTO_T_CERT, 0xFFFF, &val,
			     &vlen, NULL),
	    ST_OK);
	assert_int_equal(vlen, 0xFFFF);
	assert_memory_equal(val, big, 0xFFFF);
	free(buf);
	free(big);
}

/* An empty payload is valid and every required getter reports "missing". */
static void
test_empty_payload_valid_but_fields_missing(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len = 99;
	uint8_t u8;
	char *cause = NULL;

	tlv_writer_init(&w);
	uint8_t *buf = take(&w, &len);
	assert_non_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(tlv_validate(buf, 0, NULL), ST_OK);
	assert_int_equal(tlv_get_u8(buf, 0, PROTO_T_STATE, &u8, &cause),
	    ST_E_PROTO);
	assert_string_equal(cause, "STATE missing");
	free(cause);
	free(buf);
}

/* Truncation at every point of a message is caught by tlv_validate. */
static void
test_truncated_header_and_value_rejected(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	char *cause = NULL;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, 1);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN0001");
	uint8_t *buf = take(&w, &len);

	/* Cut inside the second element's header: 1 or 2 of its 3 bytes. */
	assert_int_equal(tlv_validate(buf, 5, &cause), ST_E_PROTO);
	assert_non_null(strstr(cause, "header at offset 4 truncated"));
	assert_int_equal(tlv_validate(buf, 6, &cause), ST_E_PROTO);
	assert_non_null(strstr(cause, "header at offset 4 truncated"));
	/* Cut inside its value. */
	assert_int_equal(tlv_validate(buf, len - 1, &cause), ST_E_PROTO);
	assert_non_null(strstr(cause, "claims 6 bytes, 5 left"));
	/* Every prefix that does not end on an element boundary fails. */
	for (size_t cut = 0; cut <= len; cut++) {
		st_err want =
		    (cut == 0 || cut == 4 || cut == len) ? ST_OK : ST_E_PROTO;
		assert_int_equal(tlv_validate(buf, cut, NULL), want);
	}
	free(cause);
	free(buf);
}

/* A length pointing past the end: invalid, and iteration stops safely. */
static void
test_length_past_end_rejected(void **state)
{
	(void)state;
	static const uint8_t buf[] = { 0x01, 0x00, 0x01, 0x07, 0x1a, 0xFF, 0xFF,
		0x30, 0x82 };
	struct tlv t;
	size_t pos = 0;
	uint8_t u8 = 0;
	const uint8_t *val;
	size_t vlen;

	assert_int_equal(tlv_validate(buf, sizeof buf, NULL), ST_E_PROTO);
	assert_true(tlv_next(buf, sizeof buf, &pos, &t));
	assert_int_equal(t.tag, 0x01);
	assert_false(tlv_next(buf, sizeof buf, &pos, &t));
	/* Getters on such a buffer never read past it either. */
	assert_int_equal(tlv_get_u8(buf, sizeof buf, 0x01, &u8, NULL), ST_OK);
	assert_int_equal(u8, 7);
	assert_int_equal(tlv_get_bytes(buf, sizeof buf, PROTO_T_CERT, 0xFFFF,
			     &val, &vlen, NULL),
	    ST_E_PROTO);
}

/* Strings longer than the caller's bound are refused, at the bound OK. */
static void
test_oversize_string_rejected(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	char s65[66], *out = (char *)1, *cause = NULL;

	memset(s65, 'A', 65);
	s65[65] = '\0';
	tlv_writer_init(&w);
	tlv_put_str(&w, PROTO_T_SERIAL, s65);
	tlv_put_str(&w, PROTO_T_MODEL, s65 + 1);
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_SERIAL, 64, &out,
			     &cause),
	    ST_E_PROTO);
	assert_null(out);
	assert_string_equal(cause,
	    "SERIAL is 65 bytes long, longer than the 64-byte maximum");
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_MODEL, 64, &out, NULL),
	    ST_OK);
	assert_int_equal(strlen(out), 64);
	free(out);
	const uint8_t *val;
	size_t vlen;
	assert_int_equal(tlv_get_bytes(buf, len, PROTO_T_SERIAL, 64, &val,
			     &vlen, NULL),
	    ST_E_PROTO);
	free(cause);
	free(buf);
}

/* Control bytes (NUL, CR, LF, ESC, DEL...) make a string invalid; UTF-8 and
 * printable ASCII pass. */
static void
test_control_characters_in_strings_rejected(void **state)
{
	(void)state;
	static const uint8_t bad[] = { 0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1B, 0x1F,
		0x7F };

	for (size_t i = 0; i < sizeof bad; i++) {
		uint8_t val[] = { 'S', 'N', bad[i], '1' };
		struct tlv_writer w;
		size_t len;
		char *out = NULL, *cause = NULL;

		tlv_writer_init(&w);
		tlv_put(&w, PROTO_T_SERIAL, val, sizeof val);
		uint8_t *buf = take(&w, &len);
		assert_int_equal(tlv_get_str(buf, len, PROTO_T_SERIAL, 64, &out,
				     &cause),
		    ST_E_PROTO);
		assert_null(out);
		assert_non_null(strstr(cause, "SERIAL holds control byte"));
		free(cause);
		free(buf);
	}
	struct tlv_writer w;
	size_t len;
	char *out = NULL;
	tlv_writer_init(&w);
	tlv_put_str(&w, PROTO_T_SUBJECT, "CN=Gr\xc3\xbc\xc3\x9f ~!");
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_SUBJECT, 64, &out, NULL),
	    ST_OK);
	assert_string_equal(out, "CN=Gr\xc3\xbc\xc3\x9f ~!");
	free(out);
	free(buf);
}

/* Missing tags: each getter reports ST_E_PROTO naming the tag. */
static void
test_missing_tags_rejected(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	char *s = NULL, *cause = NULL;
	const uint8_t *val;
	size_t vlen;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, 1);
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_get_u8(buf, len, PROTO_T_STATE, &u8, &cause),
	    ST_E_PROTO);
	assert_string_equal(cause, "STATE missing");
	free(cause);
	cause = NULL;
	/* A tag this station has no name for is shown by number. */
	assert_int_equal(tlv_get_u8(buf, len, 0x5a, &u8, &cause), ST_E_PROTO);
	assert_string_equal(cause, "tag 0x5a missing");
	assert_int_equal(tlv_get_u16(buf, len, PROTO_T_MAX_FRAME, &u16, NULL),
	    ST_E_PROTO);
	assert_int_equal(tlv_get_u32(buf, len, PROTO_T_CAPS, &u32, NULL),
	    ST_E_PROTO);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_SERIAL, 64, &s, NULL),
	    ST_E_PROTO);
	assert_null(s);
	assert_int_equal(tlv_get_bytes(buf, len, PROTO_T_CERT, 10, &val, &vlen,
			     &cause),
	    ST_E_PROTO);
	assert_string_equal(cause, "CERT missing");
	free(cause);
	free(buf);
}

/* Integers of the wrong width are refused by every fixed-width getter. */
static void
test_wrong_widths_rejected(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	char *cause = NULL;

	tlv_writer_init(&w);
	tlv_put_u16(&w, PROTO_T_VERSION, 1);  /* u8 tag, 2 bytes */
	tlv_put_u8(&w, PROTO_T_MAX_FRAME, 1); /* u16 tag, 1 byte */
	tlv_put_u16(&w, PROTO_T_CAPS, 1);     /* u32 tag, 2 bytes */
	tlv_put(&w, PROTO_T_STATE, NULL, 0);  /* u8 tag, empty */
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_get_u8(buf, len, PROTO_T_VERSION, &u8, &cause),
	    ST_E_PROTO);
	assert_string_equal(cause, "VERSION has 2 bytes, a u8 has exactly 1");
	assert_int_equal(tlv_get_u16(buf, len, PROTO_T_MAX_FRAME, &u16, &cause),
	    ST_E_PROTO);
	assert_string_equal(cause,
	    "MAX_FRAME has 1 bytes, a u16 has exactly 2");
	assert_int_equal(tlv_get_u32(buf, len, PROTO_T_CAPS, &u32, &cause),
	    ST_E_PROTO);
	assert_string_equal(cause, "CAPS has 2 bytes, a u32 has exactly 4");
	assert_int_equal(tlv_get_u8(buf, len, PROTO_T_STATE, &u8, NULL),
	    ST_E_PROTO);
	free(cause);
	free(buf);
}

/* Unknown tags between known ones are skipped by every reader. */
static void
test_unknown_tags_skipped(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len;
	uint8_t u8 = 0, junk[300];
	char *s = NULL;

	memset(junk, 0xEE, sizeof junk);
	tlv_writer_init(&w);
	tlv_put(&w, 0xF0, junk, sizeof junk);
	tlv_put_u8(&w, PROTO_T_VERSION, 1);
	tlv_put(&w, 0x7E, NULL, 0);
	tlv_put(&w, 0xFF, junk, 3);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN9");
	uint8_t *buf = take(&w, &len);
	assert_int_equal(tlv_validate(buf, len, NULL), ST_OK);
	assert_int_equal(tlv_get_u8(buf, len, PROTO_T_VERSION, &u8, NULL),
	    ST_OK);
	assert_int_equal(u8, 1);
	assert_int_equal(tlv_get_str(buf, len, PROTO_T_SERIAL, 64, &s, NULL),
	    ST_OK);
	assert_string_equal(s, "SN9");
	free(s);
	free(buf);
}

/* Repeatable tags come back in the order written; tlv_find takes the first. */
static void
test_repeatable_tags_iterated_in_order(void **state)
{
	(void)state;
	static const char *const sans[] = { "a.example", "b.example",
		"c.example" };
	struct tlv_writer w;
	size_t len, pos = 0, n = 0;
	struct tlv t;

	tlv_writer_init(&w);
	tlv_put_str(&w, PROTO_T_SUBJECT, "CN=x");
	for (size_t i = 0; i < 3; i++) {
		tlv_put_str(&w, PROTO_T_SAN_DNS, sans[i]);
		tlv_put_str(&w, PROTO_T_SAN_URI, "urn:x");
	}
	uint8_t *buf = take(&w, &len);
	while (tlv_next(buf, len, &pos, &t)) {
		if (t.tag != PROTO_T_SAN_DNS)
			continue;
		assert_true(n < 3);
		assert_int_equal(t.len, strlen(sans[n]));
		assert_memory_equal(t.val, sans[n], t.len);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(pos, len);
	assert_true(tlv_find(buf, len, PROTO_T_SAN_DNS, &t));
	assert_memory_equal(t.val, "a.example", 9);
	free(buf);
}

/* The writer grows across many puts and take() hands the bytes over. */
static void
test_writer_grows_and_resets(void **state)
{
	(void)state;
	struct tlv_writer w;
	size_t len, pos = 0, n = 0;
	struct tlv t;

	tlv_writer_init(&w);
	for (int i = 0; i < 1000; i++)
		tlv_put_u16(&w, PROTO_T_MAX_FRAME, (uint16_t)i);
	uint8_t *buf = take(&w, &len);
	assert_int_equal(len, 1000 * 5);
	assert_null(w.buf);
	assert_int_equal(w.len, 0);
	while (tlv_next(buf, len, &pos, &t)) {
		assert_int_equal(t.val[0] << 8 | t.val[1], n);
		n++;
	}
	assert_int_equal(n, 1000);
	free(buf);
	tlv_put_u8(&w, 1, 1);
	tlv_writer_free(&w);
	assert_null(w.buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_type),
		cmocka_unit_test(test_integer_extremes_round_trip),
		cmocka_unit_test(test_max_length_value_round_trips),
		cmocka_unit_test(test_empty_payload_valid_but_fields_missing),
		cmocka_unit_test(test_truncated_header_and_value_rejected),
		cmocka_unit_test(test_length_past_end_rejected),
		cmocka_unit_test(test_oversize_string_rejected),
		cmocka_unit_test(test_control_characters_in_strings_rejected),
		cmocka_unit_test(test_missing_tags_rejected),
		cmocka_unit_test(test_wrong_widths_rejected),
		cmocka_unit_test(test_unknown_tags_skipped),
		cmocka_unit_test(test_repeatable_tags_iterated_in_order),
		cmocka_unit_test(test_writer_grows_and_resets),
	};

	return cmocka_run_group_tests_name("tlv", tests, NULL, NULL);
}
