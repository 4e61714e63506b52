/*
 * The table of device dialects (dialect.h).
 */
#include "station/pipeline/dialect.h"

#include <string.h>

/* Dialects chosen by a prefix; a URI with none is v1. */
static const struct dialect_ops *const dialect_table[] = {
	&dialect_nrf91_ops,
	NULL,
};

const struct dialect_ops *
dialect_of(const char *uri, const char **transport_uri)
{
	for (size_t i = 0; dialect_table[i] != NULL; i++) {
		const char *p = dialect_table[i]->prefix;
		size_t n = strlen(p);

		if (strncmp(uri, p, n) == 0) {
			*transport_uri = uri + n;
			return dialect_table[i];
		}
	}
	*transport_uri = uri;
	return &dialect_v1_ops;
}
