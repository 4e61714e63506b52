/* Reading CA credentials (see cred.h). */
#include "station/ca/cred.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trim in place; the wiped tail stays inside the same buffer. */
static void
trim(char *s)
{
	size_t len = strlen(s), start = 0;

	while (len > 0 && is_space(s[len - 1]))
		s[--len] = '\0';
	while (start < len && is_space(s[start]))
		start++;
	memmove(s, s + start, len - start + 1);
	memset(s + len - start + 1, 0, start);
}

st_err
cred_read_file(const char *path, char **out, char **cause)
{
	char *buf = xcalloc(1, CRED_MAX + 2);
	struct stat st;
	size_t len = 0;
	st_err err = ST_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	*out = NULL;
	if (fd < 0) {
		err = st_fail(cause, errno == ELOOP ? ST_E_CONFIG : ST_E_IO,
		    "cannot open the credential file %s: %s", path,
		    errno == ELOOP ? "it is a symbolic link" : strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the credential file %s is "
		    "not a regular file",
		    path);
		goto out;
	}
	/* Checked on the open descriptor, so a chmod race cannot slip a
	 * world-readable file past the check. */
	if ((st.st_mode & 077) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the credential file %s has "
		    "mode %04o: it must be readable by its owner only (chmod "
		    "600 %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (len <= CRED_MAX) {
		ssize_t n = read(fd, buf + len, CRED_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = st_fail(cause, ST_E_IO, "reading %s: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CRED_MAX) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the credential file %s is "
		    "larger than %d bytes",
		    path, CRED_MAX);
		goto out;
	}
	trim(buf);
	if (buf[0] == '\0') {
		err = st_fail(cause, ST_E_CONFIG,
		    "the credential file %s is "
		    "empty",
		    path);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (fd >= 0)
		close(fd);
	cred_free(buf);
	return err;
}

st_err
cred_from_settings(const struct ca_settings *s, const char *file_key,
    const char *env_key, char **out, char **cause)
{
	const char *file = file_key ? ca_settings_get(s, file_key) : NULL;
	const char *env = env_key ? ca_settings_get(s, env_key) : NULL;
	const char *value;

	*out = NULL;
	if (file && env)
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] %s and %s are both "
		    "set: choose one",
		    file_key, env_key);
	if (file)
		return cred_read_file(file, out, cause);
	if (env == NULL)
		return ST_OK;
	value = getenv(env);
	if (value == NULL || value[0] == '\0')
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] %s = %s: the "
		    "environment variable %s is not set",
		    env_key, env, env);
	if (strlen(value) > CRED_MAX)
		return st_fail(cause, ST_E_CONFIG,
		    "the environment variable "
		    "%s is longer than %d bytes",
		    env, CRED_MAX);
	*out = xstrdup(value);
	trim(*out);
	return ST_OK;
}

void
cred_free(char *secret)
{
	if (secret == NULL)
		return;
	OPENSSL_cleanse(secret, strlen(secret));
	free(secret);
}

void
cred_scrub(char *text, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;

	if (text == NULL || n == 0)
		return;
	for (char *p = strstr(text, secret); p != NULL;
	     p = strstr(p + n, secret))
		memset(p, '*', n);
}
