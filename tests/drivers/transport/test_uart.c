/*
 * uart: transport through the real libserialport, against a USB serial
 * adapter emulated by umockdev: a sysfs tree with an FTDI-like device
 * (0403:6001, serial FT1234) whose /dev/ttyUSB0 is a PTY.  The test plays
 * the device on the PTY's master side and answers protocol frames; an
 * ioctl handler simulates the modem lines (PTYs have none, and
 * libserialport insists on them) and runs every other ioctl on the PTY.
 *
 * The program re-executes itself under umockdev-wrapper (the preload
 * library that redirects /sys and /dev into the testbed).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libserialport.h>

#include "drivers/proto/client.h"
#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "drivers/transport/transport.h"
#include "drivers/transport/uart.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/loopback.h"
#include "tests/support/scratch.h"
#include "tests/support/umockdev_env.h"

#define DEV_SERIAL "SIM-UART-0042"
#define DEVSIM_SERIAL "DEVSIM-UART-7"

/* An FTDI FT232R on bus 1, as the kernel lays it out in sysfs: the USB
 * device, its interface, the usb-serial port and the tty. */
static const char adapter_ftdi[] =
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1\n"
    "E: SUBSYSTEM=usb\n"
    "E: DEVTYPE=usb_device\n"
    "A: busnum=1\n"
    "A: devnum=2\n"
    "A: idVendor=0403\n"
    "A: idProduct=6001\n"
    "A: serial=FT1234\n"
    "A: manufacturer=FTDI\n"
    "A: product=FT232R USB UART\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0\n"
    "E: SUBSYSTEM=usb\n"
    "E: DEVTYPE=usb_interface\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/ttyUSB0\n"
    "E: SUBSYSTEM=usb-serial\n"
    "\n"
    "P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/ttyUSB0/tty/ttyUSB0\n"
    "N: ttyUSB0\n"
    "E: SUBSYSTEM=tty\n"
    "E: DEVNAME=/dev/ttyUSB0\n"
    "L: device=../../../ttyUSB0\n"
    "\n";

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

struct fake {
	UMockdevTestbed *tb;
	UMockdevIoctlBase *ioctl;
	int master; /* PTY master: the device's end of the wire */
	pthread_t thread;
	int running;
	atomic_int stop;
	atomic_int modem;   /* simulated TIOCM_* lines */
	atomic_uint hellos; /* HELLO requests answered */
	int devsim_fd;	    /* >= 0: bytes are bridged to a devsim process
	                        instead of answered here */
	struct devsim_proc *devsim;
};

/* Modem-line ioctls, which a PTY refuses, act on fake->modem; all other
 * ioctls (termios, flush...) run on the real PTY. */
static gboolean
on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
	struct fake *f = data;
	gulong req = umockdev_ioctl_client_get_request(client);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	UMockdevIoctlData *val;
	GError *gerr = NULL;
	int bits, e = 0, r;

	(void)base;
	if (req == TIOCMGET || req == TIOCMSET || req == TIOCMBIS ||
	    req == TIOCMBIC) {
		val = umockdev_ioctl_data_resolve(arg, 0, sizeof(int), &gerr);
		if (val == NULL) {
			g_clear_error(&gerr);
			umockdev_ioctl_client_complete(client, -1, EFAULT);
			return TRUE;
		}
		memcpy(&bits, val->data, sizeof bits);
		if (req == TIOCMGET) {
			bits = atomic_load(&f->modem);
			memcpy(val->data, &bits, sizeof bits);
		} else if (req == TIOCMSET) {
			atomic_store(&f->modem, bits);
		} else if (req == TIOCMBIS) {
			atomic_fetch_or(&f->modem, bits);
		} else {
			atomic_fetch_and(&f->modem, ~bits);
		}
		umockdev_ioctl_client_complete(client, 0, 0);
		return TRUE;
	}
	r = umockdev_ioctl_client_execute(client, &e, &gerr);
	if (gerr != NULL) {
		g_clear_error(&gerr);
		r = -1;
		e = EIO;
	}
	umockdev_ioctl_client_complete(client, r, e);
	return TRUE;
}

static void
reply(struct fake *f, const struct frame *req, uint8_t status,
    const uint8_t *payload, size_t len)
{
	static uint8_t wire[PROTO_MAX_FRAME * 2];
	struct frame out = { .version = PROTO_VERSION,
		.flags = PROTO_FLAG_RESPONSE,
		.seq = req->seq,
		.cmd = req->cmd,
		.status = status,
		.total = (uint16_t)len,
		.payload = payload,
		.payload_len = len };
	size_t n = 0, done = 0;

	if (frame_encode(&out, wire, sizeof wire, &n, NULL) != ST_OK)
		return;
	while (done < n) {
		ssize_t w = write(f->master, wire + done, n - done);

		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

static void
answer(struct fake *f, const struct frame *req)
{
	struct tlv_writer w;
	uint8_t *p;
	size_t len;

	tlv_writer_init(&w);
	if (req->cmd == PROTO_CMD_HELLO) {
		tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
		tlv_put_u16(&w, PROTO_T_MAX_FRAME, 1024);
		tlv_put_str(&w, PROTO_T_SERIAL, DEV_SERIAL);
		tlv_put_str(&w, PROTO_T_MODEL, "uart-sim");
		tlv_put_u8(&w, PROTO_T_STATE, PROTO_STATE_BLANK);
		p = tlv_writer_take(&w, &len);
		/* Counted before the reply leaves: the station may check the
		 * count as soon as it has the reply. */
		atomic_fetch_add(&f->hellos, 1);
		reply(f, req, PROTO_ST_OK, p, len);
		free(p);
	} else {
		reply(f, req, PROTO_ST_UNKNOWN_CMD, NULL, 0);
	}
	tlv_writer_free(&w);
}

/* The device: read frames from the master, answer them.  EIO or POLLHUP
 * on the master only means no program has the port open right now. */
/* Bridge mode: the wire between the adapter's PTY and a devsim process's
 * TCP socket, both ways, byte for byte.  When devsim goes away the PTY
 * master is closed too, as a device that loses power drops the line. */
static void
bridge(struct fake *f)
{
	uint8_t buf[512];

	while (!atomic_load(&f->stop)) {
		struct pollfd pfd[2] = { { .fd = f->master, .events = POLLIN },
			{ .fd = f->devsim_fd, .events = POLLIN } };
		const struct timespec idle = { 0, 5 * 1000 * 1000 };

		if (poll(pfd, 2, 50) <= 0)
			continue;
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(f->devsim_fd, buf, sizeof buf);

			if (n <= 0) {
				int devnull =
				    open("/dev/null", O_RDWR | O_CLOEXEC);

				/* Keep the number taken: the testbed closes
				 * it itself when it is destroyed. */
				dup2(devnull, f->master);
				close(devnull);
				return;
			}
			if (write(f->master, buf, (size_t)n) != n)
				return;
		}
		if (pfd[0].revents & POLLIN) {
			ssize_t n = read(f->master, buf, sizeof buf);

			if (n > 0 && write(f->devsim_fd, buf, (size_t)n) != n)
				return;
			if (n <= 0)
				nanosleep(&idle,
				    NULL); /* no client right now */
		} else if (pfd[0].revents) {
			nanosleep(&idle, NULL);
		}
	}
}

static void *
device_main(void *arg)
{
	struct fake *f = arg;
	struct frame_reader rd;
	uint8_t buf[512];

	if (f->devsim_fd >= 0) {
		bridge(f);
		return NULL;
	}

	frame_reader_init(&rd, PROTO_MAX_FRAME);
	while (!atomic_load(&f->stop)) {
		struct pollfd pfd = { .fd = f->master, .events = POLLIN };
		const struct timespec idle = { 0, 10 * 1000 * 1000 };

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (!(pfd.revents & POLLIN)) {
			nanosleep(&idle, NULL);
			continue;
		}
		ssize_t n = read(f->master, buf, sizeof buf);
		if (n <= 0) {
			nanosleep(&idle, NULL);
			continue;
		}
		const uint8_t *p = buf;
		size_t left = (size_t)n;
		while (left > 0) {
			struct frame fr;
			int got = 0;

			if (frame_reader_feed(&rd, &p, &left, &fr, &got,
				NULL) == ST_OK &&
			    got)
				answer(f, &fr);
		}
	}
	frame_reader_free(&rd);
	return NULL;
}

static void
fake_stop(struct fake *f)
{
	if (!f->running)
		return;
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	f->running = 0;
}

static int
setup(void **state)
{
	struct fake *f = calloc(1, sizeof *f);
	GError *gerr = NULL;

	if (f == NULL)
		return -1;
	f->devsim_fd = -1;
	f->tb = umockdev_testbed_new();
	if (!umockdev_testbed_add_from_string(f->tb, adapter_ftdi, &gerr)) {
		fprintf(stderr, "testbed: %s\n", gerr->message);
		return -1;
	}
	f->ioctl = umockdev_ioctl_base_new();
	g_signal_connect(f->ioctl, "handle-ioctl", G_CALLBACK(on_ioctl), f);
	if (!umockdev_testbed_attach_ioctl(f->tb, "/dev/ttyUSB0", f->ioctl,
		&gerr)) {
		fprintf(stderr, "attach_ioctl: %s\n", gerr->message);
		return -1;
	}
	f->master = umockdev_testbed_get_dev_fd(f->tb, "/dev/ttyUSB0");
	if (f->master < 0)
		return -1;
	if (pthread_create(&f->thread, NULL, device_main, f) != 0)
		return -1;
	f->running = 1;
	*state = f;
	return 0;
}

/* The same adapter, with a real devsim started with `args` on the other
 * end of the wire. */
static int
setup_devsim_with(void **state, const char *const *args)
{
	struct devsim_proc *d = devsim_proc_start(args);
	struct fake *f;
	int fd;

	if (d == NULL)
		return -1;
	fd = loopback_connect_uri(d->uri);
	if (fd < 0)
		return -1;
	/* setup() starts the device thread: it must see the bridge. */
	if (setup(state) != 0)
		return -1;
	f = *state;
	fake_stop(f);
	f->devsim = d;
	f->devsim_fd = fd;
	atomic_store(&f->stop, 0);
	if (pthread_create(&f->thread, NULL, device_main, f) != 0)
		return -1;
	f->running = 1;
	return 0;
}

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

static int
teardown(void **state)
{
	struct fake *f = *state;

	fake_stop(f);
	if (f->devsim_fd >= 0)
		close(f->devsim_fd);
	devsim_proc_stop(f->devsim);
	g_object_unref(f->tb);
	g_object_unref(f->ioctl);
	free(f);
	return 0;
}

static struct transport *
open_ok(const char *uri)
{
	struct transport *t = NULL;
	char *cause = NULL;
	st_err err = transport_open(uri, deadline_in(2000), &t, &cause);

	if (err)
		fprintf(stderr, "%s: %s\n", uri, cause);
	assert_int_equal(err, ST_OK);
	assert_non_null(t);
	free(cause);
	return t;
}

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

/* max_baud in the URI and CAP_BAUD_SWITCH on the device: after HELLO the
 * adapter runs at 921600 (libserialport set it on the tty) and the link
 * works at that rate. */
static void
test_baud_switch_over_the_adapter(void **state)
{
	struct transport *t =
	    open_ok("uart:usb=0403:6001:FT1234?baud=115200&max_baud=921600");
	struct client *c = client_new(t, NULL);
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
	struct transport *t =
	    open_ok("uart:usb=0403:6001:FT1234?baud=115200&max_baud=921600");
	struct client *c = client_new(t, NULL);
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
		cmocka_unit_test_setup_teardown(test_station_probe_over_uart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_close_is_hangup_not_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_options_set_line_and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_setting_names_it,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_provision_over_uart_against_devsim, setup_devsim,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_devsim_power_loss_is_hangup, setup_devsim, teardown),
		cmocka_unit_test_setup_teardown(test_bad_options_are_uri_errors,
		    setup, teardown),
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
	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
