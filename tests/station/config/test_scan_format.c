/*
 * Label formats ([station] serial_pattern, serial_checksum): the Luhn check
 * digit, the anchored pattern, the configuration errors, and the batch
 * scan-line grammar refusing labels that break the format.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/config/profile.h"
#include "station/config/scan_format.h"
#include "station/cli/scan_line.h"

/* The textbook Luhn example and its neighbours. */
static void
test_luhn_accepts_the_check_digit_and_refuses_changes(void **state)
{
	(void)state;
	assert_true(luhn_valid("79927398713"));
	assert_true(luhn_valid("SN-7992739871-3")); /* non-digits ignored */
	assert_false(luhn_valid("79927398710"));
	assert_false(luhn_valid("79927398731")); /* swapped digits */
	assert_false(luhn_valid("0"));		 /* one digit is no check */
	assert_false(luhn_valid("SN-ABC"));
}

/* The pattern describes the whole label, not a part of it. */
static void
test_pattern_is_anchored(void **state)
{
	struct scan_format *f = NULL;
	(void)state;

	assert_int_equal(scan_format_new("SN-[0-9]{6}", SCAN_CHECKSUM_NONE, &f,
			     NULL),
	    ST_OK);
	assert_null(scan_format_check(f, "SN-000123"));
	assert_string_equal(scan_format_check(f, "SN-0001234"),
	    "unknown label format");
	assert_string_equal(scan_format_check(f, "XSN-000123"),
	    "unknown label format");
	scan_format_free(f);
}

/* No pattern and no checksum: no format object, every serial fits. */
static void
test_no_format_accepts_any_serial(void **state)
{
	struct scan_format *f = (struct scan_format *)1;
	(void)state;

	assert_int_equal(scan_format_new(NULL, SCAN_CHECKSUM_NONE, &f, NULL),
	    ST_OK);
	assert_null(f);
	assert_null(scan_format_check(NULL, "anything-1"));
}

/* ISO/IEC 7064 MOD 37,36: the standard's example, and single changes. */
static void
test_mod36_accepts_the_check_character_and_refuses_changes(void **state)
{
	(void)state;
	assert_true(mod36_valid("A12425GABC1234002M"));
	assert_true(mod36_valid("a12425gabc1234002m")); /* any case */
	assert_true(mod36_valid("SN-000125K"));		/* '-' skipped */
	assert_false(mod36_valid("A12425GABC1234002N"));
	assert_false(mod36_valid("A12425GABC1234020M")); /* swapped */
	assert_false(mod36_valid("1"));
}

/* A profile's label rule: trim and fold first, then pattern and check
 * character; the label as it should be is handed back. */
static void
test_label_rule_normalises_then_checks(void **state)
{
	struct scan_rule rule = { .pattern = "SN-[0-9]{6}[0-9A-Z]",
		.checksum = SCAN_CHECKSUM_MOD36,
		.trim = 1,
		.fold = SCAN_CASE_UPPER };
	struct scan_rule nothing = { .fold = SCAN_CASE_KEEP };
	struct scan_format *f = NULL;
	char out[16];
	(void)state;

	assert_int_equal(scan_format_from_rule(&rule, &f, NULL), ST_OK);
	assert_null(scan_format_label(f, "  sn-000125k\t", out, sizeof out));
	assert_string_equal(out, "SN-000125K");
	assert_string_equal(scan_format_label(f, "sn-000125j", out, sizeof out),
	    "checksum failure");
	assert_string_equal(scan_format_label(f, "SN-00125K", out, sizeof out),
	    "unknown label format");
	assert_string_equal(scan_format_label(f, "SN-000125K-and-more", out,
				sizeof out),
	    "label too long");
	scan_format_free(f);
	/* lower case, without trimming: the spaces stay and fail */
	rule = (struct scan_rule){ .pattern = "sn-[0-9]+",
		.fold = SCAN_CASE_LOWER };
	assert_int_equal(scan_format_from_rule(&rule, &f, NULL), ST_OK);
	assert_null(scan_format_label(f, "SN-42", out, sizeof out));
	assert_string_equal(out, "sn-42");
	assert_non_null(scan_format_label(f, " SN-42", out, sizeof out));
	scan_format_free(f);
	/* a rule that does nothing is no format at all */
	f = (struct scan_format *)1;
	assert_int_equal(scan_format_from_rule(&nothing, &f, NULL), ST_OK);
	assert_null(f);
	assert_null(scan_format_label(NULL, " as is ", out, sizeof out));
	assert_string_equal(out, " as is ");
}

static struct config *
load(const char *text, char **cause)
{
	struct config *cfg = NULL;

	config_load_buffer("line.ini", text, strlen(text), &cfg, cause);
	return cfg;
}

/* A pattern that does not compile and an unknown checksum name are
 * configuration errors naming file, line and key. */
static void
test_bad_format_settings_name_the_line(void **state)
{
	char *cause = NULL;
	(void)state;

	assert_null(
	    load("[station]\nid = s1\nserial_pattern = SN-[0-9\n", &cause));
	assert_non_null(strstr(cause, "line.ini:3:"));
	assert_non_null(strstr(cause, "serial_pattern"));
	free(cause);
	cause = NULL;
	assert_null(load("[station]\nserial_checksum = crc\n", &cause));
	assert_non_null(strstr(cause, "line.ini:2:"));
	assert_non_null(strstr(cause, "serial_checksum"));
	free(cause);
}

/* The label keys of a profile load into it; a bad value or a pattern
 * that does not compile names file, line and key. */
static void
test_profile_label_keys_load_and_bad_ones_name_the_line(void **state)
{
	char *cause = NULL;
	struct config *cfg = load("[station]\nid = s1\n"
				  "[profile default]\nlabel_trim = yes\n"
				  "label_case = upper\n"
				  "label_pattern = SN-[0-9]{6}[0-9A-Z]\n"
				  "label_check_digit = mod36\n",
	    &cause);
	const struct profile *p;
	(void)state;

	assert_non_null(cfg);
	p = config_profile(cfg, "default");
	assert_non_null(p);
	assert_int_equal(p->label_trim, 1);
	assert_int_equal(p->label_case, SCAN_CASE_UPPER);
	assert_string_equal(p->label_pattern, "SN-[0-9]{6}[0-9A-Z]");
	assert_int_equal(p->label_check_digit, SCAN_CHECKSUM_MOD36);
	config_free(cfg);
	assert_null(load("[profile default]\nlabel_case = shout\n", &cause));
	assert_non_null(strstr(cause, "line.ini:2:"));
	assert_non_null(strstr(cause, "label_case"));
	free(cause);
	cause = NULL;
	assert_null(load("[profile default]\nkey = ec-p256\n"
			 "label_pattern = SN-[0-9\n",
	    &cause));
	assert_non_null(strstr(cause, "line.ini:3:"));
	assert_non_null(strstr(cause, "label_pattern"));
	free(cause);
	cause = NULL;
	assert_null(
	    load("[profile default]\nlabel_check_digit = crc\n", &cause));
	assert_non_null(strstr(cause, "label_check_digit"));
	free(cause);
}

/* Batch scans: a label outside the format is refused with its reason and
 * gives no serial; one inside starts normally, with its slot label. */
static void
test_batch_scan_lines_obey_the_format(void **state)
{
	static const char fixture_text[] =
	    "[fixture]\nname = t\n"
	    "[slot 1]\nlabel = S1\ndevice = tcp:127.0.0.1:4001\n";
	struct config *cfg =
	    load("[station]\nid = s1\n"
		 "serial_pattern = SN-[0-9]+\nserial_checksum = luhn\n",
		NULL);
	struct fixture *fx = NULL;
	struct scan_format *f = NULL;
	char *serial = NULL;
	unsigned slot = 0;
	const char *why = NULL;
	(void)state;

	assert_non_null(cfg);
	assert_int_equal(fixture_load_buffer("t.ini", fixture_text,
			     strlen(fixture_text), cfg, &fx, NULL),
	    ST_OK);
	assert_int_equal(scan_format_new(cfg->serial_pattern,
			     (enum scan_checksum)cfg->serial_checksum, &f,
			     NULL),
	    ST_OK);

	assert_int_equal(scan_line_parse("AB-79927398713 S1\n", fx, NULL, f,
			     &serial, &slot, &why),
	    SCAN_REFUSED);
	assert_string_equal(why, "unknown label format");
	assert_null(serial);
	assert_int_equal(scan_line_parse("SN-79927398714\n", fx, NULL, f,
			     &serial, &slot, &why),
	    SCAN_REFUSED);
	assert_string_equal(why, "checksum failure");
	assert_null(serial);
	assert_int_equal(scan_line_parse("SN-79927398713 S1\n", fx, NULL, f,
			     &serial, &slot, &why),
	    SCAN_OK);
	assert_string_equal(serial, "SN-79927398713");
	assert_int_equal(slot, 1);
	free(serial);
	serial = NULL;
	/* A control or non-ASCII byte refuses the scan whole: dropping it
	 * (a GS1 group separator here) would make another serial. */
	static const char *const tainted[] = { "SN-79927398713\x1b[2J S1\n",
		"SN-7992739\x1d"
		"8713\n",
		"SN-79927398713 S1\xff\n" };
	for (size_t i = 0; i < sizeof tainted / sizeof tainted[0]; i++) {
		assert_int_equal(scan_line_parse(tainted[i], fx, NULL, f,
				     &serial, &slot, &why),
		    SCAN_REFUSED);
		assert_string_equal(why,
		    "the scan holds a control or non-ASCII byte");
		assert_null(serial);
	}
	/* A tab is a separator like a space. */
	assert_int_equal(scan_line_parse("SN-79927398713\tS1\r\n", fx, NULL, f,
			     &serial, &slot, &why),
	    SCAN_OK);
	assert_int_equal(slot, 1);
	free(serial);
	scan_format_free(f);
	fixture_free(fx);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_luhn_accepts_the_check_digit_and_refuses_changes),
		cmocka_unit_test(test_pattern_is_anchored),
		cmocka_unit_test(test_no_format_accepts_any_serial),
		cmocka_unit_test(test_bad_format_settings_name_the_line),
		cmocka_unit_test(
		    test_mod36_accepts_the_check_character_and_refuses_changes),
		cmocka_unit_test(test_label_rule_normalises_then_checks),
		cmocka_unit_test(
		    test_profile_label_keys_load_and_bad_ones_name_the_line),
		cmocka_unit_test(test_batch_scan_lines_obey_the_format),
	};

	return cmocka_run_group_tests_name("scan format", tests, NULL, NULL);
}
