/* The CA backend table and what all backends share (see ca.h). */
#include "ca.h"

#include <stdlib.h>
#include <string.h>

#include "local.h"

static st_err
open_local(const struct ca_settings *s, struct ca_backend **out, char **cause)
{
	if (s->dir == NULL || s->dir[0] == '\0')
		return st_fail(cause, ST_E_CONFIG,
		    "the local CA needs a directory");
	return local_ca_open(s->dir, out, cause);
}

/* Every backend the station knows, by name.  Explicit, so that a reader
 * sees them all in one place. */
static const struct {
	const char *name;
	st_err (*open)(const struct ca_settings *s, struct ca_backend **out,
	    char **cause);
} ca_table[] = {
	{ "local", open_local },
};

#define CA_TABLE_LEN (sizeof ca_table / sizeof ca_table[0])

static const char *const ca_names[CA_TABLE_LEN + 1] = { "local", NULL };

const char *const *
ca_backend_names(void)
{
	return ca_names;
}

st_err
ca_open(const char *backend, const struct ca_settings *s,
    struct ca_backend **out, char **cause)
{
	*out = NULL;
	for (size_t i = 0; i < CA_TABLE_LEN; i++) {
		if (strcmp(ca_table[i].name, backend) == 0)
			return ca_table[i].open(s, out, cause);
	}
	return st_fail(cause, ST_E_CONFIG, "unknown CA backend '%s' "
	    "(known: local)", backend);
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
