/*
 * The logger (station/util/log.c) writes one line per message whatever
 * the message quotes: a device string with ESC or a newline is written
 * escaped, so it can neither forge a log line nor reach a terminal's
 * control sequences; a clean message is written unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define LOG_MODULE "test"
#include "station/util/log.h"

/* Everything logged while `fn` ran, as one string (caller frees). */
static char *
captured(void (*fn)(void))
{
	FILE *fp = tmpfile();
	char *buf;
	long n;

	assert_non_null(fp);
	log_set_file(fp);
	fn();
	log_set_file(NULL);
	n = ftell(fp);
	assert_true(n > 0);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	rewind(fp);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

static void
log_hostile(void)
{
	log_warn("device model '%s'", "A\x1b[2J\nfake 00:00 error x: y\x9b");
}

static void
log_clean(void)
{
	log_warn("device model '%s' (already escaped: %s)", "Acme", "A\\x1b");
}

static void
test_hostile_message_is_one_escaped_line(void **state)
{
	char *out = captured(log_hostile);

	(void)state;
	assert_null(strchr(out, 0x1b));
	assert_null(strchr(out, (char)0x9b));
	/* One line: its only newline is the logger's own, at the end. */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_non_null(strstr(out, "A\\x1b[2J\\x0afake"));
	free(out);
}

static void
test_clean_message_is_unchanged(void **state)
{
	char *out = captured(log_clean);

	(void)state;
	assert_non_null(
	    strstr(out, "device model 'Acme' (already escaped: A\\x1b)\n"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_message_is_one_escaped_line),
		cmocka_unit_test(test_clean_message_is_unchanged),
	};

	return cmocka_run_group_tests_name("logger", tests, NULL, NULL);
}
