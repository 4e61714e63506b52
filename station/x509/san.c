/* subjectAltName sets (see san.h). */
#include "station/x509/san.h"

#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static void
san_push(char ***list, size_t *n, const char *s, size_t len)
{
	*list = xrealloc(*list, (*n + 1) * sizeof **list);
	(*list)[*n] = xstrndup(s, len);
	(*n)++;
}

static st_err
san_add_name(struct san_set *set, const GENERAL_NAME *gn, char **cause)
{
	const ASN1_IA5STRING *s;
	const char *kind;

	if (gn->type == GEN_DNS) {
		s = gn->d.dNSName;
		kind = "DNS";
	} else if (gn->type == GEN_URI) {
		s = gn->d.uniformResourceIdentifier;
		kind = "URI";
	} else {
		return st_fail(cause, ST_E_POLICY,
		    "subjectAltName holds an "
		    "entry of type %d; only DNS and URI names are allowed",
		    gn->type);
	}
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int len = ASN1_STRING_length(s);

	/* A NUL or control byte could make the name print as something it
	 * is not ("good.example\0.evil"): refuse rather than compare. */
	for (int i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] == 0x7F)
			return st_fail(cause, ST_E_POLICY,
			    "subjectAltName %s "
			    "entry holds byte 0x%02x",
			    kind, p[i]);
	}
	if (gn->type == GEN_DNS)
		san_push(&set->dns, &set->n_dns, (const char *)p, (size_t)len);
	else
		san_push(&set->uri, &set->n_uri, (const char *)p, (size_t)len);
	return ST_OK;
}

st_err
san_set_from_exts(const STACK_OF(X509_EXTENSION) * exts, struct san_set *out,
    char **cause)
{
	GENERAL_NAMES *names = NULL;
	int found = 0;
	st_err err = ST_OK;

	memset(out, 0, sizeof *out);
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);

		if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) !=
		    NID_subject_alt_name)
			continue;
		if (found++) {
			err = st_fail(cause, ST_E_POLICY,
			    "more than one subjectAltName extension");
			goto out;
		}
		names = X509V3_EXT_d2i(ext);
		if (names == NULL) {
			err = st_fail_ssl(cause, ST_E_POLICY,
			    "subjectAltName extension does not decode");
			goto out;
		}
		for (int k = 0; k < sk_GENERAL_NAME_num(names); k++) {
			err = san_add_name(out, sk_GENERAL_NAME_value(names, k),
			    cause);
			if (err)
				goto out;
		}
		GENERAL_NAMES_free(names);
		names = NULL;
	}
out:
	GENERAL_NAMES_free(names);
	if (err)
		san_set_clear(out);
	return err;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Compare one kind as multisets; on a difference fill *diff. */
static int
san_list_equal(const char *kind, char **have, size_t n_have,
    const char *const *want, char **diff)
{
	size_t n_want = 0;
	int equal = 1;

	while (want != NULL && want[n_want] != NULL)
		n_want++;
	const char **w = xcalloc(n_want + 1, sizeof *w);
	const char **h = xcalloc(n_have + 1, sizeof *h);
	for (size_t i = 0; i < n_want; i++)
		w[i] = want[i];
	for (size_t i = 0; i < n_have; i++)
		h[i] = have[i];
	qsort(w, n_want, sizeof *w, cmp_str);
	qsort(h, n_have, sizeof *h, cmp_str);
	size_t i = 0, k = 0;
	while (i < n_have || k < n_want) {
		int c;

		if (i == n_have)
			c = 1;
		else if (k == n_want)
			c = -1;
		else
			c = strcmp(h[i], w[k]);
		if (c == 0) {
			i++;
			k++;
			continue;
		}
		equal = 0;
		if (diff != NULL) {
			*diff = c < 0 ?
			    xasprintf("unexpected SAN %s:%s", kind, h[i]) :
			    xasprintf("missing SAN %s:%s", kind, w[k]);
		}
		break;
	}
	free(w);
	free(h);
	return equal;
}

int
san_set_equal(const struct san_set *have, const char *const *dns,
    const char *const *uri, char **diff)
{
	if (diff != NULL)
		*diff = NULL;
	if (!san_list_equal("DNS", have->dns, have->n_dns, dns, diff))
		return 0;
	return san_list_equal("URI", have->uri, have->n_uri, uri, diff);
}

void
san_set_clear(struct san_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n_dns; i++)
		free(set->dns[i]);
	for (size_t i = 0; i < set->n_uri; i++)
		free(set->uri[i]);
	free(set->dns);
	free(set->uri);
	memset(set, 0, sizeof *set);
}
