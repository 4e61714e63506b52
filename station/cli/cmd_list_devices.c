/*
 * station list-devices [--json]
 *
 * Every serial port and USB device this station can see, each with the
 * device URI to put in a fixture file: what a test engineer runs when
 * wiring a fixture slot to a socket (docs/usb.md).  USB devices are named
 * by port path (usb:path=1-2.3), which stays with the socket whatever
 * board is plugged in; USB serial adapters by VID:PID:SERIAL.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/transport/uart.h"
#include "drivers/transport/usb.h"
#include "station/cli/cmd.h"
#include "station/cli/json_out.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

static char *
uart_uri(const struct uart_port_info *p)
{
	if (p->usb_vid >= 0 && p->usb_serial[0] != '\0')
		return xasprintf("uart:usb=%04x:%04x:%s", p->usb_vid,
		    p->usb_pid, p->usb_serial);
	return xasprintf("uart:%s", p->name);
}

static void
print_uart(const struct uart_port_info *p, int json)
{
	char *uri = uart_uri(p);
	struct text_pool tp = { 0 };

	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "kind", json_string("serial"));
		json_object_set_new(o, "uri", json_str_or_null(uri));
		json_object_set_new(o, "name", json_str_or_null(p->name));
		json_object_set_new(o, "transport",
		    json_str_or_null(p->transport));
		json_object_set_new(o, "description",
		    json_str_or_null(p->description));
		if (p->usb_vid >= 0) {
			json_object_set_new(o, "vid", json_integer(p->usb_vid));
			json_object_set_new(o, "pid", json_integer(p->usb_pid));
			json_object_set_new(o, "serial",
			    json_str_or_null(p->usb_serial));
			json_object_set_new(o, "manufacturer",
			    json_str_or_null(p->usb_manufacturer));
			json_object_set_new(o, "product",
			    json_str_or_null(p->usb_product));
		}
		json_out_line_utf8(o);
	} else if (p->usb_vid >= 0) {
		/* USB string descriptors are the device's words. */
		printf("serial  %-28s %s  %04x:%04x %s %s%s%s\n",
		    text_pool_show(&tp, uri), text_pool_show(&tp, p->name),
		    p->usb_vid, p->usb_pid,
		    text_pool_show(&tp, p->usb_manufacturer),
		    text_pool_show(&tp, p->usb_product),
		    p->usb_serial[0] ? "  serial " : "",
		    text_pool_show(&tp, p->usb_serial));
	} else {
		printf("serial  %-28s %s\n", text_pool_show(&tp, uri),
		    text_pool_show(&tp, p->description));
	}
	text_pool_clear(&tp);
	free(uri);
}

static void
print_usb(const struct usb_dev_info *d, int json)
{
	struct text_pool tp = { 0 };

	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "kind", json_string("usb"));
		json_object_set_new(o, "uri", json_str_or_null(d->uri));
		json_object_set_new(o, "vid", json_integer(d->vid));
		json_object_set_new(o, "pid", json_integer(d->pid));
		json_object_set_new(o, "manufacturer",
		    json_str_or_null(d->manufacturer));
		json_object_set_new(o, "product", json_str_or_null(d->product));
		json_object_set_new(o, "serial", json_str_or_null(d->serial));
		json_object_set_new(o, "port_path",
		    json_str_or_null(d->port_path));
		json_object_set_new(o, "bus", json_integer(d->bus));
		json_object_set_new(o, "address", json_integer(d->address));
		json_object_set_new(o, "vendor_bulk_interface",
		    d->bulk_iface >= 0 ? json_integer(d->bulk_iface) :
					 json_null());
		json_out_line_utf8(o);
		return;
	}
	printf("usb     %-28s %04x:%04x bus %03d addr %03d  %s %s%s%s%s\n",
	    text_pool_show(&tp, d->uri), d->vid, d->pid, d->bus, d->address,
	    text_pool_show(&tp, d->manufacturer),
	    text_pool_show(&tp, d->product), d->serial[0] ? "  serial " : "",
	    text_pool_show(&tp, d->serial),
	    d->bulk_iface >= 0 ? "  vendor-bulk" : "");
	text_pool_clear(&tp);
}

struct list_devices_opts {
	int json;
};

static const struct opt list_devices_opt_table[] = {
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct list_devices_opts, json),
	    .help = "one JSON object per port or device" },
	{ .name = NULL },
};

static const struct opt_template list_devices_template[] = {
	{ .opts = list_devices_opt_table },
	{ .opts = NULL },
};

static int
list_devices_exec(const struct station_opts *so, int argc, char **argv)
{
	struct list_devices_opts o = { 0 };
	struct opt_args args;
	struct uart_port_info *ports = NULL;
	struct usb_dev_info *devs = NULL;
	size_t nports = 0, ndevs = 0;
	char *cause = NULL;
	int json, failures = 0, rc;

	(void)so; /* only what this machine sees: no station */
	rc = cmd_parse(&cmd_list_devices_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	json = o.json;
	if (uart_list_ports(&ports, &nports, &cause) != ST_OK) {
		cmd_print_cause("serial ports", cause);
		free(cause);
		cause = NULL;
		failures++;
	}
	for (size_t i = 0; i < nports; i++)
		print_uart(&ports[i], json);
	if (usb_list_devices(&devs, &ndevs, &cause) != ST_OK) {
		cmd_print_cause("USB devices", cause);
		free(cause);
		failures++;
	}
	for (size_t i = 0; i < ndevs; i++)
		print_usb(&devs[i], json);
	if (!json && nports == 0 && ndevs == 0)
		printf("no serial ports or USB devices found\n");
	uart_port_list_free(ports, nports);
	usb_dev_list_free(devs, ndevs);
	/* One kind of device missing (no sysfs tty class, say) is not a
	 * reason to hide the other. */
	return failures == 2 ? EXIT_STATION : EXIT_PASS;
}

const struct cmd_entry cmd_list_devices_entry = {
	.name = "list-devices",
	.args = "[--json]",
	.summary = "serial ports and USB devices, with the URI for a fixture",
	.options = list_devices_template,
	.exec = list_devices_exec,
};
