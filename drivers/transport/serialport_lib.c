/* libserialport's function table, filled on first use (see
 * serialport_lib.h). */
#include "drivers/transport/serialport_lib.h"

#include "station/util/dlib.h"

struct serialport_lib serialport;

/* A row of serialport_syms: the name in libserialport, the pointer it
 * fills. */
#define SERIALPORT_SYM(f) "sp_" #f, (void **)&serialport.f
static const struct dlib_sym serialport_syms[] = {
	{ SERIALPORT_SYM(get_port_by_name) },
	{ SERIALPORT_SYM(free_port) },
	{ SERIALPORT_SYM(list_ports) },
	{ SERIALPORT_SYM(free_port_list) },
	{ SERIALPORT_SYM(open) },
	{ SERIALPORT_SYM(close) },
	{ SERIALPORT_SYM(get_port_name) },
	{ SERIALPORT_SYM(get_port_description) },
	{ SERIALPORT_SYM(get_port_transport) },
	{ SERIALPORT_SYM(get_port_usb_vid_pid) },
	{ SERIALPORT_SYM(get_port_usb_manufacturer) },
	{ SERIALPORT_SYM(get_port_usb_product) },
	{ SERIALPORT_SYM(get_port_usb_serial) },
	{ SERIALPORT_SYM(get_port_handle) },
	{ SERIALPORT_SYM(set_baudrate) },
	{ SERIALPORT_SYM(set_bits) },
	{ SERIALPORT_SYM(set_parity) },
	{ SERIALPORT_SYM(set_stopbits) },
	{ SERIALPORT_SYM(set_flowcontrol) },
	{ SERIALPORT_SYM(set_dtr) },
	{ SERIALPORT_SYM(nonblocking_read) },
	{ SERIALPORT_SYM(nonblocking_write) },
	{ SERIALPORT_SYM(flush) },
	{ SERIALPORT_SYM(drain) },
	{ SERIALPORT_SYM(last_error_code) },
	{ SERIALPORT_SYM(last_error_message) },
	{ SERIALPORT_SYM(free_error_message) },
	{ NULL, NULL },
};

static struct dlib serialport_dlib = { .soname = "libserialport.so.0",
	.package = "libserialport0",
	.syms = serialport_syms };

st_err
serialport_lib_load(char **cause)
{
	return dlib_load(&serialport_dlib, cause);
}
