/*
 * Test support: a vendor bulk USB device in a umockdev testbed, seen by
 * the real libusb through the emulated usbdevfs.  The model is an ioctl
 * handler for the device node: it answers GET_DESCRIPTOR (device,
 * configuration, strings) on endpoint 0, claims and halts, and the URBs
 * of one bulk OUT (0x01) and one bulk IN (0x81) endpoint on a class 0xFF
 * interface.  Bulk OUT bytes go to a devsim process over TCP; devsim's
 * bytes come back as bulk IN, so the real device implementation answers.
 *
 * Faults: a STALL on the next bulk IN, an unplug (pending URBs end with
 * ESHUTDOWN, later ones with ENODEV, a "remove" uevent, the device leaves
 * the testbed), an unplug triggered by the command of an OUT frame, and a
 * device that never answers (no devsim).
 *
 * The program must run under umockdev-wrapper (umockdev_env_reexec()).
 */
#ifndef TEST_USB_MODEL_H
#define TEST_USB_MODEL_H

#include <stdint.h>

#include "tests/support/umockdev_env.h"

struct usb_model_desc {
	uint16_t vid, pid;
	const char *manufacturer;
	const char *product;
	const char *serial;
	const char *port; /* sysfs name = port path, "1-2"; its parent
	                       ("1-1" for "1-1.4") must already exist */
	int bus, address; /* usbfs node /dev/bus/usb/BBB/AAA */
	int hub;	  /* a hub (class 9) without a vendor interface */
};

struct usb_model;

/*
 * Add the device to `tb` (borrowed; must outlive the model) and announce
 * it with an "add" uevent.  `devsim_uri` is "tcp:127.0.0.1:PORT" of a
 * running devsim, or NULL for a device that never answers.  NULL (and a
 * message on stderr) on failure.
 */
struct usb_model *usb_model_new(UMockdevTestbed *tb,
    const struct usb_model_desc *desc, const char *devsim_uri);
/* Unplug if still plugged, stop the bridge, free.  Accepts NULL. */
void usb_model_free(struct usb_model *m);

/* The next bulk IN URB completes with a STALL (EPIPE). */
void usb_model_stall_in_once(struct usb_model *m);
/* Pull the plug now (or finish an unplug at a command: see below). */
void usb_model_unplug(struct usb_model *m);
/* Pull the plug when a bulk OUT frame carries command `cmd` (that frame
 * never reaches devsim).  The transfers fail at once; the "remove" uevent
 * (what a hotplug watcher hears) is sent by the next usb_model_unplug():
 * the unplug at a command happens inside the ioctl handler, which does
 * not send it. */
void usb_model_unplug_at_cmd(struct usb_model *m, int cmd);

/* Observations (thread-safe). */
unsigned usb_model_in_waiting(struct usb_model *m); /* bulk IN URBs queued */
unsigned usb_model_clear_halts(struct usb_model *m);
unsigned usb_model_claims(struct usb_model *m);
int usb_model_plugged(struct usb_model *m);
const char *usb_model_syspath(struct usb_model *m);

#endif
