/*
 * Scratch files for tests: fresh directories under $TMPDIR and small text
 * files with a chosen mode.  Failures abort: a fixture that cannot be
 * built is a broken test, not a result.
 */
#ifndef TEST_SCRATCH_H
#define TEST_SCRATCH_H

#include <sys/types.h>

/* A new empty directory under $TMPDIR (malloc'ed path); remove it and its
 * contents (any depth) with scratch_rmtree (NULL: nothing). */
char *scratch_dir(void);
void scratch_rmtree(const char *dir);

/* Write `text` to `path` (replacing it), then chmod it to `mode`. */
void scratch_put(const char *path, const char *text, mode_t mode);
/* The same for dir/name; returns the path (malloc'ed). */
char *scratch_write(const char *dir, const char *name, const char *text,
    mode_t mode);

/* The whole file as a NUL-terminated string (malloc'ed); NULL if it
 * cannot be opened. */
char *scratch_read(const char *path);

/* Number of lines in a file (-1 if it cannot be opened). */
int scratch_count_lines(const char *path);

#endif
