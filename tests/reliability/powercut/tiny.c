/*
 * The tiny program the power-cut shim is tested on
 * (tests/reliability/test_powercut.c).  tiny MODE DIR, then "ready" on
 * stdout and it waits to be killed:
 *  files:  DIR/kept "synced\n" fsynced, then "unsynced\n" appended;
 *          DIR/hollow created and written, never synced; DIR/d.tmp
 *          fsynced, renamed to DIR/dsynced; DIR fsynced.  Then, with no
 *          directory fsync: DIR/lost created and written, never synced;
 *          DIR/new.tmp fsynced and renamed over DIR/renamed (made by the
 *          test); DIR/gone (made by the test) unlinked.
 *  tear:   DIR/kept "synced\n" fsynced, then 2048 bytes 'x' unsynced.
 *  syncfs: DIR/all written, never fsynced, then syncfs.
 *  writes: DIR/count: "1\n" "2\n", fsync, "3\n" "4\n" "5\n" (one write
 *          each), fsync.
 */
#define _GNU_SOURCE /* syncfs */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
put(const char *dir, const char *name, int flags)
{
	char p[4096];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return open(p, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0600);
}

static void
say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		exit(3);
}

static void
mv(const char *dir, const char *from, const char *to)
{
	char a[4096], b[4096];

	snprintf(a, sizeof a, "%s/%s", dir, from);
	snprintf(b, sizeof b, "%s/%s", dir, to);
	if (rename(a, b) != 0)
		exit(3);
}

static void
files(const char *dir)
{
	char p[4096];
	int fd, dfd;

	fd = put(dir, "kept", O_TRUNC);
	say(fd, "synced\n");
	fsync(fd);
	say(fd, "unsynced\n");
	close(fd);
	fd = put(dir, "hollow", O_TRUNC);
	say(fd, "name synced, content not\n");
	close(fd);
	fd = put(dir, "d.tmp", O_TRUNC);
	say(fd, "d\n");
	fsync(fd);
	close(fd);
	mv(dir, "d.tmp", "dsynced");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
		exit(3);
	close(dfd);
	/* Nothing below is covered by a directory fsync. */
	fd = put(dir, "lost", O_TRUNC);
	say(fd, "never synced\n");
	close(fd);
	fd = put(dir, "new.tmp", O_TRUNC);
	say(fd, "new\n");
	fdatasync(fd);
	close(fd);
	mv(dir, "new.tmp", "renamed");
	snprintf(p, sizeof p, "%s/gone", dir);
	if (unlink(p) != 0)
		exit(3);
}

int
main(int argc, char **argv)
{
	char xs[2048];
	int fd, dfd;

	if (argc != 3)
		return 2;
	if (strcmp(argv[1], "files") == 0) {
		files(argv[2]);
	} else if (strcmp(argv[1], "tear") == 0) {
		fd = put(argv[2], "kept", O_TRUNC);
		say(fd, "synced\n");
		fsync(fd);
		memset(xs, 'x', sizeof xs);
		if (write(fd, xs, sizeof xs) != (ssize_t)sizeof xs)
			return 3;
		close(fd);
	} else if (strcmp(argv[1], "syncfs") == 0) {
		fd = put(argv[2], "all", O_TRUNC);
		say(fd, "all\n");
		close(fd);
		dfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || syncfs(dfd) != 0)
			return 3;
		close(dfd);
	} else if (strcmp(argv[1], "writes") == 0) {
		fd = put(argv[2], "count", O_TRUNC);
		say(fd, "1\n");
		say(fd, "2\n");
		fsync(fd);
		say(fd, "3\n");
		say(fd, "4\n");
		say(fd, "5\n");
		fsync(fd);
		close(fd);
	} else {
		return 2;
	}
	say(STDOUT_FILENO, "ready\n");
	for (;;)
		pause();
}
