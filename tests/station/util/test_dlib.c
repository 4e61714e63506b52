/*
 * Optional libraries loaded on first use (station/util/dlib.h), on real
 * shared objects: libm.so.6 (always there with glibc) stands in for
 * libcurl and libpq.  Proves: a SONAME that does not exist and a symbol a
 * library lacks are ST_E_CONFIG with a cause naming the library, the
 * reason and the apt-get fix, and leave nothing resolved; a table
 * resolves to callable functions; the init hook runs once however many
 * threads load at the same time, and again after it failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>

#include "station/util/dlib.h"

static struct {
	__typeof__(cos) *cos;
	__typeof__(sqrt) *sqrt;
	/* A name no library has: the missing-symbol case. */
	double (*missing)(double);
} m;

static const struct dlib_sym m_syms[] = {
	{ "cos", (void **)&m.cos },
	{ "sqrt", (void **)&m.sqrt },
	{ NULL, NULL },
};

static const struct dlib_sym m_syms_missing[] = {
	{ "cos", (void **)&m.cos },
	{ "st_dlib_no_such_symbol", (void **)&m.missing },
	{ NULL, NULL },
};

static void
assert_has(const char *text, const char *part)
{
	if (text == NULL || strstr(text, part) == NULL)
		fail_msg("'%s' does not say '%s'", text ? text : "(null)",
		    part);
}

static void
test_a_missing_library_names_itself_and_the_package(void **state)
{
	struct dlib lib = { .soname = "libstation-no-such-lib.so.9",
		.package = "libstation-no-such-lib9",
		.syms = m_syms };
	char *cause = NULL;

	(void)state;
	memset(&m, 0, sizeof m);
	assert_int_equal(dlib_load(&lib, &cause), ST_E_CONFIG);
	assert_has(cause, "libstation-no-such-lib.so.9 cannot be loaded");
	/* dlerror()'s reason, then the fix. */
	assert_has(cause, "cannot open shared object file");
	assert_has(cause, "apt-get install libstation-no-such-lib9");
	assert_null(m.cos);
	free(cause);
	/* Nothing is remembered: the next call tries again (a library
	 * installed since would be found), with the same answer. */
	cause = NULL;
	assert_int_equal(dlib_load(&lib, &cause), ST_E_CONFIG);
	assert_has(cause, "libstation-no-such-lib.so.9");
	free(cause);
	/* NULL cause: the kind alone. */
	assert_int_equal(dlib_load(&lib, NULL), ST_E_CONFIG);
}

static void
test_a_missing_symbol_names_it_and_resolves_nothing(void **state)
{
	struct dlib lib = { .soname = "libm.so.6",
		.package = "libc6",
		.syms = m_syms_missing };
	char *cause = NULL;

	(void)state;
	memset(&m, 0, sizeof m);
	assert_int_equal(dlib_load(&lib, &cause), ST_E_CONFIG);
	assert_has(cause, "libm.so.6 has no symbol st_dlib_no_such_symbol");
	assert_has(cause, "upgrade it with 'apt-get install libc6'");
	/* cos was found before the missing one: cleared again, so no
	 * pointer into a closed library survives. */
	assert_null(m.cos);
	assert_null(m.missing);
	free(cause);
}

static int init_runs;
static int init_fails; /* how many more runs fail */

static st_err
count_init(char **cause)
{
	init_runs++;
	if (init_fails > 0) {
		init_fails--;
		return st_fail(cause, ST_E_CA, "init refused (test)");
	}
	return ST_OK;
}

static struct dlib m_lib = { .soname = "libm.so.6",
	.package = "libc6",
	.syms = m_syms,
	.init = count_init };

#define THREADS 8
static pthread_barrier_t start;
static st_err results[THREADS];

static void *
loader(void *arg)
{
	int i = (int)(intptr_t)arg;

	pthread_barrier_wait(&start);
	results[i] = dlib_load(&m_lib, NULL);
	return NULL;
}

static void
test_a_table_resolves_and_init_runs_once_across_threads(void **state)
{
	pthread_t t[THREADS];
	volatile double zero = 0.0;

	(void)state;
	memset(&m, 0, sizeof m);
	init_runs = 0;
	init_fails = 0;
	/* Every thread released at once (a barrier), all loading. */
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, loader,
				     (void *)(intptr_t)i),
		    0);
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(results[i], ST_OK);
	}
	pthread_barrier_destroy(&start);
	assert_int_equal(init_runs, 1);
	/* The pointers are libm's functions. */
	assert_non_null(m.cos);
	assert_true(m.cos(zero) == 1.0);
	assert_true(m.sqrt(zero + 16.0) == 4.0);
	/* Loaded: later calls do nothing more. */
	assert_int_equal(dlib_load(&m_lib, NULL), ST_OK);
	assert_int_equal(init_runs, 1);
}

static void
test_a_failed_init_is_the_cause_and_runs_again(void **state)
{
	struct dlib lib = { .soname = "libm.so.6",
		.package = "libc6",
		.syms = m_syms,
		.init = count_init };
	char *cause = NULL;

	(void)state;
	init_runs = 0;
	init_fails = 1;
	assert_int_equal(dlib_load(&lib, &cause), ST_E_CA);
	assert_string_equal(cause, "init refused (test)");
	free(cause);
	cause = NULL;
	assert_int_equal(dlib_load(&lib, &cause), ST_OK);
	assert_null(cause);
	assert_int_equal(init_runs, 2);
	assert_int_equal(dlib_load(&lib, &cause), ST_OK);
	assert_int_equal(init_runs, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_a_missing_library_names_itself_and_the_package),
		cmocka_unit_test(
		    test_a_missing_symbol_names_it_and_resolves_nothing),
		cmocka_unit_test(
		    test_a_table_resolves_and_init_runs_once_across_threads),
		cmocka_unit_test(
		    test_a_failed_init_is_the_cause_and_runs_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
