/* Profiles: template expansion, the serial rule, the built-in default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/config/profile.h"

static const struct template_vars vars = {
	.serial = "SN0001",
	.model = "gw-2",
	.station = "st-01",
};

static char *
expand_ok(const char *tmpl, const struct template_vars *v)
{
	char *out = NULL, *cause = NULL;

	assert_int_equal(profile_expand(tmpl, v, &out, &cause), ST_OK);
	assert_null(cause);
	assert_non_null(out);
	return out;
}

static void
expect_error(const char *tmpl, const struct template_vars *v,
    const char *in_cause)
{
	char *out = NULL, *cause = NULL;

	assert_int_equal(profile_expand(tmpl, v, &out, &cause), ST_E_CONFIG);
	assert_null(out);
	assert_non_null(cause);
	if (strstr(cause, in_cause) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, in_cause);
	free(cause);
}

/* Several references, repeated ones and text around them all expand. */
static void
test_expand_several_references(void **state)
{
	(void)state;
	char *s =
	    expand_ok("C=US,O=${model},OU=${station},CN=${serial}", &vars);

	assert_string_equal(s, "C=US,O=gw-2,OU=st-01,CN=SN0001");
	free(s);
	s = expand_ok("${serial}${serial}.x", &vars);
	assert_string_equal(s, "SN0001SN0001.x");
	free(s);
}

/* Text without references, and '$' not followed by '{', is copied as is. */
static void
test_expand_literal_text(void **state)
{
	(void)state;
	char *s = expand_ok("factory/line-1", &vars);

	assert_string_equal(s, "factory/line-1");
	free(s);
	s = expand_ok("cost $5 {x} $", &vars);
	assert_string_equal(s, "cost $5 {x} $");
	free(s);
	s = expand_ok("", &vars);
	assert_string_equal(s, "");
	free(s);
}

/* A misspelt or unknown name is an error that quotes the name. */
static void
test_expand_unknown_reference_fails(void **state)
{
	(void)state;
	expect_error("CN=${serail}", &vars, "${serail}");
	expect_error("${}", &vars, "unknown reference ${}");
	expect_error("${SERIAL}", &vars, "${SERIAL}");
}

/* "${" without a closing brace is an error, not literal text. */
static void
test_expand_unterminated_reference_fails(void **state)
{
	(void)state;
	expect_error("CN=${serial", &vars, "unterminated");
	expect_error("x${", &vars, "unterminated");
}

/* ${cn} exists only when the caller provides it (topic templates). */
static void
test_expand_cn_only_when_given(void **state)
{
	(void)state;
	struct template_vars with_cn = vars;

	expect_error("factory/selftest/${cn}", &vars, "${cn}");
	with_cn.cn = "SN0001";
	char *s = expand_ok("factory/selftest/${cn}", &with_cn);
	assert_string_equal(s, "factory/selftest/SN0001");
	free(s);
}

/* A known reference whose value the caller does not have is an error. */
static void
test_expand_missing_value_fails(void **state)
{
	(void)state;
	struct template_vars no_model = { .serial = "SN1" };

	expect_error("${model}", &no_model, "no value");
}

/* Serials of the allowed alphabet and length are accepted. */
static void
test_serial_accepts_allowed_alphabet(void **state)
{
	(void)state;
	char max[65];

	memset(max, 'a', 64);
	max[64] = '\0';
	assert_true(serial_is_valid("SN0001"));
	assert_true(serial_is_valid("x"));
	assert_true(serial_is_valid("A.b_c-9"));
	assert_true(serial_is_valid(max));
}

/* Anything that could change the structure of a DN, SAN or path is not. */
static void
test_serial_rejects_structure_characters(void **state)
{
	(void)state;
	char long_one[66];

	memset(long_one, 'a', 65);
	long_one[65] = '\0';
	assert_false(serial_is_valid(NULL));
	assert_false(serial_is_valid(""));
	assert_false(serial_is_valid(long_one));
	assert_false(serial_is_valid("SN,O=Evil"));
	assert_false(serial_is_valid("a=b"));
	assert_false(serial_is_valid("SN 1"));
	assert_false(serial_is_valid(" SN1"));
	assert_false(serial_is_valid("SN1\n"));
	assert_false(serial_is_valid("../etc"));
	assert_false(serial_is_valid("SN+1"));
	assert_false(serial_is_valid("S\xc3\xa9rie")); /* UTF-8 e-acute */
}

/* The built-in profile is the documented one and clears cleanly. */
static void
test_default_profile_values(void **state)
{
	(void)state;
	struct profile p;

	profile_init_default(&p);
	assert_string_equal(p.name, "default");
	assert_int_equal(p.key_alg, KEY_ALG_EC_P256);
	assert_int_equal(p.key_slot, 0);
	assert_string_equal(p.subject_template, "CN=${serial}");
	assert_null(p.san_dns_templates[0]);
	assert_null(p.san_uri_templates[0]);
	assert_int_equal(p.validity_days, 365);
	assert_int_equal(p.key_usage, PROFILE_KU_DIGITAL_SIGNATURE);
	assert_true(p.eku_client_auth);
	assert_false(p.eku_server_auth);
	assert_int_equal(p.chain, CHAIN_FULL);
	assert_int_equal(p.reprovision, REPROVISION_REFUSE);
	assert_false(p.lock);
	assert_false(p.smoke_required);
	assert_int_equal(p.tls_min_version, 13);
	assert_string_equal(p.topic_template, "factory/selftest/${cn}");
	profile_clear(&p);
	assert_null(p.name);
	profile_clear(&p); /* a cleared profile may be cleared again */
	profile_clear(NULL);
}

static void
test_key_alg_names(void **state)
{
	(void)state;
	assert_string_equal(key_alg_name(KEY_ALG_EC_P256), "ec-p256");
	assert_string_equal(key_alg_name(KEY_ALG_RSA_2048), "rsa-2048");
	assert_string_equal(key_alg_name((enum key_alg)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand_several_references),
		cmocka_unit_test(test_expand_literal_text),
		cmocka_unit_test(test_expand_unknown_reference_fails),
		cmocka_unit_test(test_expand_unterminated_reference_fails),
		cmocka_unit_test(test_expand_cn_only_when_given),
		cmocka_unit_test(test_expand_missing_value_fails),
		cmocka_unit_test(test_serial_accepts_allowed_alphabet),
		cmocka_unit_test(test_serial_rejects_structure_characters),
		cmocka_unit_test(test_default_profile_values),
		cmocka_unit_test(test_key_alg_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
