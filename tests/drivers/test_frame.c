/* Frame codec: round trips, corruption detection, resynchronisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/frame.h"
#include "drivers/proto.h"

static size_t
encode(const uint8_t *payload, size_t len, uint8_t *wire, size_t cap)
{
	struct frame f = { .version = PROTO_VERSION, .seq = 0x1234,
		.cmd = PROTO_CMD_HELLO, .total = (uint16_t)len,
		.payload = payload, .payload_len = len };
	size_t n = 0;

	assert_int_equal(frame_encode(&f, wire, cap, &n, NULL), ST_OK);
	return n;
}

/* Every payload size from 0 to the maximum survives encode + decode. */
static void
test_round_trip_all_sizes(void **state)
{
	(void)state;
	static uint8_t payload[PROTO_MAX_FRAME], wire[PROTO_MAX_FRAME * 2],
	    scratch[PROTO_MAX_FRAME * 2];

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7 % 5 == 0 ? 0 : i);
	for (size_t len = 0; len + PROTO_OVERHEAD <= PROTO_MAX_FRAME; len++) {
		size_t n = encode(payload, len, wire, sizeof wire);
		struct frame f;

		assert_true(n <= frame_wire_size(len));
		assert_int_equal(wire[0], 0);
		assert_int_equal(wire[n - 1], 0);
		assert_null(memchr(wire + 1, 0, n - 2));
		assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME,
		    scratch, sizeof scratch, &f, NULL), ST_OK);
		assert_int_equal(f.seq, 0x1234);
		assert_int_equal(f.payload_len, len);
		assert_memory_equal(f.payload, payload, len);
	}
}

/* Flipping any single bit of an encoded frame is detected. */
static void
test_every_single_bit_flip_detected(void **state)
{
	(void)state;
	uint8_t payload[300], wire[400];

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 31);
	size_t n = encode(payload, sizeof payload, wire, sizeof wire);
	for (size_t byte = 1; byte < n - 1; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t copy[400];
			struct frame_reader r;
			struct frame f;
			int got = 0, frames = 0;

			memcpy(copy, wire, n);
			copy[byte] ^= (uint8_t)(1u << bit);
			frame_reader_init(&r, PROTO_MAX_FRAME);
			const uint8_t *p = copy;
			size_t left = n;
			while (left > 0) {
				st_err err = frame_reader_feed(&r, &p, &left, &f,
				    &got, NULL);
				if (err == ST_OK && got)
					frames++;
			}
			frame_reader_free(&r);
			assert_int_equal(frames, 0);
		}
	}
}

/* Garbage before a frame is skipped and the frame still arrives. */
static void
test_resync_after_garbage(void **state)
{
	(void)state;
	uint8_t payload[] = { 1, 2, 3, 0, 5 }, wire[64], stream[128];
	size_t n = encode(payload, sizeof payload, wire, sizeof wire);
	static const uint8_t junk[] = { 0x55, 0xAA, 0x00, 0x13, 0x37, 0xFF };
	struct frame_reader r;
	struct frame f;
	int got = 0, frames = 0, errors = 0;

	memcpy(stream, junk, sizeof junk);
	memcpy(stream + sizeof junk, wire, n);
	frame_reader_init(&r, PROTO_MAX_FRAME);
	const uint8_t *p = stream;
	size_t left = sizeof junk + n;
	while (left > 0) {
		if (frame_reader_feed(&r, &p, &left, &f, &got, NULL) != ST_OK)
			errors++;
		else if (got) {
			frames++;
			assert_int_equal(f.payload_len, sizeof payload);
			assert_memory_equal(f.payload, payload, sizeof payload);
		}
	}
	frame_reader_free(&r);
	assert_int_equal(frames, 1);
	assert_int_equal(errors, 2); /* the two runs of junk */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_sizes),
		cmocka_unit_test(test_every_single_bit_flip_detected),
		cmocka_unit_test(test_resync_after_garbage),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
