/*
 * Frame codec: pure functions over buffers, no I/O.
 *
 * On the wire a frame is COBS(header || payload || crc32le) followed by one
 * 0x00 delimiter; senders also put a 0x00 *before* each frame so a receiver
 * that caught line noise resynchronises at once.  The header is
 *
 *	off size field
 *	0   1    version (PROTO_VERSION)
 *	1   1    flags   (PROTO_FLAG_RESPONSE)
 *	2   2    seq     big-endian; a reply echoes the request's
 *	4   1    cmd     (enum proto_cmd); a reply echoes it
 *	5   1    status  (enum proto_status); 0 in requests
 *	6   2    offset  big-endian: where this chunk's payload starts in the
 *	                 whole message (CONTINUE: the offset asked for)
 *	8   2    total   big-endian: length of the whole message
 *
 * and the CRC-32 (IEEE 802.3, as zlib) covers header and payload.
 *
 * A compact frame (PROTO_CAP_COMPACT, docs/protocol.md 6.4) is
 * COBS(mark || payload || crc16le) followed by one 0x00 and no leading
 * one: it only ever follows another frame of the same transfer, whose
 * trailing delimiter it shares.  The mark byte (PROTO_COMPACT_MARK | the
 * low 7 bits of seq) can never be a full frame's version byte (0x01);
 * command, status, offset and total are those of the transfer.
 */
#ifndef ST_FRAME_H
#define ST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

struct frame {
	/* 1: a compact frame; only seq (its low 7 bits) and the payload
	 * count, the other header fields are 0. */
	uint8_t compact;
	uint8_t version;
	uint8_t flags;
	uint16_t seq;
	uint8_t cmd;
	uint8_t status;
	uint16_t offset;
	uint16_t total;
	const uint8_t *payload; /* borrowed: points into the decode buffer */
	size_t payload_len;
};

/* CRC-32 (reflected 0xEDB88320, init and final xor 0xFFFFFFFF). */
uint32_t crc32_ieee(const void *buf, size_t len);
/* CRC-16/X-25, the HDLC frame check sequence (reflected 0x8408, init and
 * final xor 0xFFFF): a compact frame's check. */
uint16_t crc16_x25(const void *buf, size_t len);

/* COBS-encode `len` bytes of `in` into `out`; returns the encoded length.
 * `out` must hold cobs_max_encoded(len) bytes.  No delimiter is added. */
size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out);
size_t cobs_max_encoded(size_t len);
/* COBS-decode; returns ST_E_FRAME on a malformed encoding (a zero byte,
 * or a code byte that points past the end). `out` holds `len` bytes. */
st_err cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len,
    char **cause);

/* Largest wire size of a frame carrying `payload_len` bytes, both
 * delimiters included (COBS adds at most one byte per 254). */
size_t frame_wire_size(size_t payload_len);
/* The same for a compact frame: its one delimiter included. */
size_t compact_wire_size(size_t payload_len);

/*
 * Encode `f` (its payload included) into `out` (capacity `cap`, which must
 * be at least frame_wire_size(f->payload_len)), leading and trailing 0x00
 * included (a compact frame: the trailing one only).  Returns ST_E_ARG if
 * the payload would make the decoded frame larger than PROTO_MAX_FRAME.
 */
st_err frame_encode(const struct frame *f, uint8_t *out, size_t cap,
    size_t *out_len, char **cause);

/*
 * Decode one frame from the bytes between two delimiters (no 0x00 inside).
 * `scratch` (capacity `cap`) receives the decoded bytes and f->payload
 * points into it.  Checks, in this order, each with its own message:
 * COBS validity, minimum length, maximum length (`max_frame`), CRC,
 * version, payload length against total/offset; a first byte with
 * PROTO_COMPACT_MARK makes it a compact frame (minimum length 3, maximum,
 * CRC-16).
 */
st_err frame_decode(const uint8_t *wire, size_t len, size_t max_frame,
    uint8_t *scratch, size_t cap, struct frame *f, char **cause);

/*
 * Streaming receiver: feed bytes as they arrive, get whole frames out.
 * Empty frames (two delimiters in a row) are skipped; any other run of
 * bytes between delimiters that does not decode (line noise, a partial
 * frame caught mid-way) is reported once as ST_E_FRAME; a frame longer than
 * the limit is discarded up to the next delimiter and reported likewise.
 */
struct frame_reader {
	uint8_t *buf; /* encoded bytes of the frame being collected */
	size_t len, cap;
	size_t max_frame; /* decoded-size limit */
	int overflow;	  /* discarding until the next delimiter */
	uint8_t *scratch; /* decoded frame; frame payloads point here */
};

void frame_reader_init(struct frame_reader *r, size_t max_frame);
void frame_reader_free(struct frame_reader *r);
/* Change the limit (after HELLO); drops any partial frame. */
void frame_reader_set_max(struct frame_reader *r, size_t max_frame);
/*
 * Consume bytes from `*data` (advancing *data and *len) until one complete
 * frame is decoded or the input is used up.  Returns:
 *   ST_OK with *got = 1 and *f filled (valid until the next call);
 *   ST_OK with *got = 0 when more bytes are needed;
 *   ST_E_FRAME when a complete but bad frame was dropped (cause says why);
 *     the caller may continue feeding.
 */
st_err frame_reader_feed(struct frame_reader *r, const uint8_t **data,
    size_t *len, struct frame *f, int *got, char **cause);

#endif
