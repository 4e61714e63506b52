/*
 * TLV payload encoding: tag (1 byte), length (2 bytes big-endian), value.
 * Integers are big-endian with the width the tag defines (u8, u16, u32);
 * strings are UTF-8 without a terminator.  Unknown tags are skipped by
 * readers (forward compatibility); repeatable tags appear once per value,
 * in order.  Pure functions over buffers, no I/O.
 */
#ifndef ST_TLV_H
#define ST_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

#define TLV_HEADER_LEN 3

/* Growable output buffer for building payloads (xalloc'd, never fails). */
struct tlv_writer {
	uint8_t *buf;
	size_t len, cap;
};

void tlv_writer_init(struct tlv_writer *w);
void tlv_writer_free(struct tlv_writer *w);
/* Hand the buffer to the caller (who frees it); the writer is reset. */
uint8_t *tlv_writer_take(struct tlv_writer *w, size_t *len);
void tlv_put(struct tlv_writer *w, uint8_t tag, const void *val, size_t len);
void tlv_put_u8(struct tlv_writer *w, uint8_t tag, uint8_t v);
void tlv_put_u16(struct tlv_writer *w, uint8_t tag, uint16_t v);
void tlv_put_u32(struct tlv_writer *w, uint8_t tag, uint32_t v);
void tlv_put_str(struct tlv_writer *w, uint8_t tag, const char *s);

/* One element, borrowed from the parsed buffer. */
struct tlv {
	uint8_t tag;
	uint16_t len;
	const uint8_t *val;
};

/*
 * Check that `buf` is a well-formed TLV sequence: every element's header and
 * value lie inside the buffer.  ST_E_PROTO names the offset of a truncated
 * element.  All tlv_find* functions assume a validated buffer.
 */
st_err tlv_validate(const uint8_t *buf, size_t len, char **cause);

/* Iterate: *pos starts at 0; returns false at the end. */
bool tlv_next(const uint8_t *buf, size_t len, size_t *pos, struct tlv *out);
/* First element with `tag`; false if absent. */
bool tlv_find(const uint8_t *buf, size_t len, uint8_t tag, struct tlv *out);

/*
 * Typed getters: ST_E_PROTO if the tag is missing (when required) or has the
 * wrong length; strings are checked for printable content and bounded by
 * `max` bytes, and returned NUL-terminated in a newly allocated string.
 */
st_err tlv_get_u8(const uint8_t *buf, size_t len, uint8_t tag, uint8_t *v,
    char **cause);
st_err tlv_get_u16(const uint8_t *buf, size_t len, uint8_t tag, uint16_t *v,
    char **cause);
st_err tlv_get_u32(const uint8_t *buf, size_t len, uint8_t tag, uint32_t *v,
    char **cause);
st_err tlv_get_str(const uint8_t *buf, size_t len, uint8_t tag, size_t max,
    char **out, char **cause);
/* Borrowed bytes of a required tag, with a size bound. */
st_err tlv_get_bytes(const uint8_t *buf, size_t len, uint8_t tag, size_t max,
    const uint8_t **val, size_t *vlen, char **cause);

#endif
