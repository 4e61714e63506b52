/* A device's identity from its profile's templates (see identity.h). */
#include "station/x509/identity.h"

#include <stdlib.h>
#include <string.h>

#include "station/x509/dn.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

#define SHOWN_MAX 64 /* bytes of a refused value quoted in a reason */

/* Values the device reported, directly or through the CN. */
static int
from_device(const struct template_piece *piece)
{
	return piece->ref != NULL &&
	    (strcmp(piece->ref, "serial") == 0 ||
		strcmp(piece->ref, "model") == 0 ||
		strcmp(piece->ref, "cn") == 0);
}

/*
 * Replace *cause with the reason text[0..len) cannot go into `slot`:
 * `ref` names the device value at fault, NULL when it is the station's.
 */
static st_err
blame(const struct name_slot *slot, const char *ref, const char *text,
    size_t len, const char *why, char **cause)
{
	const char *label = name_slot_label(slot);
	char *copy = xstrndup(text, len);
	char *shown = text_escape(copy, SHOWN_MAX);
	st_err err;

	if (ref != NULL && strcmp(ref, "cn") == 0)
		err = st_fail(cause, ST_E_POLICY,
		    "the device's CN '%s' cannot "
		    "go into the %s: %s",
		    shown, label, why);
	else if (ref != NULL)
		err = st_fail(cause, ST_E_POLICY,
		    "device reports %s '%s', "
		    "which cannot go into %s: %s",
		    ref, shown, label, why);
	else
		err = st_fail(cause, ST_E_CONFIG, "%s value '%s': %s", label,
		    shown, why);
	free(shown);
	free(copy);
	return err;
}

st_err
identity_value(const struct name_slot *slot, const char *tmpl,
    const struct template_vars *vars, char **out, char **cause)
{
	struct template_piece *pieces = NULL;
	const struct template_piece *device = NULL;
	char *value = NULL, *why = NULL;
	size_t n = 0;
	st_err err;

	*out = NULL;
	err = template_pieces(tmpl, vars, &pieces, &n, cause);
	if (err) {
		err = st_wrap(cause, ST_E_CONFIG, "%s template",
		    name_slot_label(slot));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct template_piece *p = &pieces[i];
		int inserted = p->ref != NULL;

		err = name_check_piece(slot, p->text, p->len, inserted, &why);
		if (err) {
			err = blame(slot, from_device(p) ? p->ref : NULL,
			    p->text, p->len, why, cause);
			goto out;
		}
		if (device == NULL && from_device(p))
			device = p;
	}
	err = profile_expand(tmpl, vars, &value, cause);
	if (err)
		goto out;
	/* Every piece fits; what is left is the value's structure and
	 * length, which a device value makes wrong if there is one. */
	err = name_check_whole(slot, value, &why);
	if (err) {
		/* The device's value is the one shown: it is what the
		 * operator's report is about. */
		err = device ?
		    blame(slot, device->ref, device->text, device->len, why,
			cause) :
		    blame(slot, NULL, value, strlen(value), why, cause);
		goto out;
	}
	*out = value;
	value = NULL;
out:
	free(value);
	free(why);
	free(pieces);
	return err;
}

/* Expand a NULL-terminated template list for `kind` into *out. */
static st_err
expand_sans(enum name_kind kind, char *const *templates,
    const struct template_vars *vars, char ***out, char **cause)
{
	struct name_slot slot = { kind, NULL };
	size_t n = 0;
	st_err err = ST_OK;

	while (templates != NULL && templates[n] != NULL)
		n++;
	*out = xcalloc(n + 1, sizeof **out);
	for (size_t i = 0; i < n; i++) {
		err = identity_value(&slot, templates[i], vars, &(*out)[i],
		    cause);
		if (err)
			break;
	}
	return err;
}

/* Append "attr=value" to the wire string in *text. */
static void
text_append(char **text, const char *attr, const char *value)
{
	char *next = xasprintf("%s%s%s=%s", *text ? *text : "",
	    *text ? "," : "", attr, value);

	free(*text);
	*text = next;
}

st_err
identity_build(const struct profile *p, const struct template_vars *vars,
    struct identity *out, char **cause)
{
	struct template_vars v = *vars;
	char *value = NULL;
	st_err err = ST_OK;

	memset(out, 0, sizeof *out);
	v.cn = NULL;
	out->subject = X509_NAME_new();
	for (size_t i = 0; i < p->n_subject_parts; i++) {
		const struct dn_pair *part = &p->subject_parts[i];
		struct name_slot slot = { NAME_DN_VALUE, part->attr };

		err = identity_value(&slot, part->value, &v, &value, cause);
		if (err)
			goto out;
		/* Checked above, so the name is built from exactly the
		 * values the wire string carries: the string needs no
		 * escaping and the CSR policy parses it back to this name. */
		err = dn_add(out->subject, part->attr, value, cause);
		if (err) {
			err = st_wrap(cause, ST_E_CONFIG, "subject %s",
			    part->attr);
			goto out;
		}
		text_append(&out->subject_text, part->attr, value);
		if (out->cn == NULL && strcmp(part->attr, "CN") == 0)
			out->cn = xstrdup(value);
		free(value);
		value = NULL;
	}
	if (out->subject_text == NULL ||
	    strlen(out->subject_text) > DN_MAX_LEN) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the subject is empty or "
		    "longer than %d bytes",
		    DN_MAX_LEN);
		goto out;
	}
	err = expand_sans(NAME_SAN_DNS, p->san_dns_templates, &v, &out->san_dns,
	    cause);
	if (err)
		goto out;
	err = expand_sans(NAME_SAN_URI, p->san_uri_templates, &v, &out->san_uri,
	    cause);
out:
	free(value);
	if (err == ST_E_CONFIG)
		st_wrap(cause, err, "station misconfigured: profile '%s'",
		    p->name);
	if (err)
		identity_clear(out);
	return err;
}

st_err
identity_topic(const struct profile *p, const struct template_vars *vars,
    char **topic, char **cause)
{
	struct name_slot slot = { NAME_TOPIC, NULL };
	st_err err =
	    identity_value(&slot, p->topic_template, vars, topic, cause);

	if (err == ST_E_CONFIG)
		st_wrap(cause, err, "station misconfigured: profile '%s'",
		    p->name);
	return err;
}

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
identity_clear(struct identity *id)
{
	if (id == NULL)
		return;
	X509_NAME_free(id->subject);
	free(id->subject_text);
	free(id->cn);
	strv_free(id->san_dns);
	strv_free(id->san_uri);
	memset(id, 0, sizeof *id);
}
