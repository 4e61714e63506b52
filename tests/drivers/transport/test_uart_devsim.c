/*
 * uart: transport with a real devsim on the other end of the emulated
 * adapter (uart_fixture.h bridges the PTY to devsim's socket), and the
 * station program itself over it: probe and provision, a device that
 * loses power, the baud switch and its fallback.  The serial line against
 * the test's own device is in test_uart.c.
 */
#include "tests/drivers/transport/uart_fixture.h"

static int
setup_devsim(void **state)
{
	static const char *const args[] = { "--serial", DEVSIM_SERIAL, NULL };

	return setup_devsim_with(state, args);
}

/* devsim that switches up to 921600 baud (SET_BAUD), and one that
 * acknowledges and then hears nothing at the new rate. */
static int
setup_devsim_switch(void **state)
{
	static const char *const args[] = { "--serial", DEVSIM_SERIAL, "--baud",
		"115200", "--max-baud", "921600", NULL };

	return setup_devsim_with(state, args);
}

static int
setup_devsim_mute(void **state)
{
	static const char *const args[] = { "--serial", DEVSIM_SERIAL, "--baud",
		"115200", "--max-baud", "921600", "--fault", "baud-mute",
		NULL };

	return setup_devsim_with(state, args);
}

/* The station program itself probes the adapter through the uart: URI
 * (a child process inherits the testbed and the preload library). */
static void
test_station_probe_over_uart(void **state)
{
	const char *bin = getenv("STATION_BIN");
	char cmd[1024], out[4096];
	size_t used = 0, n;
	FILE *p;

	(void)state;
	if (bin == NULL)
		skip();
	snprintf(cmd, sizeof cmd, "'%s' probe uart:usb=0403:6001:FT1234 2>&1",
	    bin);
	p = popen(cmd, "r");
	assert_non_null(p);
	do {
		n = fread(out + used, 1, sizeof out - 1 - used, p);
		used += n;
	} while (n > 0 && used + 1 < sizeof out);
	out[used] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_non_null(strstr(out,
	    "device    uart /dev/ttyUSB0 (0403:6001 FT1234) 115200 8N1\n"));
	assert_non_null(strstr(out, "serial    " DEV_SERIAL "\n"));
}

/* `station provision URI` as a program against the devsim bridged to
 * the adapter: PASS, with the URI recorded as given. */
static void
provision_over(const char *uri)
{
	const char *bin = getenv("STATION_BIN");
	char *home = scratch_dir();
	char *want = NULL;
	const char *argv[] = { bin, "provision", uri, "--serial", DEVSIM_SERIAL,
		"--json", "--quiet", NULL };
	struct proc_out o;
	size_t n = strlen(uri) + 16;

	if (bin == NULL)
		skip();
	int status = proc_run(argv, home, 60000, &o);
	if (status != 0)
		fprintf(stderr, "provision: %s\n%s\n", o.out, o.err);
	assert_int_equal(status, 0);
	assert_non_null(strstr(o.out, "\"result\":\"PASS\""));
	assert_non_null(strstr(o.out, "\"serial\":\"" DEVSIM_SERIAL "\""));
	want = malloc(n);
	assert_non_null(want);
	snprintf(want, n, "\"device\":\"%s\"", uri);
	assert_non_null(strstr(o.out, want));
	free(want);
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
}

/* The whole provisioning run, through real libserialport, the emulated
 * adapter found by VID:PID:SERIAL, and devsim on the other end. */
static void
test_provision_over_uart_against_devsim(void **state)
{
	(void)state;
	provision_over("uart:usb=0403:6001:FT1234");
}

/* The same after the baud switch to 921600 in HELLO. */
static void
test_provision_after_a_baud_switch(void **state)
{
	(void)state;
	provision_over("uart:usb=0403:6001:FT1234?baud=115200&max_baud=921600");
}

/* devsim loses power mid-session: the station sees a hangup on the
 * serial line, not a timeout. */
static void
test_devsim_power_loss_is_hangup(void **state)
{
	struct fake *f = *state;
	struct client *c =
	    client_new(open_ok("uart:usb=0403:6001:FT1234"), NULL);
	struct dev_info info;
	char *cause = NULL;

	assert_int_equal(dev_hello(c, &info, &cause), ST_OK);
	assert_string_equal(info.serial, DEVSIM_SERIAL);
	dev_info_clear(&info);
	devsim_proc_kill(f->devsim);
	assert_int_equal(dev_hello(c, &info, &cause), ST_E_HANGUP);
	assert_non_null(strstr(cause, "hung up"));
	free(cause);
	client_free(c);
}

/* The adapter's line speed as the tty has it now, read by libserialport
 * through a second open of the emulated /dev/ttyUSB0 (as another program
 * would see it; Linux keeps rates like 921600 as BOTHER + termios2, which
 * libserialport reads). */
static int
tty_speed(void)
{
	struct sp_port *p = NULL;
	struct sp_port_config *cfg = NULL;
	int baud = -1;

	assert_int_equal(sp_get_port_by_name("/dev/ttyUSB0", &p), SP_OK);
	assert_int_equal(sp_open(p, SP_MODE_READ), SP_OK);
	assert_int_equal(sp_new_config(&cfg), SP_OK);
	assert_int_equal(sp_get_config(p, cfg), SP_OK);
	assert_int_equal(sp_get_config_baudrate(cfg, &baud), SP_OK);
	sp_free_config(cfg);
	sp_close(p);
	sp_free_port(p);
	return baud;
}

/* KEYGEN and a 2 KB chain written and read back byte for byte. */
static void
chain_round_trip(struct client *c)
{
	uint8_t certs[2][1024];

	for (size_t i = 0; i < sizeof certs; i++)
		certs[i / 1024][i % 1024] = (uint8_t)(i * 31 + 7);
	dev_chain_round_trip(c, certs[0], certs[1], sizeof certs[0]);
}

/* A client on the adapter at 115200 with max_baud 921600 (*t its
 * transport); the caller says HELLO and frees it (client_free). */
static struct client *
switching_client(struct transport **t)
{
	*t = open_ok("uart:usb=0403:6001:FT1234?baud=115200&max_baud=921600");
	return client_new(*t, NULL);
}

/* max_baud in the URI and CAP_BAUD_SWITCH on the device: after HELLO the
 * adapter runs at 921600 (libserialport set it on the tty) and the link
 * works at that rate. */
static void
test_baud_switch_over_the_adapter(void **state)
{
	struct transport *t;
	struct client *c = switching_client(&t);
	struct dev_info info;
	char *cause = NULL;

	(void)state;
	assert_int_equal(tty_speed(), 115200);
	assert_int_equal(dev_hello(c, &info, &cause), ST_OK);
	assert_int_equal(info.max_baud, 921600);
	dev_info_clear(&info);
	assert_int_equal(t->baud, 921600);
	assert_int_equal(tty_speed(), 921600);
	chain_round_trip(c);
	client_free(c);
}

/* Acknowledged, then nothing heard at 921600: the adapter is back at
 * 115200 and the device answers there. */
static void
test_baud_switch_falls_back_over_the_adapter(void **state)
{
	struct transport *t;
	struct client *c = switching_client(&t);
	struct dev_info info;
	char *cause = NULL;

	(void)state;
	assert_int_equal(dev_hello(c, &info, &cause), ST_OK);
	assert_string_equal(info.serial, DEVSIM_SERIAL);
	dev_info_clear(&info);
	assert_int_equal(t->baud, 115200);
	assert_int_equal(tty_speed(), 115200);
	chain_round_trip(c);
	client_free(c);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_station_probe_over_uart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_provision_over_uart_against_devsim, setup_devsim,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_devsim_power_loss_is_hangup, setup_devsim, teardown),
		cmocka_unit_test_setup_teardown(
		    test_baud_switch_over_the_adapter, setup_devsim_switch,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_baud_switch_falls_back_over_the_adapter,
		    setup_devsim_mute, teardown),
		cmocka_unit_test_setup_teardown(
		    test_provision_after_a_baud_switch, setup_devsim_switch,
		    teardown),
	};

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("uart_devsim", tests, NULL, NULL);
}
