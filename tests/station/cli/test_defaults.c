/*
 * Defaults that cannot surprise, through the real program: with no
 * configuration anywhere (--config, $STATION_CONFIG, /etc/station/
 * station.ini) the station refuses with exit 3 and creates nothing; only
 * the explicit demo mode (--demo, STATION_DEMO=1) runs on the embedded
 * defaults, and then its output says so; $STATION_CONFIG is read; the
 * missing local CA's advice names the configuration's file and CA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "station/config/config.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/station_home.h"

static const char *
station_bin(void)
{
	return test_bin("STATION_BIN", "build/bin/station");
}

/* The environment of a station started by hand on a machine with no
 * configuration: STATION_HOME = `home`, no demo, no STATION_CONFIG. */
static void
plain_env(const char *home)
{
	unsetenv("STATION_DEMO");
	unsetenv("STATION_CONFIG");
	setenv("STATION_HOME", home, 1);
}

/* No configuration anywhere: every command that needs one exits 3 with a
 * message naming the places tried and the ways to start, and no home, no
 * ledger and no CA appear. */
static void
test_no_configuration_is_exit_3_and_creates_nothing(void **state)
{
	char *dir = scratch_dir();
	char *home = xasprintf("%s/var", dir);
	const char *prov[] = { station_bin(), "provision", "tcp:127.0.0.1:1",
		"--serial", "SN-1", NULL };
	const char *list[] = { station_bin(), "ledger", "list", NULL };
	const char *init[] = { station_bin(), "ca", "init", NULL };
	const char *const *cmds[] = { prov, list, init };
	struct proc_out o = { 0 };
	struct stat sb;

	(void)state;
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0) {
		/* this machine has a station installed: nothing to prove */
		skip();
		return;
	}
	plain_env(home);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		assert_int_equal(proc_run(cmds[i], NULL, 30000, &o), 3);
		assert_non_null(strstr(o.err, "no configuration"));
		assert_non_null(strstr(o.err, CONFIG_DEFAULT_PATH));
		assert_non_null(strstr(o.err, "$STATION_CONFIG"));
		assert_non_null(strstr(o.err, "--config FILE"));
		assert_non_null(strstr(o.err, "station --demo"));
		proc_out_clear(&o);
	}
	assert_int_equal(stat(home, &sb), -1);
	unsetenv("STATION_HOME");
	scratch_rmtree(dir);
	free(home);
	free(dir);
}

/* Demo mode, by option or by environment, runs on the embedded defaults
 * (a TEST CA made on the spot) and its text output says so; a PASS
 * without a broker says it had no smoke test; --demo with --config is a
 * usage error. */
static void
test_demo_mode_says_so(void **state)
{
	const char *dev_args[] = { "--serial", "SN-DEMO-1", NULL };
	struct devsim_proc *d = devsim_proc_start(dev_args);
	char *dir = scratch_dir();
	char *ini = scratch_write(dir, "station.ini", "[station]\n", 0600);
	const char *both[] = { station_bin(), "--demo", "--config", ini,
		"ledger", "list", NULL };
	struct proc_out o = { 0 };

	(void)state;
	assert_non_null(d);
	plain_env(dir);
	const char *prov[] = { station_bin(), "--demo", "provision", d->uri,
		"--serial", "SN-DEMO-1", "--quiet", NULL };
	assert_int_equal(proc_run(prov, NULL, 60000, &o), 0);
	assert_non_null(strstr(o.out, "DEMO: TEST CA, no broker\n"));
	assert_non_null(strstr(o.out, "PASS (no smoke test)  SN-DEMO-1"));
	proc_out_clear(&o);

	/* STATION_DEMO=1 is the same mode (what make demo sets). */
	setenv("STATION_DEMO", "1", 1);
	const char *again[] = { station_bin(), "provision", d->uri, "--serial",
		"SN-DEMO-1", "--quiet", NULL };
	assert_int_equal(proc_run(again, NULL, 60000, &o), 0);
	assert_non_null(strstr(o.out, "DEMO: TEST CA, no broker\n"));
	proc_out_clear(&o);

	assert_int_equal(proc_run(both, NULL, 30000, &o), 2);
	assert_non_null(strstr(o.err, "give one of them"));
	proc_out_clear(&o);
	unsetenv("STATION_DEMO");
	unsetenv("STATION_HOME");
	devsim_proc_stop(d);
	scratch_rmtree(dir);
	free(ini);
	free(dir);
}

/* $STATION_CONFIG is the configuration when --config is not given; one
 * that names no file is exit 3 naming it. */
static void
test_station_config_environment(void **state)
{
	struct station_home *h = station_home_new("home");
	char *gone = xasprintf("%s/nosuch.ini", h->dir);
	const char *list[] = { station_bin(), "ledger", "list", NULL };
	struct proc_out o = { 0 };

	(void)state;
	station_home_config(h, NULL, NULL);
	plain_env(h->dir); /* not the configured home: the file's wins */
	setenv("STATION_CONFIG", h->config, 1);
	assert_int_equal(proc_run(list, NULL, 30000, &o), 0);
	assert_string_equal(o.err, "");
	proc_out_clear(&o);

	setenv("STATION_CONFIG", gone, 1);
	assert_int_equal(proc_run(list, NULL, 30000, &o), 3);
	assert_non_null(strstr(o.err, "$STATION_CONFIG"));
	assert_non_null(strstr(o.err, gone));
	proc_out_clear(&o);
	unsetenv("STATION_CONFIG");
	unsetenv("STATION_HOME");
	free(gone);
	station_home_free(h);
}

/* A configured station whose local CA does not exist says which
 * directory and the exact command that creates it there. */
static void
test_missing_ca_advice_names_the_configured_ca(void **state)
{
	struct station_home *h = station_home_new("home");
	char *text = xasprintf("[station]\nhome = %s\n[ca]\ndir = line-ca\n"
			       "allow_test_ca = yes\n",
	    h->home);
	char *ini = station_home_write(h, "line.ini", text);
	char *ca = xasprintf("%s/line-ca", h->home);
	char *cmd = xasprintf("'station --config %s ca init'", ini);
	const char *prov[] = { station_bin(), "--config", ini, "provision",
		"tcp:127.0.0.1:1", "--serial", "SN-1", NULL };
	struct proc_out o = { 0 };

	(void)state;
	plain_env(h->dir);
	assert_int_equal(proc_run(prov, NULL, 30000, &o), 3);
	assert_non_null(strstr(o.err, ca));
	assert_non_null(strstr(o.err, cmd));
	proc_out_clear(&o);
	unsetenv("STATION_HOME");
	free(cmd);
	free(ca);
	free(ini);
	free(text);
	station_home_free(h);
}

/* A configured station whose CA directory holds a root but no usable
 * intermediate: the local CA's own advice names the configuration in
 * use, not a bare 'station ca init' (which would make ./var/ca). */
static void
test_broken_ca_advice_names_the_configuration(void **state)
{
	struct station_home *h = station_home_new("home");
	char *text = xasprintf("[station]\nhome = %s\n[ca]\ndir = line-ca\n"
			       "allow_test_ca = yes\n",
	    h->home);
	char *ini = station_home_write(h, "line.ini", text);
	char *ca = xasprintf("%s/line-ca", h->home);
	char *root = xasprintf("%s/root.pem", ca);
	char *cmd = xasprintf("'station --config %s ca init'", ini);
	const char *prov[] = { station_bin(), "--config", ini, "provision",
		"tcp:127.0.0.1:1", "--serial", "SN-1", NULL };
	struct proc_out o = { 0 };

	(void)state;
	assert_int_equal(mkdir(ca, 0700), 0);
	scratch_put(root, "not a certificate\n", 0644);
	plain_env(h->dir);
	assert_int_equal(proc_run(prov, NULL, 30000, &o), 3);
	assert_non_null(strstr(o.err, "opening the local CA in"));
	assert_non_null(strstr(o.err, ca));
	assert_non_null(strstr(o.err, cmd));
	proc_out_clear(&o);
	unsetenv("STATION_HOME");
	free(cmd);
	free(root);
	free(ca);
	free(ini);
	free(text);
	station_home_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_no_configuration_is_exit_3_and_creates_nothing),
		cmocka_unit_test(test_demo_mode_says_so),
		cmocka_unit_test(test_station_config_environment),
		cmocka_unit_test(
		    test_missing_ca_advice_names_the_configured_ca),
		cmocka_unit_test(test_broken_ca_advice_names_the_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
