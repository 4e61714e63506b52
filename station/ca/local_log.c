/*
 * The local CA's issuance log, DIR/issued.log: the one file fsynced per
 * certificate (see local_int.h).  Each record is
 *
 *	"@" OFFSET "\n" INDEX-LINE PEM
 *
 * where OFFSET is the size issued.txt had when the record was made (where
 * INDEX-LINE goes), INDEX-LINE is the issued.txt line and PEM the
 * certificate.  issued.txt and certs/SERIAL.pem are then written without
 * an fsync of their own; local_log_repair makes them match the log and,
 * once the log has grown past a few dozen records, syncs them and empties
 * the log.
 */
#define _GNU_SOURCE /* syncfs */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"

#define PEM_END "-----END CERTIFICATE-----\n"
/* A log larger than this is settled at once (about 3000 certificates),
 * so that a station that is never restarted keeps it small. */
#define LOG_SETTLE_BYTES (4L << 20)

static st_err
write_all(int fd, const char *buf, size_t len, const char *path, char **cause)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return st_fail(cause, ST_E_IO, "writing %s: %s", path,
			    strerror(n < 0 ? errno : EIO));
		done += (size_t)n;
	}
	return ST_OK;
}

/* Open DIR/issued.log for appending, locked against other processes.
 * *created says whether this call created it. */
static st_err
log_open(const char *path, int create, int *fd, int *created, char **cause)
{
	*created = 0;
	*fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (*fd < 0 && errno == ENOENT && create) {
		*fd = open(path,
		    O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		*created = *fd >= 0;
		if (*fd < 0 && errno == EEXIST)
			*fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	}
	if (*fd < 0) {
		if (errno == ENOENT && !create)
			return ST_OK;
		return st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
	}
	if (flock(*fd, LOCK_EX) != 0) {
		st_err err = st_fail(cause, ST_E_IO, "cannot lock %s: %s", path,
		    strerror(errno));

		close(*fd);
		*fd = -1;
		return err;
	}
	return ST_OK;
}

/* 1 when certs/SERIAL.pem already holds exactly `pem` (a repair of a log
 * whose records are all in place writes nothing). */
static int
copy_is(const char *dir, const char *serial_hex, const char *pem,
    size_t pem_len)
{
	char *path = xasprintf("%s/certs/%s.pem", dir, serial_hex);
	char *have = xmalloc(pem_len + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : pread(fd, have, pem_len + 1, 0);
	int same = n == (ssize_t)pem_len && memcmp(have, pem, pem_len) == 0;

	if (fd >= 0)
		close(fd);
	free(have);
	free(path);
	return same;
}

/* Write certs/SERIAL.pem (no fsync: the log or a repair covers it). */
static st_err
write_copy(const char *dir, const char *serial_hex, const char *pem,
    size_t pem_len, char **cause)
{
	char *cdir = xasprintf("%s/certs", dir);
	char *path = xasprintf("%s/%s.pem", cdir, serial_hex);
	st_err err = ST_OK;
	int fd;

	if (mkdir(cdir, 0700) < 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", cdir,
		    strerror(errno));
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", path,
		    strerror(errno));
		goto out;
	}
	err = write_all(fd, pem, pem_len, path, cause);
	close(fd);
out:
	free(path);
	free(cdir);
	return err;
}

/* Append `line` to issued.txt, first cutting it back to `at` if a torn or
 * stale tail follows (a repair after a power loss). */
static st_err
index_put(int fd, const char *path, off_t at, const char *line, size_t len,
    char **cause)
{
	struct stat sb;
	char *have;
	ssize_t n;

	if (fstat(fd, &sb) != 0)
		return st_fail(cause, ST_E_IO, "stat %s: %s", path,
		    strerror(errno));
	if (sb.st_size >= at + (off_t)len) {
		have = xmalloc(len);
		n = pread(fd, have, len, at);
		int same = n == (ssize_t)len && memcmp(have, line, len) == 0;
		free(have);
		if (same)
			return ST_OK;
	}
	if (sb.st_size > at && ftruncate(fd, at) != 0)
		return st_fail(cause, ST_E_IO, "truncating %s: %s", path,
		    strerror(errno));
	if (sb.st_size < at)
		return st_fail(cause, ST_E_CA,
		    "%s is shorter (%lld bytes) than "
		    "its log says (%lld)",
		    path, (long long)sb.st_size, (long long)at);
	return write_all(fd, line, len, path, cause);
}

static int
open_index(const char *dir, char **path)
{
	*path = xasprintf("%s/issued.txt", dir);
	return open(*path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

st_err
local_log_issue(const char *dir, const char *serial_hex, const char *line,
    const char *pem, char **cause)
{
	char *log = xasprintf("%s/issued.log", dir), *index = NULL;
	char *rec = NULL;
	int lfd = -1, ifd = -1, created = 0, settle = 0;
	struct stat sb;
	st_err err;

	err = log_open(log, 1, &lfd, &created, cause);
	if (err)
		goto out;
	ifd = open_index(dir, &index);
	if (ifd < 0 || fstat(ifd, &sb) != 0) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", index,
		    strerror(errno));
		goto out;
	}
	rec = xasprintf("@%lld\n%s%s", (long long)sb.st_size, line, pem);
	err = write_all(lfd, rec, strlen(rec), log, cause);
	if (err)
		goto out;
	/* The one durable point of an issuance. */
	if (fdatasync(lfd) != 0) {
		err = st_fail(cause, ST_E_IO, "syncing %s: %s", log,
		    strerror(errno));
		goto out;
	}
	if (created)
		err = local_fsync_dir(dir, cause);
	if (err)
		goto out;
	err = write_copy(dir, serial_hex, pem, strlen(pem), cause);
	if (err == ST_OK)
		err = index_put(ifd, index, sb.st_size, line, strlen(line),
		    cause);
	if (err == ST_OK && fstat(lfd, &sb) == 0 &&
	    sb.st_size > LOG_SETTLE_BYTES)
		settle = 1;
out:
	if (ifd >= 0)
		close(ifd);
	if (lfd >= 0)
		close(lfd); /* releases the flock */
	free(rec);
	free(index);
	free(log);
	if (settle)
		err = local_log_repair(dir, 0, cause);
	return err;
}

/* Apply one complete record; *p is moved past it.  0 when no complete
 * record is left (a torn tail was never synced, so never returned). */
static int
next_record(char **p, char *end, long long *at, char **line, size_t *line_len,
    char **pem, size_t *pem_len)
{
	char *s = *p, *nl, *pe;
	char num[24];

	if (s >= end || *s != '@')
		return 0;
	nl = memchr(s, '\n', (size_t)(end - s));
	if (nl == NULL || (size_t)(nl - s - 1) >= sizeof num)
		return 0;
	memcpy(num, s + 1, (size_t)(nl - s - 1));
	num[nl - s - 1] = '\0';
	if (!num_valid(num, 0, LLONG_MAX, at))
		return 0;
	*line = nl + 1;
	nl = memchr(*line, '\n', (size_t)(end - *line));
	if (nl == NULL)
		return 0;
	*line_len = (size_t)(nl + 1 - *line);
	*pem = nl + 1;
	*end = '\0';
	pe = strstr(*pem, PEM_END);
	if (pe == NULL)
		return 0;
	*pem_len = (size_t)(pe + strlen(PEM_END) - *pem);
	*p = *pem + *pem_len;
	return 1;
}

st_err
local_log_repair(const char *dir, long keep, char **cause)
{
	char *log = xasprintf("%s/issued.log", dir), *index = NULL;
	char *buf = NULL, *p;
	char *line, *pem;
	size_t line_len, pem_len;
	long long at;
	int lfd = -1, ifd = -1, created = 0, dfd = -1;
	struct stat sb;
	st_err err;

	err = log_open(log, 0, &lfd, &created, cause);
	if (err || lfd < 0)
		goto out;
	if (fstat(lfd, &sb) != 0) {
		err = st_fail(cause, ST_E_IO, "stat %s: %s", log,
		    strerror(errno));
		goto out;
	}
	if (sb.st_size == 0)
		goto out;
	buf = xmalloc((size_t)sb.st_size + 1);
	if (pread(lfd, buf, (size_t)sb.st_size, 0) != sb.st_size) {
		err = st_fail(cause, ST_E_IO, "reading %s: %s", log,
		    strerror(errno));
		goto out;
	}
	ifd = open_index(dir, &index);
	if (ifd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", index,
		    strerror(errno));
		goto out;
	}
	p = buf;
	while (err == ST_OK &&
	    next_record(&p, buf + sb.st_size, &at, &line, &line_len, &pem,
		&pem_len)) {
		/* The serial is the index line's second field. */
		char serial[129] = "";

		if (sscanf(line, "%*s %128[0-9a-f]", serial) != 1) {
			err = st_fail(cause, ST_E_CA,
			    "%s holds a malformed "
			    "record",
			    log);
			break;
		}
		if (!copy_is(dir, serial, pem, pem_len))
			err = write_copy(dir, serial, pem, pem_len, cause);
		if (err == ST_OK)
			err = index_put(ifd, index, (off_t)at, line, line_len,
			    cause);
	}
	if (err)
		goto out;
	/* Small: the log keeps covering them (a settle per process would
	 * cost a syncfs each, the disk's slowest call). */
	if ((long)sb.st_size <= keep)
		goto out;
	/* Copies, their directory entries and the index in one go; then
	 * the log is no longer needed. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || syncfs(dfd) != 0 || fsync(ifd) != 0 ||
	    ftruncate(lfd, 0) != 0 || fdatasync(lfd) != 0)
		err = st_fail(cause, ST_E_IO, "settling %s: %s", log,
		    strerror(errno));
out:
	if (dfd >= 0)
		close(dfd);
	if (ifd >= 0)
		close(ifd);
	if (lfd >= 0)
		close(lfd);
	free(buf);
	free(index);
	free(log);
	return err;
}
