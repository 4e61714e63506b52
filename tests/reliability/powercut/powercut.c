/* The power-cut harness (powercut.h); the shim's state layout is in
 * shim.c. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/reliability/powercut/powercut.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct powercut {
	char *root;  /* canonical */
	char *state; /* scratch directory */
};

/* One write the log names: file, offset, length; valid until a sync. */
struct pc_write {
	char *rel;
	long long off, len;
	int valid;
};

struct powercut *
powercut_new(const char *root)
{
	struct powercut *pc = xcalloc(1, sizeof *pc);
	char buf[PATH_MAX];

	if (realpath(root, buf) == NULL)
		abort();
	pc->root = xstrdup(buf);
	pc->state = scratch_dir();
	return pc;
}

void
powercut_free(struct powercut *pc)
{
	if (pc == NULL)
		return;
	scratch_rmtree(pc->state);
	free(pc->state);
	free(pc->root);
	free(pc);
}

char *
powercut_build_file(const char *name)
{
	char path[PATH_MAX];
	const char *bin = getenv("STATION_BIN");
	char *build = xstrdup(bin ? bin : "build/bin/station");
	char *rel, *slash;

	/* STATION_BIN is BUILD/bin/station. */
	for (int i = 0; i < 2; i++) {
		slash = strrchr(build, '/');
		if (slash != NULL)
			*slash = '\0';
	}
	rel = xasprintf("%s/tests/reliability/powercut/%s", build, name);
	free(build);
	if (realpath(rel, path) == NULL)
		return rel;
	free(rel);
	return xstrdup(path);
}

void
powercut_begin(struct powercut *pc)
{
	if (proc_sh("rm -rf '%s'/* && cp -a '%s' '%s/durable'", pc->state,
		pc->root, pc->state) != 0)
		abort();
}

void
powercut_arm(const struct powercut *pc, long cut_at_write)
{
	char *shim = powercut_build_file("libpowercut.so");
	const char *asan;
	char num[32];

	setenv("LD_PRELOAD", shim, 1);
	/* Under make check-asan: the shim (never sanitized) comes before
	 * ASan's runtime in the list of loaded libraries. */
	asan = getenv("ASAN_OPTIONS");
	if (asan != NULL && strstr(asan, "verify_asan_link_order") == NULL) {
		char *opts = xasprintf("%s:verify_asan_link_order=0", asan);

		setenv("ASAN_OPTIONS", opts, 1);
		free(opts);
	}
	setenv("POWERCUT_ROOT", pc->root, 1);
	setenv("POWERCUT_STATE", pc->state, 1);
	if (cut_at_write > 0) {
		snprintf(num, sizeof num, "%ld", cut_at_write);
		setenv("POWERCUT_CUT_AT", num, 1);
	} else {
		unsetenv("POWERCUT_CUT_AT");
	}
	free(shim);
}

void
powercut_disarm(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("POWERCUT_ROOT");
	unsetenv("POWERCUT_STATE");
	unsetenv("POWERCUT_CUT_AT");
}

int
powercut_was_cut(const struct powercut *pc)
{
	char *p = xasprintf("%s/cut", pc->state);
	int cut = access(p, F_OK) == 0;

	free(p);
	return cut;
}

long
powercut_writes(const struct powercut *pc)
{
	char *p = xasprintf("%s/count", pc->state);
	char *text = scratch_read(p);
	long n = text ? strtol(text, NULL, 10) : 0;

	free(text);
	free(p);
	return n;
}

/* The writes log: the last write no sync covered whose file is in the
 * durable image (caller frees *rel); 0 if there is none. */
static int
last_unsynced(const struct powercut *pc, char **rel, long long *off,
    long long *len)
{
	char *path = xasprintf("%s/writes", pc->state);
	char line[PATH_MAX + 64];
	struct pc_write *w = NULL;
	size_t n = 0, cap = 0;
	int found = 0;
	FILE *fp = fopen(path, "r");

	free(path);
	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof line, fp) != NULL) {
		char *f1, *f2, *f3;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == 'A') {
			for (size_t i = 0; i < n; i++)
				w[i].valid = 0;
			continue;
		}
		f1 = strchr(line, '\t');
		if (f1 == NULL)
			continue;
		*f1++ = '\0';
		if (line[0] == 'S') {
			for (size_t i = 0; i < n; i++)
				if (strcmp(w[i].rel, f1) == 0)
					w[i].valid = 0;
			continue;
		}
		f2 = strchr(f1, '\t');
		f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
		if (line[0] != 'W' || f3 == NULL)
			continue;
		*f2++ = '\0';
		*f3++ = '\0';
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			w = xrealloc(w, cap * sizeof *w);
		}
		w[n].rel = xstrdup(f1);
		w[n].off = strtoll(f2, NULL, 10);
		w[n].len = strtoll(f3, NULL, 10);
		w[n].valid = 1;
		n++;
	}
	fclose(fp);
	for (size_t i = n; i-- > 0 && !found;) {
		char *d = xasprintf("%s/durable/%s", pc->state, w[i].rel);

		if (w[i].valid && access(d, F_OK) == 0) {
			*rel = xstrdup(w[i].rel);
			*off = w[i].off;
			*len = w[i].len;
			found = 1;
		}
		free(d);
	}
	for (size_t i = 0; i < n; i++)
		free(w[i].rel);
	free(w);
	return found;
}

int
powercut_cut(struct powercut *pc, int tear, long *torn)
{
	char *rel = NULL, *path = NULL;
	uint8_t *bytes = NULL;
	long long off = 0, len = 0, keep = 0;
	int fd, rc = 0;

	*torn = 0;
	if (tear && last_unsynced(pc, &rel, &off, &len)) {
		/* The bytes as the write left them, read before the restore. */
		keep = len > 1024 ? len / 2 / 512 * 512 : len / 2;
		path = xasprintf("%s/%s", pc->root, rel);
		bytes = xmalloc((size_t)keep + 1);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, bytes, (size_t)keep, off) != keep)
			keep = 0;
		if (fd >= 0)
			close(fd);
	}
	/* A .pc-tmp file is the shim's copy that a kill interrupted. */
	if (proc_sh("rm -rf '%s' && cp -a '%s/durable' '%s' && "
		    "find '%s' -name '*.pc-tmp' -delete",
		pc->root, pc->state, pc->root, pc->root) != 0)
		rc = -1;
	if (rc == 0 && keep > 0) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0 && pwrite(fd, bytes, (size_t)keep, off) == keep)
			*torn = (long)keep;
		if (fd >= 0)
			close(fd);
	}
	free(bytes);
	free(path);
	free(rel);
	return rc;
}
