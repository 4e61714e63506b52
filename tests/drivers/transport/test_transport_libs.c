/*
 * libserialport and libusb-1.0 are loaded on first use
 * (drivers/transport/serialport_lib.h, usb_lib.h), not linked:
 *
 *  - this program links libstation.a as the station does, and neither
 *    library (nor the libudev libusb pulls in) is in the process until a
 *    load: the loader's own answer (dlopen RTLD_NOLOAD), not a guess;
 *  - checking a uart: or usb: URI touches nothing, so loads nothing;
 *    preparing a tcp: one loads nothing either, preparing a uart: one
 *    loads libserialport and a usb: one libusb (transport_prepare);
 *  - a load returns ST_OK, again at once, and fills the table with the
 *    library's own functions (dlsym on the loaded library agrees);
 *  - uart_open then reaches libserialport through the table: a port that
 *    does not exist is ST_E_NOTFOUND naming it, as before the change.
 *
 * The tests run in order: the first one sees the process before any load.
 * Opening real ports through the table: test_uart.c, test_usb.c and
 * test_usb_hotplug.c (umockdev); the station process's own libraries:
 * tests/station/pipeline/test_provision_libs.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dlfcn.h>

#include "station/util/dlib.h"
#include "drivers/transport/serialport_lib.h"
#include "drivers/transport/transport.h"
#include "drivers/transport/usb_lib.h"

#define SERIALPORT_SONAME "libserialport.so.0"
#define USB_SONAME "libusb-1.0.so.0"

/* Is `soname` in the process?  Asks the loader without loading it. */
static int
loaded(const char *soname)
{
	void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);

	if (h == NULL)
		return 0;
	dlclose(h); /* drops only the reference RTLD_NOLOAD took */
	return 1;
}

static void
test_nothing_loaded_before_first_use(void **state)
{
	(void)state;
	assert_false(loaded(SERIALPORT_SONAME));
	assert_false(loaded(USB_SONAME));
	assert_false(loaded("libudev.so.1"));
	/* A URI's form is checked without the library. */
	assert_int_equal(transport_check("uart:/dev/ttyUSB0?baud=9600", NULL),
	    ST_OK);
	assert_int_equal(transport_check("uart:usb=0403:6001:FT1", NULL),
	    ST_OK);
	assert_int_equal(transport_check("usb:path=1-2.3", NULL), ST_OK);
	assert_false(loaded(SERIALPORT_SONAME));
	assert_false(loaded(USB_SONAME));
}

/* What each transport prepares: the first loads of the process, one
 * library at a time. */
static void
test_prepare_loads_what_the_uri_needs(void **state)
{
	(void)state;
	assert_int_equal(transport_prepare("tcp:127.0.0.1:4000", NULL), ST_OK);
	assert_false(loaded(SERIALPORT_SONAME));
	assert_false(loaded(USB_SONAME));
	assert_int_equal(transport_prepare("uart:/dev/ttyUSB0?baud=9600", NULL),
	    ST_OK);
	assert_true(loaded(SERIALPORT_SONAME));
	assert_false(loaded(USB_SONAME));
	assert_int_equal(transport_prepare("usb:path=1-2.3", NULL), ST_OK);
	assert_true(loaded(USB_SONAME));
	assert_int_equal(transport_prepare("nope:x", NULL), ST_E_URI);
}

/* Rows of each table to compare with the library: its first and last. */
static const struct dlib_sym serialport_rows[] = {
	{ "sp_get_port_by_name", (void **)&serialport.get_port_by_name },
	{ "sp_free_error_message", (void **)&serialport.free_error_message },
	{ NULL, NULL },
};
static const struct dlib_sym usb_rows[] = {
	{ "libusb_init", (void **)&libusb.init },
	{ "libusb_hotplug_deregister_callback",
	    (void **)&libusb.hotplug_deregister_callback },
	{ NULL, NULL },
};

/* `load` returns ST_OK with no cause, twice; `soname` is then in the
 * process and each row holds what dlsym finds in it under that name. */
static void
assert_loads_into(st_err (*load)(char **), const char *soname,
    const struct dlib_sym *rows)
{
	char *cause = NULL;
	void *h;

	for (int i = 0; i < 2; i++) {
		assert_int_equal(load(&cause), ST_OK);
		assert_null(cause);
	}
	h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(h);
	for (const struct dlib_sym *r = rows; r->name != NULL; r++) {
		assert_non_null(*r->addr);
		assert_ptr_equal(*r->addr, dlsym(h, r->name));
	}
	dlclose(h);
}

static void
test_each_load_is_once_and_fills_its_table(void **state)
{
	(void)state;
	/* The first loads were transport_prepare's: a load again is at
	 * once, and one library's load brought no other (the test before). */
	assert_loads_into(serialport_lib_load, SERIALPORT_SONAME,
	    serialport_rows);
	assert_loads_into(usb_lib_load, USB_SONAME, usb_rows);
}

static void
test_uart_open_calls_through_the_table(void **state)
{
	struct transport *t = NULL;
	char *cause = NULL;

	(void)state;
	assert_int_equal(transport_open("uart:/dev/st-no-such-tty",
			     deadline_in(1000), &t, &cause),
	    ST_E_NOTFOUND);
	assert_null(t);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "no serial port /dev/st-no-such-tty"));
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_loaded_before_first_use),
		cmocka_unit_test(test_prepare_loads_what_the_uri_needs),
		cmocka_unit_test(test_each_load_is_once_and_fills_its_table),
		cmocka_unit_test(test_uart_open_calls_through_the_table),
	};

	return cmocka_run_group_tests_name("transport libs", tests, NULL, NULL);
}
