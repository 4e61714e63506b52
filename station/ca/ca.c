/* The CA backend table and what all backends share (see ca.h). */
#include "station/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/cfssl.h"
#include "station/ca/hub.h"
#include "station/ca/local.h"
#include "station/ca/pkcs11.h"
#include "station/ca/vault.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"

/* Every [ca] key any backend takes, once, with its type.  The backends'
 * lists below name keys from here. */
static const struct ca_key ca_keys[] = {
	{ "addr", CA_KEY_TEXT, 0, 0 },
	{ "mount", CA_KEY_TEXT, 0, 0 },
	{ "role", CA_KEY_TEXT, 0, 0 },
	{ "namespace", CA_KEY_TEXT, 0, 0 },
	{ "token_file", CA_KEY_PATH, 0, 0 },
	{ "token_env", CA_KEY_ENV_NAME, 0, 0 },
	{ "approle_role_id_file", CA_KEY_PATH, 0, 0 },
	{ "approle_secret_id_file", CA_KEY_PATH, 0, 0 },
	{ "profile", CA_KEY_TEXT, 0, 0 },
	{ "auth_key_file", CA_KEY_PATH, 0, 0 },
	{ "chain_file", CA_KEY_PATH, 0, 0 },
	{ "ca_bundle", CA_KEY_PATH, 0, 0 },
	{ "pin_sha256", CA_KEY_TEXT, 0, 0 },
	/* A remote CA gets at least a millisecond per try; zero retries
	 * means one try. */
	{ "timeout_ms", CA_KEY_INT, 1, 3600000 },
	{ "retries", CA_KEY_INT, 0, 10 },
	{ "key", CA_KEY_PKCS11_URI, 0, 0 },
	{ "pkcs11_module", CA_KEY_TEXT, 0, 0 },
	{ "pin_file", CA_KEY_PATH, 0, 0 },
	{ "pin_env", CA_KEY_ENV_NAME, 0, 0 },
	{ "crl_url", CA_KEY_CRL_URL, 0, 0 },
	{ "ocsp_url", CA_KEY_URL, 0, 0 },
	{ "ca_issuers_url", CA_KEY_URL, 0, 0 },
	{ "crl_dir", CA_KEY_PATH, 0, 0 },
	{ "validate_after_sign", CA_KEY_TEXT, 0, 0 },
	{ "broker_from_reply", CA_KEY_TEXT, 0, 0 },
};

#define CA_KEYS_LEN (sizeof ca_keys / sizeof ca_keys[0])

static const char *const local_keys[] = { "key", "pkcs11_module", "pin_file",
	"pin_env", "crl_url", "ocsp_url", "ca_issuers_url", "crl_dir", NULL };
static const char *const vault_keys[] = { "addr", "mount", "role", "namespace",
	"token_file", "token_env", "approle_role_id_file",
	"approle_secret_id_file", "ca_bundle", "pin_sha256", "timeout_ms",
	"retries", NULL };
static const char *const cfssl_keys[] = { "addr", "profile", "auth_key_file",
	"chain_file", "ca_bundle", "pin_sha256", "timeout_ms", "retries",
	NULL };
static const char *const hub_keys[] = { "addr", "token_file", "token_env",
	"ca_bundle", "pin_sha256", "timeout_ms", "retries",
	"validate_after_sign", "broker_from_reply", NULL };

/* Every backend the station knows, by name, with the [ca] keys it takes.
 * Explicit, so that a reader sees them all in one place; the
 * configuration's list of backends and of keys comes from here. */
static const struct {
	const char *name;
	st_err (*open)(const struct ca_settings *s, struct ca_backend **out,
	    char **cause);
	const char *const *keys;
	int made_here; /* its CA lives in the station's CA directory */
} ca_table[] = {
	{ "local", local_ca_open_settings, local_keys, 1 },
	{ "vault", vault_ca_open, vault_keys, 0 },
	{ "cfssl", cfssl_ca_open, cfssl_keys, 0 },
	{ "hub", hub_ca_open, hub_keys, 0 },
};

#define CA_TABLE_LEN (sizeof ca_table / sizeof ca_table[0])

const struct ca_key *
ca_key_at(size_t i)
{
	return i < CA_KEYS_LEN ? &ca_keys[i] : NULL;
}

const struct ca_key *
ca_key_find(const char *name)
{
	for (size_t i = 0; i < CA_KEYS_LEN; i++) {
		if (strcmp(ca_keys[i].name, name) == 0)
			return &ca_keys[i];
	}
	return NULL;
}

/* The name of a variable, never the secret itself. */
static int
is_env_name(const char *value)
{
	static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz_";

	return value[0] != '\0' && strchr(first, value[0]) != NULL &&
	    strspn(value,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789_") == strlen(value);
}

st_err
ca_key_check(const struct ca_key *key, const char *value, char **why)
{
	struct pkcs11_uri u;
	long long n;
	st_err err = ST_OK;

	if (value[0] == '\0')
		return st_fail(why, ST_E_CONFIG, "expected a non-empty value");
	switch (key->type) {
	case CA_KEY_TEXT:
	case CA_KEY_PATH:
		break;
	case CA_KEY_INT:
		if (!num_valid(value, key->min, key->max, &n))
			err = st_fail(why, ST_E_CONFIG,
			    "expected an integer "
			    "%lld..%lld",
			    key->min, key->max);
		break;
	case CA_KEY_ENV_NAME:
		if (!is_env_name(value))
			err = st_fail(why, ST_E_CONFIG,
			    "expected the name of "
			    "an environment variable (such as VAULT_TOKEN), "
			    "not its value");
		break;
	case CA_KEY_PKCS11_URI:
		/* Checked here so a typo in the URI is reported with its
		 * line. */
		err = pkcs11_uri_parse(value, &u, why);
		pkcs11_uri_clear(&u);
		break;
	case CA_KEY_URL:
	case CA_KEY_CRL_URL:
		err =
		    local_ca_url_check(value, key->type == CA_KEY_CRL_URL, why);
		break;
	}
	return err;
}

const char *
ca_backend_name(size_t i)
{
	return i < CA_TABLE_LEN ? ca_table[i].name : NULL;
}

static int
table_index(const char *name)
{
	for (size_t i = 0; i < CA_TABLE_LEN; i++) {
		if (strcmp(ca_table[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

int
ca_backend_is_made_here(const char *name)
{
	int i = table_index(name);

	return i >= 0 && ca_table[i].made_here;
}

/* Every key in s->extra must be one the backend takes. */
static st_err
check_keys(const struct ca_settings *s, const char *backend,
    const char *const *keys, char **cause)
{
	int known;

	if (s == NULL || s->extra == NULL)
		return ST_OK;
	for (const struct ca_setting *e = s->extra; e->key != NULL; e++) {
		known = 0;
		for (size_t i = 0; keys[i] != NULL && !known; i++)
			known = strcmp(keys[i], e->key) == 0;
		if (!known)
			return st_fail(cause, ST_E_CONFIG,
			    "[ca] key '%s' does "
			    "not apply to the %s backend",
			    e->key, backend);
	}
	return ST_OK;
}

st_err
ca_open(const char *backend, const struct ca_settings *s,
    struct ca_backend **out, char **cause)
{
	char *known = xstrdup("");
	char *longer;
	int i = table_index(backend);
	st_err err;

	*out = NULL;
	if (i < 0) {
		for (size_t j = 0; j < CA_TABLE_LEN; j++) {
			longer = xasprintf("%s%s%s", known, j ? ", " : "",
			    ca_table[j].name);
			free(known);
			known = longer;
		}
		err = st_fail(cause, ST_E_CONFIG,
		    "unknown CA backend '%s' "
		    "(known: %s)",
		    backend, known);
		goto out;
	}
	err = check_keys(s, ca_table[i].name, ca_table[i].keys, cause);
	if (err)
		goto out;
	err = ca_table[i].open(s, out, cause);
	if (err)
		goto out;
	(*out)->name = ca_table[i].name;
out:
	free(known);
	return err;
}

const char *
ca_settings_get(const struct ca_settings *s, const char *key)
{
	if (s == NULL || s->extra == NULL)
		return NULL;
	for (const struct ca_setting *e = s->extra; e->key != NULL; e++) {
		if (strcmp(e->key, key) == 0)
			return e->value;
	}
	return NULL;
}

void
ca_free(struct ca_backend *ca)
{
	if (ca != NULL)
		ca->ops->free(ca);
}

const char *
ca_name(const struct ca_backend *ca)
{
	return ca->name != NULL ? ca->name : "";
}

st_err
ca_sign(struct ca_backend *ca, const struct ca_request *req,
    struct ca_issued *out, char **cause)
{
	if (ca->ops->sign == NULL)
		return st_fail(cause, ST_E_UNSUPPORTED, "%s cannot sign",
		    ca->describe);
	return ca->ops->sign(ca, req, out, cause);
}

st_err
ca_revoke(struct ca_backend *ca, const char *serial_hex, const char *reason,
    char **cause)
{
	if (ca->ops->revoke == NULL)
		return st_fail(cause, ST_E_UNSUPPORTED, "%s cannot revoke",
		    ca->describe);
	return ca->ops->revoke(ca, serial_hex, reason, cause);
}

st_err
ca_find_by_key(struct ca_backend *ca, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	if (ca->ops->find_by_key == NULL)
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "%s cannot look up "
		    "certificates by key",
		    ca->describe);
	return ca->ops->find_by_key(ca, key_sha256, cb, arg, cause);
}

st_err
ca_revoke_cert(struct ca_backend *ca, const struct ca_cert_ref *ref,
    const char *reason, char **cause)
{
	if (ca->ops->revoke_cert != NULL)
		return ca->ops->revoke_cert(ca, ref, reason, cause);
	return ca_revoke(ca, ref->serial_hex, reason, cause);
}

st_err
ca_find_issued(struct ca_backend *ca, const struct ca_lookup *q,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	if (ca->ops->find_issued != NULL)
		return ca->ops->find_issued(ca, q, cb, arg, cause);
	return ca_find_by_key(ca, q->key_sha256, cb, arg, cause);
}

void
ca_issued_clear(struct ca_issued *issued)
{
	if (issued == NULL)
		return;
	X509_free(issued->cert);
	sk_X509_pop_free(issued->chain, X509_free);
	free(issued->serial_hex);
	free(issued->note);
	free(issued->broker_host);
	memset(issued, 0, sizeof *issued);
}
