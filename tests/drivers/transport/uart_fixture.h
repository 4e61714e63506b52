/*
 * Shared by the uart: transport tests (test_uart.c: the serial line;
 * test_uart_devsim.c: devsim and the station program over it): a USB
 * serial adapter emulated by umockdev, a sysfs tree with an FTDI-like
 * device (0403:6001, serial FT1234) whose /dev/ttyUSB0 is a PTY.  The
 * test plays the device on the PTY's master side and answers protocol
 * frames, or bridges the bytes to a devsim process; an ioctl handler
 * simulates the modem lines (PTYs have none, and libserialport insists
 * on them) and runs every other ioctl on the PTY.
 *
 * The programs re-execute themselves under umockdev-wrapper (the preload
 * library that redirects /sys and /dev into the testbed).
 */
#ifndef TESTS_DRIVERS_TRANSPORT_UART_FIXTURE_H
#define TESTS_DRIVERS_TRANSPORT_UART_FIXTURE_H

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
static inline gboolean
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

static inline void
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

static inline void
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
static inline void
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

static inline void *
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

static inline void
fake_stop(struct fake *f)
{
	if (!f->running)
		return;
	atomic_store(&f->stop, 1);
	pthread_join(f->thread, NULL);
	f->running = 0;
}

static inline int
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
static inline int
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

static inline int
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

static inline struct transport *
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

#endif
