/* Profiles: templates, serial rules and the built-in default (profile.h). */
#include "station/config/profile.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

#define SERIAL_MAX_LEN 64
#define REF_SHOWN_MAX 40 /* longest reference name quoted in a message */

/* A growing string; the template expander appends to it. */
struct strbuf {
	char *buf;
	size_t len, cap;
};

static void
strbuf_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->len + n + 1 > sb->cap) {
		sb->cap = (sb->len + n + 1) * 2;
		sb->buf = xrealloc(sb->buf, sb->cap);
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

/* The value for reference `name` (`len` bytes), or NULL with *known 0 when
 * the name is not a reference at all. */
static const char *
template_lookup(const struct template_vars *vars, const char *name, size_t len,
    int *known)
{
	static const char *const names[] = { "serial", "model", "station",
		"cn" };
	const char *values[] = { vars->serial, vars->model, vars->station,
		vars->cn };

	*known = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strlen(names[i]) != len || memcmp(names[i], name, len) != 0)
			continue;
		/* ${cn} exists only where the caller provides it (topics). */
		if (i == 3 && vars->cn == NULL)
			return NULL;
		*known = 1;
		return values[i];
	}
	return NULL;
}

static void
piece_push(struct template_piece **v, size_t *n, const char *ref,
    const char *text, size_t len)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[*n] = (struct template_piece){ ref, text, len };
	(*n)++;
}

st_err
template_pieces(const char *tmpl, const struct template_vars *vars,
    struct template_piece **pieces, size_t *n, char **cause)
{
	static const char *const ref_names[] = { "serial", "model", "station",
		"cn" };
	struct template_piece *v = NULL;
	size_t count = 0;
	const char *p = tmpl;
	st_err err = ST_OK;

	*pieces = NULL;
	*n = 0;
	while (*p != '\0') {
		/* A '$' not followed by '{' is literal text. */
		if (p[0] != '$' || p[1] != '{') {
			const char *next = strchr(p + 1, '$');
			size_t len = next ? (size_t)(next - p) : strlen(p);

			piece_push(&v, &count, NULL, p, len);
			p += len;
			continue;
		}
		const char *name = p + 2;
		const char *end = strchr(name, '}');
		if (end == NULL) {
			err = st_fail(cause, ST_E_CONFIG,
			    "unterminated reference '${%.*s' (missing '}')",
			    REF_SHOWN_MAX, name);
			goto out;
		}
		size_t nlen = (size_t)(end - name);
		int known;
		const char *value = template_lookup(vars, name, nlen, &known);
		if (!known) {
			err = st_fail(cause, ST_E_CONFIG,
			    "unknown reference ${%.*s} (known: ${serial}, "
			    "${model}, ${station}%s)",
			    nlen > REF_SHOWN_MAX ? REF_SHOWN_MAX : (int)nlen,
			    name, vars->cn ? ", ${cn}" : "");
			goto out;
		}
		if (value == NULL) {
			err = st_fail(cause, ST_E_CONFIG,
			    "${%.*s} has no value here", (int)nlen, name);
			goto out;
		}
		/* The piece names the reference by a static string, so that
		 * it outlives the template. */
		const char *ref = NULL;
		for (size_t i = 0; i < sizeof ref_names / sizeof ref_names[0];
		     i++) {
			if (strlen(ref_names[i]) == nlen &&
			    memcmp(ref_names[i], name, nlen) == 0)
				ref = ref_names[i];
		}
		piece_push(&v, &count, ref, value, strlen(value));
		p = end + 1;
	}
	*pieces = v;
	*n = count;
	v = NULL;
out:
	free(v);
	return err;
}

st_err
profile_expand(const char *tmpl, const struct template_vars *vars, char **out,
    char **cause)
{
	struct strbuf sb = { NULL, 0, 0 };
	struct template_piece *pieces = NULL;
	size_t n = 0;
	st_err err;

	*out = NULL;
	err = template_pieces(tmpl, vars, &pieces, &n, cause);
	if (err)
		goto out;
	strbuf_add(&sb, "", 0);
	for (size_t i = 0; i < n; i++)
		strbuf_add(&sb, pieces[i].text, pieces[i].len);
	*out = sb.buf;
	sb.buf = NULL;
out:
	free(pieces);
	free(sb.buf);
	return err;
}

int
serial_char_valid(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
serial_is_valid(const char *serial)
{
	size_t len;

	if (serial == NULL)
		return 0;
	len = strlen(serial);
	if (len == 0 || len > SERIAL_MAX_LEN)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!serial_char_valid((unsigned char)serial[i]))
			return 0;
	}
	return 1;
}

void
profile_init_default(struct profile *p)
{
	memset(p, 0, sizeof *p);
	p->name = xstrdup("default");
	p->key_alg = KEY_ALG_EC_P256;
	p->key_slot = 0;
	p->subject_template = xstrdup("CN=${serial}");
	p->subject_parts = xcalloc(1, sizeof *p->subject_parts);
	p->subject_parts[0].attr = xstrdup("CN");
	p->subject_parts[0].value = xstrdup("${serial}");
	p->n_subject_parts = 1;
	p->san_dns_templates = xcalloc(1, sizeof(char *));
	p->san_uri_templates = xcalloc(1, sizeof(char *));
	p->validity_days = 365;
	p->key_usage = PROFILE_KU_DIGITAL_SIGNATURE;
	p->eku_client_auth = 1;
	p->eku_server_auth = 0;
	p->chain = CHAIN_FULL;
	p->reprovision = REPROVISION_REFUSE;
	p->lock = 0;
	p->smoke_required = 0;
	p->tls_min_version = 13;
	p->nrf91_identity = NRF91_ID_IMEI;
	p->nrf91_sec_tag = 16842753;
	p->topic_template = xstrdup("factory/selftest/${cn}");
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
profile_clear(struct profile *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->subject_template);
	dn_pairs_free(p->subject_parts, p->n_subject_parts);
	strv_free(p->san_dns_templates);
	strv_free(p->san_uri_templates);
	free(p->topic_template);
	free(p->server_ca);
	free(p->attestation_ca);
	free(p->endpoint_host);
	free(p->label_pattern);
	memset(p, 0, sizeof *p);
}

const char *
key_alg_name(enum key_alg alg)
{
	switch (alg) {
	case KEY_ALG_EC_P256:
		return "ec-p256";
	case KEY_ALG_RSA_2048:
		return "rsa-2048";
	}
	return "unknown";
}
