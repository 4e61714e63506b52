/*
 * The keys of a [profile NAME] section.  Templates are checked at load
 * time: their syntax as each key is read, then (config_profile_check,
 * once the whole file is read) every place a template fills against what
 * the station itself puts there: literal text, ${station}, and every
 * character a serial may hold.  A misspelt "${serail}", a subject that is
 * not a DN or a serialNumber=${serial} that some serials cannot satisfy
 * stops the station from starting instead of failing devices on the line.
 */
#include "station/config/config_priv.h"

#include <stdlib.h>
#include <string.h>

#include "station/x509/attest.h"
#include "station/x509/dn.h"
#include "station/x509/identity.h"
#include "station/x509/usage.h"
#include "station/config/scan_format.h"
#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

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
try_template(struct config_load *ld, const char *tmpl, int with_cn, char **out,
    char **why)
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

/* Remember a template for config_profile_check. */
static void
note_template(struct config_load *ld, const char *key, const char *value,
    enum name_kind kind, const char *attr, const char *tmpl)
{
	struct config_tmpl *t;

	ld->tmpls = xrealloc(ld->tmpls, (ld->n_tmpls + 1) * sizeof *ld->tmpls);
	t = &ld->tmpls[ld->n_tmpls++];
	memset(t, 0, sizeof *t);
	t->profile = ld->cur;
	t->line = ld->rd.line;
	t->key = key;
	t->value = xstrdup(value);
	t->attr = attr ? xstrdup(attr) : NULL;
	t->slot.kind = kind;
	t->slot.attr = t->attr;
	t->tmpl = xstrdup(tmpl);
}

static st_err
set_subject(struct config_load *ld, const char *value, char **why)
{
	struct profile *p = cur_profile(ld);
	struct dn_pair *parts = NULL;
	size_t n = 0;
	char *dn = NULL, *dn_why = NULL;
	st_err err = try_template(ld, value, 0, &dn, why);

	if (err)
		goto out;
	/* Split the template itself: a reference holds no ',' or '=', so
	 * the parts are the subject's attributes whatever the values. */
	err = dn_split(value, &parts, &n, &dn_why);
	if (err) {
		err = st_fail(why, ST_E_CONFIG, "not a valid subject DN: %s",
		    dn_why);
		goto out;
	}
	err = config_set_string(&p->subject_template, value, why);
	if (err)
		goto out;
	dn_pairs_free(p->subject_parts, p->n_subject_parts);
	p->subject_parts = parts;
	p->n_subject_parts = n;
	for (size_t i = 0; i < n; i++)
		note_template(ld, "subject", value, NAME_DN_VALUE,
		    parts[i].attr, parts[i].value);
	parts = NULL;
	n = 0;
out:
	dn_pairs_free(parts, n);
	free(dn);
	free(dn_why);
	return err;
}

static st_err
set_san(struct config_load *ld, const char *key, enum name_kind kind,
    char ***list, const char *value, char **why)
{
	char *name = NULL;
	st_err err = try_template(ld, value, 0, &name, why);

	if (err)
		goto out;
	strv_push(list, value);
	note_template(ld, key, value, kind, NULL, value);
out:
	free(name);
	return err;
}

static st_err
set_san_dns(struct config_load *ld, const char *value, char **why)
{
	return set_san(ld, "san_dns", NAME_SAN_DNS,
	    &cur_profile(ld)->san_dns_templates, value, why);
}

static st_err
set_san_uri(struct config_load *ld, const char *value, char **why)
{
	return set_san(ld, "san_uri", NAME_SAN_URI,
	    &cur_profile(ld)->san_uri_templates, value, why);
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

/* key_usage: the bits the local CA can put in (station/ca/local.c). */
#define KU_REQUESTABLE \
	(PROFILE_KU_DIGITAL_SIGNATURE | PROFILE_KU_KEY_ENCIPHERMENT | \
	    PROFILE_KU_KEY_AGREEMENT)
/* allow_key_usage: any bit a device certificate may hold (never
 * keyCertSign or cRLSign: cert.ca refuses those whatever is allowed). */
#define KU_ALLOWABLE \
	(KU_REQUESTABLE | PROFILE_KU_NON_REPUDIATION | \
	    PROFILE_KU_DATA_ENCIPHERMENT)
/* eku: the purposes a device certificate is asked for. */
#define EKU_REQUESTABLE (PROFILE_EKU_CLIENT_AUTH | PROFILE_EKU_SERVER_AUTH)

static st_err
set_key_usage(struct config_load *ld, const char *value, char **why)
{
	unsigned mask;
	st_err err =
	    usage_parse(usage_ku, KU_REQUESTABLE, 0, value, &mask, why);

	if (err)
		return err;
	cur_profile(ld)->key_usage = mask;
	return ST_OK;
}

static st_err
set_eku(struct config_load *ld, const char *value, char **why)
{
	unsigned mask;
	st_err err =
	    usage_parse(usage_eku, EKU_REQUESTABLE, 1, value, &mask, why);

	if (err)
		return err;
	cur_profile(ld)->eku_client_auth =
	    (mask & PROFILE_EKU_CLIENT_AUTH) != 0;
	cur_profile(ld)->eku_server_auth =
	    (mask & PROFILE_EKU_SERVER_AUTH) != 0;
	return ST_OK;
}

/* What a CA may add beyond key_usage and eku without the certificate
 * being refused: a remote CA's role may be wider than the profile. */
static st_err
set_allow_key_usage(struct config_load *ld, const char *value, char **why)
{
	unsigned mask;
	st_err err = usage_parse(usage_ku, KU_ALLOWABLE, 1, value, &mask, why);

	if (err)
		return err;
	cur_profile(ld)->allow_key_usage = mask;
	return ST_OK;
}

static st_err
set_allow_eku(struct config_load *ld, const char *value, char **why)
{
	unsigned mask;
	st_err err = usage_parse(usage_eku, ~0u, 1, value, &mask, why);

	if (err)
		return err;
	cur_profile(ld)->allow_eku = mask;
	return ST_OK;
}

/* chain: the old forms are refused by name, so that a configuration
 * written for them stops the station with what to write instead. */
static st_err
set_chain(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "full", "ca", "none", NULL };
	int i;

	if (strcmp(value, "root") == 0)
		return st_fail(why, ST_E_CONFIG,
		    "the root alone is no longer written: "
		    "a device needs the path from its issuer; use chain = "
		    "full (intermediates and root) or chain = ca "
		    "(intermediates only)");
	if (strcmp(value, "intermediate+root") == 0)
		return st_fail(why, ST_E_CONFIG,
		    "this form is now written chain = full (intermediates "
		    "and root)");
	if (config_parse_enum(value, names, &i, why))
		return ST_E_CONFIG;
	cur_profile(ld)->chain = (enum chain_mode)i;
	return ST_OK;
}

/* Keys whose value is one of a few words, stored as the word's index. */
#define ENUM_SETTER(fn, field, ...) \
	static st_err fn(struct config_load *ld, const char *value, \
	    char **why) \
	{ \
		static const char *const names[] = { __VA_ARGS__, NULL }; \
		int i; \
		st_err err = config_parse_enum(value, names, &i, why); \
\
		if (err == ST_OK) \
			cur_profile(ld)->field = i; \
		return err; \
	}

/* The word order matches the enums in profile.h. */
ENUM_SETTER(set_reprovision, reprovision, "refuse", "allow")
ENUM_SETTER(set_lock, lock, "no", "yes")
ENUM_SETTER(set_fleet, fleet, "required", "best-effort")
ENUM_SETTER(set_smoke_word, smoke_required, "optional", "required")
ENUM_SETTER(set_attestation_word, attestation, "none", "tpm")

/* attestation = ...: its line noted for the check once the file is read
 * (attestation_ca may come after it). */
static st_err
set_attestation(struct config_load *ld, const char *value, char **why)
{
	cur_profile(ld)->attestation_line = ld->rd.line;
	return set_attestation_word(ld, value, why);
}

/* smoke = ...: noted as given, so the broker's default leaves it alone
 * (config_smoke_defaults). */
static st_err
set_smoke(struct config_load *ld, const char *value, char **why)
{
	st_err err = set_smoke_word(ld, value, why);

	if (err == ST_OK)
		cur_profile(ld)->smoke_given = 1;
	return err;
}
/* The label rule: the words in the order of enum scan_case and enum
 * scan_checksum (scan_format.h). */
ENUM_SETTER(set_label_trim, label_trim, "no", "yes")
ENUM_SETTER(set_label_case, label_case, "keep", "upper", "lower")
ENUM_SETTER(set_label_check_digit, label_check_digit, "none", "luhn", "mod36")

/* label_pattern: compiled once here, so a bad one names its line. */
static st_err
set_label_pattern(struct config_load *ld, const char *value, char **why)
{
	struct scan_format *f = NULL;
	st_err err = scan_format_new(value, SCAN_CHECKSUM_NONE, &f, why);

	scan_format_free(f);
	if (err)
		return err;
	return config_set_string(&cur_profile(ld)->label_pattern, value, why);
}

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
	err = config_set_string(&cur_profile(ld)->topic_template, value, why);
	if (err)
		goto out;
	note_template(ld, "topic", value, NAME_TOPIC, NULL, value);
out:
	free(topic);
	return err;
}

/*
 * Can every serial the station accepts go where `t` puts ${serial}?  The
 * serial alphabet is serial_is_valid's, narrowed by [station]
 * serial_pattern as far as scan_format_alphabet can prove.
 */
static st_err
check_serial_alphabet(const struct config *cfg, const struct config_tmpl *t,
    char **why)
{
	unsigned char may[256];
	char *piece_why = NULL;
	st_err err = ST_OK;

	if (strstr(t->tmpl, "${serial}") == NULL)
		return ST_OK;
	scan_format_alphabet(cfg->serial_pattern, may);
	for (unsigned c = 1; c < 256 && err == ST_OK; c++) {
		char ch = (char)c;

		if (!may[c] || !serial_char_valid((unsigned char)c))
			continue;
		if (name_check_piece(&t->slot, &ch, 1, 1, &piece_why) == ST_OK)
			continue;
		int dn_typed = t->slot.kind == NAME_DN_VALUE;
		err = st_fail(why, ST_E_CONFIG,
		    "serials may contain '%c', "
		    "which cannot go into %s (%s)%s%s%s; narrow the serial "
		    "alphabet with [station] serial_pattern (one that visibly "
		    "excludes '%c', see docs/admin.md)%s",
		    ch, name_slot_label(&t->slot), piece_why,
		    cfg->serial_pattern ? ": serial_pattern '" : "",
		    cfg->serial_pattern ? cfg->serial_pattern : "",
		    cfg->serial_pattern ? "' does not exclude it" : "", ch,
		    dn_typed ? " or put ${serial} in an attribute that takes "
			       "UTF8String (CN, O, OU, L, ST, UID)" :
			       "");
	}
	free(piece_why);
	return err;
}

/* Literal text and ${station}: what the station itself puts in. */
static st_err
check_station_pieces(const struct config_tmpl *t,
    const struct template_vars *vars, char **why)
{
	struct template_piece *pieces = NULL;
	char *piece_why = NULL;
	size_t n = 0;
	st_err err = template_pieces(t->tmpl, vars, &pieces, &n, why);

	for (size_t i = 0; err == ST_OK && i < n; i++) {
		const struct template_piece *p = &pieces[i];
		int station = p->ref != NULL && strcmp(p->ref, "station") == 0;

		if (p->ref != NULL && !station)
			continue;
		if (name_check_piece(&t->slot, p->text, p->len, station,
			&piece_why) == ST_OK)
			continue;
		char *copy = xstrndup(p->text, p->len);
		char *shown = text_escape(copy, 64);
		err = st_fail(why, ST_E_CONFIG, "%s '%s' cannot go into %s: %s",
		    station ? "[station] id" : "the text", shown,
		    name_slot_label(&t->slot), piece_why);
		free(shown);
		free(copy);
	}
	free(piece_why);
	free(pieces);
	return err;
}

/* The CN a profile gives a device of the usual shape: the ${cn} stand-in
 * of its topic. */
static char *
try_cn(const struct config *cfg, const struct profile *p)
{
	struct template_vars vars = { .serial = TRY_SERIAL,
		.model = TRY_MODEL,
		.station = cfg->station_id };
	struct identity id;
	char *cn = NULL;

	if (identity_build(p, &vars, &id, NULL) == ST_OK && id.cn != NULL)
		cn = xstrdup(id.cn);
	identity_clear(&id);
	return cn ? cn : xstrdup(TRY_SERIAL);
}

static st_err
check_template(const struct config_load *ld, const struct config_tmpl *t,
    char **why)
{
	const struct config *cfg = ld->cfg;
	const struct profile *p = &cfg->profiles[t->profile];
	char *cn = t->slot.kind == NAME_TOPIC ? try_cn(cfg, p) : NULL;
	struct template_vars vars = { .serial = TRY_SERIAL,
		.model = TRY_MODEL,
		.station = cfg->station_id,
		.cn = cn };
	char *out = NULL;
	st_err err;

	err = check_station_pieces(t, &vars, why);
	if (err)
		goto out;
	err = check_serial_alphabet(cfg, t, why);
	if (err)
		goto out;
	/* The whole value, for a device of the usual shape. */
	err = identity_value(&t->slot, t->tmpl, &vars, &out, why);
	if (err)
		err = st_wrap(why, ST_E_CONFIG,
		    "with serial '%s' and model "
		    "'%s'",
		    TRY_SERIAL, TRY_MODEL);
out:
	free(out);
	free(cn);
	return err;
}

/* attestation = tpm needs the manufacturers' CA bundle, readable now
 * rather than on the first device. */
static st_err
check_attestation(const struct profile *pr, char **why)
{
	char *inner = NULL;
	st_err err = ST_OK;

	if (pr->attestation != ATTESTATION_TPM)
		return ST_OK;
	if (pr->attestation_ca == NULL)
		return st_fail(why, ST_E_CONFIG,
		    "[profile %s] attestation = tpm needs attestation_ca = "
		    "FILE (the PEM bundle of the TPM manufacturers' CAs the "
		    "attestation keys chain to)",
		    pr->name);
	err = attest_ca_check(pr->attestation_ca, &inner);
	if (err)
		err = st_fail(why, ST_E_CONFIG, "[profile %s] %s", pr->name,
		    inner);
	free(inner);
	return err;
}

st_err
config_profile_check(struct config_load *ld, int *line, char **why)
{
	char *inner = NULL;
	st_err err = ST_OK;

	/* Paths are relative to home, known only once the file is read. */
	for (size_t i = 0; i < ld->cfg->n_profiles; i++) {
		struct profile *pr = &ld->cfg->profiles[i];
		char *path;

		if (pr->attestation_ca != NULL) {
			path =
			    config_path_join(ld->cfg->home, pr->attestation_ca);
			free(pr->attestation_ca);
			pr->attestation_ca = path;
		}
		err = check_attestation(pr, why);
		if (err) {
			*line = pr->attestation_line;
			return err;
		}
		if (pr->server_ca == NULL)
			continue;
		path = config_path_join(ld->cfg->home, pr->server_ca);
		free(pr->server_ca);
		pr->server_ca = path;
	}
	for (size_t i = 0; i < ld->n_tmpls; i++) {
		const struct config_tmpl *t = &ld->tmpls[i];

		err = check_template(ld, t, &inner);
		if (err == ST_OK)
			continue;
		char *shown = text_escape(t->value, 200);
		*line = t->line;
		err = st_fail(why, ST_E_CONFIG, "[profile %s] %s = '%s': %s",
		    ld->cfg->profiles[t->profile].name, t->key, shown, inner);
		free(shown);
		break;
	}
	free(inner);
	return err;
}

void
config_profile_notes_free(struct config_load *ld)
{
	for (size_t i = 0; i < ld->n_tmpls; i++) {
		free(ld->tmpls[i].value);
		free(ld->tmpls[i].attr);
		free(ld->tmpls[i].tmpl);
	}
	free(ld->tmpls);
	ld->tmpls = NULL;
	ld->n_tmpls = 0;
}

static st_err
set_attestation_ca(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&cur_profile(ld)->attestation_ca, value, why);
}

static st_err
set_server_ca(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&cur_profile(ld)->server_ca, value, why);
}

/* "host:port": a host name or IPv4 address (what a device can dial
 * without the station's resolver) and a port. */
static st_err
set_endpoint(struct config_load *ld, const char *value, char **why)
{
	const char *colon = strrchr(value, ':');
	size_t host_len = colon ? (size_t)(colon - value) : 0;
	long long port;

	if (colon == NULL || host_len == 0 || host_len > 253 ||
	    strspn(value,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789.-") != host_len ||
	    !num_valid(colon + 1, 1, 65535, &port))
		return st_fail(why, ST_E_CONFIG,
		    "expected HOST:PORT (a host name or IPv4 address, a port "
		    "1..65535)");
	free(cur_profile(ld)->endpoint_host);
	cur_profile(ld)->endpoint_host = xstrndup(value, host_len);
	cur_profile(ld)->endpoint_port = (int)port;
	return ST_OK;
}

static st_err
set_nrf91_identity(struct config_load *ld, const char *value, char **why)
{
	if (strcmp(value, "imei") == 0)
		cur_profile(ld)->nrf91_identity = NRF91_ID_IMEI;
	else if (strcmp(value, "uuid") == 0)
		cur_profile(ld)->nrf91_identity = NRF91_ID_UUID;
	else
		return st_fail(why, ST_E_CONFIG, "expected imei or uuid");
	return ST_OK;
}

static st_err
set_nrf91_sec_tag(struct config_load *ld, const char *value, char **why)
{
	long v;
	st_err err = config_parse_int(value, 0, 2147483647, &v, why);

	if (err)
		return err;
	cur_profile(ld)->nrf91_sec_tag = v;
	return ST_OK;
}

const struct config_key config_profile_keys[] = {
	{ .name = "key", .type = CONFIG_CUSTOM, .set = set_key },
	{ .name = "slot", .type = CONFIG_CUSTOM, .set = set_slot },
	{ .name = "subject", .type = CONFIG_CUSTOM, .set = set_subject },
	{ .name = "san_dns",
	    .type = CONFIG_CUSTOM,
	    .set = set_san_dns,
	    .repeatable = 1 },
	{ .name = "san_uri",
	    .type = CONFIG_CUSTOM,
	    .set = set_san_uri,
	    .repeatable = 1 },
	{ .name = "validity_days", .type = CONFIG_CUSTOM, .set = set_validity },
	{ .name = "key_usage", .type = CONFIG_CUSTOM, .set = set_key_usage },
	{ .name = "eku", .type = CONFIG_CUSTOM, .set = set_eku },
	{ .name = "allow_key_usage",
	    .type = CONFIG_CUSTOM,
	    .set = set_allow_key_usage },
	{ .name = "allow_ext_key_usage",
	    .type = CONFIG_CUSTOM,
	    .set = set_allow_eku },
	{ .name = "chain", .type = CONFIG_CUSTOM, .set = set_chain },
	{ .name = "reprovision",
	    .type = CONFIG_CUSTOM,
	    .set = set_reprovision },
	{ .name = "lock", .type = CONFIG_CUSTOM, .set = set_lock },
	{ .name = "fleet", .type = CONFIG_CUSTOM, .set = set_fleet },
	{ .name = "smoke", .type = CONFIG_CUSTOM, .set = set_smoke },
	{ .name = "tls", .type = CONFIG_CUSTOM, .set = set_tls },
	{ .name = "topic", .type = CONFIG_CUSTOM, .set = set_topic },
	{ .name = "server_ca", .type = CONFIG_CUSTOM, .set = set_server_ca },
	{ .name = "endpoint", .type = CONFIG_CUSTOM, .set = set_endpoint },
	{ .name = "label_trim", .type = CONFIG_CUSTOM, .set = set_label_trim },
	{ .name = "label_case", .type = CONFIG_CUSTOM, .set = set_label_case },
	{ .name = "label_pattern",
	    .type = CONFIG_CUSTOM,
	    .set = set_label_pattern },
	{ .name = "label_check_digit",
	    .type = CONFIG_CUSTOM,
	    .set = set_label_check_digit },
	{ .name = "nrf91_identity",
	    .type = CONFIG_CUSTOM,
	    .set = set_nrf91_identity },
	{ .name = "nrf91_sec_tag",
	    .type = CONFIG_CUSTOM,
	    .set = set_nrf91_sec_tag },
	{ .name = "attestation",
	    .type = CONFIG_CUSTOM,
	    .set = set_attestation },
	{ .name = "attestation_ca",
	    .type = CONFIG_CUSTOM,
	    .set = set_attestation_ca },
	{ .name = NULL },
};
