/*
 * What may go into each place a template fills (station/name_check.c and
 * the subject value rules of station/dn.c): every attribute's string type
 * and bound, DNS labels, URIs, topic levels, and the stricter rule for a
 * value inserted for a ${reference}.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/x509/dn.h"
#include "station/x509/name_check.h"

static const struct name_slot dns = { NAME_SAN_DNS, NULL };
static const struct name_slot uri = { NAME_SAN_URI, NULL };
static const struct name_slot topic = { NAME_TOPIC, NULL };

static void
whole_ok(const struct name_slot *slot, const char *value)
{
	char *why = NULL;

	if (name_check_whole(slot, value, &why) != ST_OK)
		fail_msg("'%s' refused for %s: %s", value,
		    name_slot_label(slot), why);
	assert_null(why);
}

static void
whole_bad(const struct name_slot *slot, const char *value, const char *in_why)
{
	char *why = NULL;

	if (name_check_whole(slot, value, &why) != ST_E_POLICY)
		fail_msg("'%s' accepted for %s", value, name_slot_label(slot));
	assert_non_null(why);
	if (strstr(why, in_why) == NULL)
		fail_msg("why '%s' lacks '%s'", why, in_why);
	free(why);
}

static void
dn_ok(const char *attr, const char *value)
{
	struct name_slot slot = { NAME_DN_VALUE, attr };

	whole_ok(&slot, value);
}

static void
dn_bad(const char *attr, const char *value, const char *in_why)
{
	struct name_slot slot = { NAME_DN_VALUE, attr };

	whole_bad(&slot, value, in_why);
}

/* A string of `n` copies of `c` (static buffer, n < 600). */
static const char *
rep(char c, size_t n)
{
	static char buf[600];

	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/* The characters the wire cannot carry are refused in every attribute. */
static void
test_wire_forbidden_characters_refused_everywhere(void **state)
{
	static const char *const attrs[] = { "C", "ST", "L", "O", "OU", "CN",
		"serialNumber", "DC", "UID", "emailAddress", NULL };
	static const char forbidden[] = ",=+\\\"<>;";

	(void)state;
	for (size_t a = 0; attrs[a] != NULL; a++) {
		for (size_t i = 0; forbidden[i] != '\0'; i++) {
			char v[3] = { 'a', forbidden[i], '\0' };

			dn_bad(attrs[a], v, "not");
		}
		dn_bad(attrs[a], "a\x1b", "control byte 0x1b");
		dn_bad(attrs[a], "a\x7f", "control byte 0x7f");
	}
	dn_bad("O", "Acme,CN=VICTIM-0001", "',' is not allowed");
}

/* C is two letters of a PrintableString; serialNumber a PrintableString
 * of at most 64. */
static void
test_printable_string_attributes(void **state)
{
	(void)state;
	dn_ok("C", "DE");
	dn_bad("C", "DEU", "two-letter");
	dn_bad("C", "D1", "two-letter");
	dn_bad("C", "D", "two-letter");
	dn_ok("serialNumber", "SN-0001 (a/b:c?)");
	dn_bad("serialNumber", "SN_0001", "'_' is not a PrintableString");
	dn_bad("serialNumber", "SN\xc3\xa9", "PrintableString");
	dn_bad("serialNumber", "a*b", "'*' is not a PrintableString");
	dn_ok("serialNumber", rep('1', 64));
	dn_bad("serialNumber", rep('1', 65), "more than the 64");
}

/* DC and emailAddress are IA5String: ASCII only. */
static void
test_ia5_string_attributes(void **state)
{
	(void)state;
	dn_ok("DC", "example");
	dn_ok("emailAddress", "dev_1@example.com");
	dn_bad("emailAddress", "d\xc3\xa9v@example.com", "IA5String");
	dn_ok("DC", rep('a', 63));
	dn_bad("DC", rep('a', 64), "more than the 63");
	/* ub-emailaddress-length is 255, the wire carries 64. */
	dn_ok("emailAddress", rep('e', 64));
	dn_bad("emailAddress", rep('e', 65), "more than the 64");
}

/* The others are UTF8String: any well-formed UTF-8 without controls, at
 * most 64 bytes (the RFC's 128 for L and ST is cut to the wire's 64). */
static void
test_utf8_string_attributes(void **state)
{
	static const char *const attrs[] = { "ST", "L", "O", "OU", "CN", "UID",
		NULL };

	(void)state;
	for (size_t a = 0; attrs[a] != NULL; a++) {
		dn_ok(attrs[a], "Acme Sensors GmbH");
		dn_ok(attrs[a], "M\xc3\xbcnchen_1 #2");
		dn_ok(attrs[a], rep('x', 64));
		dn_bad(attrs[a], rep('x', 65), "more than the 64");
		dn_bad(attrs[a], "", "empty");
		dn_bad(attrs[a], "Acme\xff\xfe", "not valid UTF-8");
		dn_bad(attrs[a], "Acme\xc2\x85", "control character U+0085");
	}
	dn_bad("XX", "a", "not allowed");
}

static void
test_dns_names(void **state)
{
	(void)state;
	whole_ok(&dns, "sn-0001.devices.example.com");
	whole_ok(&dns, "a");
	whole_bad(&dns, "a,b.c.example.com", "',' is not allowed");
	whole_bad(&dns, "sn_1.example.com", "'_' is not allowed");
	whole_bad(&dns, "*.example.com", "'*' is not allowed");
	whole_bad(&dns, "a b.example.com", "byte 0x20");
	whole_bad(&dns, "example.com.", "trailing '.'");
	whole_bad(&dns, ".example.com", "empty DNS label");
	whole_bad(&dns, "a..example.com", "empty DNS label");
	whole_bad(&dns, "-a.example.com", "starts or ends with '-'");
	whole_bad(&dns, "a-.example.com", "starts or ends with '-'");
	whole_bad(&dns, "", "empty DNS name");

	char name[700];
	snprintf(name, sizeof name, "%s.example.com", rep('a', 63));
	whole_ok(&dns, name);
	snprintf(name, sizeof name, "%s.example.com", rep('a', 64));
	whole_bad(&dns, name, "label of 64 bytes");
	/* 4 labels of 63 plus 3 dots: 255 > 253. */
	snprintf(name, sizeof name, "%s.", rep('a', 63));
	char longest[1200] = "";
	size_t used = 0;
	for (int i = 0; i < 4; i++)
		used += (size_t)snprintf(longest + used, sizeof longest - used,
		    "%s", name);
	longest[strlen(longest) - 1] = '\0';
	whole_bad(&dns, longest, "more than the 253");
}

static void
test_uris(void **state)
{
	char *why = NULL;

	(void)state;
	whole_ok(&uri, "urn:example:device:SN0001");
	whole_ok(&uri, "https://example.com/d/SN0001?x=1#f");
	whole_ok(&uri, "urn:x:%41");
	whole_bad(&uri, "urn:x:a b", "byte 0x20");
	whole_bad(&uri, "urn:x:a\"b", "'\"' is not allowed");
	whole_bad(&uri, "urn:x:\x01", "byte 0x01");
	whole_bad(&uri, "urn:x:%4", "two hex digits");
	whole_bad(&uri, "no-scheme", "scheme:rest");
	whole_bad(&uri, "1urn:x", "scheme:rest");
	whole_bad(&uri, ":x", "scheme:rest");
	whole_bad(&uri, "urn:", "scheme:rest");
	whole_bad(&uri, rep('u', 513), "more than the 512");
	/* A value inserted for a reference cannot add a path, a query, a
	 * fragment or an authority. */
	assert_int_equal(name_check_piece(&uri, "a/b", 3, 0, NULL), ST_OK);
	assert_int_equal(name_check_piece(&uri, "SN-1.a_b~", 9, 1, NULL),
	    ST_OK);
	assert_int_equal(name_check_piece(&uri, "a/b", 3, 1, &why),
	    ST_E_POLICY);
	assert_non_null(strstr(why, "inserted into a URI"));
	assert_int_equal(name_check_piece(&uri, "a#b", 3, 1, NULL),
	    ST_E_POLICY);
	assert_int_equal(name_check_piece(&uri, "a@b", 3, 1, NULL),
	    ST_E_POLICY);
	free(why);
}

static void
test_topics(void **state)
{
	char *why = NULL;

	(void)state;
	whole_ok(&topic, "factory/selftest/SN0001");
	whole_bad(&topic, "factory/+/x", "'+' is not allowed");
	whole_bad(&topic, "factory/#", "'#' is not allowed");
	whole_bad(&topic, "/factory", "does not start with '/'");
	whole_bad(&topic, "factory/a b", "byte 0x20");
	whole_bad(&topic, "", "empty topic");
	/* Literal text may hold '/', an inserted value may not. */
	assert_int_equal(name_check_piece(&topic, "a/b", 3, 0, NULL), ST_OK);
	assert_int_equal(name_check_piece(&topic, "a/b", 3, 1, &why),
	    ST_E_POLICY);
	assert_non_null(strstr(why, "add a level"));
	free(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_wire_forbidden_characters_refused_everywhere),
		cmocka_unit_test(test_printable_string_attributes),
		cmocka_unit_test(test_ia5_string_attributes),
		cmocka_unit_test(test_utf8_string_attributes),
		cmocka_unit_test(test_dns_names),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_topics),
	};

	return cmocka_run_group_tests_name("name checks", tests, NULL, NULL);
}
