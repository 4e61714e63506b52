/* The CA backend table and what all backends share (see ca.h). */
#include "station/ca/ca.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/cfssl.h"
#include "station/ca/hub.h"
#include "station/ca/local.h"
#include "station/ca/remote.h"
#include "station/ca/vault.h"

static st_err
open_local(const struct ca_settings *s, struct ca_backend **out, char **cause)
{
	static const char *const keys[] = { "key", "pkcs11_module", "pin_file",
		"pin_env", NULL };
	st_err err = remote_check_keys(s, "local", keys, cause);

	if (err)
		return err;
	if (s->dir == NULL || s->dir[0] == '\0')
		return st_fail(cause, ST_E_CONFIG,
		    "the local CA needs a directory");
	struct local_ca_key key = {
		.uri = ca_settings_get(s, "key"),
		.module = ca_settings_get(s, "pkcs11_module"),
		.pin_file = ca_settings_get(s, "pin_file"),
		.pin_env = ca_settings_get(s, "pin_env"),
	};

	return local_ca_open_key(s->dir, &key, out, cause);
}

/* Every backend the station knows, by name.  Explicit, so that a reader
 * sees them all in one place. */
static const struct {
	const char *name;
	st_err (*open)(const struct ca_settings *s, struct ca_backend **out,
	    char **cause);
} ca_table[] = {
	{ "local", open_local },
	{ "vault", vault_ca_open },
	{ "cfssl", cfssl_ca_open },
	{ "hub", hub_ca_open },
};

#define CA_TABLE_LEN (sizeof ca_table / sizeof ca_table[0])

st_err
ca_open(const char *backend, const struct ca_settings *s,
    struct ca_backend **out, char **cause)
{
	*out = NULL;
	for (size_t i = 0; i < CA_TABLE_LEN; i++) {
		if (strcmp(ca_table[i].name, backend) == 0)
			return ca_table[i].open(s, out, cause);
	}
	char known[256] = "";
	size_t used = 0;
	for (size_t i = 0; i < CA_TABLE_LEN && used < sizeof known; i++) {
		int n = snprintf(known + used, sizeof known - used, "%s%s",
		    i ? ", " : "", ca_table[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return st_fail(cause, ST_E_CONFIG, "unknown CA backend '%s' "
	    "(known: %s)", backend, known);
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

void
ca_issued_clear(struct ca_issued *issued)
{
	if (issued == NULL)
		return;
	X509_free(issued->cert);
	sk_X509_pop_free(issued->chain, X509_free);
	free(issued->serial_hex);
	memset(issued, 0, sizeof *issued);
}
