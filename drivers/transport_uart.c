/* uart: placeholder until the libserialport transport lands. */
#include "transport.h"

static st_err
uart_open(const char *spec, struct deadline dl, struct transport **out,
    char **cause)
{
	(void)dl;
	*out = NULL;
	return st_fail(cause, ST_E_UNSUPPORTED, "uart:%s: not implemented yet",
	    spec);
}

const struct transport_ops transport_uart_ops = {
	.scheme = "uart",
	.summary = "uart:/dev/ttyUSB0?baud=115200  serial port (libserialport)",
	.open = uart_open,
};
