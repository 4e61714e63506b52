/* What a file is at one moment (see file_state.h). */
#include "tests/support/file_state.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

void
file_state(const char *path, struct file_state *fs)
{
	struct stat sb;
	unsigned char buf[4096];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *fp = fopen(path, "rb");
	size_t n;

	memset(fs, 0, sizeof *fs);
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &sb), 0);
	fs->size = sb.st_size;
	fs->mtime = sb.st_mtim;
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	for (n = fread(buf, 1, sizeof buf, fp); n > 0;
	     n = fread(buf, 1, sizeof buf, fp))
		EVP_DigestUpdate(ctx, buf, n);
	assert_int_equal(EVP_DigestFinal_ex(ctx, fs->md, NULL), 1);
	EVP_MD_CTX_free(ctx);
	fclose(fp);
}

void
assert_same_file(const struct file_state *a, const struct file_state *b)
{
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->mtime.tv_sec, b->mtime.tv_sec);
	assert_int_equal(a->mtime.tv_nsec, b->mtime.tv_nsec);
	assert_memory_equal(a->md, b->md, sizeof a->md);
}

void
assert_file_unchanged(const char *path, const struct file_state *before)
{
	struct file_state now;

	file_state(path, &now);
	assert_same_file(before, &now);
}
