/*
 * The export's file system side: checking the destination, the export
 * lock, atomic files (temp name, fsync, rename, fsync of the directory)
 * and the crash test hook.
 */
#include "db/export_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

#define OUT_BUFFER (1 << 20)

void
export_crash_point(const char *point)
{
	const char *at = getenv("STATION_EXPORT_CRASH_AT");

	/* _exit, like a kill: no stdio flush, no atexit, no cleanup. */
	if (at != NULL && strcmp(at, point) == 0)
		_exit(86);
}

enum export_problem
export_errno_problem(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return EXPORT_DISK_FULL;
	case EACCES:
	case EPERM:
	case EROFS:
		return EXPORT_DEST_NOT_WRITABLE;
	case ENOENT:
		return EXPORT_DEST_MISSING;
	case ENOTDIR:
		return EXPORT_DEST_NOT_DIR;
	default:
		return EXPORT_IO;
	}
}

/* A sentence for a write error on `path`, naming the likely fix. */
static st_err
fail_errno(char **cause, enum export_problem *p, int e, const char *what,
    const char *dir, const char *name)
{
	*p = export_errno_problem(e);
	if (*p == EXPORT_DISK_FULL)
		return st_fail(cause, ST_E_IO,
		    "disk full while %s %s/%s: free space on the export "
		    "file system (%s)",
		    what, dir, name, strerror(e));
	if (*p == EXPORT_DEST_NOT_WRITABLE)
		return st_fail(cause, ST_E_IO,
		    "export directory %s is not writable (%s %s: %s)", dir,
		    what, name, strerror(e));
	return st_fail(cause, ST_E_IO, "%s %s/%s: %s", what, dir, name,
	    strerror(e));
}

st_err
export_dir_open(const char *dir, int *dfd, char **abs, enum export_problem *p,
    char **cause)
{
	struct stat sb;
	char buf[PATH_MAX];

	*dfd = -1;
	*abs = NULL;
	if (stat(dir, &sb) < 0) {
		*p = errno == ENOENT ? EXPORT_DEST_MISSING :
		    errno == ENOTDIR ? EXPORT_DEST_NOT_DIR :
				       EXPORT_IO;
		return st_fail(cause, ST_E_IO, "export directory %s %s", dir,
		    errno == ENOENT ? "does not exist" : strerror(errno));
	}
	if (!S_ISDIR(sb.st_mode)) {
		*p = EXPORT_DEST_NOT_DIR;
		return st_fail(cause, ST_E_IO,
		    "export destination %s is not a directory", dir);
	}
	/* access() answers for the real uid, which is the one creating the
	 * files here; EROFS is reported for read-only mounts even to root. */
	if (access(dir, W_OK | X_OK) < 0) {
		*p = EXPORT_DEST_NOT_WRITABLE;
		return st_fail(cause, ST_E_IO,
		    "export directory %s is not writable: %s", dir,
		    strerror(errno));
	}
	*dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfd < 0 || realpath(dir, buf) == NULL) {
		int e = errno;

		if (*dfd >= 0)
			close(*dfd);
		*dfd = -1;
		*p = EXPORT_IO;
		return st_fail(cause, ST_E_IO,
		    "cannot open export directory %s: %s", dir, strerror(e));
	}
	*abs = xstrdup(buf);
	return ST_OK;
}

st_err
export_lock(const char *ledger_path, int *fd, enum export_problem *p,
    char **cause)
{
	char *path = xasprintf("%s.export-lock", ledger_path);
	st_err err = ST_OK;

	/* A file of its own: an fd on the ledger itself, once closed, would
	 * drop SQLite's POSIX locks. */
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		*p = EXPORT_IO;
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
	} else if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		*p = EXPORT_RUNNING;
		err = st_fail(cause, ST_E_STATE,
		    "another export of this ledger is running (%s is locked)",
		    path);
		close(*fd);
		*fd = -1;
	}
	free(path);
	return err;
}

void
export_clean_temps(int dfd, const char *station_id)
{
	size_t idlen = strlen(station_id);
	struct dirent *de;
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	/* Only our own names: the directory may be shared with others. */
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		const char *n = de->d_name;
		size_t len = strlen(n);

		if (n[0] == '.' && len > idlen + 6 &&
		    strncmp(n + 1, station_id, idlen) == 0 &&
		    n[idlen + 1] == '_' && strcmp(n + len - 4, ".tmp") == 0)
			unlinkat(dfd, n, 0);
	}
	closedir(d);
}

/* ".NAME.tmp" into tmp; -1 if that is longer than a file name may be.
 * On the stack, not the heap: a simulated crash (export_crash_point's
 * _exit) must not look like a leak to valgrind. */
static int
temp_name(char tmp[NAME_MAX + 1], const char *name)
{
	int n = snprintf(tmp, NAME_MAX + 1, ".%s.tmp", name);

	return n > 0 && n <= NAME_MAX ? 0 : -1;
}

st_err
export_file_begin(int dfd, const char *dir, const char *name,
    struct export_out *o, enum export_problem *p, char **cause)
{
	char tmp[NAME_MAX + 1];
	int fd;
	st_err err = ST_OK;

	memset(o, 0, sizeof *o);
	if (temp_name(tmp, name) != 0) {
		*p = EXPORT_IO;
		return st_fail(cause, ST_E_IO,
		    "export file name %s is too long", name);
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = fail_errno(cause, p, errno, "creating", dir, tmp);
		goto out;
	}
	/* The ERP's side reads it (the export directory decides who may):
	 * 0644 whatever the station's umask (077, main.c). */
	if (fchmod(fd, 0644) != 0) {
		err = fail_errno(cause, p, errno, "setting the mode of", dir,
		    tmp);
		close(fd);
		goto out;
	}
	o->fp = fdopen(fd, "w");
	if (o->fp == NULL)
		abort(); /* only ENOMEM or EINVAL, neither recoverable */
	setvbuf(o->fp, NULL, _IOFBF, OUT_BUFFER);
	o->md = EVP_MD_CTX_new();
	if (o->md == NULL || !EVP_DigestInit_ex(o->md, EVP_sha256(), NULL)) {
		*p = EXPORT_IO;
		err = st_fail_ssl(cause, ST_E_CRYPTO, "starting SHA-256");
	}
out:
	return err;
}

void
export_file_abort(int dfd, const char *name, struct export_out *o)
{
	char tmp[NAME_MAX + 1];

	if (o->fp != NULL)
		fclose(o->fp);
	o->fp = NULL;
	EVP_MD_CTX_free(o->md);
	o->md = NULL;
	if (temp_name(tmp, name) == 0)
		unlinkat(dfd, tmp, 0);
}

st_err
export_file_commit(int dfd, const char *dir, const char *name,
    struct export_out *o, char hex[65], const char *crash_written,
    const char *crash_renamed, enum export_problem *p, char **cause)
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int binlen = 0;
	char tmp[NAME_MAX + 1] = "";
	st_err err = ST_OK;
	int e = o->err, renamed = 0;

	if (e == 0 && temp_name(tmp, name) != 0)
		e = ENAMETOOLONG;

	if (e == 0 && fflush(o->fp) != 0)
		e = errno;
	/* ENOSPC may only show here, once the data reaches the disk. */
	if (e == 0 && fsync(fileno(o->fp)) < 0)
		e = errno;
	if (fclose(o->fp) != 0 && e == 0)
		e = errno;
	o->fp = NULL;
	if (e != 0) {
		err = fail_errno(cause, p, e, "writing", dir, tmp);
		goto out;
	}
	if (!EVP_DigestFinal_ex(o->md, bin, &binlen) || binlen != 32) {
		*p = EXPORT_IO;
		err = st_fail_ssl(cause, ST_E_CRYPTO, "finishing SHA-256");
		goto out;
	}
	for (unsigned int i = 0; i < binlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
	if (crash_written)
		export_crash_point(crash_written);
	if (renameat(dfd, tmp, dfd, name) < 0) {
		err = fail_errno(cause, p, errno, "renaming", dir, tmp);
		goto out;
	}
	renamed = 1;
	if (crash_renamed)
		export_crash_point(crash_renamed);
	if (fsync(dfd) < 0) {
		/* The file is under its final name but maybe not durable:
		 * the caller does not move the watermark. */
		err = fail_errno(cause, p, errno, "syncing the directory of",
		    dir, name);
		goto out;
	}
out:
	/* Only a file that never reached its final name is removed. */
	if (err && !renamed)
		unlinkat(dfd, tmp, 0);
	EVP_MD_CTX_free(o->md);
	o->md = NULL;
	return err;
}

st_err
export_file_sha256(int dfd, const char *name, char hex[65], char **cause)
{
	unsigned char buf[65536], bin[EVP_MAX_MD_SIZE];
	unsigned int binlen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	st_err err = ST_OK;
	ssize_t n;

	if (fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", name,
		    strerror(errno));
		goto out;
	}
	if (md == NULL || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "starting SHA-256");
		goto out;
	}
	for (n = read(fd, buf, sizeof buf); n > 0;
	     n = read(fd, buf, sizeof buf))
		EVP_DigestUpdate(md, buf, (size_t)n);
	if (n < 0 || !EVP_DigestFinal_ex(md, bin, &binlen)) {
		err = st_fail(cause, ST_E_IO, "cannot read %s", name);
		goto out;
	}
	for (unsigned int i = 0; i < binlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return err;
}
