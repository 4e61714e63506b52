/*
 * USB devices as libusb sees them: the selectors of `usb:` device URIs,
 * the device list behind `station list-devices`, and the search for a
 * device's vendor bulk interface.  The usb: transport itself is
 * drivers/transport_usb.c, hotplug is drivers/usb_hotplug.c.
 *
 * libusb is loaded on first use (usb_lib.h): by usb_list_devices here;
 * the functions given a libusb_context or libusb_device, and
 * usb_strerror, are called only with what a loaded library returned.
 *
 * A selector names one device in one of three ways:
 *
 *	VID:PID              the only device with these IDs
 *	VID:PID:SERIAL       ... and this USB serial string
 *	path=BUS-PORT.PORT   the device plugged into this physical port, as
 *	                     Linux names it in /sys/bus/usb/devices ("1-2.3":
 *	                     bus 1, port 2 of the root hub, port 3 of the hub
 *	                     behind it).  Stable for a fixture slot wired to a
 *	                     fixed socket, whatever device is plugged in.
 */
#ifndef ST_USB_H
#define ST_USB_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

struct libusb_context;
struct libusb_device;

/* Longest port path: "255-" + 7 ports of up to 3 digits and dots. */
#define USB_PORT_PATH_MAX 40

struct usb_selector {
	int vid; /* -1 when selecting by path */
	int pid;
	char *serial;	 /* NULL: any (owned) */
	char *port_path; /* NULL unless path=... (owned) */
};

/* Parse "VID:PID[:SERIAL]" or "path=BUS-PORT[.PORT]..." (no query part).
 * ST_E_URI names what is wrong.  Release with usb_selector_clear(). */
st_err usb_selector_parse(const char *text, struct usb_selector *sel,
    char **cause);
void usb_selector_clear(struct usb_selector *sel);

/* Split "VID:PID[:SERIAL]" (four hex digits each, a serial if present is
 * not empty; it may itself hold ':').  *serial points into `text`, NULL
 * when absent.  0, or -1 when `text` is not of that form. */
int usb_ids_parse(const char *text, int *vid, int *pid, const char **serial);

/* The vendor bulk pipe of a device: a class 0xFF interface (or the one
 * asked for) with one bulk IN and one bulk OUT endpoint. */
struct usb_bulk_iface {
	int number;	 /* bInterfaceNumber */
	int alt;	 /* bAlternateSetting */
	uint8_t ep_in;	 /* e.g. 0x81 */
	uint8_t ep_out;	 /* e.g. 0x01 */
	uint16_t mps_in; /* wMaxPacketSize of ep_in */
	uint16_t mps_out;
};

/* Find the bulk pipe in the active configuration.  `want` is an interface
 * number, or -1 for the first vendor-specific (class 0xFF) interface with
 * a bulk IN and a bulk OUT endpoint.  ST_E_NOTFOUND when there is none. */
st_err usb_find_bulk_iface(struct libusb_device *dev, int want,
    struct usb_bulk_iface *out, char **cause);

/* "1-2.3" into buf (at least USB_PORT_PATH_MAX bytes); "" on failure. */
void usb_port_path(struct libusb_device *dev, char *buf, size_t cap);

/* One USB device; strings are owned and never NULL ("" when the device
 * has none or cannot be opened to read them). */
struct usb_dev_info {
	int vid, pid;
	int bus, address;
	char *port_path;
	char *manufacturer;
	char *product;
	char *serial;
	int bulk_iface; /* vendor bulk interface number, -1: none */
	char *uri;	/* "usb:path=1-2" for a fixture file, or
	                         "usb:VID:PID:SERIAL" without a port path */
};

/*
 * Every USB device except root hubs, in bus/address order, from a private
 * libusb context.  On ST_OK *out (caller-owned, may be NULL when *n is 0)
 * is released with usb_dev_list_free().  ST_E_CONFIG, *n 0, when libusb
 * cannot be loaded (the cause says what to install).
 */
st_err usb_list_devices(struct usb_dev_info **out, size_t *n, char **cause);
/* Accepts NULL. */
void usb_dev_list_free(struct usb_dev_info *list, size_t n);

/* Fill `info` for one device (opens it briefly to read its strings);
 * release with usb_dev_info_clear().  Returns -1 when the device could
 * not be opened or a string could not be read (they are then ""), 0 when
 * all is known. */
int usb_dev_info_get(struct libusb_device *dev, struct usb_dev_info *info);
void usb_dev_info_clear(struct usb_dev_info *info);

/* Does `dev` match `sel`?  1 yes, 0 no, -1 cannot tell yet: the selector
 * names a serial and the device cannot be opened to read it (just after
 * arrival, before udev has set its permissions). */
int usb_selector_match(const struct usb_selector *sel,
    struct libusb_device *dev);

/*
 * The one device in `ctx` that `sel` names, referenced (release with
 * libusb_unref_device).  ST_E_NOTFOUND lists what is connected;
 * ST_E_ARG when VID:PID matches several devices ("add :SERIAL").
 */
st_err usb_find_device(struct libusb_context *ctx,
    const struct usb_selector *sel, struct libusb_device **out, char **cause);

/* libusb's name and message for a return code, for causes. */
const char *usb_strerror(int libusb_ret);

#endif
