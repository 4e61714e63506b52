/*
 * The evidence chain's encodings byte for byte (db/keyed_int.h): they are
 * what every row's digest and MAC are computed over, so a ledger written
 * by one build must verify under the next.  The reference is the printf
 * format each encoding is documented with ("T<len>:", "I<decimal>;", two
 * lower-case hex digits a byte).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/keyed_int.h"

static void
assert_encoded(const struct keyed_enc *e, const char *want)
{
	assert_int_equal(e->len, strlen(want));
	assert_memory_equal(e->buf, want, e->len);
}

static void
test_integers_as_printf_gives_them(void **state)
{
	static const int64_t v[] = { 0, 1, -1, 9, 10, -10, 1234567890123,
		INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct keyed_enc e = { 0 };

		snprintf(want, sizeof want, "I%" PRId64 ";", v[i]);
		keyed_enc_int(&e, v[i]);
		assert_encoded(&e, want);
		free(e.buf);
	}
}

static void
test_text_heads_as_printf_gives_them(void **state)
{
	static const size_t n[] = { 0, 1, 9, 10, 99, 100, 65535 };
	char *text = calloc(1, 65536);
	char *want = malloc(65600);

	(void)state;
	assert_non_null(text);
	assert_non_null(want);
	memset(text, 'x', 65535);
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++) {
		struct keyed_enc e = { 0 };

		snprintf(want, 65600, "T%zu:%.*s", n[i], (int)n[i], text);
		keyed_enc_text(&e, text, n[i]);
		assert_encoded(&e, want);
		free(e.buf);
	}
	free(text);
	free(want);
}

static void
test_hex_is_lower_case_and_terminated(void **state)
{
	unsigned char bin[256];
	char hex[2 * sizeof bin + 1], want[2 * sizeof bin + 1];

	(void)state;
	for (size_t i = 0; i < sizeof bin; i++) {
		bin[i] = (unsigned char)i;
		snprintf(want + 2 * i, 3, "%02x", bin[i]);
	}
	memset(hex, '#', sizeof hex);
	keyed_hex(bin, sizeof bin, hex);
	assert_string_equal(hex, want);
	keyed_hex(bin, 0, hex);
	assert_string_equal(hex, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers_as_printf_gives_them),
		cmocka_unit_test(test_text_heads_as_printf_gives_them),
		cmocka_unit_test(test_hex_is_lower_case_and_terminated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
