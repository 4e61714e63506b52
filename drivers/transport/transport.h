/*
 * How the station reaches a device: one small interface, one implementation
 * per device-URI scheme, chosen from an explicit table (transport.c).
 *
 *	tcp:HOST:PORT[?baud=N[&max_baud=M]] raw bytes over TCP (ser2net,
 *	                                    serial device servers, devsim);
 *	                                    baud: the endpoint's line rate,
 *	                                    max_baud: it follows the device's
 *	                                    rate up to M (a baud switch)
 *	rfc2217:HOST:PORT[?baud=N[&max_baud=M]]
 *	                                    a serial port behind an RFC 2217
 *	                                    server (ser2net telnet(rfc2217)):
 *	                                    the station sets 8N1 and baud, and
 *	                                    switches up to M by SET-BAUDRATE
 *	uart:/dev/ttyUSB0?baud=115200&parity=none&flow=none&max_baud=921600
 *	uart:usb=0403:6001[:SERIAL]?baud=115200
 *	                                    a USB-serial adapter found by its
 *	                                    VID:PID and, optionally, USB serial
 *	usb:VID:PID[:SERIAL]  usb:path=1-2.3 ?interface=N&timeout_ms=MS
 *	                                    vendor bulk interface (libusb)
 *
 * Protocol code (drivers/client.c) only talks to a `struct transport`; it
 * never calls libserialport, libusb or sockets itself, so every transport
 * can be simulated and every byte can be logged in one place.
 */
#ifndef ST_TRANSPORT_H
#define ST_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/clock.h"
#include "station/util/err.h"

struct transport;

struct transport_ops {
	const char *scheme;  /* "tcp", "uart", "usb", "rfc2217" */
	const char *summary; /* one line for --help */
	/* `spec` is the URI after "scheme:". On success *out is owned by the
	 * caller and released with transport_close(). */
	st_err (*open)(const char *spec, struct deadline dl,
	    struct transport **out, char **cause);
	/* The form of `spec` alone, touching nothing (no port opened, no
	 * name resolved, no bus enumerated): ST_E_URI names what is wrong.
	 * open() refuses the same specs. */
	st_err (*check)(const char *spec, char **cause);
	/* What open() needs that a PC may lack, loaded now (a library loaded
	 * on first use): ST_E_CONFIG naming the package when it is missing.
	 * Touches no device.  NULL: nothing to load. */
	st_err (*prepare)(char **cause);
	/* Write all `len` bytes before the deadline, or fail. */
	st_err (*write)(struct transport *t, const uint8_t *buf, size_t len,
	    struct deadline dl, char **cause);
	/* Read at least one byte (up to `cap`) before the deadline: ST_OK with
	 * *got >= 1, ST_E_TIMEOUT with *got = 0, ST_E_HANGUP when the peer is
	 * gone (EOF, EIO, POLLHUP). */
	st_err (*read)(struct transport *t, uint8_t *buf, size_t cap,
	    size_t *got, struct deadline dl, char **cause);
	/* Discard bytes received but not yet read (before a retransmission). */
	void (*flush_input)(struct transport *t);
	/* Change the line rate to `baud` once the bytes written are on the
	 * line (docs/protocol.md 8.17, SET_BAUD); NULL: the rate is fixed. */
	st_err (*set_baud)(struct transport *t, unsigned baud, char **cause);
	void (*close)(struct transport *t);
};

/* Every transport embeds this as its first member. */
struct transport {
	const struct transport_ops *ops;
	char *uri;	   /* the full URI, for messages and the ledger */
	char *describe;	   /* e.g. "tcp 127.0.0.1:4000", "uart /dev/ttyUSB0
	                     (0403:6001 FT1234) 115200 8N1" */
	unsigned baud;	   /* bits per second on the wire; 0 = not a UART */
	unsigned max_baud; /* highest rate the URI allows a switch to
	                      (max_baud=); 0: no switch is offered */
};

/* The implementations (one file each). */
extern const struct transport_ops transport_tcp_ops;
extern const struct transport_ops transport_uart_ops;
extern const struct transport_ops transport_usb_ops;
extern const struct transport_ops transport_rfc2217_ops;

/* The table of transports, NULL-terminated (for --help and lookups). */
extern const struct transport_ops *const transport_table[];

/* Open by URI: picks the implementation from the scheme.  ST_E_URI names
 * the problem ("unknown scheme 'foo' (known: tcp, uart, usb, rfc2217)"). */
st_err transport_open(const char *uri, struct deadline dl,
    struct transport **out, char **cause);
/* Accepts NULL. */
void transport_close(struct transport *t);

/* The URI's form (scheme and the transport's spec) without opening
 * anything, so that a mistyped URI is refused before a run is recorded.
 * ST_E_URI with the same cause transport_open would give. */
st_err transport_check(const char *uri, char **cause);

/* What the URI's transport needs to open a device, loaded now (its
 * ops->prepare), so that a PC without it refuses the request before a
 * run is recorded rather than failing it at connect: ST_E_CONFIG with
 * the fix ("apt-get install libserialport0").  The URI must have passed
 * transport_check.  Touches no device. */
st_err transport_prepare(const char *uri, char **cause);

/* Switch `t` to `baud` (within t->max_baud) and record it in t->baud;
 * ST_E_UNSUPPORTED when the URI offers no switch. */
st_err transport_set_baud(struct transport *t, unsigned baud, char **cause);

/*
 * `inner` (owned from here) behind a transport whose reads and writes end
 * with ST_E_ABORTED ("aborted by operator") soon after cancelled(ctx)
 * turns nonzero: a read waits in slices of 100 ms and asks between them.
 * The URI, description and rates are the inner transport's; a baud
 * switch goes to it.  For the operator's abort key (line_abort).
 */
struct transport *transport_cancellable(struct transport *inner,
    int (*cancelled)(void *ctx), void *ctx);

/* Helpers for implementations. */
void transport_init(struct transport *t, const struct transport_ops *ops,
    const char *scheme, const char *spec);
/* Split "a?k=v&k2=v2": returns the part before '?' (xalloc'd) and leaves
 * `*query` pointing at the text after '?' (or at "" if none). */
char *transport_split_query(const char *spec, const char **query);
/* Find key in a query string "k=v&k2=v2"; xalloc'd value or NULL. */
char *transport_query_get(const char *query, const char *key);
/* ST_E_URI if the query holds a key not in the NULL-terminated list. */
st_err transport_query_check(const char *query, const char *const *known,
    char **cause);
/* The rate options of a query: baud (1..4000000; left alone when absent)
 * and max_baud (0 when absent; at least baud, and only with a baud). */
st_err transport_query_rates(const char *query, unsigned *baud,
    unsigned *max_baud, char **cause);

#endif
