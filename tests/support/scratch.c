/* Scratch files for tests (see scratch.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "tests/support/scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "station/util/xalloc.h"

static void
need(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "scratch: %s failed\n", what);
		abort();
	}
}

char *
scratch_dir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = xasprintf("%s/station-test-XXXXXX", base ? base : "/tmp");

	need(mkdtemp(path) != NULL, "mkdtemp");
	return path;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
scratch_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void
scratch_put(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	need(fp != NULL, path);
	need(fputs(text, fp) >= 0, "writing a scratch file");
	need(fclose(fp) == 0, "closing a scratch file");
	need(chmod(path, mode) == 0, "chmod of a scratch file");
}

char *
scratch_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);

	scratch_put(path, text, mode);
	return path;
}

int
scratch_count_lines(const char *path)
{
	FILE *fp = fopen(path, "r");
	int n = 0, c;

	if (fp == NULL)
		return -1;
	for (;;) {
		c = fgetc(fp);
		if (c == EOF)
			break;
		if (c == '\n')
			n++;
	}
	fclose(fp);
	return n;
}

char *
scratch_read(const char *path)
{
	FILE *fp = fopen(path, "rb");
	size_t cap = 1 << 16, len = 0, n;
	char *text;

	if (fp == NULL)
		return NULL;
	text = xmalloc(cap);
	do {
		if (len + 4096 + 1 > cap) {
			cap *= 2;
			text = xrealloc(text, cap);
		}
		n = fread(text + len, 1, 4096, fp);
		len += n;
	} while (n > 0);
	fclose(fp);
	text[len] = '\0';
	return text;
}
