/* Reading the local CA's issuance index, DIR/issued.txt (see local.h). */
#include "station/ca/local.h"
#include "station/ca/local_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

/* Split off the next space-separated field; NULL if there is none. */
static char *
next_field(char **p)
{
	char *start = *p, *sp;

	if (start == NULL || *start == '\0')
		return NULL;
	sp = strchr(start, ' ');
	if (sp == NULL) {
		*p = NULL;
		return start;
	}
	*sp = '\0';
	*p = sp + 1;
	return start;
}

static int
is_hex(const char *s, size_t want_len)
{
	size_t n = strspn(s, "0123456789abcdef");

	return s[n] == '\0' && n > 0 && (want_len == 0 || n == want_len);
}

struct index_walk {
	int (*cb)(const struct local_ca_record *rec, void *arg);
	void *arg;
};

static st_err
index_line(char *line, const char *path, unsigned lineno, void *arg, int *stop,
    char **cause)
{
	const struct index_walk *w = arg;
	struct local_ca_record rec;
	char *p = line;

	rec.time = next_field(&p);
	rec.serial_hex = next_field(&p);
	rec.fingerprint = next_field(&p);
	rec.subject = p ? p : "";
	if (rec.time == NULL || rec.serial_hex == NULL ||
	    rec.fingerprint == NULL || !is_hex(rec.serial_hex, 0) ||
	    !is_hex(rec.fingerprint, 64))
		return st_fail(cause, ST_E_CA, "%s line %u is malformed", path,
		    lineno);
	*stop = w->cb(&rec, w->arg);
	return ST_OK;
}

st_err
local_ca_read_index(const char *dir,
    int (*cb)(const struct local_ca_record *rec, void *arg), void *arg,
    char **cause)
{
	struct index_walk w = { cb, arg };

	return local_each_line(dir, "issued.txt", index_line, &w, cause);
}
