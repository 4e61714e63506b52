/* The line-counting inih reader shared by the INI loaders (ini_lines.h). */
#include "station/config/ini_lines.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "station/util/xalloc.h"

static void
report(struct ini_lines *r, int line, const char *msg)
{
	if (r->on_error)
		r->on_error(r->ctx, line, msg);
}

/* Look at a line the way inih will, to follow its sections. */
static void
scan_line(struct ini_lines *r, const char *line)
{
	const char *p = line;

	if (r->line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* UTF-8 byte order mark, skipped by inih too */
	r->indented = isspace((unsigned char)*p) != 0;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || strchr(INI_START_COMMENT_PREFIXES, *p))
		return;
	if (INI_ALLOW_MULTILINE && r->indented && r->prev_key)
		return; /* continuation of the previous value */
	if (*p == '[') {
		r->prev_key = 0;
		if (r->on_header)
			r->on_header(r->ctx, p);
	}
}

char *
ini_lines_read(char *str, int num, void *stream)
{
	struct ini_lines *r = stream;
	ssize_t n = getline(&r->linebuf, &r->linecap, r->fp);

	if (n < 0) {
		if (ferror(r->fp)) {
			char *msg =
			    xasprintf("read error: %s", strerror(errno));

			report(r, r->line + 1, msg);
			free(msg);
		}
		return NULL;
	}
	r->line++;
	if (num < 2 || (size_t)n >= (size_t)num ||
	    memchr(r->linebuf, '\0', (size_t)n) != NULL) {
		if (memchr(r->linebuf, '\0', (size_t)n) != NULL) {
			report(r, r->line, "NUL byte in the line");
		} else {
			char *msg = xasprintf("line longer than %d characters",
			    num - 3);

			report(r, r->line, msg);
			free(msg);
		}
		/* Hand inih an empty line so its count stays in step. */
		if (num >= 2) {
			str[0] = '\n';
			str[1] = '\0';
		}
		return str;
	}
	memcpy(str, r->linebuf, (size_t)n + 1);
	scan_line(r, str);
	return str;
}

void
ini_lines_clear(struct ini_lines *r)
{
	if (r == NULL)
		return;
	free(r->linebuf);
	r->linebuf = NULL;
	r->linecap = 0;
}

st_err
ini_open_buffer(const char *name, const char *text, size_t len, FILE **fp,
    char **cause)
{
	/* fmemopen() refuses a zero size; an empty file reads like one
	 * empty line. */
	static const char empty[] = "\n";

	if (len == 0) {
		text = empty;
		len = 1;
	}
	*fp = fmemopen((void *)text, len, "r");
	if (*fp == NULL)
		return st_fail(cause, ST_E_IO, "%s: %s", name, strerror(errno));
	return ST_OK;
}
