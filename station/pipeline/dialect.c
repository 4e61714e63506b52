/*
 * The table of device dialects (dialect.h).
 */
#include "station/pipeline/dialect.h"

#include <stdlib.h>
#include <string.h>

#include "drivers/proto/client.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/xalloc.h"

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

st_err
dialect_identify(const char *uri, const struct profile *p, struct deadline dl,
    struct dev_info *info, char **cause)
{
	struct provision_request req = { .device_uri = uri };
	struct provision_result res = { 0 };
	struct run r = { .req = &req,
		.res = &res,
		.profile = p,
		.deadline = dl };
	struct transport *t = NULL;
	const char *turi = NULL;
	const struct dialect_ops *d = dialect_of(uri, &turi);
	st_err err;

	memset(info, 0, sizeof *info);
	err = transport_open(turi, dl, &t, cause);
	if (err)
		return err;
	r.dialect = d;
	err = d->connect(&r, t);
	if (err == ST_OK) {
		d->set_deadline(&r, dl);
		err = d->hello(&r);
	}
	if (err == ST_OK) {
		*info = r.info;
		memset(&r.info, 0, sizeof r.info);
	}
	d->finish(&r);
	if (err && cause != NULL) {
		free(*cause);
		*cause = r.cause;
		r.cause = NULL;
	}
	free(r.cause);
	client_free(r.client);
	dev_info_clear(&r.info);
	return err;
}
