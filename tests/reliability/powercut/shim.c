/*
 * The power-cut shim (LD_PRELOAD): it keeps, beside a directory tree, the
 * image that tree would have after a power cut, so that the harness
 * (powercut.h) can put exactly that image back after killing the
 * processes.  Only what was made durable survives:
 *
 *  - fsync/fdatasync of a file: its content as it is now, and its name
 *    (ext4 commits the directory entry of an fsynced new file with it);
 *  - fsync of a directory: the creations, renames and unlinks made in it
 *    since (a renamed file keeps the durable content of its old name,
 *    empty if it had none);
 *  - syncfs/sync: the whole tree as it is now.
 *
 * Everything else (write, pwrite, ftruncate, rename, unlink, O_TRUNC, a
 * new file without fsync, writes through mmap such as SQLite's -shm,
 * sync_file_range, which flushes neither metadata nor the disk's cache) is
 * lost.  Writes through descriptors opened here are logged (file, offset,
 * length) so that the harness can tear the last unsynced one, and counted
 * so that POWERCUT_CUT_AT=N cuts (SIGKILL) at the Nth write.
 *
 * Environment: POWERCUT_ROOT the tree (an absolute, canonical path),
 * POWERCUT_STATE the state directory made by powercut_begin(): durable/
 * (the image), pending (directory changes not yet durable), writes (the
 * write log), lock (an flock shared by every process under the shim).
 * Streams (fopen) write through libc internals the shim does not see:
 * their writes are neither logged nor counted, their fsync is.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 4096

static __thread int in_shim;
static char root[PATH_MAX];
static char state[PATH_MAX];
static size_t root_len;
static long cut_at;
static int ready = -1;
static unsigned char tracked[MAX_FD];

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static void (*real_sync)(void);
static int (*real_close)(int);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_unlinkat)(int, const char *, int);

__attribute__((constructor)) static void
init(void)
{
	const char *r, *s, *c;

	if (ready >= 0)
		return;
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_writev = dlsym(RTLD_NEXT, "writev");
	real_pwritev = dlsym(RTLD_NEXT, "pwritev");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = dlsym(RTLD_NEXT, "syncfs");
	real_sync = dlsym(RTLD_NEXT, "sync");
	real_close = dlsym(RTLD_NEXT, "close");
	real_renameat = dlsym(RTLD_NEXT, "renameat");
	real_unlinkat = dlsym(RTLD_NEXT, "unlinkat");
	r = getenv("POWERCUT_ROOT");
	s = getenv("POWERCUT_STATE");
	c = getenv("POWERCUT_CUT_AT");
	ready = 0;
	if (r == NULL || s == NULL || strlen(r) >= sizeof root ||
	    strlen(s) >= sizeof state)
		return;
	memcpy(root, r, strlen(r) + 1);
	memcpy(state, s, strlen(s) + 1);
	root_len = strlen(root);
	cut_at = c ? strtol(c, NULL, 10) : 0;
	ready = 1;
}

/* PATH (absolute) relative to the root, or NULL when outside it. */
static const char *
rel_of(const char *path)
{
	if (strncmp(path, root, root_len) != 0)
		return NULL;
	if (path[root_len] == '\0')
		return "";
	if (path[root_len] != '/')
		return NULL;
	return path + root_len + 1;
}

/* The absolute path of (dirfd, path) into buf; 0 if it cannot be told. */
static int
resolve(int dirfd, const char *path, char *buf, size_t size)
{
	char dir[PATH_MAX], link[64];
	ssize_t n;

	if (path[0] == '/')
		return snprintf(buf, size, "%s", path) < (int)size;
	if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof dir) == NULL)
			return 0;
	} else {
		snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
		n = readlink(link, dir, sizeof dir - 1);
		if (n <= 0)
			return 0;
		dir[n] = '\0';
	}
	return snprintf(buf, size, "%s/%s", dir, path) < (int)size;
}

static int
fd_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return 1;
}

static int
lock_state(void)
{
	char p[PATH_MAX + 8];
	int fd;

	snprintf(p, sizeof p, "%s/lock", state);
	fd = real_open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

static void
unlock_state(int fd)
{
	if (fd >= 0)
		real_close(fd); /* releases the flock */
}

static void
append(const char *name, const char *line)
{
	char p[PATH_MAX + 16];
	int fd;

	snprintf(p, sizeof p, "%s/%s", state, name);
	fd = real_open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!real_write(fd, line, strlen(line));
	real_close(fd);
}

static void
mkdirs_for(const char *path)
{
	char p[PATH_MAX];
	char *s;

	snprintf(p, sizeof p, "%s", path);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
}

/* Copy file FROM to TO (whole content, mode kept); 0 on success. */
static int
copy_file(const char *from, const char *to)
{
	char buf[65536], tmp[PATH_MAX + 16];
	struct stat sb;
	ssize_t n;
	int in, out, rc = -1;

	in = real_open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	if (fstat(in, &sb) != 0)
		goto out_in;
	/* Into a temporary name, then renamed: a process killed while
	 * copying (its sync had not returned) leaves the old image. */
	snprintf(tmp, sizeof tmp, "%s.pc-tmp", to);
	mkdirs_for(to);
	unlink(tmp);
	out = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    sb.st_mode & 07777);
	if (out < 0)
		goto out_in;
	rc = 0;
	for (;;) {
		n = read(in, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0 || real_write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	}
	real_close(out);
	if (rc == 0)
		rc = rename(tmp, to);
out_in:
	real_close(in);
	return rc;
}

static void
remove_tree(const char *path)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(path);

	if (d == NULL) {
		unlink(path);
		return;
	}
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", path, de->d_name);
		remove_tree(p);
	}
	closedir(d);
	rmdir(path);
}

static void
copy_tree(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(from);

	if (d == NULL)
		return;
	mkdir(to, 0700);
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(a, sizeof a, "%s/%s", from, de->d_name);
		snprintf(b, sizeof b, "%s/%s", to, de->d_name);
		if (lstat(a, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			copy_tree(a, b);
		else if (S_ISREG(sb.st_mode))
			copy_file(a, b);
	}
	closedir(d);
}

static void
durable_path(const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/durable/%s", state, rel);
}

/* One pending directory change made durable. */
static void
apply(char op, const char *a, const char *b)
{
	char pa[PATH_MAX + 16], pb[PATH_MAX + 16];
	int fd;

	durable_path(a, pa, sizeof pa);
	if (op == 'U') {
		unlink(pa);
	} else if (op == 'C') {
		if (access(pa, F_OK) != 0) {
			mkdirs_for(pa);
			fd =
			    real_open(pa, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				real_close(fd);
		}
	} else if (op == 'R') {
		durable_path(b, pb, sizeof pb);
		mkdirs_for(pb);
		if (rename(pa, pb) != 0) {
			/* No durable content under the old name: the new
			 * name exists, empty. */
			fd = real_open(pb,
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd >= 0)
				real_close(fd);
		}
	}
}

static int
parent_is(const char *rel, const char *dir)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;

	return strlen(dir) == n && strncmp(rel, dir, n) == 0;
}

/*
 * Make durable the pending changes that a sync of `rel` covers: for a
 * directory (is_dir) those made in it, for a file those naming it.  The
 * others stay pending, in order.
 */
static void
settle_pending(const char *rel, int is_dir)
{
	char p[PATH_MAX + 16], q[PATH_MAX + 16];
	char line[2 * PATH_MAX + 8];
	FILE *in, *out;

	snprintf(p, sizeof p, "%s/pending", state);
	snprintf(q, sizeof q, "%s/pending.new", state);
	in = fopen(p, "r");
	if (in == NULL)
		return;
	out = fopen(q, "w");
	if (out == NULL) {
		fclose(in);
		return;
	}
	while (fgets(line, sizeof line, in) != NULL) {
		char *a = line + 2, *b = NULL, *tab, *nl;
		int hit;

		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		tab = strchr(a, '\t');
		if (tab) {
			*tab = '\0';
			b = tab + 1;
		}
		if (is_dir)
			hit = parent_is(b ? b : a, rel) ||
			    (b && parent_is(a, rel));
		else
			hit = strcmp(b ? b : a, rel) == 0;
		if (hit)
			apply(line[0], a, b);
		else if (b)
			fprintf(out, "%c\t%s\t%s\n", line[0], a, b);
		else
			fprintf(out, "%c\t%s\n", line[0], a);
	}
	fclose(in);
	fclose(out);
	rename(q, p);
}

static void
sync_fd(int fd)
{
	char path[PATH_MAX], dp[PATH_MAX + 16], line[PATH_MAX + 8];
	const char *rel;
	struct stat sb;
	int lk;

	if (!fd_path(fd, path, sizeof path))
		return;
	rel = rel_of(path);
	if (rel == NULL || fstat(fd, &sb) != 0)
		return;
	lk = lock_state();
	if (S_ISDIR(sb.st_mode)) {
		settle_pending(rel, 1);
	} else if (S_ISREG(sb.st_mode)) {
		settle_pending(rel, 0);
		durable_path(rel, dp, sizeof dp);
		copy_file(path, dp);
		snprintf(line, sizeof line, "S\t%s\n", rel);
		append("writes", line);
	}
	unlock_state(lk);
}

static void
sync_all(void)
{
	char dp[PATH_MAX + 16], np[PATH_MAX + 16], p[PATH_MAX + 16];
	int lk = lock_state();

	/* The new image is built aside and swapped in at once: a process
	 * killed before the swap (its syncfs had not returned) leaves the
	 * old image whole. */
	snprintf(dp, sizeof dp, "%s/durable", state);
	snprintf(np, sizeof np, "%s/durable.new", state);
	remove_tree(np);
	copy_tree(root, np);
	if (renameat2(AT_FDCWD, np, AT_FDCWD, dp, RENAME_EXCHANGE) != 0) {
		unlock_state(lk);
		return;
	}
	remove_tree(np);
	snprintf(p, sizeof p, "%s/pending", state);
	unlink(p);
	append("writes", "A\n");
	unlock_state(lk);
}

static void
note_pending(char op, const char *a, const char *b)
{
	char line[2 * PATH_MAX + 8];
	int lk = lock_state();

	if (b)
		snprintf(line, sizeof line, "%c\t%s\t%s\n", op, a, b);
	else
		snprintf(line, sizeof line, "%c\t%s\n", op, a);
	append("pending", line);
	unlock_state(lk);
}

/* Count a write to a tracked descriptor; the Nth one never happens. */
static void
count_write(void)
{
	char p[PATH_MAX + 16], num[32];
	long n = 0;
	ssize_t got;
	int lk, fd;

	if (cut_at <= 0)
		return;
	lk = lock_state();
	snprintf(p, sizeof p, "%s/count", state);
	fd = real_open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		got = pread(fd, num, sizeof num - 1, 0);
		num[got > 0 ? got : 0] = '\0';
		n = strtol(num, NULL, 10) + 1;
		snprintf(num, sizeof num, "%ld\n", n);
		(void)!pwrite(fd, num, strlen(num), 0);
		real_close(fd);
	}
	if (n == cut_at) {
		append("cut", "cut\n");
		kill(getpid(), SIGKILL);
	}
	unlock_state(lk);
}

static void
log_write(int fd, off_t off, ssize_t len)
{
	char path[PATH_MAX], line[PATH_MAX + 64];
	const char *rel;
	int lk;

	if (len <= 0 || !fd_path(fd, path, sizeof path))
		return;
	rel = rel_of(path);
	if (rel == NULL)
		return;
	snprintf(line, sizeof line, "W\t%s\t%lld\t%lld\n", rel, (long long)off,
	    (long long)len);
	lk = lock_state();
	append("writes", line);
	unlock_state(lk);
}

static int
active(void)
{
	init();
	return ready == 1 && !in_shim;
}

/* Opened here for writing, and still a file of the tree: a descriptor
 * closed by libc itself (fclose) may have been reused for a socket. */
static int
is_tracked(int fd)
{
	char path[PATH_MAX];

	if (fd < 0 || fd >= MAX_FD || !tracked[fd])
		return 0;
	if (!fd_path(fd, path, sizeof path) || rel_of(path) == NULL)
		tracked[fd] = 0;
	return tracked[fd];
}

static void
after_open(int fd, const char *abs, int flags, int existed)
{
	const char *rel = rel_of(abs);

	if (rel == NULL || fd < 0 || fd >= MAX_FD)
		return;
	tracked[fd] = (flags & (O_WRONLY | O_RDWR)) != 0;
	if ((flags & O_CREAT) && !existed)
		note_pending('C', rel, NULL);
}

static int
do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	int fd, existed;

	if (!active() || !resolve(dirfd, path, abs, sizeof abs) ||
	    rel_of(abs) == NULL)
		return real_openat(dirfd, path, flags, mode);
	in_shim = 1;
	existed = access(abs, F_OK) == 0;
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0)
		after_open(fd, abs, flags, existed);
	in_shim = 0;
	return fd;
}

static mode_t
mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	init();
	return do_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	init();
	return do_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
    __attribute__((alias("openat")));

int
close(int fd)
{
	init();
	if (fd >= 0 && fd < MAX_FD)
		tracked[fd] = 0;
	return real_close(fd);
}

/* One of the four write shapes, as its wrapper received it: a buffer
 * (write, pwrite) or a vector (writev, pwritev), at the descriptor's
 * offset or at `off` (positional). */
struct write_call {
	const void *buf;
	size_t len;
	const struct iovec *iov;
	int cnt;
	int positional;
	off_t off;
};

static ssize_t
real_call(int fd, const struct write_call *w)
{
	if (w->iov != NULL && w->positional)
		return real_pwritev(fd, w->iov, w->cnt, w->off);
	if (w->iov != NULL)
		return real_writev(fd, w->iov, w->cnt);
	if (w->positional)
		return real_pwrite(fd, w->buf, w->len, w->off);
	return real_write(fd, w->buf, w->len);
}

/* A write through a tracked descriptor is counted (the Nth one cuts)
 * and logged with the offset it went to; any other goes straight on. */
static ssize_t
recorded_write(int fd, const struct write_call *w)
{
	off_t off;
	ssize_t n;

	if (!active() || !is_tracked(fd))
		return real_call(fd, w);
	in_shim = 1;
	count_write();
	off = w->positional ? w->off : lseek(fd, 0, SEEK_CUR);
	n = real_call(fd, w);
	log_write(fd, off, n);
	in_shim = 0;
	return n;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	struct write_call w = { .buf = buf, .len = len };

	return recorded_write(fd, &w);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct write_call w = { .buf = buf, .len = len, .positional = 1 };

	w.off = off;
	return recorded_write(fd, &w);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
    __attribute__((alias("pwrite")));

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	struct write_call w = { .iov = iov, .cnt = cnt };

	return recorded_write(fd, &w);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct write_call w = { .iov = iov, .cnt = cnt, .positional = 1 };

	w.off = off;
	return recorded_write(fd, &w);
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
    __attribute__((alias("pwritev")));

static int
do_sync(int fd, int data_only)
{
	int rc;

	init();
	rc = data_only ? real_fdatasync(fd) : real_fsync(fd);
	if (rc == 0 && active()) {
		in_shim = 1;
		sync_fd(fd);
		in_shim = 0;
	}
	return rc;
}

int
fsync(int fd)
{
	return do_sync(fd, 0);
}

int
fdatasync(int fd)
{
	return do_sync(fd, 1);
}

int
syncfs(int fd)
{
	int rc;

	init();
	rc = real_syncfs(fd);
	if (rc == 0 && active()) {
		in_shim = 1;
		sync_all();
		in_shim = 0;
	}
	return rc;
}

void
sync(void)
{
	init();
	real_sync();
	if (active()) {
		in_shim = 1;
		sync_all();
		in_shim = 0;
	}
}

int
renameat(int olddirfd, const char *from, int newdirfd, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *ra = NULL, *rb = NULL;
	int rc;

	init();
	if (active() && resolve(olddirfd, from, a, sizeof a) &&
	    resolve(newdirfd, to, b, sizeof b)) {
		ra = rel_of(a);
		rb = rel_of(b);
	}
	rc = real_renameat(olddirfd, from, newdirfd, to);
	if (rc != 0 || rb == NULL)
		return rc;
	in_shim = 1;
	if (ra != NULL)
		note_pending('R', ra, rb);
	else
		note_pending('C', rb, NULL);
	in_shim = 0;
	return rc;
}

int
rename(const char *from, const char *to)
{
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char a[PATH_MAX];
	const char *ra = NULL;
	int rc;

	init();
	if (active() && !(flags & AT_REMOVEDIR) &&
	    resolve(dirfd, path, a, sizeof a))
		ra = rel_of(a);
	rc = real_unlinkat(dirfd, path, flags);
	if (rc != 0 || ra == NULL)
		return rc;
	in_shim = 1;
	note_pending('U', ra, NULL);
	in_shim = 0;
	return rc;
}

int
unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}
