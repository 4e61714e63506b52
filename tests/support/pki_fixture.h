/*
 * Former name of the test PKI header, kept while tests/bench includes it:
 * new code includes pki.h and scratch.h.
 */
#ifndef TEST_PKI_FIXTURE_H
#define TEST_PKI_FIXTURE_H

#include "tests/support/pki.h"
#include "tests/support/scratch.h"

static inline char *
pki_tmpdir(void)
{
	return scratch_dir();
}

static inline void
pki_rmtree(const char *dir)
{
	scratch_rmtree(dir);
}

#endif
