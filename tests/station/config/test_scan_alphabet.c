/*
 * What a serial_pattern proves about the characters of a serial
 * (station/scan_alphabet.c): literal characters, ranges and the simple
 * classes narrow the alphabet; anything the simple reading cannot prove
 * counts as "any byte", so a profile is never accepted on a guess.  And
 * a pattern whose repeats of repeats would make regcomp build gigabytes
 * is refused before it is compiled.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/config/scan_format.h"

static int
may_hold(const char *pattern, char c)
{
	unsigned char may[256];

	scan_format_alphabet(pattern, may);
	return may[(unsigned char)c];
}

static void
test_literals_ranges_and_classes_exclude_underscore(void **state)
{
	static const char *const narrow[] = { "SN-[0-9]{10}", "[A-Z0-9-]+",
		"[A-Za-z0-9.-]+", "[[:alnum:]]+", "SN\\.[[:digit:]]+",
		"(AB|CD)-[0-9]{3,5}", "[]a]+", NULL };

	(void)state;
	for (size_t i = 0; narrow[i] != NULL; i++) {
		if (may_hold(narrow[i], '_'))
			fail_msg("'%s' counted as allowing '_'", narrow[i]);
	}
	assert_true(may_hold("SN-[0-9]{10}", 'S'));
	assert_true(may_hold("SN-[0-9]{10}", '7'));
	assert_false(may_hold("SN-[0-9]{10}", 'A'));
	/* The digits of a repeat count are not label characters. */
	assert_false(may_hold("[A-Z]{10}", '1'));
	assert_true(may_hold("[]a]+", ']'));
}

static void
test_what_cannot_be_proven_allows_everything(void **state)
{
	static const char *const wide[] = { NULL, "", "SN.*", "[^-]+",
		"[[:punct:]]+", "\\w+", "[A-z]+", "SN_[0-9]+", "[[.hyphen.]]",
		"[[:alpha:]", NULL };

	(void)state;
	for (size_t i = 1; wide[i] != NULL; i++) {
		if (!may_hold(wide[i], '_'))
			fail_msg("'%s' counted as excluding '_'", wide[i]);
	}
	assert_true(may_hold(NULL, '_'));
}

static void
test_repeats_of_repeats_refused_before_compiling(void **state)
{
	static const char *const fine[] = { "SN-[0-9]{10}", "[A-Za-z0-9.-]+",
		"(AB|CD)-[0-9]{3,5}", "a{32767}", "[[:alnum:]+]+", NULL };
	static const char *const costly[] = { "a++++++++++++++++++++++++++++++",
		"((((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
		"(a{1000}){1000}", "a{100}{100}{100}",
		"((((((((((((((((((((((((((((((((((a", NULL };
	struct scan_format *f = NULL;
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; fine[i] != NULL; i++) {
		assert_true(
		    scan_pattern_cost(fine[i]) <= SCAN_PATTERN_COST_MAX);
		assert_int_equal(scan_format_new(fine[i], SCAN_CHECKSUM_NONE,
				     &f, NULL),
		    ST_OK);
		scan_format_free(f);
	}
	for (size_t i = 0; costly[i] != NULL; i++) {
		assert_true(
		    scan_pattern_cost(costly[i]) > SCAN_PATTERN_COST_MAX);
		assert_int_equal(scan_format_new(costly[i], SCAN_CHECKSUM_NONE,
				     &f, &cause),
		    ST_E_CONFIG);
		assert_null(f);
		assert_non_null(strstr(cause, "repeats of repeats"));
		free(cause);
		cause = NULL;
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_literals_ranges_and_classes_exclude_underscore),
		cmocka_unit_test(test_what_cannot_be_proven_allows_everything),
		cmocka_unit_test(
		    test_repeats_of_repeats_refused_before_compiling),
	};

	return cmocka_run_group_tests_name("serial alphabet from a pattern",
	    tests, NULL, NULL);
}
