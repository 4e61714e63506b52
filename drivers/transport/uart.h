/*
 * Serial ports as libserialport sees them: the list behind a future
 * `station list-devices` and behind `uart:usb=VID:PID[:SERIAL]` lookups.
 * The uart: transport itself is drivers/transport_uart.c.
 *
 * libserialport is loaded on first use (serialport_lib.h): by
 * uart_list_ports here; the functions given an sp_port or an sp_return
 * are called only with what a loaded library returned.
 */
#ifndef ST_UART_H
#define ST_UART_H

#include <stddef.h>

#include "station/util/err.h"

struct sp_port;

/* One serial port; every string is owned by the struct and never NULL
 * ("" when the system does not know it). */
struct uart_port_info {
	char *name;	       /* "/dev/ttyUSB0" */
	char *description;     /* libserialport's one-line description */
	const char *transport; /* "native", "usb", "bluetooth" (static) */
	int usb_vid;	       /* -1 unless transport is "usb" */
	int usb_pid;	       /* -1 unless transport is "usb" */
	char *usb_serial;
	char *usb_manufacturer;
	char *usb_product;
};

/*
 * Every serial port the system reports, in libserialport's order.  On
 * ST_OK *out is a caller-owned array of *n entries (possibly 0, *out may
 * then be NULL), released with uart_port_list_free().  ST_E_CONFIG, *n
 * 0, when libserialport cannot be loaded (the cause says what to
 * install).
 */
st_err uart_list_ports(struct uart_port_info **out, size_t *n, char **cause);
/* Accepts NULL. */
void uart_port_list_free(struct uart_port_info *list, size_t n);

/* Fill `info` from an sp_port (borrowed); release with
 * uart_port_info_clear(). */
void uart_port_info_from_sp(const struct sp_port *port,
    struct uart_port_info *info);
void uart_port_info_clear(struct uart_port_info *info);

/*
 * Turn the last libserialport failure into a cause: "<what>: <message>"
 * with the library's (or the OS's) message.  Returns `err`.
 */
st_err uart_sp_fail(char **cause, st_err err, int sp_ret, const char *what);

#endif
