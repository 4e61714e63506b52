/*
 * Outside text made safe to show (station/util/text.h): controls, escape
 * sequences and non-ASCII bytes never pass through; long values are cut
 * visibly; UTF-8 validation refuses every malformed form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/util/text.h"

static void
expect_escape(const char *in, size_t max, const char *want)
{
	char *got = text_escape(in, max);

	assert_string_equal(got, want);
	free(got);
}

static void
test_escape_keeps_printable_and_escapes_the_rest(void **state)
{
	(void)state;
	expect_escape("Acme,CN=VICTIM-0001", 64, "Acme,CN=VICTIM-0001");
	expect_escape("\x1b[2J\r\n", 64, "\\x1b[2J\\x0d\\x0a");
	expect_escape("a\\b", 64, "a\\\\b");
	expect_escape("\xc3\xa9\x7f", 64, "\\xc3\\xa9\\x7f");
	expect_escape(NULL, 64, "(none)");
	expect_escape("", 64, "");
}

static void
test_escape_cuts_long_values_visibly(void **state)
{
	(void)state;
	expect_escape("0123456789", 4, "0123...");
	expect_escape("0123", 4, "0123");
	expect_escape("\x01\x02\x03", 2, "\\x01\\x02...");
}

static void
test_utf8_validation(void **state)
{
	(void)state;
	assert_true(text_utf8_valid("plain", 5));
	assert_true(text_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
	assert_false(text_utf8_valid("\xc3", 1));     /* truncated */
	assert_false(text_utf8_valid("\x80", 1));     /* lone continuation */
	assert_false(text_utf8_valid("\xc0\xaf", 2)); /* overlong '/' */
	assert_false(text_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	assert_false(text_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(text_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_false(text_utf8_valid("\xff", 1));
}

static void
test_printable_ascii(void **state)
{
	(void)state;
	assert_true(text_is_printable_ascii("SN-000123 ok~"));
	assert_false(text_is_printable_ascii("SN\t1"));
	assert_false(text_is_printable_ascii("SN\x7f"));
	assert_false(text_is_printable_ascii("\xc3\xa9"));
}

/* A clean message passes as it is (its quoted values were escaped once
 * already); one with any control or non-ASCII byte is escaped whole. */
static void
test_show_passes_clean_text_and_escapes_the_rest(void **state)
{
	struct text_pool tp = { 0 };
	char *s;

	(void)state;
	s = text_show("model 'A\\x1bB' refused", 8);
	assert_string_equal(s, "model 'A\\x1bB' refused");
	free(s);
	s = text_show("SN\x1b[2J", 64);
	assert_string_equal(s, "SN\\x1b[2J");
	free(s);
	s = text_show(NULL, 64);
	assert_string_equal(s, "(none)");
	free(s);
	assert_string_equal(text_pool_show(&tp, "a\nb"), "a\\x0ab");
	assert_string_equal(text_pool_show(&tp, "ok"), "ok");
	assert_int_equal(tp.n, 2);
	text_pool_clear(&tp);
	assert_int_equal(tp.n, 0);
	assert_null(tp.kept);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_escape_keeps_printable_and_escapes_the_rest),
		cmocka_unit_test(test_escape_cuts_long_values_visibly),
		cmocka_unit_test(test_utf8_validation),
		cmocka_unit_test(test_printable_ascii),
		cmocka_unit_test(
		    test_show_passes_clean_text_and_escapes_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
