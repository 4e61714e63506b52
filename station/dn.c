/* Distinguished-name strings (see dn.h). */
#include "dn.h"

#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define DN_MAX_LEN 1024
#define DN_MAX_VALUE 64 /* ub-common-name and friends in RFC 5280 */

/* Attributes a device identity may carry, by their short names. */
static const char *const dn_attrs[] = { "C", "ST", "L", "O", "OU", "CN",
	"serialNumber", "DC", "UID", "emailAddress", NULL };

static int
dn_attr_known(const char *name)
{
	for (size_t i = 0; dn_attrs[i] != NULL; i++) {
		if (strcmp(dn_attrs[i], name) == 0)
			return 1;
	}
	return 0;
}

st_err
dn_parse(const char *text, X509_NAME **out, char **cause)
{
	X509_NAME *name = NULL;
	char *copy = NULL;
	st_err err = ST_OK;

	*out = NULL;
	if (strlen(text) > DN_MAX_LEN)
		return st_fail(cause, ST_E_POLICY, "subject longer than %d bytes",
		    DN_MAX_LEN);
	if (text[0] == '\0')
		return st_fail(cause, ST_E_POLICY, "empty subject");
	name = X509_NAME_new();
	copy = xstrdup(text);
	char *p = copy;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		char *eq = strchr(p, '=');
		if (eq == NULL || eq == p) {
			err = st_fail(cause, ST_E_POLICY,
			    "subject part '%s' is not attribute=value", p);
			goto out;
		}
		*eq = '\0';
		const char *attr = p, *value = eq + 1;
		if (!dn_attr_known(attr)) {
			err = st_fail(cause, ST_E_POLICY,
			    "subject attribute '%s' is not allowed", attr);
			goto out;
		}
		size_t vlen = strlen(value);
		if (vlen == 0 || vlen > DN_MAX_VALUE) {
			err = st_fail(cause, ST_E_POLICY,
			    "subject %s value must be 1..%d bytes", attr,
			    DN_MAX_VALUE);
			goto out;
		}
		for (size_t i = 0; i < vlen; i++) {
			unsigned char ch = (unsigned char)value[i];

			if (ch < 0x20 || ch == 0x7F || strchr("=+\\\"<>;", ch)) {
				err = st_fail(cause, ST_E_POLICY,
				    "subject %s value has forbidden character "
				    "0x%02x", attr, ch);
				goto out;
			}
		}
		if (strcmp(attr, "C") == 0 && vlen != 2) {
			err = st_fail(cause, ST_E_POLICY,
			    "subject C must be a two-letter country code");
			goto out;
		}
		if (!X509_NAME_add_entry_by_txt(name, attr, MBSTRING_UTF8,
		    (const unsigned char *)value, -1, -1, 0)) {
			err = st_fail_ssl(cause, ST_E_POLICY,
			    "subject attribute %s", attr);
			goto out;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*out = name;
	name = NULL;
out:
	X509_NAME_free(name);
	free(copy);
	return err;
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
		char *part = xasprintf("%s%s=%.*s", i ? "," : "",
		    sn ? sn : "?", ulen > 0 ? ulen : 0,
		    ulen > 0 ? (const char *)utf8 : "");

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
