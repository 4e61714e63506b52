/*
 * The AT command channel (at.h).
 */
#include "drivers/at/at.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/log.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "at"

struct at_chan {
	struct transport *t;
	struct deadline dl;
	char buf[AT_LINE_MAX + 2]; /* bytes received, not yet a line */
	size_t len;
	char **urc; /* unsolicited lines, oldest first */
	size_t n_urc;
	int last_cme;
};

struct at_chan *
at_new(struct transport *t)
{
	struct at_chan *a = xcalloc(1, sizeof *a);

	a->t = t;
	a->dl = deadline_in(1000);
	a->last_cme = -1;
	return a;
}

void
at_free(struct at_chan *a)
{
	if (a == NULL)
		return;
	transport_close(a->t);
	for (size_t i = 0; i < a->n_urc; i++)
		free(a->urc[i]);
	free(a->urc);
	free(a);
}

void
at_set_deadline(struct at_chan *a, struct deadline dl)
{
	a->dl = dl;
}

int
at_last_cme(const struct at_chan *a)
{
	return a->last_cme;
}

void
at_lines_free(char **lines)
{
	if (lines == NULL)
		return;
	for (size_t i = 0; lines[i] != NULL; i++)
		free(lines[i]);
	free(lines);
}

static void
lines_add(char ***lines, size_t *n, char *line)
{
	*lines = xrealloc(*lines, (*n + 2) * sizeof **lines);
	(*lines)[(*n)++] = line;
	(*lines)[*n] = NULL;
}

/* The next non-empty line (caller frees), CR and LF removed. */
static st_err
read_line(struct at_chan *a, char **out, char **cause)
{
	char *nl;
	size_t got = 0;
	st_err err;

	*out = NULL;
	for (;;) {
		nl = memchr(a->buf, '\n', a->len);
		while (nl != NULL) {
			size_t n = (size_t)(nl - a->buf);
			size_t end = n;

			while (end > 0 && (a->buf[end - 1] == '\r'))
				end--;
			if (end > 0)
				*out = xstrndup(a->buf, end);
			memmove(a->buf, nl + 1, a->len - n - 1);
			a->len -= n + 1;
			if (*out != NULL)
				return ST_OK;
			nl = memchr(a->buf, '\n', a->len);
		}
		if (a->len >= AT_LINE_MAX)
			return st_fail(cause, ST_E_PROTO,
			    "the device sent a line longer than %d bytes",
			    AT_LINE_MAX);
		err = a->t->ops->read(a->t, (uint8_t *)a->buf + a->len,
		    AT_LINE_MAX - a->len, &got, a->dl, cause);
		if (err)
			return err;
		/* A NUL would cut the line short where it is shown. */
		for (size_t i = 0; i < got; i++)
			if (a->buf[a->len + i] == '\0')
				a->buf[a->len + i] = ' ';
		a->len += got;
	}
}

/* `line` without `prefix` and the blanks after it, or NULL. */
static const char *
after_prefix(const char *line, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(line, prefix, n) != 0)
		return NULL;
	line += n;
	while (*line == ' ')
		line++;
	return line;
}

static void
urc_push(struct at_chan *a, char *line)
{
	a->urc = xrealloc(a->urc, (a->n_urc + 1) * sizeof *a->urc);
	a->urc[a->n_urc++] = line;
}

st_err
at_cmd(struct at_chan *a, const char *cmd, const char *prefix, char ***lines,
    char **cause)
{
	char **got = NULL;
	size_t n_got = 0;
	char *line = NULL, *wire = NULL;
	const char *rest;
	st_err err;

	if (lines != NULL)
		*lines = NULL;
	a->last_cme = -1;
	/* Only the command's name goes to the log: a %CMNG write carries a
	 * whole certificate. */
	log_debug("-> %.24s", cmd);
	wire = xasprintf("%s\r\n", cmd);
	err = a->t->ops->write(a->t, (const uint8_t *)wire, strlen(wire), a->dl,
	    cause);
	if (err)
		goto out;
	for (;;) {
		free(line);
		line = NULL;
		err = read_line(a, &line, cause);
		if (err)
			goto out;
		if (strcmp(line, "OK") == 0)
			break;
		if (strcmp(line, "ERROR") == 0) {
			err = st_fail(cause, ST_E_DEVICE, "ERROR");
			goto out;
		}
		rest = after_prefix(line, "+CME ERROR:");
		if (rest != NULL) {
			long code = strtol(rest, NULL, 10);

			a->last_cme =
			    code >= 0 && code < 100000 ? (int)code : -1;
			err = st_fail(cause, ST_E_DEVICE, "+CME ERROR: %d",
			    a->last_cme);
			goto out;
		}
		if (strcmp(line, cmd) == 0)
			continue; /* the modem's echo (ATE1) */
		rest = prefix ? after_prefix(line, prefix) : NULL;
		if (rest != NULL) {
			lines_add(&got, &n_got, xstrdup(rest));
			continue;
		}
		urc_push(a, line);
		line = NULL;
	}
	if (lines != NULL) {
		if (got == NULL)
			got = xcalloc(1, sizeof *got);
		*lines = got;
		got = NULL;
	}
out:
	if (err == ST_E_DEVICE || err == ST_E_TIMEOUT || err == ST_E_HANGUP)
		err = st_wrap(cause, err, "%.40s", cmd);
	at_lines_free(got);
	free(line);
	free(wire);
	return err;
}

st_err
at_wait_urc(struct at_chan *a, const char *prefix, char **out, char **cause)
{
	char *line = NULL;
	const char *rest;
	st_err err;

	*out = NULL;
	for (size_t i = 0; i < a->n_urc; i++) {
		rest = after_prefix(a->urc[i], prefix);
		if (rest == NULL)
			continue;
		*out = xstrdup(rest);
		free(a->urc[i]);
		memmove(&a->urc[i], &a->urc[i + 1],
		    (a->n_urc - i - 1) * sizeof *a->urc);
		a->n_urc--;
		return ST_OK;
	}
	for (;;) {
		err = read_line(a, &line, cause);
		if (err)
			return st_wrap(cause, err, "waiting for %s", prefix);
		rest = after_prefix(line, prefix);
		if (rest != NULL) {
			*out = xstrdup(rest);
			free(line);
			return ST_OK;
		}
		urc_push(a, line);
		line = NULL;
	}
}

int
at_fields(const char *line, char ***fields)
{
	char **f = NULL;
	size_t n = 0;
	const char *p = line;

	*fields = NULL;
	for (;;) {
		char *v = xmalloc(strlen(p) + 1);
		size_t len = 0;
		int quoted = 0;

		while (*p == ' ')
			p++;
		while (*p != '\0' && (quoted || *p != ',')) {
			if (*p == '"')
				quoted = !quoted;
			else
				v[len++] = *p;
			p++;
		}
		v[len] = '\0';
		lines_add(&f, &n, v);
		if (quoted) {
			at_lines_free(f);
			return -1;
		}
		if (*p == '\0')
			break;
		p++;
	}
	*fields = f;
	return (int)n;
}
