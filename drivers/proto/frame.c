/* Frame codec: COBS, CRC-32, header packing (see frame.h). */
#include "drivers/proto/frame.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "drivers/proto/proto.h"

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void
crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
crc32_ieee(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xFFFFFFFFu;

	/* Slots encode frames from several threads at once: a plain "ready"
	 * flag would let one thread read a table another is still writing. */
	pthread_once(&crc_table_once, crc_table_init);
	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return c ^ 0xFFFFFFFFu;
}

uint16_t
crc16_x25(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t c = 0xFFFFu;

	/* Bitwise: at most 256 bytes a frame, and the device side (the
	 * agent) keeps no table either. */
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (uint16_t)(0x8408u ^ (c >> 1)) :
				      (uint16_t)(c >> 1);
	}
	return (uint16_t)(c ^ 0xFFFFu);
}

size_t
cobs_max_encoded(size_t len)
{
	return len + len / 254 + 1;
}

size_t
cobs_encode(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t code_at = 0, o = 1;
	uint8_t code = 1;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == 0) {
			out[code_at] = code;
			code_at = o++;
			code = 1;
			continue;
		}
		out[o++] = in[i];
		if (++code == 0xFF) {
			out[code_at] = code;
			code_at = o++;
			code = 1;
		}
	}
	out[code_at] = code;
	return o;
}

st_err
cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
    char **cause)
{
	size_t i = 0, o = 0;

	while (i < len) {
		uint8_t code = in[i++];

		if (code == 0)
			return st_fail(cause, ST_E_FRAME,
			    "COBS: zero byte inside a frame at offset %zu",
			    i - 1);
		if (i + code - 1 > len)
			return st_fail(cause, ST_E_FRAME,
			    "COBS: block at offset %zu runs past the frame end",
			    i - 1);
		for (uint8_t k = 1; k < code; k++) {
			if (in[i] == 0)
				return st_fail(cause, ST_E_FRAME,
				    "COBS: zero byte inside a frame at offset %zu",
				    i);
			out[o++] = in[i++];
		}
		/* A short block ends with an implicit zero, except at the end. */
		if (code != 0xFF && i < len)
			out[o++] = 0;
	}
	*out_len = o;
	return ST_OK;
}

size_t
frame_wire_size(size_t payload_len)
{
	return 2 + cobs_max_encoded(PROTO_OVERHEAD + payload_len);
}

size_t
compact_wire_size(size_t payload_len)
{
	return 1 + cobs_max_encoded(PROTO_COMPACT_OVERHEAD + payload_len);
}

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* A compact frame (frame_encode checked its size): mark, payload,
 * CRC-16; only the trailing delimiter. */
static size_t
compact_encode(const struct frame *f, uint8_t *out)
{
	size_t raw_len = PROTO_COMPACT_OVERHEAD + f->payload_len;
	uint8_t stack[PROTO_MAX_FRAME];
	uint16_t crc;
	size_t n;

	stack[0] =
	    (uint8_t)(PROTO_COMPACT_MARK | (f->seq & PROTO_COMPACT_SEQ_MASK));
	if (f->payload_len)
		memcpy(stack + 1, f->payload, f->payload_len);
	crc = crc16_x25(stack, 1 + f->payload_len);
	stack[1 + f->payload_len] = (uint8_t)crc;
	stack[2 + f->payload_len] = (uint8_t)(crc >> 8);
	n = cobs_encode(stack, raw_len, out);
	out[n] = 0;
	return n + 1;
}

/* The bytes between two delimiters held a compact frame (its first
 * decoded byte has the mark) within the limit: length and CRC-16. */
static st_err
compact_decode(uint8_t *raw, size_t raw_len, struct frame *f, char **cause)
{
	size_t body;
	uint16_t want;

	if (raw_len < PROTO_COMPACT_OVERHEAD)
		return st_fail(cause, ST_E_FRAME,
		    "compact frame of %zu bytes is shorter than the %d-byte "
		    "minimum",
		    raw_len, PROTO_COMPACT_OVERHEAD);
	body = raw_len - PROTO_COMPACT_CRC_LEN;
	want = (uint16_t)(raw[body] | raw[body + 1] << 8);
	if (want != crc16_x25(raw, body))
		return st_fail(cause, ST_E_FRAME,
		    "compact frame CRC-16 mismatch (frame says %04x, content "
		    "gives %04x)",
		    want, crc16_x25(raw, body));
	memset(f, 0, sizeof *f);
	f->compact = 1;
	f->seq = raw[0] & PROTO_COMPACT_SEQ_MASK;
	f->payload = raw + 1;
	f->payload_len = body - 1;
	return ST_OK;
}

st_err
frame_encode(const struct frame *f, uint8_t *out, size_t cap, size_t *out_len,
    char **cause)
{
	size_t raw_len =
	    (f->compact ? PROTO_COMPACT_OVERHEAD : PROTO_OVERHEAD) +
	    f->payload_len;
	uint8_t stack[PROTO_MAX_FRAME];
	uint8_t *c;
	uint32_t crc;
	size_t n;

	if (raw_len > PROTO_MAX_FRAME)
		return st_fail(cause, ST_E_ARG,
		    "frame of %zu bytes exceeds the %d-byte maximum", raw_len,
		    PROTO_MAX_FRAME);
	if (cap < frame_wire_size(f->payload_len))
		return st_fail(cause, ST_E_ARG, "frame buffer too small");
	if (f->compact) {
		*out_len = compact_encode(f, out);
		return ST_OK;
	}
	stack[0] = f->version;
	stack[1] = f->flags;
	put_be16(stack + 2, f->seq);
	stack[4] = f->cmd;
	stack[5] = f->status;
	put_be16(stack + 6, f->offset);
	put_be16(stack + 8, f->total);
	if (f->payload_len)
		memcpy(stack + PROTO_HEADER_LEN, f->payload, f->payload_len);
	crc = crc32_ieee(stack, PROTO_HEADER_LEN + f->payload_len);
	c = stack + PROTO_HEADER_LEN + f->payload_len;
	c[0] = (uint8_t)crc;
	c[1] = (uint8_t)(crc >> 8);
	c[2] = (uint8_t)(crc >> 16);
	c[3] = (uint8_t)(crc >> 24);

	out[0] = 0;
	n = cobs_encode(stack, raw_len, out + 1);
	out[1 + n] = 0;
	*out_len = n + 2;
	return ST_OK;
}

st_err
frame_decode(const uint8_t *wire, size_t len, size_t max_frame,
    uint8_t *scratch, size_t cap, struct frame *f, char **cause)
{
	size_t raw_len, body;
	uint32_t want, got;
	st_err err;

	if (len > cap)
		return st_fail(cause, ST_E_FRAME,
		    "frame of %zu encoded bytes exceeds the %zu-byte limit",
		    len, max_frame);
	err = cobs_decode(wire, len, scratch, &raw_len, cause);
	if (err)
		return err;
	/* (Before the minimum: no frame is both, and a compact one has its
	 * own minimum.) */
	if (raw_len > max_frame)
		return st_fail(cause, ST_E_FRAME,
		    "frame of %zu bytes exceeds the negotiated %zu-byte maximum",
		    raw_len, max_frame);
	if (raw_len > 0 && (scratch[0] & PROTO_COMPACT_MARK))
		return compact_decode(scratch, raw_len, f, cause);
	if (raw_len < PROTO_OVERHEAD)
		return st_fail(cause, ST_E_FRAME,
		    "frame of %zu bytes is shorter than the %d-byte minimum",
		    raw_len, PROTO_OVERHEAD);
	body = raw_len - PROTO_CRC_LEN;
	want = (uint32_t)scratch[body] | (uint32_t)scratch[body + 1] << 8 |
	    (uint32_t)scratch[body + 2] << 16 |
	    (uint32_t)scratch[body + 3] << 24;
	got = crc32_ieee(scratch, body);
	if (want != got)
		return st_fail(cause, ST_E_FRAME,
		    "CRC mismatch (frame says %08x, content gives %08x)", want,
		    got);
	if (scratch[0] != PROTO_VERSION)
		return st_fail(cause, ST_E_FRAME,
		    "frame version %u, this station speaks %d", scratch[0],
		    PROTO_VERSION);
	f->compact = 0;
	f->version = scratch[0];
	f->flags = scratch[1];
	f->seq = get_be16(scratch + 2);
	f->cmd = scratch[4];
	f->status = scratch[5];
	f->offset = get_be16(scratch + 6);
	f->total = get_be16(scratch + 8);
	f->payload = scratch + PROTO_HEADER_LEN;
	f->payload_len = body - PROTO_HEADER_LEN;
	if ((size_t)f->offset + f->payload_len > f->total &&
	    f->cmd != PROTO_CMD_CONTINUE)
		return st_fail(cause, ST_E_FRAME,
		    "chunk at offset %u with %zu bytes overruns the %u-byte message",
		    f->offset, f->payload_len, f->total);
	return ST_OK;
}

void
frame_reader_init(struct frame_reader *r, size_t max_frame)
{
	memset(r, 0, sizeof *r);
	r->max_frame = max_frame;
	r->cap = cobs_max_encoded(max_frame);
	r->buf = xmalloc(r->cap);
	r->scratch = xmalloc(r->cap);
}

void
frame_reader_free(struct frame_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->scratch);
	memset(r, 0, sizeof *r);
}

void
frame_reader_set_max(struct frame_reader *r, size_t max_frame)
{
	frame_reader_free(r);
	frame_reader_init(r, max_frame);
}

st_err
frame_reader_feed(struct frame_reader *r, const uint8_t **data, size_t *len,
    struct frame *f, int *got, char **cause)
{
	*got = 0;
	while (*len > 0) {
		uint8_t b = **data;
		size_t n;
		st_err err;

		(*data)++;
		(*len)--;
		if (b != 0) {
			if (r->overflow)
				continue;
			if (r->len == r->cap) {
				r->overflow = 1;
				r->len = 0;
				continue;
			}
			r->buf[r->len++] = b;
			continue;
		}
		/* Delimiter: a frame (or noise, or nothing) ends here. */
		if (r->overflow) {
			r->overflow = 0;
			return st_fail(cause, ST_E_FRAME,
			    "frame longer than the %zu-byte maximum, dropped",
			    r->max_frame);
		}
		if (r->len == 0)
			continue;
		n = r->len;
		r->len = 0;
		err = frame_decode(r->buf, n, r->max_frame, r->scratch, r->cap,
		    f, cause);
		if (err)
			return err;
		*got = 1;
		return ST_OK;
	}
	return ST_OK;
}
