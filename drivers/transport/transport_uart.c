/*
 * uart: a serial port through libserialport.
 *
 *	uart:/dev/ttyUSB0?baud=115200&parity=none&flow=none
 *	uart:usb=0403:6001[:SERIAL]?baud=115200
 *
 * Options: baud (default 115200), parity none|odd|even, flow
 * none|rtscts|xonxoff, databits 7|8, stopbits 1|2.  The usb= form finds a
 * USB-serial adapter by VID:PID (and USB serial), so a station does not
 * depend on the order in which the kernel numbered its ttyUSB devices.
 *
 * I/O is non-blocking libserialport calls paced by poll() on the port's
 * descriptor, so every call honours its deadline.  A vanished device is
 * reported explicitly: a tty whose other end is gone reads like a timeout
 * through sp_blocking_read(), so POLLHUP/POLLERR and EIO mean ST_E_HANGUP.
 *
 * libserialport is loaded when a port is first opened (serialport_lib.h),
 * not when the station starts: a station on tcp: never loads it.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "drivers/transport/serialport_lib.h"
#include "drivers/transport/transport.h"
#include "drivers/transport/uart.h"
#include "drivers/transport/usb.h"

#define LOG_MODULE "uart"
#include "station/util/log.h"

struct uart_opts {
	unsigned baud;
	unsigned max_baud; /* 0: no baud switch */
	enum sp_parity parity;
	enum sp_flowcontrol flow;
	int databits;
	int stopbits;
};

struct uart_transport {
	struct transport base;
	struct sp_port *port;
	int fd;
};

static const char *const uart_known_opts[] = { "baud", "parity", "flow",
	"databits", "stopbits", "max_baud", NULL };

/*
 * Enumerated option `key`: *out becomes the index of its value in `names`
 * (NULL-terminated); left alone when the option is absent.
 */
static st_err
opt_choice(const char *query, const char *key, const char *const *names,
    const char *expected, int *out, char **cause)
{
	char *v = transport_query_get(query, key);
	st_err err = ST_OK;
	int i = 0;

	if (v == NULL)
		return ST_OK;
	while (names[i] != NULL && strcmp(v, names[i]) != 0)
		i++;
	if (names[i] == NULL)
		err = st_fail(cause, ST_E_URI, "option %s: '%s' (expected %s)",
		    key, v, expected);
	else
		*out = i;
	free(v);
	return err;
}

static st_err
parse_opts(const char *query, struct uart_opts *o, char **cause)
{
	static const char *const parities[] = { "none", "odd", "even", NULL };
	static const enum sp_parity parity_val[] = { SP_PARITY_NONE,
		SP_PARITY_ODD, SP_PARITY_EVEN };
	static const char *const flows[] = { "none", "rtscts", "xonxoff",
		NULL };
	static const enum sp_flowcontrol flow_val[] = { SP_FLOWCONTROL_NONE,
		SP_FLOWCONTROL_RTSCTS, SP_FLOWCONTROL_XONXOFF };
	static const char *const databits[] = { "7", "8", NULL };
	static const char *const stopbits[] = { "1", "2", NULL };
	int parity = 0, flow = 0, data = 1, stop = 0;
	st_err err;

	*o = (struct uart_opts){ .baud = 115200 };
	err = transport_query_check(query, uart_known_opts, cause);
	if (err == ST_OK)
		err =
		    transport_query_rates(query, &o->baud, &o->max_baud, cause);
	if (err == ST_OK)
		err = opt_choice(query, "parity", parities, "none, odd or even",
		    &parity, cause);
	if (err == ST_OK)
		err = opt_choice(query, "flow", flows,
		    "none, rtscts or xonxoff", &flow, cause);
	if (err == ST_OK)
		err = opt_choice(query, "databits", databits, "7 or 8", &data,
		    cause);
	if (err == ST_OK)
		err = opt_choice(query, "stopbits", stopbits, "1 or 2", &stop,
		    cause);
	o->parity = parity_val[parity];
	o->flow = flow_val[flow];
	o->databits = 7 + data;
	o->stopbits = 1 + stop;
	return err;
}

/*
 * usb=VID:PID[:SERIAL] -> the name of the one matching port.  Lists what
 * was found when nothing matches, so the operator sees the adapter's real
 * serial or VID:PID.
 */
static st_err
find_usb_port(const char *sel, char **name, char **cause)
{
	const char *serial;
	struct uart_port_info *ports = NULL;
	size_t n = 0, matches = 0, match = 0;
	int vid, pid;
	char *seen = NULL;
	st_err err;

	*name = NULL;
	if (usb_ids_parse(sel, &vid, &pid, &serial) != 0)
		return st_fail(cause, ST_E_URI,
		    "expected usb=VID:PID[:SERIAL] with 4-digit hex IDs, "
		    "got 'usb=%s'",
		    sel);
	err = uart_list_ports(&ports, &n, cause);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		const struct uart_port_info *p = &ports[i];

		if (p->usb_vid != vid || p->usb_pid != pid)
			continue;
		if (serial != NULL && strcmp(p->usb_serial, serial) != 0)
			continue;
		if (matches++ == 0)
			match = i;
	}
	if (matches == 1) {
		*name = xstrdup(ports[match].name);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct uart_port_info *p = &ports[i];
		char *prev = seen;

		if (p->usb_vid < 0)
			seen = xasprintf("%s%s%s", prev ? prev : "",
			    prev ? ", " : "", p->name);
		else
			seen = xasprintf("%s%s%s (%04x:%04x %s)",
			    prev ? prev : "", prev ? ", " : "", p->name,
			    p->usb_vid, p->usb_pid,
			    p->usb_serial[0] ? p->usb_serial : "no serial");
		free(prev);
	}
	if (matches == 0)
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no USB serial adapter %04x:%04x%s%s (found: %s)", vid, pid,
		    serial ? " with serial " : "", serial ? serial : "",
		    seen ? seen : "no serial ports");
	else
		err = st_fail(cause, ST_E_ARG,
		    "ambiguous: %zu adapters match %04x:%04x, add :SERIAL "
		    "(found: %s)",
		    matches, vid, pid, seen);
out:
	free(seen);
	uart_port_list_free(ports, n);
	return err;
}

static st_err
configure(struct sp_port *port, const struct uart_opts *o, char **cause)
{
	enum sp_return r = serialport.set_baudrate(port, (int)o->baud);

	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "setting the baud rate");
	r = serialport.set_bits(port, o->databits);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "setting the data bits");
	r = serialport.set_parity(port, o->parity);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "setting the parity");
	r = serialport.set_stopbits(port, o->stopbits);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "setting the stop bits");
	r = serialport.set_flowcontrol(port, o->flow);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r,
		    "setting the flow control");
	/* Many boards hold their UART bridge in reset, or stay silent,
	 * until DTR is asserted, as a terminal program would. */
	r = serialport.set_dtr(port, SP_DTR_ON);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "raising DTR");
	return ST_OK;
}

static char *
describe(const struct sp_port *port, const struct uart_opts *o)
{
	struct uart_port_info info;
	char parity = o->parity == SP_PARITY_ODD ? 'O' :
	    o->parity == SP_PARITY_EVEN		 ? 'E' :
						   'N';
	char *usb, *s;

	uart_port_info_from_sp(port, &info);
	if (info.usb_vid >= 0)
		usb = xasprintf(" (%04x:%04x%s%s)", info.usb_vid, info.usb_pid,
		    info.usb_serial[0] ? " " : "", info.usb_serial);
	else
		usb = xstrdup("");
	s = xasprintf("uart %s%s %u %d%c%d%s", info.name, usb, o->baud,
	    o->databits, parity, o->stopbits,
	    o->flow == SP_FLOWCONTROL_RTSCTS	  ? " rtscts" :
		o->flow == SP_FLOWCONTROL_XONXOFF ? " xonxoff" :
						    "");
	free(usb);
	uart_port_info_clear(&info);
	return s;
}

/* The spec's form: *path (caller frees, also on failure) and *o. */
static st_err
uart_parse(const char *spec, char **path, struct uart_opts *o, char **cause)
{
	const char *query, *serial;
	int vid, pid;
	st_err err;

	*path = transport_split_query(spec, &query);
	err = parse_opts(query, o, cause);
	if (err)
		return err;
	if (strncmp(*path, "usb=", 4) == 0) {
		if (usb_ids_parse(*path + 4, &vid, &pid, &serial) != 0)
			return st_fail(cause, ST_E_URI,
			    "expected usb=VID:PID[:SERIAL] with 4-digit hex "
			    "IDs, got '%s'",
			    *path);
		return ST_OK;
	}
	if ((*path)[0] != '/')
		return st_fail(cause, ST_E_URI,
		    "expected uart:/dev/NAME or uart:usb=VID:PID[:SERIAL], "
		    "got 'uart:%s'",
		    spec);
	return ST_OK;
}

static st_err
uart_check(const char *spec, char **cause)
{
	struct uart_opts o;
	char *path;
	st_err err;

	err = uart_parse(spec, &path, &o, cause);
	free(path);
	return err;
}

static st_err
uart_open(const char *spec, struct deadline dl, struct transport **out,
    char **cause)
{
	char *path = NULL;
	char *name = NULL;
	struct sp_port *port = NULL;
	struct uart_opts o;
	enum sp_return r;
	st_err err;

	(void)dl; /* opening a tty does not block (O_NONBLOCK inside) */
	*out = NULL;
	err = uart_parse(spec, &path, &o, cause);
	if (err)
		goto out;
	err = serialport_lib_load(cause);
	if (err)
		goto out;
	if (strncmp(path, "usb=", 4) == 0) {
		err = find_usb_port(path + 4, &name, cause);
		if (err)
			goto out;
	} else {
		name = xstrdup(path);
	}
	r = serialport.get_port_by_name(name, &port);
	if (r != SP_OK) {
		err = st_fail(cause, ST_E_NOTFOUND, "no serial port %s", name);
		goto out;
	}
	r = serialport.open(port, SP_MODE_READ_WRITE);
	if (r != SP_OK) {
		err = uart_sp_fail(cause, ST_E_IO, r, name);
		goto out;
	}
	err = configure(port, &o, cause);
	if (err) {
		serialport.close(port);
		err = st_wrap(cause, err, "%s", name);
		goto out;
	}

	struct uart_transport *t = xcalloc(1, sizeof *t);
	transport_init(&t->base, &transport_uart_ops, "uart", spec);
	t->base.describe = describe(port, &o);
	t->base.baud = o.baud;
	t->base.max_baud = o.max_baud;
	t->port = port;
	port = NULL;
	serialport.get_port_handle(t->port, &t->fd);
	log_debug("opened %s", t->base.describe);
	*out = &t->base;
out:
	if (port != NULL) /* NULL also when the library is not loaded */
		serialport.free_port(port);
	free(name);
	free(path);
	return err;
}

/* Wait for `events` on the port until `dl`: ST_OK when ready (*hup says
 * whether the line is also hung up, as a tty reports with buffered data
 * still to read), ST_E_TIMEOUT, or ST_E_HANGUP when the line is gone. */
static st_err
wait_fd(struct uart_transport *t, short events, struct deadline dl, int *hup,
    char **cause)
{
	*hup = 0;
	for (;;) {
		struct pollfd pfd = { .fd = t->fd, .events = events };
		int n = poll(&pfd, 1, deadline_left_ms(dl));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_fail(cause, ST_E_IO, "poll: %s",
			    strerror(errno));
		if (n == 0)
			return st_fail(cause, ST_E_TIMEOUT, "no data");
		*hup = (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
		if (pfd.revents & events)
			return ST_OK;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			return st_fail(cause, ST_E_HANGUP, "device hung up");
	}
}

/* A failed sp_* I/O call: EIO on a tty means the other end is gone. */
static st_err
io_fail(int r, const char *what, char **cause)
{
	if (r == SP_ERR_FAIL && serialport.last_error_code() == EIO)
		return st_fail(cause, ST_E_HANGUP, "device hung up");
	return uart_sp_fail(cause, ST_E_IO, r, what);
}

static st_err
uart_write(struct transport *tp, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct uart_transport *t = (struct uart_transport *)tp;
	int hup;
	st_err err;

	while (len > 0) {
		int n = serialport.nonblocking_write(t->port, buf, len);

		if (n < 0)
			return io_fail(n, "writing", cause);
		buf += n;
		len -= (size_t)n;
		if (len == 0)
			break;
		err = wait_fd(t, POLLOUT, dl, &hup, cause);
		if (err == ST_E_TIMEOUT)
			return st_fail(cause, err,
			    "write timed out with %zu "
			    "bytes unsent",
			    len);
		if (err)
			return err;
	}
	return ST_OK;
}

static st_err
uart_read(struct transport *tp, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct uart_transport *t = (struct uart_transport *)tp;
	int hup = 0;
	st_err err;

	*got = 0;
	for (;;) {
		int n = serialport.nonblocking_read(t->port, buf, cap);

		if (n < 0)
			return io_fail(n, "reading", cause);
		if (n > 0) {
			*got = (size_t)n;
			return ST_OK;
		}
		/* Readable and hung up, yet nothing to read: end of line. */
		if (hup)
			return st_fail(cause, ST_E_HANGUP, "device hung up");
		err = wait_fd(t, POLLIN, dl, &hup, cause);
		if (err)
			return err;
	}
}

static void
uart_flush_input(struct transport *tp)
{
	struct uart_transport *t = (struct uart_transport *)tp;

	serialport.flush(t->port, SP_BUF_INPUT);
}

/* The bytes written leave at the old rate first (sp_drain), then the
 * port changes rate; what arrives meanwhile is the device's business. */
static st_err
uart_set_baud(struct transport *tp, unsigned baud, char **cause)
{
	struct uart_transport *t = (struct uart_transport *)tp;
	enum sp_return r = serialport.drain(t->port);

	if (r == SP_OK)
		r = serialport.set_baudrate(t->port, (int)baud);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "setting the baud rate");
	log_info("%s: now %u baud", tp->uri, baud);
	return ST_OK;
}

static void
uart_close(struct transport *tp)
{
	struct uart_transport *t = (struct uart_transport *)tp;

	serialport.close(t->port);
	serialport.free_port(t->port);
	free(t);
}

const struct transport_ops transport_uart_ops = {
	.scheme = "uart",
	.summary =
	    "uart:/dev/ttyUSB0?baud=115200  serial port (libserialport); "
	    "uart:usb=VID:PID[:SERIAL] finds a USB adapter",
	.open = uart_open,
	.check = uart_check,
	.prepare = serialport_lib_load,
	.write = uart_write,
	.read = uart_read,
	.flush_input = uart_flush_input,
	.set_baud = uart_set_baud,
	.close = uart_close,
};
