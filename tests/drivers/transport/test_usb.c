/*
 * usb: transport through the real libusb-1.0, against vendor bulk devices
 * modelled in a umockdev testbed (tests/support/usb_model.c).  The model
 * bridges the bulk pipe to a devsim process, so devsim's protocol code
 * answers.  The program re-executes itself under umockdev-wrapper.
 *
 * Devices: two of one model (cafe:4001) with serials SIM-USB-A at port
 * 1-1 and SIM-USB-B at port 1-2, each bridged to its own devsim; a third
 * device (cafe:4002) at 1-3.2, behind a hub at 1-3, that never answers.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/transport/transport.h"
#include "drivers/transport/usb.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/umockdev_env.h"
#include "tests/support/usb_model.h"

struct bed {
	UMockdevTestbed *tb;
	struct devsim_proc *sim_a, *sim_b;
	struct usb_model *a, *b, *hub, *silent;
};

static const struct usb_model_desc desc_a = { .vid = 0xcafe,
	.pid = 0x4001,
	.manufacturer = "Station Labs",
	.product = "Secure Element Board",
	.serial = "SIM-USB-A",
	.port = "1-1",
	.bus = 1,
	.address = 2 };
static const struct usb_model_desc desc_b = { .vid = 0xcafe,
	.pid = 0x4001,
	.manufacturer = "Station Labs",
	.product = "Secure Element Board",
	.serial = "SIM-USB-B",
	.port = "1-2",
	.bus = 1,
	.address = 3 };
static const struct usb_model_desc desc_hub = { .vid = 0x05e3,
	.pid = 0x0608,
	.product = "USB2.0 Hub",
	.port = "1-3",
	.bus = 1,
	.address = 4,
	.hub = 1 };
static const struct usb_model_desc desc_silent = { .vid = 0xcafe,
	.pid = 0x4002,
	.manufacturer = "Station Labs",
	.product = "Mute Board",
	.serial = "SIM-USB-S",
	.port = "1-3.2",
	.bus = 1,
	.address = 5 };

static int
setup(void **state)
{
	struct bed *b = calloc(1, sizeof *b);
	const char *args_a[] = { "--serial", "DEV-A-0001", NULL };
	const char *args_b[] = { "--serial", "DEV-B-0002", NULL };

	if (b == NULL)
		return -1;
	b->tb = umockdev_testbed_new();
	b->sim_a = devsim_proc_start(args_a);
	b->sim_b = devsim_proc_start(args_b);
	if (b->sim_a == NULL || b->sim_b == NULL)
		return -1;
	b->a = usb_model_new(b->tb, &desc_a, b->sim_a->uri);
	b->b = usb_model_new(b->tb, &desc_b, b->sim_b->uri);
	b->hub = usb_model_new(b->tb, &desc_hub, NULL);
	b->silent = usb_model_new(b->tb, &desc_silent, NULL);
	if (!b->a || !b->b || !b->hub || !b->silent)
		return -1;
	*state = b;
	return 0;
}

static int
teardown(void **state)
{
	struct bed *b = *state;

	usb_model_free(b->a);
	usb_model_free(b->b);
	usb_model_free(b->silent);
	usb_model_free(b->hub);
	devsim_proc_stop(b->sim_a);
	devsim_proc_stop(b->sim_b);
	g_object_unref(b->tb);
	free(b);
	return 0;
}

static struct transport *
open_ok(const char *uri)
{
	struct transport *t = NULL;
	char *cause = NULL;
	st_err err =
	    transport_open(uri, deadline_in(test_ms(5000)), &t, &cause);

	if (err)
		fail_msg("%s: %s", uri, cause);
	assert_non_null(t);
	return t;
}

static char *
hello_serial(const char *uri)
{
	struct client *c = client_new(open_ok(uri), NULL);
	struct dev_info info;
	char *cause = NULL, *serial;
	st_err err = dev_hello(c, &info, &cause);

	if (err)
		fail_msg("HELLO over %s: %s", uri, cause);
	serial = strdup(info.serial);
	dev_info_clear(&info);
	client_free(c);
	return serial;
}

/* HELLO travels over real libusb bulk transfers to devsim and back,
 * whichever way the device is named. */
static void
test_hello_over_usb_returns_devsim_serial(void **state)
{
	static const struct {
		const char *uri, *serial;
	} cases[] = {
		{ "usb:cafe:4001:SIM-USB-A", "DEV-A-0001" },
		{ "usb:cafe:4001:SIM-USB-B?interface=0", "DEV-B-0002" },
		{ "usb:path=1-2?timeout_ms=200", "DEV-B-0002" },
		{ "usb:path=1-1", "DEV-A-0001" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = hello_serial(cases[i].uri);

		assert_string_equal(s, cases[i].serial);
		free(s);
	}
}

/* Two boards of one model: VID:PID alone is ambiguous and the message
 * lists both with their ports and serials; unknown ones are NOTFOUND. */
static void
test_selection_ambiguous_and_notfound(void **state)
{
	struct transport *t = NULL;
	char *cause = NULL;

	(void)state;
	assert_int_equal(transport_open("usb:cafe:4001",
			     deadline_in(test_ms(2000)), &t, &cause),
	    ST_E_ARG);
	assert_null(t);
	assert_non_null(strstr(cause, "ambiguous"));
	assert_non_null(strstr(cause, "1-1 (cafe:4001 SIM-USB-A)"));
	assert_non_null(strstr(cause, "1-2 (cafe:4001 SIM-USB-B)"));
	free(cause);
	cause = NULL;
	assert_int_equal(transport_open("usb:cafe:4001:NOPE",
			     deadline_in(test_ms(2000)), &t, &cause),
	    ST_E_NOTFOUND);
	free(cause);
	cause = NULL;
	assert_int_equal(transport_open("usb:path=1-7",
			     deadline_in(test_ms(2000)), &t, &cause),
	    ST_E_NOTFOUND);
	free(cause);
	cause = NULL;
	/* The hub has no vendor bulk interface. */
	assert_int_equal(transport_open("usb:path=1-3",
			     deadline_in(test_ms(2000)), &t, &cause),
	    ST_E_NOTFOUND);
	assert_non_null(strstr(cause, "class 0xff"));
	free(cause);
}

/* Malformed selectors and options are URI errors naming the problem. */
static void
test_bad_usb_uris(void **state)
{
	static const char *const uris[] = { "usb:cafe", "usb:caf:4001",
		"usb:cafe:4001:", "usb:path=1", "usb:path=1-0", "usb:path=x-1",
		"usb:cafe:4001?speed=1", "usb:cafe:4001?interface=x" };

	(void)state;
	for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
		struct transport *t = NULL;
		char *cause = NULL;

		assert_int_equal(transport_open(uris[i],
				     deadline_in(test_ms(1000)), &t, &cause),
		    ST_E_URI);
		assert_null(t);
		free(cause);
	}
}

/* The list shows every device with strings, port path, bus/address,
 * the vendor interface and the URI for a fixture file; a device behind
 * a hub has a two-level port path. */
static void
test_list_devices_shows_ports_strings_and_uris(void **state)
{
	struct usb_dev_info *list = NULL;
	size_t n = 0, seen = 0;

	(void)state;
	assert_int_equal(usb_list_devices(&list, &n, NULL), ST_OK);
	for (size_t i = 0; i < n; i++) {
		const struct usb_dev_info *d = &list[i];

		if (strcmp(d->port_path, "1-2") == 0) {
			seen++;
			assert_int_equal(d->vid, 0xcafe);
			assert_int_equal(d->pid, 0x4001);
			assert_int_equal(d->bus, 1);
			assert_int_equal(d->address, 3);
			assert_string_equal(d->manufacturer, "Station Labs");
			assert_string_equal(d->product, "Secure Element Board");
			assert_string_equal(d->serial, "SIM-USB-B");
			assert_int_equal(d->bulk_iface, 0);
			assert_string_equal(d->uri, "usb:path=1-2");
		} else if (strcmp(d->port_path, "1-3.2") == 0) {
			seen++;
			assert_string_equal(d->serial, "SIM-USB-S");
			assert_string_equal(d->uri, "usb:path=1-3.2");
		} else if (strcmp(d->port_path, "1-3") == 0) {
			seen++;
			assert_int_equal(d->bulk_iface, -1);
		}
	}
	assert_int_equal(seen, 3);
	usb_dev_list_free(list, n);
}

/* A STALL on bulk IN is cleared (CLEAR_HALT reaches the device) and the
 * transfer retried: the exchange still succeeds. */
static void
test_stall_on_bulk_in_is_recovered(void **state)
{
	struct bed *b = *state;
	char *s;

	usb_model_stall_in_once(b->a);
	s = hello_serial("usb:path=1-1");
	assert_string_equal(s, "DEV-A-0001");
	assert_true(usb_model_clear_halts(b->a) >= 1);
	free(s);
}

/* A device that never answers: the read ends at the deadline with
 * ST_E_TIMEOUT, not a hangup, and the device stays usable. */
static void
test_silent_device_times_out(void **state)
{
	struct bed *b = *state;
	struct transport *t = open_ok("usb:cafe:4002");
	uint8_t buf[64];
	size_t got = 99;
	char *cause = NULL;

	assert_non_null(strstr(t->describe, "1-3.2"));
	assert_int_equal(t->ops->write(t, (const uint8_t *)"\x01\x02\x00", 3,
			     deadline_in(test_ms(1000)), &cause),
	    ST_OK);
	assert_int_equal(t->ops->read(t, buf, sizeof buf, &got,
			     deadline_in(300), &cause),
	    ST_E_TIMEOUT);
	assert_int_equal(got, 0);
	assert_true(usb_model_plugged(b->silent));
	free(cause);
	transport_close(t);
}

struct unplugger {
	struct usb_model *m;
	pthread_t th;
};

/* Pull the plug once the reader is waiting on bulk IN. */
static void *
unplug_when_waiting(void *arg)
{
	struct unplugger *u = arg;
	const struct timespec tick = { 0, 5 * 1000 * 1000 };

	for (int i = 0; i < 2000 && usb_model_in_waiting(u->m) == 0; i++)
		nanosleep(&tick, NULL);
	usb_model_unplug(u->m);
	return NULL;
}

/* Unplugged while a read waits: ST_E_HANGUP "device removed" long
 * before the deadline, and writes after it say the same. */
static void
test_unplug_mid_transfer_is_hangup(void **state)
{
	struct bed *b = *state;
	struct transport *t = open_ok("usb:path=1-3.2");
	struct unplugger u = { .m = b->silent };
	uint8_t buf[64];
	size_t got = 99;
	char *cause = NULL;

	assert_int_equal(pthread_create(&u.th, NULL, unplug_when_waiting, &u),
	    0);
	assert_int_equal(t->ops->read(t, buf, sizeof buf, &got,
			     deadline_in(test_ms(30000)), &cause),
	    ST_E_HANGUP);
	pthread_join(u.th, NULL);
	assert_int_equal(got, 0);
	assert_non_null(strstr(cause, "device removed"));
	free(cause);
	cause = NULL;
	assert_int_equal(t->ops->write(t, (const uint8_t *)"x", 1,
			     deadline_in(test_ms(1000)), &cause),
	    ST_E_HANGUP);
	free(cause);
	transport_close(t);
}

/* Runs `station ARGS...` (a child sharing the testbed) and returns its
 * exit status; *out gets its standard output. */
static int
station(char **out, const char *a1, const char *a2, const char *a3,
    const char *a4, const char *a5)
{
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"), a1,
		a2, a3, a4, a5, NULL };

	return proc_run_capture(argv, out);
}

static char *
temp_home(void)
{
	char tmpl[] = "/tmp/station-usb-XXXXXX";
	char *dir = mkdtemp(tmpl);

	assert_non_null(dir);
	setenv("STATION_HOME", dir, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	return strdup(dir);
}

static void
rm_rf(char *dir)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	free(dir);
}

/* The station program provisions a board over usb:path= to PASS: keys,
 * CSR, certificate, write, read-back and commit all over libusb. */
static void
test_station_provisions_over_usb_to_pass(void **state)
{
	char *home = temp_home(), *out = NULL;
	int rc;

	(void)state;
	rc = station(&out, "provision", "usb:path=1-2", "--serial",
	    "DEV-B-0002", "--json");
	if (rc != 0)
		fail_msg("provision exited %d: %s", rc, out);
	if (strstr(out, "\"result\":\"PASS\"") == NULL)
		fail_msg("not PASS: %s", out);
	assert_non_null(strstr(out, "\"serial\":\"DEV-B-0002\""));
	free(out);
	rm_rf(home);
}

/* Unplugged while the certificate is written: the run FAILs saying the
 * device was removed, and the ledger holds a FAIL run whose certificate
 * is not left counted as delivered (orphaned or revoked). */
static void
test_unplug_during_provisioning_fails_run(void **state)
{
	struct bed *b = *state;
	char *home = temp_home(), *out = NULL;
	int rc;

	usb_model_unplug_at_cmd(b->a, PROTO_CMD_WRITE_CERT);
	rc = station(&out, "provision", "usb:cafe:4001:SIM-USB-A", "--serial",
	    "DEV-A-0001", "--json");
	if (rc != 1 || strstr(out, "\"result\":\"FAIL\"") == NULL)
		fail_msg("exit %d: %s", rc, out);
	assert_non_null(strstr(out, "removed"));
	assert_false(usb_model_plugged(b->a));
	free(out);
	out = NULL;
	assert_int_equal(station(&out, "ledger", "show", "DEV-A-0001", "--json",
			     NULL),
	    0);
	if (strstr(out, "\"result\":\"FAIL\"") == NULL ||
	    strstr(out, "removed") == NULL)
		fail_msg("ledger: %s", out);
	assert_true(strstr(out, "\"status\":\"orphaned\"") != NULL ||
	    strstr(out, "\"status\":\"revoked\"") != NULL);
	assert_null(strstr(out, "\"status\":\"verified\""));
	free(out);
	rm_rf(home);
}

/* `station list-devices --json` shows the boards with their port URIs
 * and vendor interface, the hub without one. */
static void
test_station_list_devices_json(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(station(&out, "list-devices", "--json", NULL, NULL,
			     NULL),
	    0);
	if (strstr(out, "\"uri\":\"usb:path=1-1\"") == NULL ||
	    strstr(out, "\"serial\":\"SIM-USB-A\"") == NULL ||
	    strstr(out, "\"port_path\":\"1-3.2\"") == NULL ||
	    strstr(out, "\"vendor_bulk_interface\":0") == NULL ||
	    strstr(out, "\"vendor_bulk_interface\":null") == NULL)
		fail_msg("list-devices: %s", out);
	free(out);
}

int
main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_hello_over_usb_returns_devsim_serial),
		T(test_selection_ambiguous_and_notfound),
		T(test_bad_usb_uris),
		T(test_list_devices_shows_ports_strings_and_uris),
		T(test_stall_on_bulk_in_is_recovered),
		T(test_silent_device_times_out),
		T(test_unplug_mid_transfer_is_hangup),
		T(test_station_list_devices_json),
		T(test_station_provisions_over_usb_to_pass),
		T(test_unplug_during_provisioning_fails_run),
	};
#undef T

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("usb", tests, NULL, NULL);
}
