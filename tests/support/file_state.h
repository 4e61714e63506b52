/*
 * Test support: what a file is at one moment (size, mtime, SHA-256), to
 * prove that an operation wrote nothing to it.  Failures are cmocka
 * assertions in the calling test.
 */
#ifndef TEST_FILE_STATE_H
#define TEST_FILE_STATE_H

#include <sys/types.h>
#include <time.h>

struct file_state {
	off_t size;
	struct timespec mtime;
	unsigned char md[32];
};

/* Fills *fs from `path` (which must exist and be readable). */
void file_state(const char *path, struct file_state *fs);
/* Asserts that a and b are the same size, mtime and contents. */
void assert_same_file(const struct file_state *a, const struct file_state *b);
/* Asserts that `path` is now as `before` recorded it. */
void assert_file_unchanged(const char *path, const struct file_state *before);

#endif
