/* What may go into a name, a SAN or a topic (see name_check.h). */
#include "station/x509/name_check.h"

#include <string.h>

#include "station/x509/dn.h"
#include "station/util/text.h"

static int
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* RFC 3986 unreserved. */
static int
uri_unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int
scheme_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

/* Any character a URI may hold outside a percent-escape's digits. */
static int
uri_char(unsigned char c)
{
	return uri_unreserved(c) ||
	    (c != '\0' && strchr(":/?#[]@!$&'()*+,;=%", c) != NULL);
}

const char *
name_slot_label(const struct name_slot *slot)
{
	switch (slot->kind) {
	case NAME_DN_VALUE:
		return slot->attr;
	case NAME_SAN_DNS:
		return "DNS SAN";
	case NAME_SAN_URI:
		return "URI SAN";
	case NAME_TOPIC:
		return "topic";
	}
	return "?";
}

/* "'x' is not allowed" for a printable byte, else its hex value. */
static st_err
bad_char(char **why, unsigned char c, const char *where)
{
	if (c > 0x20 && c < 0x7F)
		return st_fail(why, ST_E_POLICY, "'%c' is not allowed%s", c,
		    where);
	return st_fail(why, ST_E_POLICY, "byte 0x%02x is not allowed%s", c,
	    where);
}

static st_err
dns_piece(const char *s, size_t len, char **why)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.')
			return bad_char(why, c,
			    " in a DNS name (letters, "
			    "digits, '-', '.')");
	}
	return ST_OK;
}

static st_err
uri_piece(const char *s, size_t len, int inserted, char **why)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (inserted && !uri_unreserved(c))
			return bad_char(why, c,
			    " in a value inserted into a "
			    "URI (letters, digits, '-', '.', '_', '~')");
		if (!uri_char(c))
			return bad_char(why, c, " in a URI");
	}
	return ST_OK;
}

static st_err
topic_piece(const char *s, size_t len, int inserted, char **why)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7F || c == '+' || c == '#')
			return bad_char(why, c, " in a topic");
		if (inserted && c == '/')
			return st_fail(why, ST_E_POLICY,
			    "'/' is not allowed "
			    "in a value inserted into a topic (it would add a "
			    "level)");
	}
	if (!text_utf8_valid(s, len))
		return st_fail(why, ST_E_POLICY, "not valid UTF-8");
	return ST_OK;
}

st_err
name_check_piece(const struct name_slot *slot, const char *s, size_t len,
    int inserted, char **why)
{
	switch (slot->kind) {
	case NAME_DN_VALUE:
		return dn_value_check_chars(slot->attr, s, len, why);
	case NAME_SAN_DNS:
		return dns_piece(s, len, why);
	case NAME_SAN_URI:
		return uri_piece(s, len, inserted, why);
	case NAME_TOPIC:
		return topic_piece(s, len, inserted, why);
	}
	return st_fail(why, ST_E_ARG, "unknown name kind");
}

static st_err
dns_whole(const char *v, char **why)
{
	size_t len = strlen(v);
	const char *label = v;

	if (len == 0)
		return st_fail(why, ST_E_POLICY, "empty DNS name");
	if (len > SAN_DNS_MAX)
		return st_fail(why, ST_E_POLICY,
		    "%zu bytes, more than the %d "
		    "of a DNS name",
		    len, SAN_DNS_MAX);
	if (v[len - 1] == '.')
		return st_fail(why, ST_E_POLICY,
		    "a DNS name in a certificate "
		    "has no trailing '.'");
	for (;;) {
		size_t llen = strcspn(label, ".");

		if (llen == 0)
			return st_fail(why, ST_E_POLICY, "empty DNS label");
		if (llen > 63)
			return st_fail(why, ST_E_POLICY,
			    "DNS label of %zu "
			    "bytes (at most 63)",
			    llen);
		if (label[0] == '-' || label[llen - 1] == '-')
			return st_fail(why, ST_E_POLICY,
			    "DNS label '%.*s' "
			    "starts or ends with '-'",
			    (int)llen, label);
		if (label[llen] == '\0')
			break;
		label += llen + 1;
	}
	return ST_OK;
}

static st_err
uri_whole(const char *v, char **why)
{
	size_t len = strlen(v);
	size_t scheme = 0;

	if (len > SAN_URI_MAX)
		return st_fail(why, ST_E_POLICY,
		    "%zu bytes, more than the %d "
		    "of a URI",
		    len, SAN_URI_MAX);
	if (is_alpha((unsigned char)v[0])) {
		while (scheme_char((unsigned char)v[scheme]))
			scheme++;
	}
	if (scheme == 0 || v[scheme] != ':' || v[scheme + 1] == '\0')
		return st_fail(why, ST_E_POLICY,
		    "expected scheme:rest, such "
		    "as urn:example:device:SN0001");
	for (size_t i = 0; i < len; i++) {
		if (v[i] != '%')
			continue;
		if (!is_hex((unsigned char)v[i + 1]) ||
		    !is_hex((unsigned char)v[i + 2]))
			return st_fail(why, ST_E_POLICY,
			    "'%%' not followed by "
			    "two hex digits");
	}
	return ST_OK;
}

static st_err
topic_whole(const char *v, char **why)
{
	size_t len = strlen(v);

	if (len == 0)
		return st_fail(why, ST_E_POLICY, "empty topic");
	if (len > TOPIC_MAX)
		return st_fail(why, ST_E_POLICY, "%zu bytes, more than %d", len,
		    TOPIC_MAX);
	if (v[0] == '/')
		return st_fail(why, ST_E_POLICY,
		    "a topic does not start with "
		    "'/'");
	return ST_OK;
}

st_err
name_check_whole(const struct name_slot *slot, const char *value, char **why)
{
	st_err err;

	if (slot->kind == NAME_DN_VALUE)
		return dn_value_check(slot->attr, value, why);
	err = name_check_piece(slot, value, strlen(value), 0, why);
	if (err)
		return err;
	switch (slot->kind) {
	case NAME_SAN_DNS:
		return dns_whole(value, why);
	case NAME_SAN_URI:
		return uri_whole(value, why);
	case NAME_TOPIC:
		return topic_whole(value, why);
	case NAME_DN_VALUE:
		break;
	}
	return ST_OK;
}
