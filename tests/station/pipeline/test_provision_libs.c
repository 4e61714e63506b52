/*
 * libcurl, libpq, ncurses, libserialport and libusb-1.0 are loaded on
 * first use (station/util/dlib.h), not linked, and the real `station`
 * program shows it:
 *
 *  - `station provision` on the local CA over tcp: loads none of them:
 *    the dynamic loader's own trace of the station process
 *    (LD_DEBUG=files into a file) names no libcurl, libpq, libncursesw or
 *    libtinfo (the screen's, ui/curses_lib.h), libserialport, libusb or
 *    libudev (libusb's), and does name libsqlite3 (the trace is real);
 *  - a station whose [fleet] url is set loads libpq at its start (same
 *    trace) and still PASSes while the fleet database is down
 *    (fleet = best-effort);
 *  - on a PC without libcurl4 (its file replaced by an empty one in a
 *    private mount namespace: `unshare --mount`, /dev/null bound over
 *    it), a station configured for Vault stops at its start, exit 3, the
 *    cause naming libcurl.so.4 and 'apt-get install libcurl4', no run
 *    recorded and the device untouched; the same for [fleet] and libpq5;
 *  - `station list-devices` without libserialport0 and libusb-1.0-0
 *    (the same namespace) says, for each kind of device, which library
 *    is missing and what to install, and exits 3; a `uart:` or `usb:`
 *    provision there is refused the same way as a missing libcurl4,
 *    before its run is recorded (transport_prepare).
 *    Skipped, saying so, where unshare cannot make a mount namespace.
 *
 * The loaded path against real servers: test_provision_remote_ca.c
 * (Vault, CFSSL, hub) and tests/fleet/test_fleet.c (PostgreSQL).
 */
#define _GNU_SOURCE /* dlinfo: where the loader finds a library */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <jansson.h>
#include <limits.h>
#include <link.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/loopback.h"
#include "tests/support/provision_env.h"
#include "tests/support/scratch.h"

struct libs_case {
	struct prov_env *env;
	struct devsim_proc *sim;
	char *trace; /* LD_DEBUG_OUTPUT directory */
};

static struct libs_case tc;

static int
setup(void **state)
{
	const char *args[] = { "--serial", "SN-LIBS-1", NULL };

	(void)state;
	tc.env = prov_env_new();
	tc.trace = scratch_dir();
	tc.sim = devsim_proc_start(args);
	assert_non_null(tc.sim);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	devsim_proc_stop(tc.sim);
	prov_env_free(tc.env);
	scratch_rmtree(tc.trace);
	free(tc.trace);
	memset(&tc, 0, sizeof tc);
	return 0;
}

/* `station provision <devsim> --json` with the dynamic loader tracing
 * the files it opens into tc.trace (one file per process); the exit
 * status, *out the loader's trace (all files, owned). */
static int
provision_traced(char **out)
{
	char *prefix = xasprintf("%s/ld", tc.trace);
	json_t *res;
	int status;
	DIR *d;
	struct dirent *de;
	char *all = xstrdup("");

	/* Only the station (a child) is traced: the test itself already
	 * started. */
	setenv("LD_DEBUG", "files", 1);
	setenv("LD_DEBUG_OUTPUT", prefix, 1);
	res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	unsetenv("LD_DEBUG");
	unsetenv("LD_DEBUG_OUTPUT");
	json_decref(res);
	d = opendir(tc.trace);
	assert_non_null(d);
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		char *path, *text, *grown;

		if (strncmp(de->d_name, "ld.", 3) != 0)
			continue;
		path = xasprintf("%s/%s", tc.trace, de->d_name);
		text = scratch_read(path);
		grown = xasprintf("%s%s", all, text ? text : "");
		free(all);
		all = grown;
		free(text);
		unlink(path);
		free(path);
	}
	closedir(d);
	free(prefix);
	*out = all;
	return status;
}

static void
assert_has(const char *text, const char *part)
{
	if (text == NULL || strstr(text, part) == NULL)
		fail_msg("does not say '%s':\n%s", part,
		    text ? text : "(null)");
}

static void
assert_lacks(const char *text, const char *part)
{
	if (text != NULL && strstr(text, part) != NULL)
		fail_msg("says '%s':\n%s", part, text);
}

static void
test_local_ca_tcp_provision_loads_no_optional_library(void **state)
{
	char *trace = NULL;

	(void)state;
	prov_env_config(tc.env, NULL, NULL);
	assert_int_equal(provision_traced(&trace), 0);
	/* The trace works: the station's linked libraries are in it. */
	assert_has(trace, "libsqlite3.so");
	assert_lacks(trace, "libcurl");
	assert_lacks(trace, "libpq");
	assert_lacks(trace, "libncursesw");
	assert_lacks(trace, "libtinfo");
	assert_lacks(trace, "libserialport");
	assert_lacks(trace, "libusb");
	assert_lacks(trace, "libudev");
	free(trace);
}

/* [fleet] with no database behind it, fleet = best-effort. */
static void
config_fleet_down(void)
{
	char *pw = prov_env_write(tc.env, "fleet.pw", "fleet-password-0001");
	char *rest = xasprintf("[fleet]\nurl = postgresql://st-libs@127.0.0.1:"
			       "%d/fleet\nca = %s/ca/root.pem\n"
			       "password_file = %s\n\n"
			       "[profile default]\nfleet = best-effort\n",
	    loopback_free_port(), tc.env->home, pw);

	prov_env_config(tc.env, "id = st-libs\n", rest);
	free(rest);
	free(pw);
}

static void
test_a_fleet_station_loads_libpq_and_not_libcurl(void **state)
{
	char *trace = NULL;

	(void)state;
	config_fleet_down();
	assert_int_equal(provision_traced(&trace), 0);
	assert_has(trace, "libpq.so.5");
	assert_lacks(trace, "libcurl");
	free(trace);
}

/* Where the loader finds `soname`, resolved to the file itself (owned). */
static char *
library_file(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	struct link_map *lm = NULL;
	char real[PATH_MAX];

	assert_non_null(h);
	assert_int_equal(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
	assert_non_null(realpath(lm->l_name, real));
	dlclose(h);
	return xstrdup(real);
}

/* The missing-library cases need a private mount namespace: skipped,
 * said out loud (so a skip is never read as a pass), where unshare
 * cannot make one. */
static void
skip_without_unshare(const char *package)
{
	const char *argv[] = { "unshare", "--mount", "sh", "-c",
		"mount --bind /dev/null /dev/null", NULL };
	struct proc_out o;
	int rc = proc_run(argv, NULL, 10000, &o);

	proc_out_clear(&o);
	if (rc == 0)
		return;
	fprintf(stderr,
	    "SKIP: unshare --mount does not work here (needs root and "
	    "util-linux): a missing %s is NOT tested end to end\n",
	    package);
	skip();
}

/* `station provision` on a PC without `soname`: in a private mount
 * namespace (unshare's default propagation is private: the host never
 * sees it) with /dev/null bound over the library's file.  Refused at
 * start, exit 3, the cause naming `soname` and `package`; no run
 * recorded, the device never connected to. */
static void
assert_uri_refused_without(const char *uri, const char *soname,
    const char *package)
{
	char *file = library_file(soname);
	const char *argv[] = { "unshare", "--mount", "sh", "-c",
		"mount --bind /dev/null \"$1\" && shift && exec \"$@\"", "sh",
		file, test_bin("STATION_BIN", "build/bin/station"), "--config",
		tc.env->config, "provision", uri, "--json", NULL };
	const char *list[] = { "ledger", "list", "--json", NULL };
	char *fix = xasprintf("'apt-get install %s'", package);
	char *state;
	struct proc_out o;

	assert_int_equal(proc_run_env(argv, tc.env->home, &o), 3);
	assert_has(o.err, soname);
	assert_has(o.err, "cannot be loaded ("); /* then dlerror()'s reason */
	assert_has(o.err, fix);
	proc_out_clear(&o);
	/* Outside the namespace the library is whole: the same station
	 * starts, and finds no run recorded and a blank device. */
	assert_int_equal(prov_station(tc.env, list, &o), 0);
	assert_lacks(o.out, "\"run_id\"");
	proc_out_clear(&o);
	if (strcmp(uri, tc.sim->uri) == 0) {
		state = prov_probe_state(tc.env, uri);
		assert_non_null(state);
		assert_string_equal(state, "blank");
		free(state);
	}
	free(fix);
	free(file);
}

static void
assert_refused_without(const char *soname, const char *package)
{
	assert_uri_refused_without(tc.sim->uri, soname, package);
}

static void
test_no_libcurl4_stops_a_vault_station_at_start(void **state)
{
	char *tok, *rest;

	(void)state;
	skip_without_unshare("libcurl4");
	prov_env_config(tc.env, NULL, NULL); /* the local CA: its root */
	tok = prov_env_write(tc.env, "vault.token", "hvs.libs-test-token");
	/* Nothing listens on the address: the station never gets that
	 * far. */
	rest = xasprintf("[ca]\nbackend = vault\naddr = https://127.0.0.1:%d\n"
			 "role = device\ntoken_file = %s\n"
			 "root = %s/ca/root.pem\n",
	    loopback_free_port(), tok, tc.env->home);
	prov_env_config(tc.env, NULL, rest);
	assert_refused_without("libcurl.so.4", "libcurl4");
	free(rest);
	free(tok);
}

static void
test_no_libpq5_stops_a_fleet_station_at_start(void **state)
{
	(void)state;
	skip_without_unshare("libpq5");
	config_fleet_down();
	assert_refused_without("libpq.so.5", "libpq5");
}

/* `station list-devices` with /dev/null bound over both libraries'
 * files: each kind of device names its missing library and the fix, and
 * with neither kind listed the station exits 3. */
static void
test_no_libserialport0_nor_libusb_in_list_devices(void **state)
{
	char *serial = library_file("libserialport.so.0");
	char *usb = library_file("libusb-1.0.so.0");
	const char *argv[] = { "unshare", "--mount", "sh", "-c",
		"mount --bind /dev/null \"$1\" && "
		"mount --bind /dev/null \"$2\" && shift 2 && exec \"$@\"",
		"sh", serial, usb, test_bin("STATION_BIN", "build/bin/station"),
		"list-devices", NULL };
	struct proc_out o;

	(void)state;
	skip_without_unshare("libserialport0 and libusb-1.0-0");
	assert_int_equal(proc_run_env(argv, tc.env->home, &o), 3);
	assert_has(o.err,
	    "serial ports: libserialport.so.0 cannot be loaded (");
	assert_has(o.err, "'apt-get install libserialport0'");
	assert_has(o.err, "USB devices: libusb-1.0.so.0 cannot be loaded (");
	assert_has(o.err, "'apt-get install libusb-1.0-0'");
	proc_out_clear(&o);
	free(usb);
	free(serial);
}

/* A `uart:` and a `usb:` request on a PC without the transport's
 * library: refused before the run is recorded, like the libraries the
 * configuration needs (no device behind these URIs: none is opened). */
static void
test_no_libserialport0_nor_libusb_refuses_the_request(void **state)
{
	(void)state;
	skip_without_unshare("libserialport0 and libusb-1.0-0");
	prov_env_config(tc.env, NULL, NULL);
	assert_uri_refused_without("uart:/dev/ttyS-station-none?baud=115200",
	    "libserialport.so.0", "libserialport0");
	assert_uri_refused_without("usb:1209:0001", "libusb-1.0.so.0",
	    "libusb-1.0-0");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_local_ca_tcp_provision_loads_no_optional_library,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_fleet_station_loads_libpq_and_not_libcurl, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_libcurl4_stops_a_vault_station_at_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_libpq5_stops_a_fleet_station_at_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_libserialport0_nor_libusb_in_list_devices, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_libserialport0_nor_libusb_refuses_the_request,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
