/*
 * The keys of a [profile NAME] section.  Templates are checked here, at
 * load time, by expanding them with stand-in values: a misspelt
 * "${serail}" or a subject that is not a DN stops the station from
 * starting instead of failing the first device on the line.
 */
#include "config_priv.h"

#include <stdlib.h>
#include <string.h>

#include "dn.h"
#include "util/xalloc.h"

/* Stand-ins used to try templates out: a serial of the usual shape. */
#define TRY_SERIAL "SN0000000001"
#define TRY_MODEL "model-1"

static struct profile *
cur_profile(struct config_load *ld)
{
	return &ld->cfg->profiles[ld->cur];
}

/* Expand `tmpl` with stand-ins into *out (caller frees). */
static st_err
try_template(struct config_load *ld, const char *tmpl, int with_cn,
    char **out, char **why)
{
	struct template_vars vars = {
		.serial = TRY_SERIAL,
		.model = TRY_MODEL,
		.station = ld->cfg->station_id,
		.cn = with_cn ? TRY_SERIAL : NULL,
	};

	if (tmpl[0] == '\0')
		return st_fail(why, ST_E_CONFIG, "expected a non-empty value");
	return profile_expand(tmpl, &vars, out, why);
}

/* Append a copy of `value` to a NULL-terminated string vector. */
static void
strv_push(char ***v, const char *value)
{
	size_t n = 0;

	while ((*v)[n] != NULL)
		n++;
	*v = xrealloc(*v, (n + 2) * sizeof **v);
	(*v)[n] = xstrdup(value);
	(*v)[n + 1] = NULL;
}

static st_err
set_key(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "ec-p256", "rsa-2048", NULL };
	int i;
	st_err err = config_parse_enum(value, names, &i, why);

	if (err)
		return err;
	cur_profile(ld)->key_alg = i == 0 ? KEY_ALG_EC_P256 : KEY_ALG_RSA_2048;
	return ST_OK;
}

static st_err
set_slot(struct config_load *ld, const char *value, char **why)
{
	long v;
	st_err err = config_parse_int(value, 0, 255, &v, why);

	if (err)
		return err;
	cur_profile(ld)->key_slot = (uint8_t)v;
	return ST_OK;
}

static st_err
set_subject(struct config_load *ld, const char *value, char **why)
{
	X509_NAME *name = NULL;
	char *dn = NULL, *dn_why = NULL;
	st_err err = try_template(ld, value, 0, &dn, why);

	if (err)
		goto out;
	if (dn_parse(dn, &name, &dn_why)) {
		err = st_fail(why, ST_E_CONFIG, "not a valid subject DN: %s",
		    dn_why ? dn_why : "bad DN");
		goto out;
	}
	err = config_set_string(&cur_profile(ld)->subject_template, value, why);
out:
	X509_NAME_free(name);
	free(dn);
	free(dn_why);
	return err;
}

static st_err
set_san_dns(struct config_load *ld, const char *value, char **why)
{
	char *name = NULL;
	st_err err = try_template(ld, value, 0, &name, why);

	if (err)
		goto out;
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789.-_") != strlen(name) || name[0] == '.' ||
	    strlen(name) > 253) {
		err = st_fail(why, ST_E_CONFIG, "expected a DNS name template "
		    "(letters, digits, '.', '-')");
		goto out;
	}
	strv_push(&cur_profile(ld)->san_dns_templates, value);
out:
	free(name);
	return err;
}

static st_err
set_san_uri(struct config_load *ld, const char *value, char **why)
{
	char *uri = NULL;
	st_err err = try_template(ld, value, 0, &uri, why);

	if (err)
		goto out;
	const char *colon = strchr(uri, ':');
	if (colon == NULL || colon == uri || strpbrk(uri, " \t\"<>") != NULL) {
		err = st_fail(why, ST_E_CONFIG, "expected a URI template such "
		    "as urn:example:device:${serial}");
		goto out;
	}
	strv_push(&cur_profile(ld)->san_uri_templates, value);
out:
	free(uri);
	return err;
}

static st_err
set_validity(struct config_load *ld, const char *value, char **why)
{
	long v;
	st_err err = config_parse_int(value, 1, 3650, &v, why);

	if (err)
		return err;
	cur_profile(ld)->validity_days = (int)v;
	return ST_OK;
}

/*
 * A comma list of names from `names` into a bit mask (`bits`, parallel to
 * `names`).  "none" gives 0 when `allow_none`, and only on its own.
 */
static st_err
parse_list(const char *value, const char *const *names,
    const unsigned *bits, int allow_none, unsigned *out, char **why)
{
	char *copy = xstrdup(value);
	char *p = copy;
	unsigned mask = 0;
	st_err err = ST_OK;

	if (allow_none && strcmp(value, "none") == 0)
		goto out;
	for (;;) {
		char *comma = strchr(p, ',');
		int i;

		if (comma)
			*comma = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strlen(p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = '\0';
		err = config_parse_enum(p, names, &i, why);
		if (err)
			goto out;
		mask |= bits[i];
		if (comma == NULL)
			break;
		p = comma + 1;
	}
out:
	free(copy);
	if (err == ST_OK)
		*out = mask;
	return err;
}

static st_err
set_key_usage(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "digitalSignature",
		"keyEncipherment", "keyAgreement", NULL };
	static const unsigned bits[] = { PROFILE_KU_DIGITAL_SIGNATURE,
		PROFILE_KU_KEY_ENCIPHERMENT, PROFILE_KU_KEY_AGREEMENT };
	unsigned mask;
	st_err err = parse_list(value, names, bits, 0, &mask, why);

	if (err)
		return err;
	cur_profile(ld)->key_usage = mask;
	return ST_OK;
}

static st_err
set_eku(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "clientAuth", "serverAuth",
		NULL };
	static const unsigned bits[] = { 1, 2 };
	unsigned mask;
	st_err err = parse_list(value, names, bits, 1, &mask, why);

	if (err)
		return st_fail(why, ST_E_CONFIG, "expected a comma list of "
		    "clientAuth, serverAuth, or none");
	cur_profile(ld)->eku_client_auth = (mask & 1) != 0;
	cur_profile(ld)->eku_server_auth = (mask & 2) != 0;
	return ST_OK;
}

/* Keys whose value is one of a few words, stored as the word's index. */
#define ENUM_SETTER(fn, field, ...)                                          \
	static st_err fn(struct config_load *ld, const char *value,          \
	    char **why)                                                      \
	{                                                                    \
		static const char *const names[] = { __VA_ARGS__, NULL };    \
		int i;                                                       \
		st_err err = config_parse_enum(value, names, &i, why);       \
                                                                             \
		if (err == ST_OK)                                            \
			cur_profile(ld)->field = i;                          \
		return err;                                                  \
	}

/* The word order matches the enums in profile.h. */
ENUM_SETTER(set_chain, chain, "intermediate+root", "root", "ca")
ENUM_SETTER(set_reprovision, reprovision, "refuse", "allow")
ENUM_SETTER(set_lock, lock, "no", "yes")
ENUM_SETTER(set_smoke, smoke_required, "optional", "required")

static st_err
set_tls(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "1.2", "1.3", NULL };
	int i;
	st_err err = config_parse_enum(value, names, &i, why);

	if (err)
		return err;
	cur_profile(ld)->tls_min_version = i == 0 ? 12 : 13;
	return ST_OK;
}

static st_err
set_topic(struct config_load *ld, const char *value, char **why)
{
	char *topic = NULL;
	st_err err = try_template(ld, value, 1, &topic, why);

	if (err)
		goto out;
	/* A publish topic: no MQTT wildcards, no empty first level. */
	if (strpbrk(topic, "+# \t") != NULL || topic[0] == '/') {
		err = st_fail(why, ST_E_CONFIG, "expected an MQTT topic without "
		    "wildcards or spaces");
		goto out;
	}
	err = config_set_string(&cur_profile(ld)->topic_template, value, why);
out:
	free(topic);
	return err;
}

const struct config_key config_profile_keys[] = {
	{ "key", 0, set_key, 0 },
	{ "slot", 0, set_slot, 0 },
	{ "subject", 0, set_subject, 0 },
	{ "san_dns", 1, set_san_dns, 0 },
	{ "san_uri", 1, set_san_uri, 0 },
	{ "validity_days", 0, set_validity, 0 },
	{ "key_usage", 0, set_key_usage, 0 },
	{ "eku", 0, set_eku, 0 },
	{ "chain", 0, set_chain, 0 },
	{ "reprovision", 0, set_reprovision, 0 },
	{ "lock", 0, set_lock, 0 },
	{ "smoke", 0, set_smoke, 0 },
	{ "tls", 0, set_tls, 0 },
	{ "topic", 0, set_topic, 0 },
	{ NULL, 0, NULL, 0 },
};
