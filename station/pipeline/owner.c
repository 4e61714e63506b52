/* Run ownership by an OFD lock (owner.h). */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "station/pipeline/owner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

struct owner {
	int fd;
	char *path;
	char token[OWNER_TOKEN_LEN + 1];
};

int
owner_token_valid(const char *s)
{
	return s != NULL && strlen(s) == OWNER_TOKEN_LEN &&
	    strspn(s, "0123456789abcdef") == OWNER_TOKEN_LEN;
}

/* Take the whole-file write lock without waiting: 0, or an errno
 * (EAGAIN/EACCES: someone else holds it). */
static int
lock_now(int fd)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 0,
		.l_pid = 0, /* required to be 0 for OFD locks */
	};

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	return errno;
}

static char *
owners_dir(const char *home)
{
	return xasprintf("%s/owners", home);
}

st_err
owner_acquire(const char *home, struct owner **out, char **cause)
{
	struct owner *o = xcalloc(1, sizeof *o);
	unsigned char rnd[OWNER_TOKEN_LEN / 2];
	char *dir = owners_dir(home);
	char *tmp = NULL;
	st_err err = ST_OK;
	int rc;

	*out = NULL;
	o->fd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (RAND_bytes(rnd, (int)sizeof rnd) != 1) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "cannot make an owner token");
		goto out;
	}
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(o->token + 2 * i, 3, "%02x", rnd[i]);
	tmp = xasprintf("%s/%s.new", dir, o->token);
	o->path = xasprintf("%s/%s.lock", dir, o->token);
	o->fd =
	    open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (o->fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	rc = lock_now(o->fd);
	if (rc != 0) {
		err = st_fail(cause, ST_E_IO, "cannot lock %s: %s", tmp,
		    strerror(rc));
		goto out;
	}
	/* Only now under its final name: a sweep or a recovery never finds
	 * a live owner's file unlocked. */
	if (rename(tmp, o->path) != 0) {
		err = st_fail(cause, ST_E_IO, "cannot rename %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	*out = o;
	o = NULL;
out:
	if (o != NULL && o->fd >= 0)
		unlink(tmp);
	owner_free(o);
	free(tmp);
	free(dir);
	return err;
}

const char *
owner_token(const struct owner *o)
{
	return o ? o->token : NULL;
}

void
owner_free(struct owner *o)
{
	if (o == NULL)
		return;
	/* Unlink first: once the lock is dropped the file could be taken for
	 * a dead owner's, which it then is. */
	if (o->fd >= 0) {
		unlink(o->path);
		close(o->fd);
	}
	free(o->path);
	free(o);
}

st_err
owner_claim(const char *home, const char *token, int *dead,
    struct owner_claim *c, char **cause)
{
	char *dir = owners_dir(home);
	st_err err = ST_OK;
	int rc;

	*dead = 0;
	c->fd = -1;
	c->path = NULL;
	if (!owner_token_valid(token)) {
		err = st_fail(cause, ST_E_ARG, "not an owner token");
		goto out;
	}
	c->path = xasprintf("%s/%s.lock", dir, token);
	/* O_RDWR: a write lock needs a descriptor open for writing. */
	c->fd = open(c->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (c->fd < 0 && errno == ENOENT) {
		*dead = 1;
		goto out;
	}
	if (c->fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", c->path,
		    strerror(errno));
		goto out;
	}
	rc = lock_now(c->fd);
	if (rc == 0) {
		*dead = 1;
		goto out;
	}
	if (rc != EAGAIN && rc != EACCES)
		err = st_fail(cause, ST_E_IO, "cannot lock %s: %s", c->path,
		    strerror(rc));
	/* Not ours to hold: closing this descriptor leaves the owner's OFD
	 * lock alone (a classic POSIX lock would be dropped here if the
	 * owner were this very process). */
	close(c->fd);
	c->fd = -1;
out:
	free(dir);
	return err;
}

void
owner_claim_release(struct owner_claim *c)
{
	if (c->fd >= 0) {
		/* Removed while still locked, so no one else claims it. */
		unlink(c->path);
		close(c->fd);
	}
	c->fd = -1;
	free(c->path);
	c->path = NULL;
}

/* "<token>.lock" -> 1 and the token in `token`. */
static int
lock_file_token(const char *name, char token[OWNER_TOKEN_LEN + 1])
{
	size_t len = strlen(name);

	if (len != OWNER_TOKEN_LEN + 5 ||
	    strcmp(name + OWNER_TOKEN_LEN, ".lock") != 0)
		return 0;
	memcpy(token, name, OWNER_TOKEN_LEN);
	token[OWNER_TOKEN_LEN] = '\0';
	return owner_token_valid(token);
}

st_err
owner_sweep(const char *home, int *removed, char **cause)
{
	char *dir = owners_dir(home);
	DIR *d = opendir(dir);
	struct dirent *e;
	st_err err = ST_OK;
	int n = 0;

	if (d == NULL) {
		if (errno != ENOENT)
			err = st_fail(cause, ST_E_IO, "cannot read %s: %s", dir,
			    strerror(errno));
		goto out;
	}
	for (e = readdir(d); e != NULL && err == ST_OK; e = readdir(d)) {
		char token[OWNER_TOKEN_LEN + 1];
		struct owner_claim c;
		int dead = 0;

		if (!lock_file_token(e->d_name, token))
			continue;
		err = owner_claim(home, token, &dead, &c, cause);
		if (err == ST_OK && dead && c.fd >= 0)
			n++;
		owner_claim_release(&c);
	}
	closedir(d);
out:
	free(dir);
	if (removed)
		*removed = n;
	return err;
}
