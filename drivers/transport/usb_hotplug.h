/*
 * USB hotplug: tell a caller when the device named by a selector (a port
 * path "path=1-2.3", or "VID:PID[:SERIAL]", as in usb: URIs) arrives or
 * leaves.  A fixture slot uses it to start a run when a board is plugged
 * into its socket and to fail a run at once, "device removed", when the
 * board is pulled.
 *
 * libusb hotplug callbacks run on a dedicated thread with its own libusb
 * context; the callback below is called on that thread, never while
 * libusb is inside its own event handling, so it may open the device.
 */
#ifndef ST_USB_HOTPLUG_H
#define ST_USB_HOTPLUG_H

#include "station/util/err.h"
#include "drivers/transport/usb.h"

enum usb_hotplug_event {
	USB_HOTPLUG_ARRIVED, /* plugged in (or present at start) */
	USB_HOTPLUG_LEFT,    /* removed */
};

/* `dev` is borrowed for the call; for LEFT it is what was seen on
 * arrival (a removed device can no longer be asked). */
typedef void (*usb_hotplug_fn)(enum usb_hotplug_event ev,
    const struct usb_dev_info *dev, void *ctx);

struct usb_hotplug;

/*
 * Start watching for devices matching `selector`.  Devices already
 * present are reported as ARRIVED first.  ST_E_URI for a bad selector,
 * ST_E_CONFIG when libusb cannot be loaded (usb_lib.h: the cause says
 * what to install), ST_E_UNSUPPORTED when libusb has no hotplug here.  Stop and free with
 * usb_hotplug_stop().
 */
st_err usb_hotplug_start(const char *selector, usb_hotplug_fn fn, void *ctx,
    struct usb_hotplug **out, char **cause);
/* Stop the thread (no callback runs after this returns) and free.
 * Accepts NULL.  Must not be called from the callback. */
void usb_hotplug_stop(struct usb_hotplug *h);

#endif
