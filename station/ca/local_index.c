/* Reading the local CA's issuance index, DIR/issued.txt (see local.h). */
#include "local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"

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

st_err
local_ca_read_index(const char *dir,
    int (*cb)(const struct local_ca_record *rec, void *arg), void *arg,
    char **cause)
{
	char *path = xasprintf("%s/issued.txt", dir);
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	st_err err = ST_OK;

	if (fp == NULL) {
		if (errno != ENOENT)
			err = st_fail(cause, ST_E_IO, "cannot open %s: %s",
			    path, strerror(errno));
		goto out;
	}
	while (getline(&line, &cap, fp) > 0) {
		struct local_ca_record rec;
		char *p = line;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		rec.time = next_field(&p);
		rec.serial_hex = next_field(&p);
		rec.fingerprint = next_field(&p);
		rec.subject = p ? p : "";
		if (rec.time == NULL || rec.serial_hex == NULL ||
		    rec.fingerprint == NULL || !is_hex(rec.serial_hex, 0) ||
		    !is_hex(rec.fingerprint, 64)) {
			err = st_fail(cause, ST_E_CA, "%s line %u is malformed",
			    path, lineno);
			goto out;
		}
		if (cb(&rec, arg))
			break;
	}
	if (ferror(fp))
		err = st_fail(cause, ST_E_IO, "reading %s: %s", path,
		    strerror(errno));
out:
	if (fp != NULL)
		fclose(fp);
	free(line);
	free(path);
	return err;
}
