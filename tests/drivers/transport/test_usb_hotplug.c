/*
 * USB hotplug API against umockdev: boards modelled by usb_model arrive
 * ("add" uevent) and leave ("remove" uevent) while libusb's hotplug
 * thread watches, as a fixture slot would watch its socket.  The program
 * re-executes itself under umockdev-wrapper, which carries the uevents.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "drivers/transport/usb_hotplug.h"
#include "tests/support/umockdev_env.h"
#include "tests/support/usb_model.h"

#define EVENT_WAIT_MS 10000

struct log {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int arrived, left;
	char last[128]; /* "+1-4 SIM-HP-1" / "-1-4 SIM-HP-1" */
};

static void
on_event(enum usb_hotplug_event ev, const struct usb_dev_info *dev, void *ctx)
{
	struct log *l = ctx;

	pthread_mutex_lock(&l->mu);
	if (ev == USB_HOTPLUG_ARRIVED)
		l->arrived++;
	else
		l->left++;
	snprintf(l->last, sizeof l->last, "%c%s %s",
	    ev == USB_HOTPLUG_ARRIVED ? '+' : '-', dev->port_path, dev->serial);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* Wait until *counter reaches `want` (bounded: a missing event fails the
 * test rather than hanging it). */
static int
wait_for(struct log *l, const int *counter, int want)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += EVENT_WAIT_MS / 1000;
	pthread_mutex_lock(&l->mu);
	while (*counter < want &&
	    pthread_cond_timedwait(&l->cv, &l->mu, &until) == 0)
		;
	ok = *counter >= want;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static struct usb_model_desc
board(const char *port, int address, const char *serial)
{
	return (struct usb_model_desc){ .vid = 0xcafe,
		.pid = 0x4001,
		.manufacturer = "Station Labs",
		.product = "Secure Element Board",
		.serial = serial,
		.port = port,
		.bus = 1,
		.address = address };
}

static void
run_watch(const char *selector, const char *port, const char *serial)
{
	UMockdevTestbed *tb = umockdev_testbed_new();
	struct log l = { .mu = PTHREAD_MUTEX_INITIALIZER,
		.cv = PTHREAD_COND_INITIALIZER };
	struct usb_model_desc other = board("1-5", 7, "SIM-HP-OTHER");
	struct usb_model_desc mine = board(port, 8, serial);
	struct usb_model *m_other, *m;
	struct usb_hotplug *h = NULL;
	char *cause = NULL;
	char want[128];

	m_other = usb_model_new(tb, &other, NULL);
	assert_non_null(m_other);
	if (usb_hotplug_start(selector, on_event, &l, &h, &cause) != ST_OK)
		fail_msg("hotplug: %s", cause);
	/* The board at another port, present at start, is not reported. */
	m = usb_model_new(tb, &mine, NULL);
	assert_non_null(m);
	assert_true(wait_for(&l, &l.arrived, 1));
	snprintf(want, sizeof want, "+%s %s", port, serial);
	pthread_mutex_lock(&l.mu);
	assert_string_equal(l.last, want);
	pthread_mutex_unlock(&l.mu);

	usb_model_unplug(m);
	assert_true(wait_for(&l, &l.left, 1));
	want[0] = '-';
	pthread_mutex_lock(&l.mu);
	assert_string_equal(l.last, want);
	pthread_mutex_unlock(&l.mu);

	/* Pulling the other board says nothing to this watcher. */
	usb_model_unplug(m_other);
	usb_hotplug_stop(h);
	assert_int_equal(l.arrived, 1);
	assert_int_equal(l.left, 1);
	usb_model_free(m);
	usb_model_free(m_other);
	g_object_unref(tb);
}

/* A slot bound to port 1-4 hears its board arrive and leave. */
static void
test_port_path_arrival_and_removal(void **state)
{
	(void)state;
	run_watch("path=1-4", "1-4", "SIM-HP-1");
}

/* A watcher by VID:PID:SERIAL hears only that board. */
static void
test_serial_arrival_and_removal(void **state)
{
	(void)state;
	run_watch("cafe:4001:SIM-HP-2", "1-6", "SIM-HP-2");
}

/* Bad selectors are refused before any thread starts. */
static void
test_bad_selector_is_uri_error(void **state)
{
	struct usb_hotplug *h = NULL;
	char *cause = NULL;

	(void)state;
	assert_int_equal(usb_hotplug_start("path=one", on_event, NULL, &h,
			     &cause),
	    ST_E_URI);
	assert_null(h);
	assert_non_null(strstr(cause, "path="));
	free(cause);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_path_arrival_and_removal),
		cmocka_unit_test(test_serial_arrival_and_removal),
		cmocka_unit_test(test_bad_selector_is_uri_error),
	};

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("usb_hotplug", tests, NULL, NULL);
}
