/*
 * Configuration loading: the defaults, every value of a full file, paths
 * against home, profiles, the CA backends' settings and the file forms
 * editors write.  The errors a bad file gets are in test_config_errors.c.
 */
#include "station/ca/ca.h"
#include "tests/station/config/config_fixture.h"

/* The embedded defaults describe a working single-profile station. */
static void
test_defaults_are_sane(void **state)
{
	(void)state;
	struct config *cfg = config_default("/srv/station");

	assert_string_equal(cfg->station_id, "station-1");
	assert_string_equal(cfg->home, "/srv/station");
	assert_string_equal(cfg->ledger_path, "/srv/station/ledger.db");
	assert_string_equal(cfg->ca_backend, "local");
	assert_string_equal(cfg->ca_dir, "/srv/station/ca");
	assert_string_equal(cfg->ca_root, "/srv/station/ca/root.pem");
	assert_null(cfg->broker.host);
	assert_null(cfg->operator_id);
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	assert_int_equal(cfg->step_timeout_ms, 10000);
	assert_int_equal(cfg->clock_skew_s, 300);
	assert_int_equal(cfg->n_profiles, 1);
	assert_int_equal(cfg->n_slots, 0);
	const struct profile *p = config_profile(cfg, "default");
	assert_non_null(p);
	assert_int_equal(p->validity_days, 365);
	assert_null(config_profile(cfg, "other"));
	assert_null(config_slot(cfg, 1));
	config_free(cfg);
	config_free(NULL);
}

/* Without an argument, home comes from $STATION_HOME, then ./var. */
static void
test_default_home_from_environment(void **state)
{
	(void)state;
	assert_int_equal(setenv("STATION_HOME", "/data/st", 1), 0);
	struct config *cfg = config_default(NULL);
	assert_string_equal(cfg->home, "/data/st");
	assert_string_equal(cfg->ledger_path, "/data/st/ledger.db");
	config_free(cfg);
	assert_int_equal(unsetenv("STATION_HOME"), 0);
	cfg = config_default(NULL);
	assert_string_equal(cfg->home, "./var");
	assert_string_equal(cfg->ca_root, "./var/ca/root.pem");
	config_free(cfg);
}

static const char full_ini[] =
    "; every key, none at its default\n"
    "[station]\n"
    "id = st-07\n"
    "home = /srv/st\n"
    "ledger = db/ledger.db\n"
    "operator = bob\n"
    "log_level = debug\n"
    "step_timeout_ms = 2500\n"
    "clock_skew_s = 90\n"
    "serial_pattern = SN-[0-9]{6}\n"
    "\n"
    "[ca]\n"
    "backend = local\n"
    "dir = /etc/st/ca\n"
    "root = pinned/root.pem   ; relative to home\n"
    "\n"
    "[broker]\n"
    "host = 127.0.0.1\n"
    "port = 18883\n"
    "ca = broker-ca.pem\n"
    "server_name = broker.test\n"
    "\n"
    "[profile gw]\n"
    "key = rsa-2048\n"
    "slot = 3\n"
    "subject = C=DE,O=${model},OU=${station},CN=${serial}\n"
    "san_dns = ${serial}.devices.example.com\n"
    "san_uri = urn:example:device:${serial}\n"
    "validity_days = 730\n"
    "key_usage = digitalSignature, keyEncipherment,keyAgreement\n"
    "eku = clientAuth,serverAuth\n"
    "allow_key_usage = nonRepudiation, dataEncipherment\n"
    "allow_ext_key_usage = codeSigning,anyExtendedKeyUsage\n"
    "chain = none\n"
    "reprovision = allow\n"
    "lock = yes\n"
    "smoke = required\n"
    "tls = 1.2\n"
    "topic = plant/${station}/${cn}\n"
    "\n"
    "[profile jitr]\n"
    "chain = ca\n"
    "eku = none\n"
    "\n"
    "[slot 2]\n"
    "device = uart:/dev/ttyUSB1\n"
    "profile = jitr\n"
    "[slot 1]\n"
    "device = tcp:127.0.0.1:4000\n"
    "profile = gw\n";

/* A file that sets every key is read into every field. */
static void
test_full_file_loads_every_value(void **state)
{
	struct config *cfg = load_ok(*state, full_ini);

	assert_string_equal(cfg->station_id, "st-07");
	assert_string_equal(cfg->home, "/srv/st");
	assert_string_equal(cfg->ledger_path, "/srv/st/db/ledger.db");
	assert_string_equal(cfg->operator_id, "bob");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->step_timeout_ms, 2500);
	assert_int_equal(cfg->clock_skew_s, 90);
	assert_string_equal(cfg->ca_backend, "local");
	assert_string_equal(cfg->ca_dir, "/etc/st/ca");
	assert_string_equal(cfg->ca_root, "/srv/st/pinned/root.pem");
	assert_string_equal(cfg->broker.host, "127.0.0.1");
	assert_int_equal(cfg->broker.port, 18883);
	assert_string_equal(cfg->broker.ca_file, "/srv/st/broker-ca.pem");
	assert_string_equal(cfg->broker.server_name, "broker.test");

	assert_int_equal(cfg->n_profiles, 2);
	assert_null(config_profile(cfg, "default")); /* only the file's */
	const struct profile *p = config_profile(cfg, "gw");
	assert_non_null(p);
	assert_string_equal(p->name, "gw");
	assert_int_equal(p->key_alg, KEY_ALG_RSA_2048);
	assert_int_equal(p->key_slot, 3);
	assert_string_equal(p->subject_template,
	    "C=DE,O=${model},OU=${station},CN=${serial}");
	assert_string_equal(p->san_dns_templates[0],
	    "${serial}.devices.example.com");
	assert_null(p->san_dns_templates[1]);
	assert_string_equal(p->san_uri_templates[0],
	    "urn:example:device:${serial}");
	assert_null(p->san_uri_templates[1]);
	assert_int_equal(p->validity_days, 730);
	assert_int_equal(p->key_usage,
	    PROFILE_KU_DIGITAL_SIGNATURE | PROFILE_KU_KEY_ENCIPHERMENT |
		PROFILE_KU_KEY_AGREEMENT);
	assert_true(p->eku_client_auth);
	assert_true(p->eku_server_auth);
	assert_int_equal(p->chain, CHAIN_NONE);
	assert_int_equal(p->allow_key_usage,
	    PROFILE_KU_NON_REPUDIATION | PROFILE_KU_DATA_ENCIPHERMENT);
	assert_int_equal(p->allow_eku,
	    PROFILE_EKU_CODE_SIGNING | PROFILE_EKU_ANY);
	assert_int_equal(p->reprovision, REPROVISION_ALLOW);
	assert_true(p->lock);
	assert_true(p->smoke_required);
	assert_int_equal(p->tls_min_version, 12);
	assert_string_equal(p->topic_template, "plant/${station}/${cn}");

	p = config_profile(cfg, "jitr");
	assert_non_null(p);
	assert_int_equal(p->chain, CHAIN_CA);
	assert_int_equal(p->allow_key_usage, 0); /* nothing extra allowed */
	assert_int_equal(p->allow_eku, 0);
	assert_false(p->eku_client_auth);
	assert_false(p->eku_server_auth);
	assert_int_equal(p->validity_days, 365); /* unset keys: defaults */

	/* Slots come out in slot order, whatever the file order. */
	assert_int_equal(cfg->n_slots, 2);
	assert_int_equal(cfg->slots[0].index, 1);
	assert_string_equal(cfg->slots[0].device, "tcp:127.0.0.1:4000");
	assert_string_equal(cfg->slots[0].profile, "gw");
	const struct config_slot *s = config_slot(cfg, 2);
	assert_non_null(s);
	assert_string_equal(s->device, "uart:/dev/ttyUSB1");
	assert_string_equal(s->profile, "jitr");
	config_free(cfg);
}

/* The example shipped in fixtures/ is valid and says what it documents. */
static void
test_fixture_example_loads(void **state)
{
	(void)state;
	const char *src = getenv("STATION_SRCDIR");
	struct config *cfg = NULL;
	char *cause = NULL, path[512];

	snprintf(path, sizeof path, "%s/fixtures/station.ini", src ? src : ".");
	if (config_load(path, &cfg, &cause) != ST_OK)
		fail_msg("%s", cause);
	assert_string_equal(cfg->station_id, "st-01");
	assert_string_equal(cfg->ledger_path, "./var/ledger.db");
	assert_string_equal(cfg->ca_root, "./var/ca/root.pem");
	assert_string_equal(cfg->operator_id, "alice");
	assert_string_equal(cfg->broker.server_name, "localhost");
	assert_string_equal(cfg->broker.ca_file, "./var/broker-ca.pem");
	const struct profile *p = config_profile(cfg, "default");
	assert_non_null(p);
	assert_string_equal(p->subject_template,
	    "C=US,O=Example-Org,OU=IoT-Device,CN=${serial}");
	assert_int_equal(cfg->n_slots, 1);
	assert_string_equal(cfg->slots[0].device, "tcp:127.0.0.1:4000");
	config_free(cfg);
}

/* san_dns and san_uri may be given several times; order is kept. */
static void
test_repeated_san_keys_accumulate(void **state)
{
	struct config *cfg = load_ok(*state,
	    "[station]\nserial_pattern = [A-Za-z0-9.-]+\n"
	    "[profile default]\n"
	    "san_dns = ${serial}.a.example.com\n"
	    "san_dns = ${serial}.b.example.com\n"
	    "san_uri = urn:x:${serial}\n"
	    "san_dns = ${model}.c.example.com\n"
	    "san_uri = urn:y:${station}\n");
	const struct profile *p = config_profile(cfg, "default");

	assert_string_equal(p->san_dns_templates[0], "${serial}.a.example.com");
	assert_string_equal(p->san_dns_templates[1], "${serial}.b.example.com");
	assert_string_equal(p->san_dns_templates[2], "${model}.c.example.com");
	assert_null(p->san_dns_templates[3]);
	assert_string_equal(p->san_uri_templates[0], "urn:x:${serial}");
	assert_string_equal(p->san_uri_templates[1], "urn:y:${station}");
	assert_null(p->san_uri_templates[2]);
	config_free(cfg);
}

/* Relative paths join home; absolute ones stay; home may be relative. */
static void
test_relative_paths_resolved_against_home(void **state)
{
	struct config *cfg = load_ok(*state,
	    "[station]\n"
	    "home = state/\n"
	    "ledger = /var/lib/st/ledger.db\n"
	    "[ca]\n"
	    "dir = keys/ca\n");

	assert_string_equal(cfg->home, "state/");
	assert_string_equal(cfg->ledger_path, "/var/lib/st/ledger.db");
	assert_string_equal(cfg->ca_dir, "state/keys/ca");
	assert_string_equal(cfg->ca_root, "state/keys/ca/root.pem");
	config_free(cfg);
}

/* A file without a home takes $STATION_HOME. */
static void
test_home_from_environment_when_file_has_none(void **state)
{
	assert_int_equal(setenv("STATION_HOME", "/data/h", 1), 0);
	struct config *cfg = load_ok(*state, "[station]\nid = a\n");
	assert_int_equal(unsetenv("STATION_HOME"), 0);

	assert_string_equal(cfg->home, "/data/h");
	assert_string_equal(cfg->ledger_path, "/data/h/ledger.db");
	config_free(cfg);
}

/* No profile section: the built-in default exists; slots default to it;
 * an empty [profile x] section still defines profile x. */
static void
test_default_profile_and_empty_sections(void **state)
{
	struct config *cfg =
	    load_ok(*state, "[slot 4]\ndevice = tcp:127.0.0.1:4004\n");

	assert_int_equal(cfg->n_profiles, 1);
	assert_non_null(config_profile(cfg, "default"));
	assert_string_equal(config_slot(cfg, 4)->profile, "default");
	config_free(cfg);

	cfg = load_ok(*state, "[profile spare]\n; nothing yet\n");
	assert_int_equal(cfg->n_profiles, 1);
	assert_non_null(config_profile(cfg, "spare"));
	assert_null(config_profile(cfg, "default"));
	config_free(cfg);
}

/* The clock checks (defaults, words, skew range) and the server trust
 * keys (path resolved against home, HOST:PORT checked). */
static void
test_clock_and_server_trust_keys(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = load_ok(fx, "[station]\nid = a\n");
	const struct profile *p;

	assert_int_equal(cfg->clock_ca_date, CLOCK_CHECK_REQUIRE);
	assert_int_equal(cfg->clock_broker_cert, CLOCK_CHECK_REQUIRE);
	assert_int_equal(cfg->clock_ntp_sync, CLOCK_CHECK_WARN);
	assert_int_equal(cfg->clock_skew_s, 300);
	config_free(cfg);
	cfg = load_ok(fx,
	    "[station]\nhome = /h\nclock_ca_date = off\n"
	    "clock_ntp_sync = require\nclock_skew_s = 60\n"
	    "[profile default]\nserver_ca = cloud.pem\n"
	    "endpoint = mqtt.example.com:8883\n");
	assert_int_equal(cfg->clock_ca_date, CLOCK_CHECK_OFF);
	assert_int_equal(cfg->clock_ntp_sync, CLOCK_CHECK_REQUIRE);
	assert_int_equal(cfg->clock_skew_s, 60);
	p = config_profile(cfg, "default");
	assert_string_equal(p->server_ca, "/h/cloud.pem");
	assert_string_equal(p->endpoint_host, "mqtt.example.com");
	assert_int_equal(p->endpoint_port, 8883);
	config_free(cfg);
	expect_config_error(fx, "[station]\nclock_broker_cert = maybe\n",
	    "station.ini:2: [station] clock_broker_cert = 'maybe': expected "
	    "one of: off, warn, require",
	    NULL);
	expect_config_error(fx, "[station]\nclock_skew_s = 0\n", "clock_skew_s",
	    "1..86400", NULL);
	expect_config_error(fx, "[profile default]\nendpoint = host\n",
	    "expected HOST:PORT", NULL);
	expect_config_error(fx, "[profile default]\nendpoint = a b:1\n",
	    "expected HOST:PORT", NULL);
	expect_config_error(fx, "[profile default]\nendpoint = host:70000\n",
	    "expected HOST:PORT", NULL);
}

/* The remote backends' keys reach ca_open as settings, credential and
 * bundle paths resolved against home; a secret pasted where the name of
 * an environment variable belongs, a bad number or an unknown key is a
 * load-time error. */
static void
test_remote_ca_keys_become_settings(void **state)
{
	struct config *cfg = load_ok(*state,
	    "[station]\nhome = /srv/st\n"
	    "[ca]\nbackend = vault\naddr = https://vault.example:8200\n"
	    "role = device\nmount = pki_int\ntoken_file = vault.token\n"
	    "ca_bundle = /etc/ssl/vault-ca.pem\ntimeout_ms = 5000\n"
	    "retries = 0\nroot = ca/root.pem\n");
	struct ca_settings s = { .extra = cfg->ca_extra };

	assert_string_equal(cfg->ca_backend, "vault");
	assert_string_equal(ca_settings_get(&s, "addr"),
	    "https://vault.example:8200");
	assert_string_equal(ca_settings_get(&s, "mount"), "pki_int");
	assert_string_equal(ca_settings_get(&s, "token_file"),
	    "/srv/st/vault.token");
	assert_string_equal(ca_settings_get(&s, "ca_bundle"),
	    "/etc/ssl/vault-ca.pem");
	assert_string_equal(ca_settings_get(&s, "retries"), "0");
	assert_null(ca_settings_get(&s, "namespace"));
	config_free(cfg);

	expect_config_error(*state,
	    "[ca]\nbackend = vault\n"
	    "token_env = s.AbCdEf123\n",
	    "station.ini:3: [ca] key "
	    "'token_env'",
	    "name of an environment variable", NULL);
	expect_config_error(*state, "[ca]\ntimeout_ms = 0\n",
	    "station.ini:2:", "timeout_ms", NULL);
	expect_config_error(*state, "[ca]\nretries = 11\n",
	    "station.ini:2:", "retries", NULL);
	expect_config_error(*state, "[ca]\ntoken = s.AbCdEf\n",
	    "station.ini:2:", "'token'", "unknown key", NULL);
}

/* [ca] takes exactly the keys of the CA backend table: each backend by
 * name, each key with a value of its type; file keys are resolved
 * against home, others kept as written; a key given twice names both
 * lines like any other key. */
static void
test_ca_keys_come_from_the_backend_table(void **state)
{
	struct config *cfg;
	struct ca_settings s;
	char text[512];
	const char *value;

	for (size_t i = 0; ca_backend_name(i) != NULL; i++) {
		snprintf(text, sizeof text, "[ca]\nbackend = %s\n",
		    ca_backend_name(i));
		cfg = load_ok(*state, text);
		assert_string_equal(cfg->ca_backend, ca_backend_name(i));
		config_free(cfg);
	}
	for (size_t i = 0; ca_key_at(i) != NULL; i++) {
		const struct ca_key *k = ca_key_at(i);

		switch (k->type) {
		case CA_KEY_INT:
			value = k->min == 0 ? "0" : "1";
			break;
		case CA_KEY_ENV_NAME:
			value = "SOME_VAR";
			break;
		case CA_KEY_PKCS11_URI:
			value = "pkcs11:token=t;object=o";
			break;
		case CA_KEY_URL:
		case CA_KEY_CRL_URL:
			value = "http://pki.example/crl/x.crl";
			break;
		default:
			value = "rel/x";
			break;
		}
		snprintf(text, sizeof text,
		    "[station]\nhome = /srv/st\n"
		    "[ca]\n%s = %s\n",
		    k->name, value);
		cfg = load_ok(*state, text);
		s = (struct ca_settings){ .extra = cfg->ca_extra };
		if (k->type == CA_KEY_PATH)
			assert_string_equal(ca_settings_get(&s, k->name),
			    "/srv/st/rel/x");
		else
			assert_string_equal(ca_settings_get(&s, k->name),
			    value);
		config_free(cfg);
	}
	expect_config_error(*state,
	    "[ca]\naddr = https://a\nrole = r\n"
	    "addr = https://b\n",
	    "station.ini:4: [ca] key 'addr': "
	    "duplicate key (first set on line 2)",
	    NULL);
}

/* The in-memory loader applies the same rules as the file loader and
 * names the buffer in its messages. */
static void
test_load_buffer_same_rules_as_file(void **state)
{
	(void)state;
	static const char good[] = "[station]\nid = st-9\n";
	static const char bad[] = "[station]\nid = a\0b\n";
	struct config *cfg = NULL;
	char *cause = NULL;

	assert_int_equal(config_load_buffer("mem.ini", good, sizeof good - 1,
			     &cfg, &cause),
	    ST_OK);
	assert_string_equal(cfg->station_id, "st-9");
	assert_string_equal(cfg->path, "mem.ini");
	assert_int_equal(cfg->n_profiles, 1);
	config_free(cfg);
	assert_int_equal(config_load_buffer("mem.ini", bad, sizeof bad - 1,
			     &cfg, &cause),
	    ST_E_CONFIG);
	assert_null(cfg);
	assert_non_null(strstr(cause, "mem.ini:2: NUL byte"));
	free(cause);
	assert_int_equal(config_load_buffer("empty.ini", "", 0, &cfg, NULL),
	    ST_OK);
	config_free(cfg);
}

/* An indented line continues a value (inih's rule); for a key that is not
 * repeatable the error says so. */
static void
test_indented_continuation(void **state)
{
	struct config *cfg = load_ok(*state,
	    "[profile default]\nsan_dns = a.example.com\n"
	    "  b.example.com\n");
	const struct profile *p = config_profile(cfg, "default");

	assert_string_equal(p->san_dns_templates[1], "b.example.com");
	config_free(cfg);
	expect_config_error(*state, "[station]\nid = a\n  b\n",
	    "station.ini:3:", "indented line continues", NULL);
}

/* Files saved by Windows editors (byte order mark, CRLF) load as well. */
static void
test_bom_and_crlf_accepted(void **state)
{
	struct config *cfg = load_ok(*state,
	    "\xEF\xBB\xBF[station]\r\nid = st-09\r\n\r\n"
	    "[profile default]\r\nvalidity_days = 90\r\n");

	assert_string_equal(cfg->station_id, "st-09");
	assert_int_equal(config_profile(cfg, "default")->validity_days, 90);
	config_free(cfg);
}

/* smoke = required is the default of a profile when a broker is
 * configured (in the file or by --broker), and not otherwise; what a
 * profile says itself stays. */
static void
test_smoke_required_by_default_with_a_broker(void **state)
{
	struct fx *fx = *state;
	struct config *cfg;
	char *cause = NULL;

	cfg = load_ok(fx,
	    "[broker]\nhost = b.example\nca = b.pem\n"
	    "[profile a]\n[profile b]\nsmoke = optional\n");
	assert_int_equal(config_profile(cfg, "a")->smoke_required, 1);
	assert_int_equal(config_profile(cfg, "b")->smoke_required, 0);
	config_free(cfg);

	cfg = load_ok(fx, "[profile a]\n[profile b]\nsmoke = required\n");
	assert_int_equal(config_profile(cfg, "a")->smoke_required, 0);
	assert_int_equal(config_profile(cfg, "b")->smoke_required, 1);
	assert_int_equal(config_override_broker(cfg, "127.0.0.1:8883", "b.pem",
			     &cause),
	    ST_OK);
	assert_int_equal(config_profile(cfg, "a")->smoke_required, 1);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_sane),
		cmocka_unit_test(test_default_home_from_environment),
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_full_file_loads_every_value),
		T(test_fixture_example_loads),
		T(test_repeated_san_keys_accumulate),
		T(test_relative_paths_resolved_against_home),
		T(test_home_from_environment_when_file_has_none),
		T(test_default_profile_and_empty_sections),
		T(test_clock_and_server_trust_keys),
		T(test_remote_ca_keys_become_settings),
		T(test_ca_keys_come_from_the_backend_table),
		T(test_load_buffer_same_rules_as_file),
		T(test_indented_continuation),
		T(test_bom_and_crlf_accepted),
		T(test_smoke_required_by_default_with_a_broker),
#undef T
	};

	unsetenv("STATION_HOME");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
