/* Distinguished-name strings (see dn.h). */
#include "station/x509/dn.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/text.h"
#include "station/util/xalloc.h"

enum dn_type { DN_PRINTABLE, DN_IA5, DN_UTF8 };

/*
 * Attributes a device identity may carry, by their short names, with
 * their string type and length bounds.  The upper bounds are RFC 5280's
 * (appendix A) capped at the wire's DN_MAX_VALUE: ub-state-name and
 * ub-locality-name are 128, ub-emailaddress-length 255, but a device
 * takes 64 bytes at most.  DC is one DNS label (RFC 4519), so 63.
 */
static const struct dn_attr {
	const char *sn;
	enum dn_type type;
	int asn1_type;
	size_t min, max;
} dn_attrs[] = {
	{ "C", DN_PRINTABLE, V_ASN1_PRINTABLESTRING, 2, 2 },
	{ "ST", DN_UTF8, V_ASN1_UTF8STRING, 1, DN_MAX_VALUE },
	{ "L", DN_UTF8, V_ASN1_UTF8STRING, 1, DN_MAX_VALUE },
	{ "O", DN_UTF8, V_ASN1_UTF8STRING, 1, 64 },
	{ "OU", DN_UTF8, V_ASN1_UTF8STRING, 1, 64 },
	{ "CN", DN_UTF8, V_ASN1_UTF8STRING, 1, 64 },
	{ "serialNumber", DN_PRINTABLE, V_ASN1_PRINTABLESTRING, 1, 64 },
	{ "DC", DN_IA5, V_ASN1_IA5STRING, 1, 63 },
	{ "UID", DN_UTF8, V_ASN1_UTF8STRING, 1, DN_MAX_VALUE },
	{ "emailAddress", DN_IA5, V_ASN1_IA5STRING, 1, DN_MAX_VALUE },
};

#define DN_ATTR_COUNT (sizeof dn_attrs / sizeof dn_attrs[0])

/* What the wire cannot carry in any value (no escaping exists). */
#define DN_WIRE_FORBIDDEN ",=+\\\"<>;"

static const struct dn_attr *
dn_attr_find(const char *attr)
{
	for (size_t i = 0; i < DN_ATTR_COUNT; i++) {
		if (strcmp(dn_attrs[i].sn, attr) == 0)
			return &dn_attrs[i];
	}
	return NULL;
}

int
dn_attr_known(const char *attr)
{
	return dn_attr_find(attr) != NULL;
}

/* X.680's PrintableString alphabet. */
static int
printable_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL;
}

st_err
dn_value_check_chars(const char *attr, const char *s, size_t len, char **why)
{
	const struct dn_attr *a = dn_attr_find(attr);

	if (a == NULL)
		return st_fail(why, ST_E_POLICY, "attribute %s is not allowed",
		    attr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F)
			return st_fail(why, ST_E_POLICY,
			    "control byte 0x%02x is not allowed", c);
		if (c < 0x80 && strchr(DN_WIRE_FORBIDDEN, c) != NULL)
			return st_fail(why, ST_E_POLICY, "'%c' is not allowed",
			    c);
		if (a->type == DN_PRINTABLE && !printable_char(c)) {
			if (c >= 0x80)
				return st_fail(why, ST_E_POLICY,
				    "byte 0x%02x "
				    "is not a PrintableString character",
				    c);
			return st_fail(why, ST_E_POLICY,
			    "'%c' is not a "
			    "PrintableString character",
			    c);
		}
		if (a->type == DN_IA5 && c >= 0x80)
			return st_fail(why, ST_E_POLICY,
			    "byte 0x%02x is not an IA5String (ASCII) character",
			    c);
		/* C1 controls (U+0080..U+009F) are controls too. */
		if (c == 0xC2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9F)
			return st_fail(why, ST_E_POLICY,
			    "control character "
			    "U+00%02X is not allowed",
			    (unsigned char)s[i + 1]);
	}
	if (a->type == DN_UTF8 && !text_utf8_valid(s, len))
		return st_fail(why, ST_E_POLICY, "not valid UTF-8");
	return ST_OK;
}

st_err
dn_value_check(const char *attr, const char *value, char **why)
{
	const struct dn_attr *a = dn_attr_find(attr);
	size_t len = strlen(value);
	st_err err;

	if (a == NULL)
		return st_fail(why, ST_E_POLICY, "attribute %s is not allowed",
		    attr);
	err = dn_value_check_chars(attr, value, len, why);
	if (err)
		return err;
	if (strcmp(attr, "C") == 0) {
		int letters = len == 2 &&
		    strspn(value,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"abcdefghijklmnopqrstuvwxyz") == 2;

		if (!letters)
			return st_fail(why, ST_E_POLICY,
			    "C must be a two-letter country code");
		return ST_OK;
	}
	if (len < a->min)
		return st_fail(why, ST_E_POLICY, "empty value");
	if (len > a->max)
		return st_fail(why, ST_E_POLICY,
		    "%zu bytes, more than the %zu "
		    "%s may hold",
		    len, a->max, attr);
	return ST_OK;
}

st_err
dn_add(X509_NAME *name, const char *attr, const char *value, char **cause)
{
	const struct dn_attr *a = dn_attr_find(attr);
	st_err err = dn_value_check(attr, value, cause);

	if (err)
		return err;
	/* The type is set, not chosen by OpenSSL's string mask: the same
	 * value always encodes the same way. */
	if (!X509_NAME_add_entry_by_txt(name, a->sn, a->asn1_type,
		(const unsigned char *)value, -1, -1, 0))
		return st_fail_ssl(cause, ST_E_POLICY, "subject attribute %s",
		    attr);
	return ST_OK;
}

void
dn_pairs_free(struct dn_pair *pairs, size_t n)
{
	for (size_t i = 0; pairs != NULL && i < n; i++) {
		free(pairs[i].attr);
		free(pairs[i].value);
	}
	free(pairs);
}

st_err
dn_split(const char *text, struct dn_pair **pairs, size_t *n, char **cause)
{
	struct dn_pair *v = NULL;
	size_t count = 0;
	const char *p = text;
	st_err err = ST_OK;

	*pairs = NULL;
	*n = 0;
	if (strlen(text) > DN_MAX_LEN)
		return st_fail(cause, ST_E_POLICY,
		    "subject longer than %d bytes", DN_MAX_LEN);
	if (text[0] == '\0')
		return st_fail(cause, ST_E_POLICY, "empty subject");
	for (;;) {
		size_t plen = strcspn(p, ",");
		const char *eq = memchr(p, '=', plen);

		if (eq == NULL || eq == p) {
			char *shown = xstrndup(p, plen);
			char *esc = text_escape(shown, 64);

			err = st_fail(cause, ST_E_POLICY,
			    "subject part '%s' is not attribute=value", esc);
			free(esc);
			free(shown);
			goto out;
		}
		char *attr = xstrndup(p, (size_t)(eq - p));
		if (!dn_attr_known(attr)) {
			char *esc = text_escape(attr, 32);

			err = st_fail(cause, ST_E_POLICY,
			    "subject attribute '%s' is not allowed", esc);
			free(esc);
			free(attr);
			goto out;
		}
		v = xrealloc(v, (count + 1) * sizeof *v);
		v[count].attr = attr;
		v[count].value = xstrndup(eq + 1, plen - (size_t)(eq + 1 - p));
		count++;
		if (p[plen] == '\0')
			break;
		p += plen + 1;
	}
	*pairs = v;
	*n = count;
	v = NULL;
	count = 0;
out:
	dn_pairs_free(v, count);
	return err;
}

st_err
dn_parse(const char *text, X509_NAME **out, char **cause)
{
	X509_NAME *name = NULL;
	struct dn_pair *pairs = NULL;
	size_t n = 0;
	st_err err;

	*out = NULL;
	err = dn_split(text, &pairs, &n, cause);
	if (err)
		goto out;
	name = X509_NAME_new();
	for (size_t i = 0; i < n; i++) {
		err = dn_add(name, pairs[i].attr, pairs[i].value, cause);
		if (err) {
			err = st_wrap(cause, err, "subject %s", pairs[i].attr);
			goto out;
		}
	}
	*out = name;
	name = NULL;
out:
	X509_NAME_free(name);
	dn_pairs_free(pairs, n);
	return err;
}

/* 1 if both values are the same UTF-8 bytes (either may fail to convert:
 * then they are not equal). */
static int
value_equal(const ASN1_STRING *a, const ASN1_STRING *b)
{
	unsigned char *ua = NULL, *ub = NULL;
	int la = ASN1_STRING_to_UTF8(&ua, a);
	int lb = ASN1_STRING_to_UTF8(&ub, b);
	int same = la >= 0 && la == lb && memcmp(ua, ub, (size_t)la) == 0;

	OPENSSL_free(ua);
	OPENSSL_free(ub);
	return same;
}

int
dn_equal(const X509_NAME *a, const X509_NAME *b)
{
	int n = X509_NAME_entry_count(a);

	if (n != X509_NAME_entry_count(b))
		return 0;
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *ea = X509_NAME_get_entry(a, i);
		const X509_NAME_ENTRY *eb = X509_NAME_get_entry(b, i);

		if (X509_NAME_ENTRY_set(ea) != X509_NAME_ENTRY_set(eb) ||
		    OBJ_cmp(X509_NAME_ENTRY_get_object(ea),
			X509_NAME_ENTRY_get_object(eb)) != 0 ||
		    !value_equal(X509_NAME_ENTRY_get_data(ea),
			X509_NAME_ENTRY_get_data(eb)))
			return 0;
	}
	return 1;
}

char *
dn_format(const X509_NAME *name)
{
	size_t cap = 256, len = 0;
	char *buf = xmalloc(cap);
	int n = X509_NAME_entry_count(name);

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
		const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
		const ASN1_STRING *val = X509_NAME_ENTRY_get_data(e);
		const char *sn = OBJ_nid2sn(OBJ_obj2nid(obj));
		unsigned char *utf8 = NULL;
		int ulen = ASN1_STRING_to_UTF8(&utf8, val);
		char *part = xasprintf("%s%s=%.*s", i ? "," : "", sn ? sn : "?",
		    ulen > 0 ? ulen : 0, ulen > 0 ? (const char *)utf8 : "");

		OPENSSL_free(utf8);
		size_t plen = strlen(part);
		if (len + plen + 1 > cap) {
			cap = (len + plen + 1) * 2;
			buf = xrealloc(buf, cap);
		}
		memcpy(buf + len, part, plen + 1);
		len += plen;
		free(part);
	}
	return buf;
}
