/*
 * usb: the device's vendor bulk interface through libusb-1.0.
 *
 *	usb:VID:PID                  the only device with these IDs
 *	usb:VID:PID:SERIAL           ... with this USB serial string
 *	usb:path=BUS-PORT[.PORT]...  whatever is plugged into this port
 *	...?interface=N&timeout_ms=MS
 *
 * The pipe is one bulk OUT and one bulk IN endpoint of a class 0xFF
 * interface (or interface N); the bytes on it are the framed protocol of
 * docs/protocol.md, frames delimited by the framing, not by transfers.
 * Each transfer is synchronous with the time left before the caller's
 * deadline (capped by timeout_ms when given).  A STALLed endpoint is
 * cleared and the transfer retried once; a device that disappears makes
 * every call fail with ST_E_HANGUP ("device removed").
 *
 * Every transport owns a private libusb context, so slot threads never
 * share event handling.  libusb is loaded when a device is first opened
 * (usb_lib.h), not when the station starts: a station on tcp: never
 * loads it, nor the libudev it pulls in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "drivers/transport/transport.h"
#include "drivers/transport/usb.h"
#include "drivers/transport/usb_lib.h"

#define LOG_MODULE "usb"
#include "station/util/log.h"

/* Bulk IN requests are a whole number of max-size packets (a shorter
 * request can overflow); 4096 is one for 64 and for 512 byte packets. */
#define USB_RX_CAP 4096

struct usb_transport {
	struct transport base;
	libusb_context *ctx;
	libusb_device_handle *h;
	struct usb_bulk_iface pipe;
	int claimed;
	int gone;	       /* the device was removed */
	unsigned timeout_ms;   /* 0: the caller's deadline alone */
	size_t rx_off, rx_len; /* unread bytes of rx */
	uint8_t rx[USB_RX_CAP];
};

static const char *const usb_known_opts[] = { "interface", "timeout_ms", NULL };

static st_err
opt_uint(const char *query, const char *key, unsigned long max, long *out,
    char **cause)
{
	char *v = transport_query_get(query, key);
	long long n;
	st_err err = ST_OK;

	if (v == NULL)
		return ST_OK;
	/* No sign: "-0" is not a number of anything. */
	if (v[0] == '-' || !num_valid(v, 0, (long long)max, &n))
		err = st_fail(cause, ST_E_URI,
		    "option %s: '%s' is not a "
		    "number from 0 to %lu",
		    key, v, max);
	else
		*out = (long)n;
	free(v);
	return err;
}

/* A libusb failure as an st_err: a vanished device is a hangup. */
static st_err
usb_fail(struct usb_transport *t, int r, const char *what, char **cause)
{
	if (r == LIBUSB_ERROR_NO_DEVICE) {
		if (t != NULL)
			t->gone = 1;
		return st_fail(cause, ST_E_HANGUP, "device removed (%s)", what);
	}
	if (r == LIBUSB_ERROR_TIMEOUT)
		return st_fail(cause, ST_E_TIMEOUT, "%s: no answer", what);
	return st_fail(cause, ST_E_IO, "%s: %s", what, usb_strerror(r));
}

static char *
describe(libusb_device *dev, const struct usb_bulk_iface *p)
{
	struct usb_dev_info d;
	char *s;

	usb_dev_info_get(dev, &d);
	s = xasprintf("usb %s%s(%04x:%04x%s%s) if%d in 0x%02x out 0x%02x",
	    d.port_path, d.port_path[0] ? " " : "", d.vid, d.pid,
	    d.serial[0] ? " " : "", d.serial, p->number, p->ep_in, p->ep_out);
	usb_dev_info_clear(&d);
	return s;
}

/* Open the device, claim its bulk interface (taking it from a kernel
 * driver if one has bound it). */
static st_err
claim(struct usb_transport *t, libusb_device *dev, int want, char **cause)
{
	int r = libusb.open(dev, &t->h);
	st_err err;

	if (r != 0)
		return usb_fail(t, r,
		    r == LIBUSB_ERROR_ACCESS ?
			"opening (see docs/usb.md for the udev rule)" :
			"opening",
		    cause);
	err = usb_find_bulk_iface(dev, want, &t->pipe, cause);
	if (err)
		return err;
	/* Not supported off Linux; the claim then says what is wrong. */
	(void)libusb.set_auto_detach_kernel_driver(t->h, 1);
	r = libusb.claim_interface(t->h, t->pipe.number);
	if (r != 0)
		return usb_fail(t, r, "claiming the interface", cause);
	t->claimed = 1;
	if (t->pipe.alt != 0) {
		r = libusb.set_interface_alt_setting(t->h, t->pipe.number,
		    t->pipe.alt);
		if (r != 0)
			return usb_fail(t, r, "selecting the alternate setting",
			    cause);
	}
	return ST_OK;
}

static void usb_close(struct transport *tp);

/* The spec's form: the query's options and the device selector. */
static st_err
usb_parse(const char *spec, struct usb_selector *sel, long *iface,
    long *timeout, char **cause)
{
	const char *query;
	char *sel_text = transport_split_query(spec, &query);
	st_err err;

	err = transport_query_check(query, usb_known_opts, cause);
	if (err == ST_OK)
		err = opt_uint(query, "interface", 255, iface, cause);
	if (err == ST_OK)
		err = opt_uint(query, "timeout_ms", 3600000, timeout, cause);
	if (err == ST_OK)
		err = usb_selector_parse(sel_text, sel, cause);
	free(sel_text);
	return err;
}

static st_err
usb_check(const char *spec, char **cause)
{
	struct usb_selector sel = { .vid = -1, .pid = -1 };
	long iface = -1, timeout = 0;
	st_err err;

	err = usb_parse(spec, &sel, &iface, &timeout, cause);
	usb_selector_clear(&sel);
	return err;
}

static st_err
usb_open(const char *spec, struct deadline dl, struct transport **out,
    char **cause)
{
	struct usb_selector sel = { .vid = -1, .pid = -1 };
	struct usb_transport *t = xcalloc(1, sizeof *t);
	libusb_device *dev = NULL;
	long iface = -1, timeout = 0;
	char *sel_uri;
	st_err err;
	int r;

	(void)dl; /* enumeration and claiming do not wait for the device */
	*out = NULL;
	transport_init(&t->base, &transport_usb_ops, "usb", spec);
	err = usb_parse(spec, &sel, &iface, &timeout, cause);
	if (err)
		goto out;
	t->timeout_ms = (unsigned)timeout;
	err = usb_lib_load(cause);
	if (err)
		goto out;
	r = libusb.init(&t->ctx);
	if (r != 0) {
		err = usb_fail(NULL, r, "libusb_init", cause);
		goto out;
	}
	err = usb_find_device(t->ctx, &sel, &dev, cause);
	if (err)
		goto out;
	err = claim(t, dev, (int)iface, cause);
	if (err)
		goto out;
	t->base.describe = describe(dev, &t->pipe);
	log_debug("opened %s", t->base.describe);
	*out = &t->base;
out:
	if (err) {
		sel_uri = t->base.uri; /* transport_close() would free it */
		usb_close(&t->base);
		free(sel_uri);
	}
	if (dev != NULL) /* NULL also when the library is not loaded */
		libusb.unref_device(dev);
	usb_selector_clear(&sel);
	return err;
}

/* Milliseconds for the next transfer: the deadline's, capped by
 * timeout_ms; 0 means the time is up (libusb would read 0 as forever). */
static unsigned
transfer_ms(const struct usb_transport *t, struct deadline dl)
{
	unsigned ms = (unsigned)deadline_left_ms(dl);

	if (t->timeout_ms != 0 && ms > t->timeout_ms)
		ms = t->timeout_ms;
	return ms;
}

/*
 * One bulk transfer with STALL recovery: a halted endpoint is cleared and
 * the transfer retried once (whatever went through before the stall
 * counts).  Returns the libusb code of the last attempt.
 */
static int
bulk(struct usb_transport *t, uint8_t ep, uint8_t *buf, int len, int *done,
    unsigned ms)
{
	int r, n = 0;

	*done = 0;
	r = libusb.bulk_transfer(t->h, ep, buf, len, &n, ms);
	*done = n;
	if (r != LIBUSB_ERROR_PIPE)
		return r;
	log_warn("endpoint 0x%02x stalled; clearing the halt", ep);
	r = libusb.clear_halt(t->h, ep);
	if (r != 0)
		return r;
	if (ep & LIBUSB_ENDPOINT_IN && n > 0)
		return 0;
	n = 0;
	r = libusb.bulk_transfer(t->h, ep, buf + *done, len - *done, &n, ms);
	*done += n;
	return r;
}

static st_err
usb_write(struct transport *tp, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct usb_transport *t = (struct usb_transport *)tp;

	while (len > 0) {
		unsigned ms = transfer_ms(t, dl);
		int chunk = len > 65536 ? 65536 : (int)len;
		int done = 0, r;

		if (t->gone)
			return st_fail(cause, ST_E_HANGUP, "device removed");
		if (ms == 0)
			return st_fail(cause, ST_E_TIMEOUT,
			    "write timed out "
			    "with %zu bytes unsent",
			    len);
		/* libusb does not write through the pointer for OUT. */
		r = bulk(t, t->pipe.ep_out, (uint8_t *)(uintptr_t)buf, chunk,
		    &done, ms);
		buf += done;
		len -= (size_t)done;
		if (r == LIBUSB_ERROR_TIMEOUT && !deadline_passed(dl))
			continue; /* only timeout_ms passed */
		if (r == LIBUSB_ERROR_TIMEOUT)
			return st_fail(cause, ST_E_TIMEOUT,
			    "write timed out "
			    "with %zu bytes unsent",
			    len);
		if (r != 0)
			return usb_fail(t, r, "bulk OUT", cause);
	}
	return ST_OK;
}

static st_err
usb_read(struct transport *tp, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct usb_transport *t = (struct usb_transport *)tp;

	*got = 0;
	while (t->rx_len == 0) {
		unsigned ms = transfer_ms(t, dl);
		int n = 0, r;

		if (t->gone)
			return st_fail(cause, ST_E_HANGUP, "device removed");
		if (ms == 0)
			return st_fail(cause, ST_E_TIMEOUT, "no data");
		r = bulk(t, t->pipe.ep_in, t->rx, (int)sizeof t->rx, &n, ms);
		/* Bytes that came before a timeout or an error are data. */
		t->rx_off = 0;
		t->rx_len = (size_t)n;
		if (n > 0)
			break;
		if (r == 0 ||
		    (r == LIBUSB_ERROR_TIMEOUT && !deadline_passed(dl)))
			continue; /* a zero-length packet, or timeout_ms */
		if (r == LIBUSB_ERROR_TIMEOUT)
			return st_fail(cause, ST_E_TIMEOUT, "no data");
		return usb_fail(t, r, "bulk IN", cause);
	}
	*got = t->rx_len < cap ? t->rx_len : cap;
	memcpy(buf, t->rx + t->rx_off, *got);
	t->rx_off += *got;
	t->rx_len -= *got;
	return ST_OK;
}

static void
usb_flush_input(struct transport *tp)
{
	struct usb_transport *t = (struct usb_transport *)tp;
	int n = 1;

	t->rx_off = t->rx_len = 0;
	/* Drain what the device already queued, without waiting. */
	for (int i = 0; i < 16 && n > 0 && !t->gone; i++) {
		n = 0;
		if (libusb.bulk_transfer(t->h, t->pipe.ep_in, t->rx,
			(int)sizeof t->rx, &n, 1) == LIBUSB_ERROR_NO_DEVICE)
			t->gone = 1;
	}
}

static void
usb_close(struct transport *tp)
{
	struct usb_transport *t = (struct usb_transport *)tp;

	if (t->claimed && !t->gone)
		libusb.release_interface(t->h, t->pipe.number);
	if (t->h != NULL)
		libusb.close(t->h);
	if (t->ctx != NULL)
		libusb.exit(t->ctx);
	free(t);
}

const struct transport_ops transport_usb_ops = {
	.scheme = "usb",
	.summary = "usb:VID:PID[:SERIAL] or usb:path=BUS-PORT[.PORT]... "
		   "vendor bulk interface (libusb); ?interface=N&timeout_ms=MS",
	.open = usb_open,
	.check = usb_check,
	.prepare = usb_lib_load,
	.write = usb_write,
	.read = usb_read,
	.flush_input = usb_flush_input,
	.close = usb_close,
};
