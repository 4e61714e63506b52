/*
 * What a serial_pattern proves about the characters of a serial
 * (station/scan_alphabet.c): literal characters, ranges and the simple
 * classes narrow the alphabet; anything the simple reading cannot prove
 * counts as "any byte", so a profile is never accepted on a guess.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "station/scan_format.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_literals_ranges_and_classes_exclude_underscore),
		cmocka_unit_test(test_what_cannot_be_proven_allows_everything),
	};

	return cmocka_run_group_tests_name("serial alphabet from a pattern",
	    tests, NULL, NULL);
}
