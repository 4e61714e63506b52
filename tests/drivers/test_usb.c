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

#include "drivers/client.h"
#include "drivers/transport.h"
#include "drivers/usb.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/umockdev_env.h"
#include "tests/support/usb_model.h"

struct bed {
	UMockdevTestbed *tb;
	struct devsim_proc *sim_a, *sim_b;
	struct usb_model *a, *b, *hub, *silent;
};

static const struct usb_model_desc desc_a = { .vid = 0xcafe, .pid = 0x4001,
	.manufacturer = "Station Labs", .product = "Secure Element Board",
	.serial = "SIM-USB-A", .port = "1-1", .bus = 1, .address = 2 };
static const struct usb_model_desc desc_b = { .vid = 0xcafe, .pid = 0x4001,
	.manufacturer = "Station Labs", .product = "Secure Element Board",
	.serial = "SIM-USB-B", .port = "1-2", .bus = 1, .address = 3 };
static const struct usb_model_desc desc_hub = { .vid = 0x05e3,
	.pid = 0x0608, .product = "USB2.0 Hub", .port = "1-3", .bus = 1,
	.address = 4, .hub = 1 };
static const struct usb_model_desc desc_silent = { .vid = 0xcafe,
	.pid = 0x4002, .manufacturer = "Station Labs", .product = "Mute Board",
	.serial = "SIM-USB-S", .port = "1-3.2", .bus = 1, .address = 5 };

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
	st_err err = transport_open(uri, deadline_in(5000), &t, &cause);

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

/* HELLO travels over real libusb bulk transfers to devsim and back. */
static void
test_hello_over_usb_returns_devsim_serial(void **state)
{
	char *s;

	(void)state;
	s = hello_serial("usb:cafe:4001:SIM-USB-A");
	assert_string_equal(s, "DEV-A-0001");
	free(s);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_hello_over_usb_returns_devsim_serial, setup, teardown),
	};

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("usb", tests, NULL, NULL);
}
