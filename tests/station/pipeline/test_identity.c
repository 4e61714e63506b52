/*
 * A device's identity from its profile (station/identity.c): the subject
 * built value by value with each attribute's string type, the wire string
 * from the same values, and who is blamed when a value cannot be used: the
 * device (ST_E_POLICY, naming the field, value escaped) or the station
 * (ST_E_CONFIG).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/objects.h>

#include "station/x509/dn.h"
#include "station/x509/identity.h"
#include "station/config/profile.h"
#include "station/util/xalloc.h"

/* The default profile with `subject` split as the loader does. */
static void
profile_with(struct profile *p, const char *subject, const char *san_dns,
    const char *topic)
{
	profile_init_default(p);
	free(p->subject_template);
	p->subject_template = xstrdup(subject);
	dn_pairs_free(p->subject_parts, p->n_subject_parts);
	assert_int_equal(dn_split(subject, &p->subject_parts,
			     &p->n_subject_parts, NULL),
	    ST_OK);
	if (san_dns != NULL) {
		free(p->san_dns_templates);
		p->san_dns_templates = xcalloc(2, sizeof(char *));
		p->san_dns_templates[0] = xstrdup(san_dns);
	}
	if (topic != NULL) {
		free(p->topic_template);
		p->topic_template = xstrdup(topic);
	}
}

static st_err
build(const char *subject, const char *san_dns, const char *serial,
    const char *model, const char *station, struct identity *id, char **cause)
{
	struct profile p;
	struct template_vars vars = { serial, model, station, NULL };

	profile_with(&p, subject, san_dns, NULL);
	st_err err = identity_build(&p, &vars, id, cause);
	profile_clear(&p);
	return err;
}

static void
assert_has(const char *s, const char *want)
{
	if (strstr(s, want) == NULL)
		fail_msg("'%s' lacks '%s'", s, want);
}

/* The subject, the wire string and the CN come from the same values;
 * each entry has its attribute's string type. */
static void
test_subject_built_with_string_types(void **state)
{
	struct identity id;

	(void)state;
	assert_int_equal(build("C=DE,O=${model},serialNumber=${serial},"
			       "CN=${serial}",
			     "${serial}.example.com", "SN-1", "Acme Sensors",
			     "st-1", &id, NULL),
	    ST_OK);
	assert_string_equal(id.subject_text,
	    "C=DE,O=Acme Sensors,serialNumber=SN-1,CN=SN-1");
	assert_string_equal(id.cn, "SN-1");
	assert_string_equal(id.san_dns[0], "SN-1.example.com");
	assert_null(id.san_dns[1]);
	assert_null(id.san_uri[0]);
	assert_int_equal(X509_NAME_entry_count(id.subject), 4);
	static const int types[] = { V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING,
		V_ASN1_PRINTABLESTRING, V_ASN1_UTF8STRING };
	for (int i = 0; i < 4; i++) {
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(id.subject, i));

		assert_int_equal(ASN1_STRING_type(v), types[i]);
	}
	/* The wire string parses back to the same name. */
	X509_NAME *again = NULL;
	assert_int_equal(dn_parse(id.subject_text, &again, NULL), ST_OK);
	assert_int_equal(X509_NAME_cmp(again, id.subject), 0);
	X509_NAME_free(again);
	identity_clear(&id);
}

/* A model that would add an RDN is the device's fault: the reason names
 * the model and the attribute. */
static void
test_device_value_is_blamed_on_the_device(void **state)
{
	struct identity id;
	char *cause = NULL;

	(void)state;
	assert_int_equal(build("C=DE,O=${model},CN=${serial}", NULL, "INJ-0003",
			     "Acme,CN=VICTIM-0001", "st-1", &id, &cause),
	    ST_E_POLICY);
	assert_string_equal(cause,
	    "device reports model "
	    "'Acme,CN=VICTIM-0001', which cannot go into O: ',' is not "
	    "allowed");
	assert_null(id.subject);
	free(cause);
	cause = NULL;

	/* Controls are shown escaped. */
	assert_int_equal(build("O=${model}", NULL, "SN1", "a\xff", "st-1", &id,
			     &cause),
	    ST_E_POLICY);
	assert_has(cause, "'a\\xff'");
	free(cause);
	cause = NULL;

	/* Too long only together with the literal text: still the model. */
	char model[70];
	memset(model, 'm', 60);
	model[60] = '\0';
	assert_int_equal(build("O=Acme ${model}", NULL, "SN1", model, "st-1",
			     &id, &cause),
	    ST_E_POLICY);
	assert_has(cause, "device reports model 'mmm");
	assert_has(cause, "more than the 64");
	free(cause);
	cause = NULL;

	/* A serial with '_' in serialNumber (the pattern did not keep it
	 * out: the device reported it unscanned). */
	assert_int_equal(build("serialNumber=${serial}", NULL, "SN_1", "m",
			     "st-1", &id, &cause),
	    ST_E_POLICY);
	assert_has(cause, "device reports serial 'SN_1'");
	free(cause);
	cause = NULL;

	/* A comma in a DNS SAN from the model. */
	assert_int_equal(build("CN=${serial}", "${model}.c.example.com", "SN1",
			     "a,b", "st-1", &id, &cause),
	    ST_E_POLICY);
	assert_has(cause, "cannot go into DNS SAN");
	free(cause);
}

/* What the station puts in (literal text, ${station}) is a station
 * misconfiguration, never the device's fault. */
static void
test_station_value_is_a_configuration_error(void **state)
{
	struct identity id;
	char *cause = NULL;

	(void)state;
	assert_int_equal(build("OU=${station},CN=${serial}", NULL, "SN1", "m",
			     "st;1", &id, &cause),
	    ST_E_CONFIG);
	assert_has(cause, "station misconfigured: profile 'default'");
	assert_has(cause, "';' is not allowed");
	free(cause);
	cause = NULL;
	assert_int_equal(build("C=USA,CN=${serial}", NULL, "SN1", "m", "st-1",
			     &id, &cause),
	    ST_E_CONFIG);
	assert_has(cause, "two-letter");
	free(cause);
}

/* The topic: a model cannot add a level or a wildcard; the CN may. */
static void
test_topic_values_cannot_add_levels(void **state)
{
	struct profile p;
	struct template_vars vars = { "SN1", "x/#", "st-1", "SN1" };
	char *topic = NULL, *cause = NULL;

	(void)state;
	profile_with(&p, "CN=${serial}", NULL, "factory/${model}/${cn}");
	assert_int_equal(identity_topic(&p, &vars, &topic, &cause),
	    ST_E_POLICY);
	assert_null(topic);
	assert_has(cause, "device reports model 'x/#'");
	free(cause);
	cause = NULL;
	vars.model = "gw";
	vars.cn = "a+b";
	assert_int_equal(identity_topic(&p, &vars, &topic, &cause),
	    ST_E_POLICY);
	assert_has(cause, "the device's CN 'a+b'");
	free(cause);
	vars.cn = "SN1";
	assert_int_equal(identity_topic(&p, &vars, &topic, NULL), ST_OK);
	assert_string_equal(topic, "factory/gw/SN1");
	free(topic);
	profile_clear(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subject_built_with_string_types),
		cmocka_unit_test(test_device_value_is_blamed_on_the_device),
		cmocka_unit_test(test_station_value_is_a_configuration_error),
		cmocka_unit_test(test_topic_values_cannot_add_levels),
	};

	return cmocka_run_group_tests_name("identity from a profile", tests,
	    NULL, NULL);
}
