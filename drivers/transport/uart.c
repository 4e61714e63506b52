/* Serial-port enumeration and libserialport error text (see uart.h). */
#include "drivers/transport/uart.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "drivers/transport/serialport_lib.h"

st_err
uart_sp_fail(char **cause, st_err err, int sp_ret, const char *what)
{
	char *msg;

	switch (sp_ret) {
	case SP_ERR_FAIL:
		/* Only SP_ERR_FAIL carries an OS message. */
		msg = serialport.last_error_message();
		st_fail(cause, err, "%s: %s", what, msg ? msg : "failed");
		serialport.free_error_message(msg);
		return err;
	case SP_ERR_ARG:
		return st_fail(cause, err, "%s: invalid argument", what);
	case SP_ERR_MEM:
		return st_fail(cause, err, "%s: out of memory", what);
	case SP_ERR_SUPP:
		return st_fail(cause, err, "%s: not supported by this port",
		    what);
	default:
		return st_fail(cause, err, "%s: libserialport error %d", what,
		    sp_ret);
	}
}

static char *
dup_or_empty(const char *s)
{
	return xstrdup(s ? s : "");
}

static const char *
transport_name(enum sp_transport t)
{
	switch (t) {
	case SP_TRANSPORT_USB:
		return "usb";
	case SP_TRANSPORT_BLUETOOTH:
		return "bluetooth";
	case SP_TRANSPORT_NATIVE:
	default:
		return "native";
	}
}

void
uart_port_info_from_sp(const struct sp_port *port, struct uart_port_info *info)
{
	enum sp_transport t = serialport.get_port_transport(port);

	memset(info, 0, sizeof *info);
	info->name = dup_or_empty(serialport.get_port_name(port));
	info->description = dup_or_empty(serialport.get_port_description(port));
	info->transport = transport_name(t);
	info->usb_vid = -1;
	info->usb_pid = -1;
	if (t == SP_TRANSPORT_USB &&
	    serialport.get_port_usb_vid_pid(port, &info->usb_vid,
		&info->usb_pid) != SP_OK) {
		info->usb_vid = -1;
		info->usb_pid = -1;
	}
	if (t == SP_TRANSPORT_USB) {
		info->usb_serial =
		    dup_or_empty(serialport.get_port_usb_serial(port));
		info->usb_manufacturer =
		    dup_or_empty(serialport.get_port_usb_manufacturer(port));
		info->usb_product =
		    dup_or_empty(serialport.get_port_usb_product(port));
	} else {
		info->usb_serial = xstrdup("");
		info->usb_manufacturer = xstrdup("");
		info->usb_product = xstrdup("");
	}
}

void
uart_port_info_clear(struct uart_port_info *info)
{
	if (info == NULL)
		return;
	free(info->name);
	free(info->description);
	free(info->usb_serial);
	free(info->usb_manufacturer);
	free(info->usb_product);
	memset(info, 0, sizeof *info);
}

st_err
uart_list_ports(struct uart_port_info **out, size_t *n, char **cause)
{
	struct sp_port **ports = NULL;
	size_t count = 0;
	enum sp_return r;
	st_err err;

	*out = NULL;
	*n = 0;
	err = serialport_lib_load(cause);
	if (err)
		return err;
	r = serialport.list_ports(&ports);
	if (r != SP_OK)
		return uart_sp_fail(cause, ST_E_IO, r, "listing serial ports");
	while (ports[count] != NULL)
		count++;
	if (count > 0) {
		*out = xcalloc(count, sizeof **out);
		for (size_t i = 0; i < count; i++)
			uart_port_info_from_sp(ports[i], &(*out)[i]);
	}
	*n = count;
	serialport.free_port_list(ports);
	return ST_OK;
}

void
uart_port_list_free(struct uart_port_info *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		uart_port_info_clear(&list[i]);
	free(list);
}
