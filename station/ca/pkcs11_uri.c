/* Naming a token key (the pkcs11: URI subset) and reading its PIN (see
 * pkcs11.h). */
#include "station/ca/pkcs11_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy s[0..n) undoing %XX escapes; NULL for a broken escape or a NUL. */
static char *
unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 1 < n ? hexval(s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval(s[i + 2]) : -1;

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

void
pkcs11_uri_clear(struct pkcs11_uri *u)
{
	if (u == NULL)
		return;
	free(u->token);
	free(u->object);
	memset(u, 0, sizeof *u);
}

st_err
pkcs11_uri_parse(const char *uri, struct pkcs11_uri *out, char **cause)
{
	static const char scheme[] = "pkcs11:";
	const char *p;

	memset(out, 0, sizeof *out);
	if (uri == NULL || strncmp(uri, scheme, sizeof scheme - 1) != 0)
		return st_fail(cause, ST_E_CONFIG,
		    "'%s' is not a pkcs11: URI "
		    "(expected pkcs11:token=NAME;object=LABEL)",
		    uri ? uri : "");
	if (strchr(uri, '?') != NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "the pkcs11: URI must not "
		    "carry query attributes (give the PIN with pin_file or "
		    "pin_env)");
	p = uri + sizeof scheme - 1;
	while (*p != '\0') {
		size_t len = strcspn(p, ";");
		const char *eq = memchr(p, '=', len);
		char **slot = NULL;

		if (eq == NULL) {
			pkcs11_uri_clear(out);
			return st_fail(cause, ST_E_CONFIG,
			    "'%s': attribute "
			    "'%.*s' has no '='",
			    uri, (int)len, p);
		}
		if ((size_t)(eq - p) == 5 && strncmp(p, "token", 5) == 0)
			slot = &out->token;
		else if ((size_t)(eq - p) == 6 && strncmp(p, "object", 6) == 0)
			slot = &out->object;
		if (slot != NULL) {
			free(*slot);
			*slot = unescape(eq + 1, len - (size_t)(eq + 1 - p));
			if (*slot == NULL || (*slot)[0] == '\0') {
				pkcs11_uri_clear(out);
				return st_fail(cause, ST_E_CONFIG,
				    "'%s': bad "
				    "value for '%.*s'",
				    uri, (int)(eq - p), p);
			}
		}
		p += len;
		if (*p == ';')
			p++;
	}
	if (out->token == NULL || out->object == NULL) {
		pkcs11_uri_clear(out);
		return st_fail(cause, ST_E_CONFIG,
		    "'%s' needs both token= and "
		    "object= (pkcs11:token=NAME;object=LABEL)",
		    uri);
	}
	return ST_OK;
}

/* The first line of `path`, which only its owner may read. */
static st_err
pin_from_file(const char *path, char **pin, char **cause)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char buf[256];
	struct stat sb;
	ssize_t n;
	st_err err = ST_OK;

	if (fd < 0)
		return st_fail(cause, ST_E_CONFIG,
		    "cannot open the PIN file "
		    "%s: %s",
		    path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the PIN file %s is not a "
		    "regular file",
		    path);
		goto out;
	}
	/* A PIN others can read is a PIN others know. */
	if ((sb.st_mode & 077) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the PIN file %s has mode "
		    "%04o: it must not be accessible to group or others "
		    "(chmod 600 %s)",
		    path, (unsigned)(sb.st_mode & 07777), path);
		goto out;
	}
	n = read(fd, buf, sizeof buf - 1);
	if (n < 0) {
		err = st_fail(cause, ST_E_IO, "reading the PIN file %s: %s",
		    path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0') {
		err = st_fail(cause, ST_E_CONFIG, "the PIN file %s is empty",
		    path);
		goto out;
	}
	*pin = xstrdup(buf);
out:
	OPENSSL_cleanse(buf, sizeof buf);
	close(fd);
	return err;
}

st_err
pkcs11_read_pin(const struct pkcs11_opts *o, char **pin, char **cause)
{
	*pin = NULL;
	if (o->pin_file != NULL && o->pin_file[0] != '\0')
		return pin_from_file(o->pin_file, pin, cause);
	if (o->pin_env != NULL && o->pin_env[0] != '\0') {
		const char *v = getenv(o->pin_env);

		if (v == NULL || v[0] == '\0')
			return st_fail(cause, ST_E_CONFIG,
			    "the environment "
			    "variable %s holding the token PIN is not set",
			    o->pin_env);
		*pin = xstrdup(v);
		return ST_OK;
	}
	return st_fail(cause, ST_E_CONFIG,
	    "no PIN for the token: set "
	    "pin_file or pin_env");
}

void
pkcs11_pin_free(char *pin)
{
	if (pin == NULL)
		return;
	OPENSSL_cleanse(pin, strlen(pin));
	free(pin);
}
