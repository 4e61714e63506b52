/*
 * One number parser (station/util/num.h): whole decimal numbers in range,
 * nothing strtol would let through by accident.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/util/num.h"

static void
test_whole_numbers_in_range_are_taken(void **state)
{
	long long v = 0;

	(void)state;
	assert_true(num_valid("0", 0, 10, &v));
	assert_int_equal(v, 0);
	assert_true(num_valid("010", 0, 100, &v));
	assert_int_equal(v, 10);
	assert_true(num_valid("-5", -10, 10, &v));
	assert_int_equal(v, -5);
	assert_true(num_valid("9223372036854775807", 0, INT64_MAX, &v));
}

static void
test_everything_else_is_refused(void **state)
{
	long long v = 42;
	const char *bad[] = { "", " 1", "1 ", "+1", "0x10", "1e3", "abc",
		"12abc", "-", "--1", "11", "-11", "99999999999999999999",
		NULL };

	(void)state;
	for (int i = 0; bad[i]; i++)
		assert_false(num_valid(bad[i], -10, 10, &v));
	assert_false(num_valid(NULL, 0, 1, &v));
	assert_int_equal(v, 42); /* untouched */
}

static void
test_the_cause_names_what_and_the_range(void **state)
{
	long long v = 0;
	char *cause = NULL;

	(void)state;
	assert_int_equal(num_parse("ab\x1b", 1, 100, &v, "--limit", &cause),
	    ST_E_ARG);
	assert_string_equal(cause,
	    "--limit: 'ab\\x1b' is not a whole number "
	    "from 1 to 100");
	free(cause);
	assert_int_equal(num_parse("7", 1, 100, &v, "--limit", NULL), ST_OK);
	assert_int_equal(v, 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_numbers_in_range_are_taken),
		cmocka_unit_test(test_everything_else_is_refused),
		cmocka_unit_test(test_the_cause_names_what_and_the_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
