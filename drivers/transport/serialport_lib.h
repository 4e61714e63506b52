/*
 * libserialport, loaded on first use (station/util/dlib.h): a station
 * that reaches its devices over TCP never pays for it at start-up.
 *
 * Contract: serialport_lib_load() before the first call through
 * `serialport`; every place that opens or lists a serial port
 * (uart_open, uart_list_ports) does.  Each pointer has the prototype of
 * <libserialport.h> (types and constants still come from there, only the
 * calls go through the table) and is valid once a load returned ST_OK;
 * a function given an sp_port holds one only because a load succeeded.
 */
#ifndef ST_SERIALPORT_LIB_H
#define ST_SERIALPORT_LIB_H

#include <libserialport.h>

#include "station/util/err.h"

struct serialport_lib {
	__typeof__(sp_get_port_by_name) *get_port_by_name;
	__typeof__(sp_free_port) *free_port;
	__typeof__(sp_list_ports) *list_ports;
	__typeof__(sp_free_port_list) *free_port_list;
	__typeof__(sp_open) *open;
	__typeof__(sp_close) *close;
	__typeof__(sp_get_port_name) *get_port_name;
	__typeof__(sp_get_port_description) *get_port_description;
	__typeof__(sp_get_port_transport) *get_port_transport;
	__typeof__(sp_get_port_usb_vid_pid) *get_port_usb_vid_pid;
	__typeof__(sp_get_port_usb_manufacturer) *get_port_usb_manufacturer;
	__typeof__(sp_get_port_usb_product) *get_port_usb_product;
	__typeof__(sp_get_port_usb_serial) *get_port_usb_serial;
	__typeof__(sp_get_port_handle) *get_port_handle;
	__typeof__(sp_set_baudrate) *set_baudrate;
	__typeof__(sp_set_bits) *set_bits;
	__typeof__(sp_set_parity) *set_parity;
	__typeof__(sp_set_stopbits) *set_stopbits;
	__typeof__(sp_set_flowcontrol) *set_flowcontrol;
	__typeof__(sp_set_dtr) *set_dtr;
	__typeof__(sp_nonblocking_read) *nonblocking_read;
	__typeof__(sp_nonblocking_write) *nonblocking_write;
	__typeof__(sp_flush) *flush;
	__typeof__(sp_drain) *drain;
	__typeof__(sp_last_error_code) *last_error_code;
	__typeof__(sp_last_error_message) *last_error_message;
	__typeof__(sp_free_error_message) *free_error_message;
};
extern struct serialport_lib serialport;

/*
 * Load libserialport.so.0 once per process (thread-safe; ST_OK at once
 * after the first success).  ST_E_CONFIG when it is missing or too old,
 * the cause naming the SONAME and 'apt-get install libserialport0'.
 */
st_err serialport_lib_load(char **cause);

#endif
