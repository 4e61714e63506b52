/* TLV payload encoding (see tlv.h). */
#include "drivers/proto/tlv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/text.h"
#include "station/util/xalloc.h"
#include "drivers/proto/proto.h"

void
tlv_writer_init(struct tlv_writer *w)
{
	w->buf = NULL;
	w->len = 0;
	w->cap = 0;
}

void
tlv_writer_free(struct tlv_writer *w)
{
	free(w->buf);
	tlv_writer_init(w);
}

uint8_t *
tlv_writer_take(struct tlv_writer *w, size_t *len)
{
	uint8_t *buf = w->buf ? w->buf : xmalloc(1);

	*len = w->len;
	tlv_writer_init(w);
	return buf;
}

void
tlv_put(struct tlv_writer *w, uint8_t tag, const void *val, size_t len)
{
	/* Values longer than a u16 cannot be expressed; callers bound them. */
	if (len > 0xFFFF)
		abort();
	if (w->len + TLV_HEADER_LEN + len > w->cap) {
		w->cap = (w->len + TLV_HEADER_LEN + len) * 2;
		w->buf = xrealloc(w->buf, w->cap);
	}
	w->buf[w->len++] = tag;
	w->buf[w->len++] = (uint8_t)(len >> 8);
	w->buf[w->len++] = (uint8_t)len;
	if (len)
		memcpy(w->buf + w->len, val, len);
	w->len += len;
}

void
tlv_put_u8(struct tlv_writer *w, uint8_t tag, uint8_t v)
{
	tlv_put(w, tag, &v, 1);
}

void
tlv_put_u16(struct tlv_writer *w, uint8_t tag, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	tlv_put(w, tag, b, sizeof b);
}

void
tlv_put_u32(struct tlv_writer *w, uint8_t tag, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	tlv_put(w, tag, b, sizeof b);
}

void
tlv_put_str(struct tlv_writer *w, uint8_t tag, const char *s)
{
	tlv_put(w, tag, s, strlen(s));
}

st_err
tlv_validate(const uint8_t *buf, size_t len, char **cause)
{
	size_t pos = 0;

	while (pos < len) {
		if (len - pos < TLV_HEADER_LEN)
			return st_fail(cause, ST_E_PROTO,
			    "TLV header at offset %zu truncated (%zu of %d bytes)",
			    pos, len - pos, TLV_HEADER_LEN);
		size_t vlen = (size_t)buf[pos + 1] << 8 | buf[pos + 2];
		if (len - pos - TLV_HEADER_LEN < vlen)
			return st_fail(cause, ST_E_PROTO,
			    "TLV tag 0x%02x at offset %zu claims %zu bytes, %zu left",
			    buf[pos], pos, vlen, len - pos - TLV_HEADER_LEN);
		pos += TLV_HEADER_LEN + vlen;
	}
	return ST_OK;
}

bool
tlv_next(const uint8_t *buf, size_t len, size_t *pos, struct tlv *out)
{
	if (*pos + TLV_HEADER_LEN > len)
		return false;
	out->tag = buf[*pos];
	out->len = (uint16_t)(buf[*pos + 1] << 8 | buf[*pos + 2]);
	if (*pos + TLV_HEADER_LEN + out->len > len)
		return false;
	out->val = buf + *pos + TLV_HEADER_LEN;
	*pos += TLV_HEADER_LEN + out->len;
	return true;
}

bool
tlv_find(const uint8_t *buf, size_t len, uint8_t tag, struct tlv *out)
{
	size_t pos = 0;

	while (tlv_next(buf, len, &pos, out)) {
		if (out->tag == tag)
			return true;
	}
	return false;
}

/* The field's name for a message: "SERIAL", or "tag 0x5a" for a tag
 * this station does not know (in `buf`, which holds 16 bytes). */
static const char *
field_name(uint8_t tag, char *buf)
{
	const char *name = proto_tag_name(tag);

	if (strcmp(name, "unknown") != 0)
		return name;
	snprintf(buf, 16, "tag 0x%02x", tag);
	return buf;
}

/* Find `tag`, which must be there: ST_E_PROTO when it is not. */
static st_err
get_field(const uint8_t *buf, size_t len, uint8_t tag, struct tlv *t,
    char **cause)
{
	char name[16];

	if (!tlv_find(buf, len, tag, t))
		return st_fail(cause, ST_E_PROTO, "%s missing",
		    field_name(tag, name));
	return ST_OK;
}

/* The same for a field of at most `max` bytes. */
static st_err
get_upto(const uint8_t *buf, size_t len, uint8_t tag, size_t max, struct tlv *t,
    char **cause)
{
	st_err err = get_field(buf, len, tag, t, cause);
	char name[16];

	if (err == ST_OK && t->len > max)
		err = st_fail(cause, ST_E_PROTO,
		    "%s is %u bytes long, longer than the %zu-byte maximum",
		    field_name(tag, name), t->len, max);
	return err;
}

static st_err
get_fixed(const uint8_t *buf, size_t len, uint8_t tag, size_t width,
    uint32_t *v, char **cause)
{
	struct tlv t = { 0 };
	st_err err = get_field(buf, len, tag, &t, cause);
	char name[16];

	if (err)
		return err;
	if (t.len != width)
		return st_fail(cause, ST_E_PROTO,
		    "%s has %u bytes, a u%zu has exactly %zu",
		    field_name(tag, name), t.len, width * 8, width);
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v = *v << 8 | t.val[i];
	return ST_OK;
}

st_err
tlv_get_u8(const uint8_t *buf, size_t len, uint8_t tag, uint8_t *v,
    char **cause)
{
	uint32_t x = 0;
	st_err err = get_fixed(buf, len, tag, 1, &x, cause);

	if (err == ST_OK)
		*v = (uint8_t)x;
	return err;
}

st_err
tlv_get_u16(const uint8_t *buf, size_t len, uint8_t tag, uint16_t *v,
    char **cause)
{
	uint32_t x = 0;
	st_err err = get_fixed(buf, len, tag, 2, &x, cause);

	if (err == ST_OK)
		*v = (uint16_t)x;
	return err;
}

st_err
tlv_get_u32(const uint8_t *buf, size_t len, uint8_t tag, uint32_t *v,
    char **cause)
{
	return get_fixed(buf, len, tag, 4, v, cause);
}

st_err
tlv_get_str(const uint8_t *buf, size_t len, uint8_t tag, size_t max, char **out,
    char **cause)
{
	struct tlv t = { 0 };
	char name[16];
	st_err err;

	*out = NULL;
	err = get_upto(buf, len, tag, max, &t, cause);
	if (err)
		return err;
	*out = xstrndup((const char *)t.val, t.len);
	for (size_t i = 0; i < t.len; i++) {
		/* Printable ASCII or UTF-8 continuation/lead bytes; no controls. */
		if (t.val[i] < 0x20 || t.val[i] == 0x7F) {
			/* A NUL ends the copy early: show what is before it. */
			char *shown = text_escape(*out, 64);

			err = st_fail(cause, ST_E_PROTO,
			    "%s holds control byte 0x%02x at %zu (text "
			    "fields allow none): '%s'",
			    field_name(tag, name), t.val[i], i, shown);
			free(shown);
			free(*out);
			*out = NULL;
			return err;
		}
	}
	return ST_OK;
}

st_err
tlv_get_bytes(const uint8_t *buf, size_t len, uint8_t tag, size_t max,
    const uint8_t **val, size_t *vlen, char **cause)
{
	struct tlv t = { 0 };
	st_err err = get_upto(buf, len, tag, max, &t, cause);

	if (err)
		return err;
	*val = t.val;
	*vlen = t.len;
	return ST_OK;
}
