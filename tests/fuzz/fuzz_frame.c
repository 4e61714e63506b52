/*
 * Fuzz the frame codec (drivers/frame.c): cobs_decode and frame_decode on
 * raw wire bytes, frame_reader_feed on a byte stream cut in two reads, and
 * the checks behind the CRC, which random bytes almost never pass: the
 * input is also taken as a decoded frame, given a correct CRC, encoded,
 * and decoded again.
 */
#include <string.h>

#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "tests/fuzz/fuzz.h"

#define FRAME_FUZZ_CAP (PROTO_MAX_FRAME + PROTO_MAX_FRAME / 254 + 8)

/* A decoded frame encodes and decodes back to itself.  (Not necessarily
 * to the same wire bytes: COBS lets a 254-byte block end the frame with
 * or without a final empty block.) */
static void
frame_fuzz_roundtrip(const struct frame *f)
{
	static uint8_t out[FRAME_FUZZ_CAP], scratch[FRAME_FUZZ_CAP];
	struct frame back;
	size_t n = 0;

	FUZZ_CHECK(frame_encode(f, out, sizeof out, &n, NULL) == ST_OK);
	FUZZ_CHECK(n >= 2 && out[0] == 0 && out[n - 1] == 0);
	FUZZ_CHECK(frame_decode(out + 1, n - 2, PROTO_MAX_FRAME, scratch,
		       sizeof scratch, &back, NULL) == ST_OK);
	FUZZ_CHECK(back.flags == f->flags && back.seq == f->seq &&
	    back.cmd == f->cmd && back.status == f->status &&
	    back.offset == f->offset && back.total == f->total);
	FUZZ_CHECK(back.payload_len == f->payload_len);
	FUZZ_CHECK(memcmp(back.payload, f->payload, f->payload_len) == 0);
}

static void
frame_fuzz_wire(const uint8_t *data, size_t size)
{
	static uint8_t scratch[FRAME_FUZZ_CAP];
	size_t cap = cobs_max_encoded(PROTO_MAX_FRAME);
	uint8_t *out = malloc(size ? size : 1);
	size_t out_len = 0;
	struct frame f;

	if (cobs_decode(data, size, out, &out_len, NULL) == ST_OK)
		FUZZ_CHECK(out_len <= size);
	free(out);
	if (frame_decode(data, size, PROTO_MAX_FRAME, scratch, cap, &f, NULL) ==
	    ST_OK) {
		FUZZ_CHECK(f.payload_len + PROTO_OVERHEAD <= PROTO_MAX_FRAME);
		frame_fuzz_roundtrip(&f);
	}
}

static void
frame_fuzz_stream(const uint8_t *data, size_t size)
{
	struct frame_reader r;
	size_t max = size && (data[0] & 1) ? PROTO_MIN_FRAME : PROTO_MAX_FRAME;
	size_t cut = size ? data[0] % (size + 1) : 0;
	const uint8_t *parts[2] = { data, data + cut };
	size_t lens[2] = { cut, size - cut };

	frame_reader_init(&r, max);
	for (int i = 0; i < 2; i++) {
		const uint8_t *p = parts[i];
		size_t left = lens[i];

		while (left > 0) {
			struct frame f;
			int got = 0;
			char *why = NULL;
			st_err err =
			    frame_reader_feed(&r, &p, &left, &f, &got, &why);

			FUZZ_CHECK(err == ST_OK || why != NULL);
			free(why);
			if (got)
				FUZZ_CHECK(
				    f.payload_len + PROTO_OVERHEAD <= max);
		}
	}
	frame_reader_free(&r);
}

/* The input as header + payload: a correct CRC gets it past the CRC. */
static void
frame_fuzz_crc_fixed(const uint8_t *data, size_t size)
{
	static uint8_t raw[PROTO_MAX_FRAME], enc[FRAME_FUZZ_CAP],
	    scratch[FRAME_FUZZ_CAP];
	struct frame f;

	if (size + PROTO_CRC_LEN > sizeof raw)
		size = sizeof raw - PROTO_CRC_LEN;
	memcpy(raw, data, size);
	uint32_t crc = crc32_ieee(raw, size);
	for (int i = 0; i < 4; i++)
		raw[size + (size_t)i] = (uint8_t)(crc >> (8 * i));
	size_t n = cobs_encode(raw, size + PROTO_CRC_LEN, enc);
	FUZZ_CHECK(memchr(enc, 0, n) == NULL);
	st_err err = frame_decode(enc, n, PROTO_MAX_FRAME, scratch,
	    sizeof scratch, &f, NULL);
	if (size < PROTO_HEADER_LEN) {
		FUZZ_CHECK(err == ST_E_FRAME);
		return;
	}
	if (err == ST_OK) {
		FUZZ_CHECK(f.version == PROTO_VERSION);
		FUZZ_CHECK(f.payload_len == size - PROTO_HEADER_LEN);
		FUZZ_CHECK(memcmp(f.payload, data + PROTO_HEADER_LEN,
			       f.payload_len) == 0);
		frame_fuzz_roundtrip(&f);
	}
}

int
fuzz_frame(const uint8_t *data, size_t size)
{
	frame_fuzz_wire(data, size);
	frame_fuzz_stream(data, size);
	frame_fuzz_crc_fixed(data, size);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_frame(data, size);
}
#endif
