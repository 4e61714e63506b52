/* USB selectors, enumeration and the vendor bulk interface (see usb.h). */
#include "drivers/transport/usb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "drivers/transport/usb_lib.h"

#define LOG_MODULE "usb"
#include "station/util/log.h"

/* How long a string descriptor may take while enumerating. */
#define USB_STRING_TIMEOUT_MS 500

const char *
usb_strerror(int ret)
{
	return libusb.strerror(ret);
}

/* "0403" -> 0x0403; exactly four hex digits, else -1. */
static int
parse_hex16(const char *s, size_t len)
{
	int v = 0;

	if (len != 4)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'a' && c <= 'f'     ? c - 'a' + 10 :
		    c >= 'A' && c <= 'F'     ? c - 'A' + 10 :
					       -1;

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* "1-2.3": a bus number, '-', then 1..7 port numbers joined by '.'. */
static int
port_path_valid(const char *p)
{
	int ports = 0;
	const char *s = p;

	if (*s < '1' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	if (s - p > 3 || *s != '-')
		return 0;
	for (;;) {
		const char *start = ++s;

		if (*s < '1' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
		if (s - start > 3 || ++ports > 7)
			return 0;
		if (*s == '\0')
			return 1;
		if (*s != '.')
			return 0;
	}
}

st_err
usb_selector_parse(const char *text, struct usb_selector *sel, char **cause)
{
	const char *serial;

	*sel = (struct usb_selector){ .vid = -1, .pid = -1 };
	if (strncmp(text, "path=", 5) == 0) {
		if (!port_path_valid(text + 5))
			return st_fail(cause, ST_E_URI,
			    "expected path=BUS-PORT[.PORT]... (e.g. path=1-2.3, "
			    "as `station list-devices` shows), got '%s'",
			    text);
		sel->port_path = xstrdup(text + 5);
		return ST_OK;
	}
	if (usb_ids_parse(text, &sel->vid, &sel->pid, &serial) != 0) {
		*sel = (struct usb_selector){ .vid = -1, .pid = -1 };
		return st_fail(cause, ST_E_URI,
		    "expected VID:PID[:SERIAL] with 4-digit hex IDs or "
		    "path=BUS-PORT[.PORT]..., got '%s'",
		    text);
	}
	if (serial != NULL)
		sel->serial = xstrdup(serial);
	return ST_OK;
}

int
usb_ids_parse(const char *text, int *vid, int *pid, const char **serial)
{
	const char *c1 = strchr(text, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	*vid = c1 ? parse_hex16(text, (size_t)(c1 - text)) : -1;
	*pid = c1 ?
	    parse_hex16(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1)) :
	    -1;
	*serial = c2 ? c2 + 1 : NULL;
	if (*vid < 0 || *pid < 0 || (c2 != NULL && c2[1] == '\0'))
		return -1;
	return 0;
}

void
usb_selector_clear(struct usb_selector *sel)
{
	if (sel == NULL)
		return;
	free(sel->serial);
	free(sel->port_path);
	*sel = (struct usb_selector){ .vid = -1, .pid = -1 };
}

void
usb_port_path(libusb_device *dev, char *buf, size_t cap)
{
	uint8_t ports[8];
	int n = libusb.get_port_numbers(dev, ports, (int)sizeof ports);
	int used;

	buf[0] = '\0';
	if (n <= 0)
		return;
	used = snprintf(buf, cap, "%u-", libusb.get_bus_number(dev));
	for (int i = 0; i < n && used > 0 && (size_t)used < cap; i++)
		used += snprintf(buf + used, cap - (size_t)used, "%s%u",
		    i ? "." : "", ports[i]);
	if (used < 0 || (size_t)used >= cap)
		buf[0] = '\0';
}

st_err
usb_find_bulk_iface(libusb_device *dev, int want, struct usb_bulk_iface *out,
    char **cause)
{
	struct libusb_config_descriptor *cfg = NULL;
	int r = libusb.get_active_config_descriptor(dev, &cfg);
	st_err err = ST_E_NOTFOUND;

	if (r != 0)
		return st_fail(cause,
		    r == LIBUSB_ERROR_NO_DEVICE ? ST_E_HANGUP : ST_E_IO,
		    "reading the configuration descriptor: %s",
		    usb_strerror(r));
	for (int i = 0; i < cfg->bNumInterfaces && err; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		for (int a = 0; a < itf->num_altsetting && err; a++) {
			const struct libusb_interface_descriptor *d =
			    &itf->altsetting[a];
			struct usb_bulk_iface b = { .number =
							d->bInterfaceNumber,
				.alt = d->bAlternateSetting };

			if (want >= 0 ?
				d->bInterfaceNumber != want :
				d->bInterfaceClass != LIBUSB_CLASS_VENDOR_SPEC)
				continue;
			for (int e = 0; e < d->bNumEndpoints; e++) {
				const struct libusb_endpoint_descriptor *ep =
				    &d->endpoint[e];

				if ((ep->bmAttributes & 3) !=
				    LIBUSB_TRANSFER_TYPE_BULK)
					continue;
				if (ep->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
					if (b.ep_in == 0) {
						b.ep_in = ep->bEndpointAddress;
						b.mps_in = ep->wMaxPacketSize;
					}
				} else if (b.ep_out == 0) {
					b.ep_out = ep->bEndpointAddress;
					b.mps_out = ep->wMaxPacketSize;
				}
			}
			if (b.ep_in != 0 && b.ep_out != 0) {
				*out = b;
				err = ST_OK;
			}
		}
	}
	libusb.free_config_descriptor(cfg);
	if (err && want >= 0)
		return st_fail(cause, err,
		    "interface %d has no bulk IN and "
		    "bulk OUT endpoint pair",
		    want);
	if (err)
		return st_fail(cause, err,
		    "no vendor-specific (class 0xff) "
		    "interface with bulk IN and OUT endpoints");
	return ST_OK;
}

/* The string, "" when the device has none, NULL when it cannot be read
 * (not opened, or the request failed). */
static char *
read_string(libusb_device_handle *h, uint8_t index)
{
	unsigned char buf[256];
	int n;

	if (index == 0)
		return xstrdup("");
	if (h == NULL)
		return NULL;
	n = libusb.get_string_descriptor_ascii(h, index, buf, sizeof buf - 1);
	if (n < 0) {
		log_debug("string descriptor %u: %s", index, usb_strerror(n));
		return NULL;
	}
	buf[n] = '\0';
	return xstrdup((char *)buf);
}

/* *dst = s, or "" when s is NULL; counts the failures in *bad. */
static void
take_string(char **dst, char *s, int *bad)
{
	if (s == NULL)
		(*bad)++;
	*dst = s ? s : xstrdup("");
}

int
usb_dev_info_get(libusb_device *dev, struct usb_dev_info *info)
{
	struct libusb_device_descriptor dd;
	struct usb_bulk_iface b;
	libusb_device_handle *h = NULL;
	char path[USB_PORT_PATH_MAX];
	int bad = 0;

	memset(&dd, 0, sizeof dd);
	libusb.get_device_descriptor(dev, &dd);
	usb_port_path(dev, path, sizeof path);
	info->vid = dd.idVendor;
	info->pid = dd.idProduct;
	info->bus = libusb.get_bus_number(dev);
	info->address = libusb.get_device_address(dev);
	info->port_path = xstrdup(path);
	if (libusb.open(dev, &h) != 0)
		h = NULL;
	take_string(&info->manufacturer, read_string(h, dd.iManufacturer),
	    &bad);
	take_string(&info->product, read_string(h, dd.iProduct), &bad);
	take_string(&info->serial, read_string(h, dd.iSerialNumber), &bad);
	libusb.close(h);
	info->bulk_iface =
	    usb_find_bulk_iface(dev, -1, &b, NULL) == ST_OK ? b.number : -1;
	if (path[0] != '\0')
		info->uri = xasprintf("usb:path=%s", path);
	else if (info->serial[0] != '\0')
		info->uri = xasprintf("usb:%04x:%04x:%s", info->vid, info->pid,
		    info->serial);
	else
		info->uri = xasprintf("usb:%04x:%04x", info->vid, info->pid);
	return bad ? -1 : 0;
}

void
usb_dev_info_clear(struct usb_dev_info *info)
{
	if (info == NULL)
		return;
	free(info->port_path);
	free(info->manufacturer);
	free(info->product);
	free(info->serial);
	free(info->uri);
	memset(info, 0, sizeof *info);
}

static int
is_root_hub(libusb_device *dev)
{
	return libusb.get_parent(dev) == NULL &&
	    libusb.get_port_number(dev) == 0;
}

static int
cmp_dev(const void *a, const void *b)
{
	const struct usb_dev_info *x = a, *y = b;

	if (x->bus != y->bus)
		return x->bus - y->bus;
	return x->address - y->address;
}

st_err
usb_list_devices(struct usb_dev_info **out, size_t *n, char **cause)
{
	libusb_context *ctx = NULL;
	libusb_device **devs = NULL;
	ssize_t count;
	st_err err;
	int r;

	*out = NULL;
	*n = 0;
	err = usb_lib_load(cause);
	if (err)
		return err;
	r = libusb.init(&ctx);
	if (r != 0)
		return st_fail(cause, ST_E_IO, "libusb_init: %s",
		    usb_strerror(r));
	count = libusb.get_device_list(ctx, &devs);
	if (count < 0) {
		libusb.exit(ctx);
		return st_fail(cause, ST_E_IO, "listing USB devices: %s",
		    usb_strerror((int)count));
	}
	if (count > 0)
		*out = xcalloc((size_t)count, sizeof **out);
	for (ssize_t i = 0; i < count; i++) {
		if (is_root_hub(devs[i]))
			continue;
		usb_dev_info_get(devs[i], &(*out)[(*n)++]);
	}
	libusb.free_device_list(devs, 1);
	libusb.exit(ctx);
	if (*n > 1)
		qsort(*out, *n, sizeof **out, cmp_dev);
	return ST_OK;
}

void
usb_dev_list_free(struct usb_dev_info *list, size_t n)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		usb_dev_info_clear(&list[i]);
	free(list);
}

static int
serial_matches(libusb_device *dev, uint8_t index, const char *want)
{
	libusb_device_handle *h = NULL;
	char *s;
	int ok;

	if (index == 0)
		return 0;
	if (libusb.open(dev, &h) != 0)
		return -1;
	s = read_string(h, index);
	ok = s == NULL ? -1 : strcmp(s, want) == 0;
	free(s);
	libusb.close(h);
	return ok;
}

int
usb_selector_match(const struct usb_selector *sel, libusb_device *dev)
{
	struct libusb_device_descriptor dd;
	char path[USB_PORT_PATH_MAX];

	if (sel->port_path != NULL) {
		usb_port_path(dev, path, sizeof path);
		return strcmp(path, sel->port_path) == 0;
	}
	if (libusb.get_device_descriptor(dev, &dd) != 0)
		return 0;
	if (dd.idVendor != sel->vid || dd.idProduct != sel->pid)
		return 0;
	return sel->serial == NULL ||
	    serial_matches(dev, dd.iSerialNumber, sel->serial);
}

/* "1-1 (0403:6001 FT1234), 1-2 (...)": what is connected, for causes. */
static char *
describe_found(libusb_device **devs, ssize_t count)
{
	char *seen = NULL;

	for (ssize_t i = 0; i < count; i++) {
		struct usb_dev_info d;
		char *prev = seen;

		if (is_root_hub(devs[i]))
			continue;
		usb_dev_info_get(devs[i], &d);
		seen = xasprintf("%s%s%s (%04x:%04x%s%s)", prev ? prev : "",
		    prev ? ", " : "", d.port_path[0] ? d.port_path : "?", d.vid,
		    d.pid, d.serial[0] ? " " : "", d.serial);
		free(prev);
		usb_dev_info_clear(&d);
	}
	return seen ? seen : xstrdup("no USB devices");
}

static char *
describe_selector(const struct usb_selector *sel)
{
	if (sel->port_path != NULL)
		return xasprintf("at port %s", sel->port_path);
	return xasprintf("%04x:%04x%s%s", sel->vid, sel->pid,
	    sel->serial ? " with serial " : "", sel->serial ? sel->serial : "");
}

st_err
usb_find_device(libusb_context *ctx, const struct usb_selector *sel,
    libusb_device **out, char **cause)
{
	libusb_device **devs = NULL;
	libusb_device *match = NULL;
	size_t matches = 0;
	ssize_t count = libusb.get_device_list(ctx, &devs);
	char *seen = NULL, *what = NULL;
	st_err err = ST_OK;

	*out = NULL;
	if (count < 0)
		return st_fail(cause, ST_E_IO, "listing USB devices: %s",
		    usb_strerror((int)count));
	for (ssize_t i = 0; i < count; i++) {
		if (is_root_hub(devs[i]) ||
		    usb_selector_match(sel, devs[i]) != 1)
			continue;
		if (matches++ == 0)
			match = devs[i];
	}
	if (matches == 1) {
		*out = libusb.ref_device(match);
		goto out;
	}
	seen = describe_found(devs, count);
	what = describe_selector(sel);
	if (matches == 0)
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no USB device %s (found: "
		    "%s)",
		    what, seen);
	else
		err = st_fail(cause, ST_E_ARG,
		    "ambiguous: %zu USB devices "
		    "match %s, add :SERIAL or use path= (found: %s)",
		    matches, what, seen);
out:
	free(seen);
	free(what);
	libusb.free_device_list(devs, 1);
	return err;
}
