/*
 * Configuration errors: each kind of bad station.ini is refused at load
 * with the file, the line and what to write instead (the loading of good
 * files is in test_config.c).
 */
#include "station/util/xalloc.h"
#include "tests/station/config/config_fixture.h"

static void
test_unknown_key_names_line_and_key(void **state)
{
	expect_config_error(*state,
	    "[profile default]\nkey = ec-p256\nvalidty_days = 30\n",
	    "station.ini:3: [profile default] key 'validty_days': unknown key",
	    NULL);
}

static void
test_unknown_section_names_line(void **state)
{
	expect_config_error(*state, "[station]\nid = a\n\n[stations]\n",
	    "station.ini:4: [stations]: unknown section", NULL);
	expect_config_error(*state, "[profile]\n",
	    "station.ini:1: [profile]: unknown section", NULL);
}

static void
test_bad_integer_names_line_and_range(void **state)
{
	expect_config_error(*state, "[profile default]\nvalidity_days = abc\n",
	    "station.ini:2: [profile default] validity_days = 'abc': expected "
	    "an integer 1..3650",
	    NULL);
	expect_config_error(*state, "[profile default]\nvalidity_days = 3651\n",
	    "station.ini:2:", "1..3650", NULL);
	expect_config_error(*state, "[broker]\nport = 0x50\n",
	    "station.ini:2: [broker] port = '0x50'", NULL);
	expect_config_error(*state, "[slot 0]\n", "station.ini:1: [slot 0]",
	    NULL);
}

static void
test_bad_enum_lists_choices(void **state)
{
	expect_config_error(*state, "\n[profile p]\nchain = partial\n",
	    "station.ini:3: [profile p] chain = 'partial': expected one of: "
	    "full, ca, none",
	    NULL);
	/* The old forms say what to write instead. */
	expect_config_error(*state, "[profile p]\nchain = root\n",
	    "station.ini:2: [profile p] chain = 'root'",
	    "use chain = full (intermediates and root) or chain = ca", NULL);
	expect_config_error(*state, "[profile p]\nchain = intermediate+root\n",
	    "station.ini:2: [profile p] chain = 'intermediate+root'",
	    "now written chain = full", NULL);
	/* A CA certificate's usage cannot be allowed, nor eku widened past
	 * what the station asks for. */
	expect_config_error(*state,
	    "[profile p]\nallow_key_usage = keyCertSign\n",
	    "station.ini:2:", "allow_key_usage",
	    "digitalSignature, nonRepudiation, keyEncipherment, "
	    "dataEncipherment, keyAgreement, or none",
	    NULL);
	expect_config_error(*state, "[profile p]\neku = codeSigning\n",
	    "station.ini:2:", "clientAuth, serverAuth, or none", NULL);
	expect_config_error(*state,
	    "[profile p]\nallow_ext_key_usage = serverAuth,1.2.3\n",
	    "station.ini:2:", "allow_ext_key_usage", NULL);
	expect_config_error(*state,
	    "[profile p]\nkey_usage = digitalSignature,"
	    "nonRepudiation\n",
	    "station.ini:2:", "key_usage", NULL);
	expect_config_error(*state, "[profile p]\neku = none,clientAuth\n",
	    "station.ini:2:", "eku", NULL);
	expect_config_error(*state, "[ca]\nbackend = openssl\n",
	    "station.ini:2: [ca] backend = 'openssl'",
	    "local, vault, cfssl, "
	    "hub",
	    NULL);
}

/* Typed keys of [station] and [broker]: each limit and list named. */
static void
test_typed_keys_name_their_limits(void **state)
{
	struct config *cfg;

	expect_config_error(*state, "[station]\nstep_timeout_ms = 0\n",
	    "station.ini:2: [station] step_timeout_ms = '0': expected an "
	    "integer 1..3600000",
	    NULL);
	expect_config_error(*state, "[station]\nstep_timeout_ms = 3600001\n",
	    "1..3600000", NULL);
	expect_config_error(*state, "[station]\nclock_skew_s = 0\n",
	    "station.ini:2: [station] clock_skew_s = '0': expected an "
	    "integer 1..86400",
	    NULL);
	expect_config_error(*state, "[broker]\nport = 65536\n",
	    "station.ini:2: [broker] port = '65536': expected an integer "
	    "1..65535",
	    NULL);
	expect_config_error(*state, "[station]\nlog_level = loud\n",
	    "station.ini:2: [station] log_level = 'loud': expected one of: "
	    "error, warn, info, debug",
	    NULL);
	expect_config_error(*state, "[station]\nserial_checksum = crc\n",
	    "expected one of: none, luhn", NULL);
	expect_config_error(*state, "[station]\nhome =\n",
	    "station.ini:2: [station] home = '': expected a non-empty value",
	    NULL);
	cfg = load_ok(*state,
	    "[station]\nlog_level = debug\n"
	    "step_timeout_ms = 3600000\nserial_checksum = luhn\n"
	    "[broker]\nhost = b\nport = 1\nca = x.pem\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->step_timeout_ms, 3600000);
	assert_int_equal(cfg->serial_checksum, 1);
	assert_int_equal(cfg->broker.port, 1);
	config_free(cfg);
}

static void
test_duplicate_key_names_both_lines(void **state)
{
	expect_config_error(*state,
	    "[profile default]\nvalidity_days = 30\nkey = ec-p256\n"
	    "validity_days = 60\n",
	    "station.ini:4: [profile default] key 'validity_days': duplicate "
	    "key (first set on line 2",
	    NULL);
}

static void
test_duplicate_profile_and_section(void **state)
{
	expect_config_error(*state,
	    "[profile a]\nslot = 1\n[profile b]\n[profile a]\n",
	    "station.ini:4: [profile a]: duplicate profile (first defined on "
	    "line 1)",
	    NULL);
	expect_config_error(*state, "[station]\n[ca]\n[station]\n",
	    "station.ini:3: [station]: duplicate section", NULL);
}

/* A slot naming a profile that does not exist: the slot's line. */
static void
test_slot_with_unknown_profile(void **state)
{
	expect_config_error(*state,
	    "[profile default]\n\n[slot 1]\ndevice = tcp:127.0.0.1:1\n"
	    "profile = defualt\n",
	    "station.ini:3: [slot 1] profile = 'defualt': no such profile",
	    NULL);
	expect_config_error(*state, "[slot 2]\nprofile = default\n",
	    "station.ini:1: [slot 2] key 'device': missing", NULL);
}

/* A template error is found at load time, on the template's line. */
static void
test_bad_template_reference(void **state)
{
	expect_config_error(*state,
	    "[profile default]\nsubject = CN=${serail}\n",
	    "station.ini:2: [profile default] subject = 'CN=${serail}'",
	    "${serail}", NULL);
	expect_config_error(*state,
	    "[profile default]\nsan_dns = ${serial.example.com\n",
	    "station.ini:2:", "unterminated", NULL);
	/* ${cn} is for topics only */
	expect_config_error(*state, "[profile default]\nsan_uri = urn:${cn}\n",
	    "station.ini:2:", "${cn}", NULL);
}

static void
test_subject_that_is_not_a_dn(void **state)
{
	expect_config_error(*state,
	    "[profile default]\nsubject = CN=${serial},Org=Example\n",
	    "station.ini:2: [profile default] subject",
	    "not a valid subject DN", NULL);
	expect_config_error(*state,
	    "[profile default]\nsubject = C=USA,CN=${serial}\n",
	    "station.ini:2:", "two-letter country code", NULL);
}

static void
test_world_writable_file_refused(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = NULL;
	char *cause = NULL;

	write_ini(fx, "[station]\nid = a\n", 0666);
	assert_int_equal(config_load(fx->path, &cfg, &cause), ST_E_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(cause, "station.ini"));
	assert_non_null(strstr(cause, "world-writable"));
	free(cause);
	cause = NULL;
	assert_int_equal(chmod(fx->path, 0640), 0);
	assert_int_equal(config_load(fx->path, &cfg, &cause), ST_OK);
	config_free(cfg);
}

static void
test_missing_file_is_io_error(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = NULL;
	char *cause = NULL;

	assert_int_equal(config_load(fx->path, &cfg, &cause), ST_E_IO);
	assert_non_null(strstr(cause, fx->path));
	free(cause);
}

static void
test_bad_station_id(void **state)
{
	expect_config_error(*state, "[station]\nid = st 01\n",
	    "station.ini:2: [station] id = 'st 01'", NULL);
	expect_config_error(*state,
	    "[station]\nid = a23456789012345678901234567890123\n",
	    "station.ini:2:", "1..32", NULL);
}

/* Lines inih cannot read, keys before any section, overlong lines. */
static void
test_syntax_errors_name_their_line(void **state)
{
	char big[400];

	expect_config_error(*state, "[station]\nid = a\njust words\n",
	    "station.ini:3: expected 'key = value'", NULL);
	expect_config_error(*state, "id = a\n[station]\n",
	    "station.ini:1: key 'id' outside any section", NULL);
	expect_config_error(*state, "[station\nid = a\n",
	    "station.ini:1: section header without ']'", NULL);
	snprintf(big, sizeof big, "[station]\n; %0300d\n", 0);
	expect_config_error(*state, big, "station.ini:2: line longer than",
	    NULL);
}

/* With several errors, the first one in the file is the one reported. */
static void
test_first_error_wins(void **state)
{
	expect_config_error(*state,
	    "[station]\nid = a\nnot a key line\n[bogus]\n",
	    "station.ini:3:", NULL);
	expect_config_error(*state, "[station]\nidd = a\nnot a key line\n",
	    "station.ini:2:", "'idd'", NULL);
}

/*
 * A template some serials can never satisfy is refused at load, at the
 * key's line, saying how to fix it; a serial_pattern that visibly keeps
 * '_' out (before or after the profile) lets the same profile load.
 */
static void
test_serial_alphabet_checked_against_templates(void **state)
{
	static const char *const profile =
	    "[profile p]\nsubject = C=US,CN=${serial},serialNumber=${serial}\n";
	char *text;

	expect_config_error(*state, profile,
	    "station.ini:2:", "[profile p] subject", "serials may contain '_'",
	    "serialNumber", "PrintableString", "serial_pattern", "UTF8String",
	    NULL);
	text = xasprintf("[station]\nserial_pattern = [A-z0-9]+\n%s", profile);
	expect_config_error(*state, text,
	    "station.ini:4:", "serial_pattern '[A-z0-9]+' does not exclude it",
	    NULL);
	free(text);
	text =
	    xasprintf("%s[station]\nserial_pattern = SN-[0-9]{6}\n", profile);
	config_free(load_ok(*state, text));
	free(text);
	/* A DNS SAN holds no '_' either. */
	expect_config_error(*state,
	    "[profile p]\nsan_dns = ${serial}.example.com\n",
	    "station.ini:2:", "[profile p] san_dns", "cannot go into DNS SAN",
	    NULL);
	/* CN is a UTF8String: every serial fits. */
	config_free(load_ok(*state,
	    "[profile p]\nsubject = CN=${serial}\n"
	    "san_uri = urn:x:${serial}\n"));
}

/* Literal text and the station id are checked for their place too. */
static void
test_station_text_checked_for_its_place(void **state)
{
	expect_config_error(*state,
	    "[profile p]\nsubject = O=Acme;Evil,CN=${serial}\n",
	    "station.ini:2:", "the text 'Acme;Evil' cannot go into O: ';'",
	    NULL);
	expect_config_error(*state,
	    "[station]\nid = st_1\n[profile p]\nsan_dns = ${station}.x.com\n",
	    "station.ini:4:", "[station] id 'st_1' cannot go into DNS SAN",
	    NULL);
	expect_config_error(*state, "[profile p]\ntopic = factory/+/${cn}\n",
	    "station.ini:2:", "'+' is not allowed in a topic", NULL);
	expect_config_error(*state,
	    "[profile p]\nsan_uri = urn:x:${serial} y\n",
	    "station.ini:2:", "cannot go into URI SAN", NULL);
	/* The subject's attributes are split once, at load. */
	struct config *cfg = load_ok(*state,
	    "[profile p]\nsubject = C=DE,O=${model},CN=${serial}\n");
	const struct profile *p = config_profile(cfg, "p");
	assert_int_equal(p->n_subject_parts, 3);
	assert_string_equal(p->subject_parts[1].attr, "O");
	assert_string_equal(p->subject_parts[1].value, "${model}");
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_unknown_key_names_line_and_key),
		T(test_unknown_section_names_line),
		T(test_bad_integer_names_line_and_range),
		T(test_bad_enum_lists_choices),
		T(test_typed_keys_name_their_limits),
		T(test_duplicate_key_names_both_lines),
		T(test_duplicate_profile_and_section),
		T(test_slot_with_unknown_profile),
		T(test_bad_template_reference),
		T(test_subject_that_is_not_a_dn),
		T(test_world_writable_file_refused),
		T(test_missing_file_is_io_error),
		T(test_bad_station_id),
		T(test_syntax_errors_name_their_line),
		T(test_first_error_wins),
		T(test_serial_alphabet_checked_against_templates),
		T(test_station_text_checked_for_its_place),
#undef T
	};

	unsetenv("STATION_HOME");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
