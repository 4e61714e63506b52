/* Frame codec: round trips, corruption detection, resynchronisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"

static size_t
encode(const uint8_t *payload, size_t len, uint8_t *wire, size_t cap)
{
	struct frame f = { .version = PROTO_VERSION,
		.seq = 0x1234,
		.cmd = PROTO_CMD_HELLO,
		.total = (uint16_t)len,
		.payload = payload,
		.payload_len = len };
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
				     scratch, sizeof scratch, &f, NULL),
		    ST_OK);
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
				st_err err = frame_reader_feed(&r, &p, &left,
				    &f, &got, NULL);
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

/* Encode a frame with the given header fields; returns the wire length. */
static size_t
encode_hdr(uint8_t version, uint16_t seq, uint8_t cmd, uint16_t offset,
    uint16_t total, const uint8_t *payload, size_t len, uint8_t *wire,
    size_t cap)
{
	struct frame f = { .version = version,
		.seq = seq,
		.cmd = cmd,
		.offset = offset,
		.total = total,
		.payload = payload,
		.payload_len = len };
	size_t n = 0;

	assert_int_equal(frame_encode(&f, wire, cap, &n, NULL), ST_OK);
	return n;
}

/* Feed a whole stream; count frames and errors, remember the seqs seen. */
static void
feed_all(size_t max_frame, const uint8_t *stream, size_t len, int *frames,
    int *errors, uint16_t *seqs, size_t nseqs)
{
	struct frame_reader r;
	struct frame f;
	int got = 0;

	*frames = *errors = 0;
	frame_reader_init(&r, max_frame);
	while (len > 0) {
		if (frame_reader_feed(&r, &stream, &len, &f, &got, NULL) !=
		    ST_OK)
			(*errors)++;
		else if (got) {
			if ((size_t)*frames < nseqs)
				seqs[*frames] = f.seq;
			(*frames)++;
		}
	}
	frame_reader_free(&r);
}

/* CRC-32/IEEE check value and the empty input. */
static void
test_crc32_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc32_ieee("123456789", 9), 0xCBF43926u);
	assert_int_equal(crc32_ieee("", 0), 0);
	assert_int_equal(crc32_ieee("a", 1), 0xE8B7BE43u);
}

struct cobs_vec {
	uint8_t raw[300], enc[300];
	size_t raw_len, enc_len;
};

/* Append `n` bytes counting up from `from` (wrapping past 0xFF to 0x01). */
static size_t
run(uint8_t *p, size_t at, unsigned from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[at + i] = (uint8_t)(from + i);
	return at + n;
}

/* Known COBS vectors (Cheshire & Baker; the 254/255-byte runs included)
 * encode exactly and decode back. */
static void
test_cobs_known_vectors(void **state)
{
	(void)state;
	static struct cobs_vec v[12];
	size_t k = 0, a, b;

	/* Short ones. */
	static const uint8_t r0[] = { 0x00 }, e0[] = { 0x01, 0x01 };
	static const uint8_t r1[] = { 0x00, 0x00 }, e1[] = { 1, 1, 1 };
	static const uint8_t r2[] = { 0x00, 0x11, 0x00 },
			     e2[] = { 0x01, 0x02, 0x11, 0x01 };
	static const uint8_t r3[] = { 0x11, 0x22, 0x00, 0x33 },
			     e3[] = { 0x03, 0x11, 0x22, 0x02, 0x33 };
	static const uint8_t r4[] = { 0x11, 0x22, 0x33, 0x44 },
			     e4[] = { 0x05, 0x11, 0x22, 0x33, 0x44 };
	static const uint8_t r5[] = { 0x11, 0x00, 0x00, 0x00 },
			     e5[] = { 0x02, 0x11, 0x01, 0x01, 0x01 };
	const uint8_t *rs[] = { r0, r1, r2, r3, r4, r5 };
	const uint8_t *es[] = { e0, e1, e2, e3, e4, e5 };
	size_t rl[] = { 1, 2, 3, 4, 4, 4 }, el[] = { 2, 3, 4, 5, 5, 5 };
	for (k = 0; k < 6; k++) {
		memcpy(v[k].raw, rs[k], rl[k]);
		v[k].raw_len = rl[k];
		memcpy(v[k].enc, es[k], el[k]);
		v[k].enc_len = el[k];
	}
	/* 01..FE (254 non-zero): FF 01..FE 01. */
	v[k].raw_len = run(v[k].raw, 0, 1, 254);
	v[k].enc[0] = 0xFF;
	a = run(v[k].enc, 1, 1, 254);
	v[k].enc[a++] = 0x01;
	v[k++].enc_len = a;
	/* 00 01..FE: 01 FF 01..FE 01. */
	v[k].raw[0] = 0;
	v[k].raw_len = run(v[k].raw, 1, 1, 254);
	v[k].enc[0] = 0x01;
	v[k].enc[1] = 0xFF;
	a = run(v[k].enc, 2, 1, 254);
	v[k].enc[a++] = 0x01;
	v[k++].enc_len = a;
	/* 01..FF (255 non-zero): FF 01..FE 02 FF. */
	v[k].raw_len = run(v[k].raw, 0, 1, 255);
	v[k].enc[0] = 0xFF;
	a = run(v[k].enc, 1, 1, 254);
	v[k].enc[a++] = 0x02;
	v[k].enc[a++] = 0xFF;
	v[k++].enc_len = a;
	/* 02..FF 00: FF 02..FF 01 01. */
	b = run(v[k].raw, 0, 2, 254);
	v[k].raw[b++] = 0;
	v[k].raw_len = b;
	v[k].enc[0] = 0xFF;
	a = run(v[k].enc, 1, 2, 254);
	v[k].enc[a++] = 0x01;
	v[k].enc[a++] = 0x01;
	v[k++].enc_len = a;
	/* 03..FF 00 01: FE 03..FF 02 01. */
	b = run(v[k].raw, 0, 3, 253);
	v[k].raw[b++] = 0;
	v[k].raw[b++] = 1;
	v[k].raw_len = b;
	v[k].enc[0] = 0xFE;
	a = run(v[k].enc, 1, 3, 253);
	v[k].enc[a++] = 0x02;
	v[k].enc[a++] = 0x01;
	v[k++].enc_len = a;

	for (size_t i = 0; i < k; i++) {
		uint8_t out[300], back[300];
		size_t n = cobs_encode(v[i].raw, v[i].raw_len, out), bn = 0;

		assert_int_equal(n, v[i].enc_len);
		assert_memory_equal(out, v[i].enc, n);
		assert_true(n <= cobs_max_encoded(v[i].raw_len));
		assert_int_equal(cobs_decode(out, n, back, &bn, NULL), ST_OK);
		assert_int_equal(bn, v[i].raw_len);
		assert_memory_equal(back, v[i].raw, bn);
	}
	/* The shorter form of a final 254-byte run (no trailing 01) decodes
	 * to the same bytes. */
	uint8_t back[300];
	size_t bn = 0;
	assert_int_equal(cobs_decode(v[6].enc, v[6].enc_len - 1, back, &bn,
			     NULL),
	    ST_OK);
	assert_int_equal(bn, 254);
	assert_memory_equal(back, v[6].raw, 254);
}

/* Malformed COBS: a zero byte inside, a block running past the end. */
static void
test_cobs_malformed_rejected(void **state)
{
	(void)state;
	static const uint8_t zero_code[] = { 0x02, 0x11, 0x00, 0x33 };
	static const uint8_t zero_data[] = { 0x03, 0x11, 0x00 };
	static const uint8_t past_end[] = { 0x05, 0x11, 0x22 };
	uint8_t out[8];
	size_t n;
	char *cause = NULL;

	assert_int_equal(cobs_decode(zero_code, sizeof zero_code, out, &n,
			     &cause),
	    ST_E_FRAME);
	assert_non_null(strstr(cause, "zero byte"));
	assert_int_equal(cobs_decode(zero_data, sizeof zero_data, out, &n,
			     &cause),
	    ST_E_FRAME);
	assert_non_null(strstr(cause, "zero byte"));
	assert_int_equal(cobs_decode(past_end, sizeof past_end, out, &n,
			     &cause),
	    ST_E_FRAME);
	assert_non_null(strstr(cause, "runs past"));
	free(cause);
}

/* Payloads of 0, 1, 253, 254, 255 and the maximum size, all non-zero
 * (COBS worst case) and all zero, round-trip within frame_wire_size(). */
static void
test_boundary_payload_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, 253, 254, 255,
		PROTO_MAX_FRAME - PROTO_OVERHEAD };
	static uint8_t payload[PROTO_MAX_FRAME], wire[PROTO_MAX_FRAME * 2],
	    scratch[PROTO_MAX_FRAME * 2];

	for (int fill = 0; fill < 2; fill++) {
		for (size_t i = 0; i < sizeof payload; i++)
			payload[i] = fill ? 0 : (uint8_t)(i % 255 + 1);
		for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
			size_t len = sizes[s];
			size_t n = encode_hdr(PROTO_VERSION, 7, PROTO_CMD_CSR,
			    0, (uint16_t)len, payload, len, wire, sizeof wire);
			struct frame f;

			assert_true(n <= frame_wire_size(len));
			assert_null(memchr(wire + 1, 0, n - 2));
			assert_int_equal(frame_decode(wire + 1, n - 2,
					     PROTO_MAX_FRAME, scratch,
					     sizeof scratch, &f, NULL),
			    ST_OK);
			assert_int_equal(f.cmd, PROTO_CMD_CSR);
			assert_int_equal(f.total, len);
			assert_int_equal(f.payload_len, len);
			assert_memory_equal(f.payload, payload, len);
		}
	}
}

/* frame_encode refuses a frame over PROTO_MAX_FRAME and a short buffer. */
static void
test_oversized_frame_rejected_by_encode(void **state)
{
	(void)state;
	static uint8_t payload[PROTO_MAX_FRAME], wire[PROTO_MAX_FRAME * 2];
	size_t len = PROTO_MAX_FRAME - PROTO_OVERHEAD + 1, n = 0;
	struct frame f = { .version = PROTO_VERSION,
		.cmd = PROTO_CMD_WRITE_CERT,
		.total = (uint16_t)len,
		.payload = payload,
		.payload_len = len };
	char *cause = NULL;

	assert_int_equal(frame_encode(&f, wire, sizeof wire, &n, &cause),
	    ST_E_ARG);
	assert_non_null(strstr(cause, "exceeds"));
	f.payload_len = f.total = 10;
	assert_int_equal(frame_encode(&f, wire, frame_wire_size(10) - 1, &n,
			     &cause),
	    ST_E_ARG);
	assert_int_equal(frame_encode(&f, wire, frame_wire_size(10), &n, NULL),
	    ST_OK);
	free(cause);
}

/* A frame over the reader's limit is dropped (both when it overflows the
 * buffer and when it only decodes too large) and the next frame arrives. */
static void
test_oversized_frame_dropped_by_reader(void **state)
{
	(void)state;
	static uint8_t payload[600], stream[2048];
	uint16_t seqs[4];
	int frames, errors;
	size_t n;

	/* 600 non-zero bytes: far more encoded bytes than a 256 buffer. */
	memset(payload, 0x5A, sizeof payload);
	n = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_CSR, 0, 600, payload, 600,
	    stream, sizeof stream);
	n += encode_hdr(PROTO_VERSION, 2, PROTO_CMD_CSR, 0, 5, payload, 5,
	    stream + n, sizeof stream - n);
	feed_all(256, stream, n, &frames, &errors, seqs, 4);
	assert_int_equal(errors, 1);
	assert_int_equal(frames, 1);
	assert_int_equal(seqs[0], 2);

	/* 243 zero bytes: decoded 257 > 256, but the encoding fits the
	 * reader's buffer; the size check drops it. */
	memset(payload, 0, sizeof payload);
	n = encode_hdr(PROTO_VERSION, 3, PROTO_CMD_CSR, 0, 243, payload, 243,
	    stream, sizeof stream);
	assert_true(n - 2 <= cobs_max_encoded(256));
	n += encode_hdr(PROTO_VERSION, 4, PROTO_CMD_CSR, 0, 242, payload, 242,
	    stream + n, sizeof stream - n);
	feed_all(256, stream, n, &frames, &errors, seqs, 4);
	assert_int_equal(errors, 1);
	assert_int_equal(frames, 1);
	assert_int_equal(seqs[0], 4);
}

/* Every truncation of a frame's encoding fails to decode. */
static void
test_truncated_frames_rejected(void **state)
{
	(void)state;
	uint8_t payload[40], wire[128], scratch[256];
	struct frame f;

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i % 3 ? i : 0);
	size_t n = encode_hdr(PROTO_VERSION, 9, PROTO_CMD_SIGN, 0,
	    sizeof payload, payload, sizeof payload, wire, sizeof wire);
	for (size_t cut = 0; cut < n - 2; cut++)
		assert_int_equal(frame_decode(wire + 1, cut, PROTO_MAX_FRAME,
				     scratch, sizeof scratch, &f, NULL),
		    ST_E_FRAME);
	assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME, scratch,
			     sizeof scratch, &f, NULL),
	    ST_OK);
}

/* A frame with another version byte (and a correct CRC) is refused. */
static void
test_wrong_version_rejected(void **state)
{
	(void)state;
	uint8_t wire[64], scratch[128];
	struct frame f;
	char *cause = NULL;

	for (int v = 0; v < 256; v++) {
		if (v == PROTO_VERSION)
			continue;
		size_t n = encode_hdr((uint8_t)v, 1, PROTO_CMD_HELLO, 0, 0,
		    NULL, 0, wire, sizeof wire);
		assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME,
				     scratch, sizeof scratch, &f, &cause),
		    ST_E_FRAME);
		/* A first byte with the compact mark makes it a compact
		 * frame (6.4), whose CRC-16 the full frame's bytes fail. */
		assert_non_null(strstr(cause,
		    (v & PROTO_COMPACT_MARK) ? "CRC-16" : "version"));
	}
	free(cause);
}

/* offset + payload > total is refused, except in CONTINUE frames where the
 * offset is the position asked for. */
static void
test_chunk_overrun_rejected(void **state)
{
	(void)state;
	uint8_t payload[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, wire[64], scratch[128];
	struct frame f;
	char *cause = NULL;
	size_t n;

	n = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_WRITE_CHAIN, 10, 17, payload,
	    8, wire, sizeof wire);
	assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME, scratch,
			     sizeof scratch, &f, &cause),
	    ST_E_FRAME);
	assert_non_null(strstr(cause, "overruns"));
	n = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_WRITE_CHAIN, 10, 18, payload,
	    8, wire, sizeof wire);
	assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME, scratch,
			     sizeof scratch, &f, NULL),
	    ST_OK);
	assert_int_equal(f.offset, 10);
	n = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_CONTINUE, 300, 0, NULL, 0,
	    wire, sizeof wire);
	assert_int_equal(frame_decode(wire + 1, n - 2, PROTO_MAX_FRAME, scratch,
			     sizeof scratch, &f, NULL),
	    ST_OK);
	assert_int_equal(f.offset, 300);
	free(cause);
}

/* The same frame sent twice (a retransmission) decodes twice, identically. */
static void
test_duplicated_frames_decode_twice(void **state)
{
	(void)state;
	uint8_t payload[] = { 0x1a, 0x00, 0x02, 0x00, 0x01 }, stream[128];
	struct frame_reader r;
	struct frame f;
	int got = 0, frames = 0;

	size_t n = encode_hdr(PROTO_VERSION, 0xBEEF, PROTO_CMD_WRITE_CERT, 0,
	    sizeof payload, payload, sizeof payload, stream, sizeof stream);
	memcpy(stream + n, stream, n);
	frame_reader_init(&r, PROTO_MAX_FRAME);
	const uint8_t *p = stream;
	size_t left = 2 * n;
	while (left > 0) {
		assert_int_equal(frame_reader_feed(&r, &p, &left, &f, &got,
				     NULL),
		    ST_OK);
		if (!got)
			continue;
		frames++;
		assert_int_equal(f.seq, 0xBEEF);
		assert_int_equal(f.cmd, PROTO_CMD_WRITE_CERT);
		assert_int_equal(f.payload_len, sizeof payload);
		assert_memory_equal(f.payload, payload, sizeof payload);
	}
	frame_reader_free(&r);
	assert_int_equal(frames, 2);
}

/* Any single-bit flip anywhere in a frame (delimiters included) of several
 * sizes loses that frame only: the frame after it still arrives. */
static void
test_bit_flips_detected_several_sizes(void **state)
{
	(void)state;
	static const size_t sizes[] = { 0, 1, 253, 254, 255, 1000 };
	static uint8_t payload[1000], stream[2200];

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i % 97 ? i * 29 : 0);
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		size_t a = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_READ_CHAIN, 0,
		    (uint16_t)sizes[s], payload, sizes[s], stream,
		    sizeof stream);
		size_t n = a +
		    encode_hdr(PROTO_VERSION, 2, PROTO_CMD_HELLO, 0, 3,
			payload + 1, 3, stream + a, sizeof stream - a);

		for (size_t byte = 0; byte < a; byte++) {
			for (int bit = 0; bit < 8; bit++) {
				uint16_t seqs[4] = { 0 };
				int frames, errors;

				stream[byte] ^= (uint8_t)(1u << bit);
				feed_all(PROTO_MAX_FRAME, stream, n, &frames,
				    &errors, seqs, 4);
				stream[byte] ^= (uint8_t)(1u << bit);
				if (frames != 1 || seqs[0] != 2)
					fail_msg("size %zu byte %zu bit %d: %d "
						 "frames, first seq %u",
					    sizes[s], byte, bit, frames,
					    seqs[0]);
				assert_true(errors >= 1);
			}
		}
	}
}

/* The bound the protocol document states: a 2048-byte payload costs at
 * most 2 % on the wire. */
static void
test_overhead_of_2048_byte_payload_at_most_2_percent(void **state)
{
	(void)state;
	static uint8_t payload[2048], wire[2200];

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i % 255 + 1);
	size_t n = encode_hdr(PROTO_VERSION, 1, PROTO_CMD_WRITE_CHAIN, 0, 2048,
	    payload, 2048, wire, sizeof wire);
	assert_true(n <= frame_wire_size(2048));
	assert_true((frame_wire_size(2048) - 2048) * 50 <= 2048);
}

/* CRC-16/X-25 (compact frames, docs/protocol.md 6.4): its published
 * check value. */
static void
test_crc16_check_value(void **state)
{
	(void)state;
	assert_int_equal(crc16_x25("123456789", 9), 0x906E);
	assert_int_equal(crc16_x25("", 0), 0x0000);
}

/* Compact frames: every payload size up to a 256-byte frame survives
 * encode + decode, with only the trailing delimiter, the seq's low 7
 * bits and nothing else of a header. */
static void
test_compact_round_trip(void **state)
{
	(void)state;
	static uint8_t payload[PROTO_MIN_FRAME], wire[PROTO_MIN_FRAME * 2],
	    scratch[PROTO_MIN_FRAME * 2];

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 7 % 5 == 0 ? 0 : i);
	for (size_t len = 0; len + PROTO_COMPACT_OVERHEAD <= PROTO_MIN_FRAME;
	     len++) {
		struct frame in = { .compact = 1,
			.seq = (uint16_t)(0x1200 + len),
			.payload = payload,
			.payload_len = len },
			     out;
		size_t n = 0;

		assert_int_equal(frame_encode(&in, wire, sizeof wire, &n, NULL),
		    ST_OK);
		assert_true(n <= frame_wire_size(len));
		assert_int_not_equal(wire[0], 0); /* no leading delimiter */
		assert_int_equal(wire[n - 1], 0);
		assert_null(memchr(wire, 0, n - 1));
		assert_int_equal(frame_decode(wire, n - 1, PROTO_MIN_FRAME,
				     scratch, sizeof scratch, &out, NULL),
		    ST_OK);
		assert_int_equal(out.compact, 1);
		assert_int_equal(out.seq, (0x1200 + len) & 0x7f);
		assert_int_equal(out.cmd, 0);
		assert_int_equal(out.flags, 0);
		assert_int_equal(out.payload_len, len);
		if (len)
			assert_memory_equal(out.payload, payload, len);
	}
}

/* Every single-bit error in a 256-byte compact frame is caught (CRC-16
 * finds all of them), and a frame over the limit is refused. */
static void
test_compact_bit_flips_and_limit(void **state)
{
	(void)state;
	static uint8_t payload[PROTO_MIN_FRAME], wire[PROTO_MIN_FRAME * 2],
	    bad[PROTO_MIN_FRAME * 2], scratch[PROTO_MIN_FRAME * 2];
	struct frame in = { .compact = 1,
		.seq = 5,
		.payload = payload,
		.payload_len = PROTO_MIN_FRAME - PROTO_COMPACT_OVERHEAD },
		     out;
	size_t n = 0;
	char *cause = NULL;
	int caught = 0;

	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i + 1);
	assert_int_equal(frame_encode(&in, wire, sizeof wire, &n, NULL), ST_OK);
	for (size_t byte = 0; byte + 1 < n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(bad, wire, n);
			bad[byte] ^= (uint8_t)(1u << bit);
			if (bad[byte] == 0)
				continue; /* a delimiter: the frame splits */
			if (frame_decode(bad, n - 1, PROTO_MIN_FRAME, scratch,
				sizeof scratch, &out, NULL) == ST_E_FRAME)
				caught++;
			else
				fail_msg("flip of bit %d in byte %zu passed",
				    bit, byte);
		}
	}
	assert_true(caught > 8 * 250);
	in.payload_len++;
	assert_int_equal(frame_encode(&in, wire, sizeof wire, &n, NULL), ST_OK);
	assert_int_equal(frame_decode(wire, n - 1, PROTO_MIN_FRAME, scratch,
			     sizeof scratch, &out, &cause),
	    ST_E_FRAME);
	assert_non_null(strstr(cause, "exceeds"));
	free(cause);
}

/* A full frame and two compact frames back to back share delimiters:
 * the streaming reader gives all three, in order. */
static void
test_reader_takes_shared_delimiters(void **state)
{
	(void)state;
	static uint8_t a[40] = { 1, 2, 3 }, b[200], wire[1024];
	struct frame fs[3] = {
		{ .version = PROTO_VERSION,
		    .flags = PROTO_FLAG_COMPACT,
		    .seq = 300,
		    .cmd = PROTO_CMD_WRITE_CHAIN,
		    .total = 400,
		    .payload = a,
		    .payload_len = sizeof a },
		{ .compact = 1, .seq = 301, .payload = b, .payload_len = 200 },
		{ .compact = 1, .seq = 302, .payload = a, .payload_len = 3 },
	};
	struct frame_reader r;
	size_t len = 0;

	memset(b, 0xab, sizeof b);
	for (int i = 0; i < 3; i++) {
		size_t n = 0;

		assert_int_equal(frame_encode(&fs[i], wire + len,
				     sizeof wire - len, &n, NULL),
		    ST_OK);
		len += n;
	}
	frame_reader_init(&r, PROTO_MIN_FRAME);
	const uint8_t *p = wire;
	for (int i = 0; i < 3; i++) {
		struct frame f;
		int got = 0;

		assert_int_equal(frame_reader_feed(&r, &p, &len, &f, &got,
				     NULL),
		    ST_OK);
		assert_int_equal(got, 1);
		assert_int_equal(f.compact, i > 0);
		assert_int_equal(f.seq, i == 0 ? 300 : (300 + i) & 0x7f);
		assert_int_equal(f.payload_len, fs[i].payload_len);
	}
	assert_int_equal(len, 0);
	frame_reader_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_all_sizes),
		cmocka_unit_test(test_every_single_bit_flip_detected),
		cmocka_unit_test(test_resync_after_garbage),
		cmocka_unit_test(test_crc32_check_value),
		cmocka_unit_test(test_cobs_known_vectors),
		cmocka_unit_test(test_cobs_malformed_rejected),
		cmocka_unit_test(test_boundary_payload_sizes),
		cmocka_unit_test(test_oversized_frame_rejected_by_encode),
		cmocka_unit_test(test_oversized_frame_dropped_by_reader),
		cmocka_unit_test(test_truncated_frames_rejected),
		cmocka_unit_test(test_wrong_version_rejected),
		cmocka_unit_test(test_chunk_overrun_rejected),
		cmocka_unit_test(test_duplicated_frames_decode_twice),
		cmocka_unit_test(test_bit_flips_detected_several_sizes),
		cmocka_unit_test(
		    test_overhead_of_2048_byte_payload_at_most_2_percent),
		cmocka_unit_test(test_crc16_check_value),
		cmocka_unit_test(test_compact_round_trip),
		cmocka_unit_test(test_compact_bit_flips_and_limit),
		cmocka_unit_test(test_reader_takes_shared_delimiters),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
