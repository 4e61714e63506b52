/* Finding the local CA's certificates by key, for crash recovery (see
 * local.h: local_ca_find_by_key). */
#include "station/ca/local.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"

struct find_key {
	const char *dir;
	const char *key_sha256;
	int (*cb)(X509 *cert, void *arg);
	void *arg;
	st_err err;
	char **cause;
};

static int
find_key_cb(const struct local_ca_record *rec, void *arg)
{
	struct find_key *f = arg;
	char *path = xasprintf("%s/certs/%s.pem", f->dir, rec->serial_hex);
	char *why = NULL;
	X509 *cert = NULL;
	char key[65];
	int stop = 0;

	/* A line from before copies were kept has nothing to compare. */
	st_err err = x509_load_pem_file(path, &cert, &why);
	if (err == ST_E_IO)
		goto out;
	if (err) {
		f->err = st_fail(f->cause, err, "%s", why);
		stop = 1;
		goto out;
	}
	cert_key_sha256(cert, key);
	if (strcmp(key, f->key_sha256) == 0)
		stop = f->cb(cert, f->arg);
out:
	X509_free(cert);
	free(why);
	free(path);
	return stop;
}

st_err
local_ca_find_by_key(const char *dir, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	struct find_key f = { dir, key_sha256, cb, arg, ST_OK, cause };
	st_err err = local_ca_read_index(dir, find_key_cb, &f, cause);

	return err ? err : f.err;
}
