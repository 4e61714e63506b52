/*
 * uart: transport through the real libserialport, against a USB serial
 * adapter emulated by umockdev (uart_fixture.h), the test playing the
 * device on the PTY: opening by path, VID:PID and serial, the port list,
 * HELLO, hangups and the line options.  devsim and the station program
 * over the same adapter are in test_uart_devsim.c.
 */
#include "tests/drivers/transport/uart_fixture.h"

/* A second adapter of the same model, serial FT5678. */
static const char adapter_ftdi2[] =
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2\n"
    "E: SUBSYSTEM=usb\n"
    "E: DEVTYPE=usb_device\n"
    "A: busnum=1\n"
    "A: devnum=3\n"
    "A: idVendor=0403\n"
    "A: idProduct=6001\n"
    "A: serial=FT5678\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0\n"
    "E: SUBSYSTEM=usb\n"
    "E: DEVTYPE=usb_interface\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB1\n"
    "E: SUBSYSTEM=usb-serial\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB1/tty/ttyUSB1\n"
    "N: ttyUSB1\n"
    "E: SUBSYSTEM=tty\n"
    "E: DEVNAME=/dev/ttyUSB1\n"
    "L: device=../../../ttyUSB1\n"
    "\n";

/* By path, by VID:PID and by VID:PID:SERIAL all reach the adapter, and
 * opening raises DTR on the (simulated) modem lines. */
static void
test_open_by_name_vidpid_and_serial(void **state)
{
	struct fake *f = *state;
	const char *uris[] = { "uart:/dev/ttyUSB0", "uart:usb=0403:6001",
		"uart:usb=0403:6001:FT1234?baud=115200" };

	for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
		struct transport *t;

		atomic_store(&f->modem, 0);
		t = open_ok(uris[i]);
		assert_string_equal(t->describe,
		    "uart /dev/ttyUSB0 (0403:6001 FT1234) 115200 8N1");
		assert_int_equal(t->baud, 115200);
		assert_true(atomic_load(&f->modem) & TIOCM_DTR);
		transport_close(t);
	}
}

/* A serial that no adapter has is ST_E_NOTFOUND, and the message shows
 * what is connected instead. */
static void
test_wrong_serial_is_notfound_listing_found(void **state)
{
	struct transport *t = NULL;
	char *cause = NULL;

	(void)state;
	assert_int_equal(transport_open("uart:usb=0403:6001:NOPE",
			     deadline_in(2000), &t, &cause),
	    ST_E_NOTFOUND);
	assert_null(t);
	assert_non_null(strstr(cause, "/dev/ttyUSB0 (0403:6001 FT1234)"));
	free(cause);
	cause = NULL;
	assert_int_equal(transport_open("uart:usb=1a86:7523", deadline_in(2000),
			     &t, &cause),
	    ST_E_NOTFOUND);
	free(cause);
}

/* Two adapters of one model: VID:PID alone is ambiguous, the serial
 * picks the right one. */
static void
test_two_adapters_need_serial(void **state)
{
	struct fake *f = *state;
	struct transport *t = NULL;
	char *cause = NULL;

	assert_true(
	    umockdev_testbed_add_from_string(f->tb, adapter_ftdi2, NULL));
	assert_true(umockdev_testbed_attach_ioctl(f->tb, "/dev/ttyUSB1",
	    f->ioctl, NULL));
	assert_int_equal(transport_open("uart:usb=0403:6001", deadline_in(2000),
			     &t, &cause),
	    ST_E_ARG);
	assert_non_null(strstr(cause, "ambiguous"));
	free(cause);
	t = open_ok("uart:usb=0403:6001:FT5678");
	assert_non_null(strstr(t->describe, "/dev/ttyUSB1 (0403:6001 FT5678)"));
	transport_close(t);
}

/* The port list shows the adapter as USB with its VID:PID and serial. */
static void
test_list_shows_usb_vidpid_serial(void **state)
{
	struct uart_port_info *ports = NULL;
	size_t n = 0, hits = 0;

	(void)state;
	assert_int_equal(uart_list_ports(&ports, &n, NULL), ST_OK);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ports[i].name, "/dev/ttyUSB0") != 0)
			continue;
		hits++;
		assert_string_equal(ports[i].transport, "usb");
		assert_int_equal(ports[i].usb_vid, 0x0403);
		assert_int_equal(ports[i].usb_pid, 0x6001);
		assert_string_equal(ports[i].usb_serial, "FT1234");
		assert_string_equal(ports[i].usb_manufacturer, "FTDI");
		assert_string_equal(ports[i].usb_product, "FT232R USB UART");
	}
	assert_int_equal(hits, 1);
	uart_port_list_free(ports, n);
}

/* HELLO over the serial line returns the serial the device sent. */
static void
test_hello_over_uart_returns_device_serial(void **state)
{
	struct fake *f = *state;
	struct client *c =
	    client_new(open_ok("uart:usb=0403:6001:FT1234"), NULL);
	struct dev_info info;
	char *cause = NULL;
	st_err err = dev_hello(c, &info, &cause);

	if (err)
		fprintf(stderr, "hello: %s\n", cause);
	assert_int_equal(err, ST_OK);
	assert_string_equal(info.serial, DEV_SERIAL);
	assert_string_equal(info.model, "uart-sim");
	assert_int_equal(info.max_frame, 1024);
	assert_true(atomic_load(&f->hellos) >= 1);
	dev_info_clear(&info);
	client_free(c);
}

/* Once the device end closes, a read reports a hangup, not a timeout. */
static void
test_device_close_is_hangup_not_timeout(void **state)
{
	struct fake *f = *state;
	struct transport *t = open_ok("uart:/dev/ttyUSB0");
	uint8_t buf[16];
	size_t got = 99;
	char *cause = NULL;
	int devnull;

	fake_stop(f);
	/* Close the master but keep its descriptor number taken: the
	 * testbed closes that number itself when it is destroyed. */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(devnull >= 0);
	assert_int_equal(dup2(devnull, f->master), f->master);
	close(devnull);

	assert_int_equal(t->ops->read(t, buf, sizeof buf, &got,
			     deadline_in(5000), &cause),
	    ST_E_HANGUP);
	assert_int_equal(got, 0);
	assert_non_null(strstr(cause, "hung up"));
	free(cause);
	cause = NULL;
	assert_int_equal(t->ops->write(t, (const uint8_t *)"x", 1,
			     deadline_in(1000), &cause),
	    ST_E_HANGUP);
	free(cause);
	transport_close(t);
}

/* Line settings other than the default are applied and described. */
static void
test_options_set_line_and_describe(void **state)
{
	struct transport *t = open_ok("uart:/dev/ttyUSB0?baud=9600&stopbits=2"
				      "&flow=rtscts");

	(void)state;
	assert_string_equal(t->describe,
	    "uart /dev/ttyUSB0 (0403:6001 FT1234) 9600 8N2 rtscts");
	assert_int_equal(t->baud, 9600);
	transport_close(t);
}

/* A setting the port refuses is an I/O error that says which setting
 * and why (this kernel's PTYs refuse 7 data bits; others ignore it). */
static void
test_refused_setting_names_it(void **state)
{
	struct transport *t = NULL;
	char *cause = NULL;
	st_err err = transport_open("uart:/dev/ttyUSB0?databits=7",
	    deadline_in(2000), &t, &cause);

	(void)state;
	if (err == ST_OK) {
		assert_non_null(strstr(t->describe, " 7N1"));
	} else {
		assert_int_equal(err, ST_E_IO);
		assert_null(t);
		assert_non_null(strstr(cause, "setting the data bits: "));
	}
	free(cause);
	transport_close(t);
}

/* Bad option values and unknown keys are URI errors naming the option. */
static void
test_bad_options_are_uri_errors(void **state)
{
	static const struct {
		const char *uri, *names;
	} cases[] = {
		{ "uart:/dev/ttyUSB0?baud=abc", "baud" },
		{ "uart:/dev/ttyUSB0?baud=0", "baud" },
		{ "uart:/dev/ttyUSB0?parity=weird", "parity" },
		{ "uart:/dev/ttyUSB0?flow=dtr", "flow" },
		{ "uart:/dev/ttyUSB0?databits=9", "databits" },
		{ "uart:/dev/ttyUSB0?stopbits=3", "stopbits" },
		{ "uart:/dev/ttyUSB0?speed=9600", "speed" },
		{ "uart:/dev/ttyUSB0?max_baud=921600", "baud=" },
		{ "uart:/dev/ttyUSB0?baud=921600&max_baud=9600", "max_baud" },
		{ "uart:usb=403:6001", "usb=" },
		{ "uart:ttyUSB0", "uart:" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct transport *t = NULL;
		char *cause = NULL;

		assert_int_equal(transport_open(cases[i].uri, deadline_in(1000),
				     &t, &cause),
		    ST_E_URI);
		assert_null(t);
		assert_non_null(strstr(cause, cases[i].names));
		free(cause);
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_open_by_name_vidpid_and_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wrong_serial_is_notfound_listing_found, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_adapters_need_serial,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_list_shows_usb_vidpid_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hello_over_uart_returns_device_serial, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_close_is_hangup_not_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_options_set_line_and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_setting_names_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options_are_uri_errors,
		    setup, teardown),
	};

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
