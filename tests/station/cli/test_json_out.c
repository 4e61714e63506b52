/*
 * json_str_or_null (station/json_out.c), the one way a C string becomes a
 * JSON value: never NULL (a NULL from jansson silently dropped the key),
 * valid UTF-8 kept exactly, anything else escaped whole as text_escape
 * shows it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "station/cli/json_out.h"

static void
expect_json(const char *in, const char *want)
{
	json_t *o = json_object();

	assert_int_equal(json_object_set_new(o, "k", json_str_or_null(in)), 0);
	assert_string_equal(json_string_value(json_object_get(o, "k")), want);
	json_decref(o);
}

static void
test_valid_utf8_is_kept_exactly(void **state)
{
	(void)state;
	expect_json("SN-0001", "SN-0001");
	expect_json("Ger\xc3\xa4t \xe6\x9d\xb1 a\\b",
	    "Ger\xc3\xa4t \xe6\x9d\xb1 a\\b");
	expect_json("esc \x1b[2J", "esc \x1b[2J"); /* JSON escapes it */
}

static void
test_invalid_utf8_is_escaped_never_dropped(void **state)
{
	(void)state;
	expect_json("bad\xff", "bad\\xff");
	/* Escaped whole: the valid sequence and the backslash too, so a
	 * reader knows every byte of this value was shown the same way. */
	expect_json("\xc3\xa4 \\ \xc3", "\\xc3\\xa4 \\\\ \\xc3");
	expect_json("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
}

static void
test_null_is_json_null(void **state)
{
	json_t *v = json_str_or_null(NULL);

	(void)state;
	assert_true(json_is_null(v));
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_is_kept_exactly),
		cmocka_unit_test(test_invalid_utf8_is_escaped_never_dropped),
		cmocka_unit_test(test_null_is_json_null),
	};

	return cmocka_run_group_tests_name("json_str_or_null", tests, NULL,
	    NULL);
}
