/*
 * [fleet] and the profile's fleet key (station/config/, docs/fleet.md):
 * what the loader accepts, resolves and refuses, from configuration text
 * in memory (config_load_buffer: the same parser as a file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/config/config.h"
#include "station/util/xalloc.h"

static struct config *
load(const char *text, st_err want, const char *cause_has)
{
	struct config *cfg = NULL;
	char *cause = NULL;
	st_err err =
	    config_load_buffer("t.ini", text, strlen(text), &cfg, &cause);

	if (err != want)
		fail_msg("load: %d (%s), wanted %d", err, cause ? cause : "",
		    want);
	if (cause_has != NULL && strstr(cause, cause_has) == NULL)
		fail_msg("cause '%s' does not say '%s'", cause, cause_has);
	free(cause);
	return cfg;
}

static void
test_fleet_section_is_read_and_resolved(void **state)
{
	struct config *cfg;

	(void)state;
	cfg = load("[station]\nid = line7-st1\nhome = /srv/st\n"
		   "[fleet]\nurl = postgresql://line7-st1@db.lan:5432/fleet\n"
		   "ca = fleet-ca.pem\npassword_file = fleet.pw\n"
		   "timeout_ms = 1500\n"
		   "[profile default]\nfleet = best-effort\n"
		   "[profile strict]\n",
	    ST_OK, NULL);
	assert_string_equal(cfg->fleet.url,
	    "postgresql://line7-st1@db.lan:5432/fleet");
	assert_string_equal(cfg->fleet.ca_file, "/srv/st/fleet-ca.pem");
	assert_string_equal(cfg->fleet.password_file, "/srv/st/fleet.pw");
	assert_null(cfg->fleet.password_env);
	assert_int_equal(cfg->fleet.timeout_ms, 1500);
	assert_int_equal(config_profile(cfg, "default")->fleet,
	    FLEET_BEST_EFFORT);
	/* Required unless the profile says otherwise. */
	assert_int_equal(config_profile(cfg, "strict")->fleet, FLEET_REQUIRED);
	config_free(cfg);
	/* No [fleet]: no fleet, and the default budget. */
	cfg = load("[station]\nid = s1\n", ST_OK, NULL);
	assert_null(cfg->fleet.url);
	assert_int_equal(cfg->fleet.timeout_ms, 3000);
	config_free(cfg);
}

static void
test_fleet_section_refusals(void **state)
{
	(void)state;
	/* A password in the URL, in either form, and never echoed. */
	load("[fleet]\nurl = postgresql://st:hunter2@db/fleet\nca = c.pem\n",
	    ST_E_CONFIG, "password_file");
	struct config *cfg = NULL;
	char *cause = NULL;
	const char *t = "[fleet]\nurl = postgres://st@db/f?password=hunter2\n"
			"ca = c.pem\n";
	assert_int_equal(config_load_buffer("t.ini", t, strlen(t), &cfg,
			     &cause),
	    ST_E_CONFIG);
	assert_null(strstr(cause, "hunter2"));
	free(cause);
	/* TLS is the station's business: verify-full, always. */
	load("[fleet]\nurl = postgresql://st@db/f?sslmode=disable\nca = c\n",
	    ST_E_CONFIG, "verify-full");
	/* The server is always verified: ca is required. */
	load("[fleet]\nurl = postgresql://st@db/fleet\n", ST_E_CONFIG,
	    "'ca': missing");
	load("[fleet]\nca = c.pem\n", ST_E_CONFIG, "'url': missing");
	load("[fleet]\nurl = mysql://st@db/fleet\nca = c.pem\n", ST_E_CONFIG,
	    "postgresql://");
	load("[fleet]\nurl = postgresql://st@db/f\nca = c\n"
	     "password_env = 1BAD\n",
	    ST_E_CONFIG, "environment variable");
	load("[fleet]\nurl = postgresql://st@db/f\nca = c\ntimeout_ms = 5\n",
	    ST_E_CONFIG, "100..60000");
	load("[profile default]\nfleet = sometimes\n", ST_E_CONFIG,
	    "required, best-effort");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet_section_is_read_and_resolved),
		cmocka_unit_test(test_fleet_section_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
