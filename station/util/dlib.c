/* Optional shared libraries loaded on first use (see dlib.h). */
#include "station/util/dlib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* One lock for every library: loading happens a few times per process,
 * and it also serialises the libraries' init hooks. */
static pthread_mutex_t dlib_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *
dl_reason(void)
{
	const char *why = dlerror();

	return why != NULL ? why : "no reason given";
}

/* Open and resolve; on failure nothing stays open. */
static st_err
dlib_open(struct dlib *lib, char **cause)
{
	void *h;
	st_err err = ST_OK;

	/* RTLD_LOCAL: the library's symbols reach us only through the
	 * table, never by name resolution elsewhere. */
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "%s cannot be loaded (%s): install it with "
		    "'apt-get install %s'",
		    lib->soname, dl_reason(), lib->package);
	for (const struct dlib_sym *s = lib->syms; s->name != NULL; s++) {
		dlerror(); /* a NULL symbol is an error only if dlerror says */
		*s->addr = dlsym(h, s->name);
		if (*s->addr == NULL) {
			err = st_fail(cause, ST_E_CONFIG,
			    "%s has no symbol %s (%s): the library is older "
			    "than the station needs; upgrade it with "
			    "'apt-get install %s'",
			    lib->soname, s->name, dl_reason(), lib->package);
			goto out;
		}
	}
	lib->handle = h;
	h = NULL;
out:
	if (h != NULL) {
		for (const struct dlib_sym *s = lib->syms; s->name != NULL; s++)
			*s->addr = NULL;
		dlclose(h);
	}
	return err;
}

st_err
dlib_load(struct dlib *lib, char **cause)
{
	st_err err = ST_OK;

	pthread_mutex_lock(&dlib_mu);
	if (lib->ready)
		goto out;
	if (lib->handle == NULL) {
		err = dlib_open(lib, cause);
		if (err)
			goto out;
	}
	/* The symbols stay resolved if init fails: the next call runs init
	 * alone again. */
	if (lib->init != NULL) {
		err = lib->init(cause);
		if (err)
			goto out;
	}
	lib->ready = 1;
out:
	pthread_mutex_unlock(&dlib_mu);
	return err;
}
