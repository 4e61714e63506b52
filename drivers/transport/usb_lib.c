/* libusb's function table, filled on first use (see usb_lib.h). */
#include "drivers/transport/usb_lib.h"

#include "station/util/dlib.h"

struct usb_lib libusb;

/* A row of usb_syms: the name in libusb, the pointer it fills. */
#define USB_SYM(f) "libusb_" #f, (void **)&libusb.f
static const struct dlib_sym usb_syms[] = {
	{ USB_SYM(init) },
	{ USB_SYM(exit) },
	{ USB_SYM(strerror) },
	{ USB_SYM(has_capability) },
	{ USB_SYM(get_device_list) },
	{ USB_SYM(free_device_list) },
	{ USB_SYM(ref_device) },
	{ USB_SYM(unref_device) },
	{ USB_SYM(get_device_descriptor) },
	{ USB_SYM(get_active_config_descriptor) },
	{ USB_SYM(free_config_descriptor) },
	{ USB_SYM(get_bus_number) },
	{ USB_SYM(get_device_address) },
	{ USB_SYM(get_port_number) },
	{ USB_SYM(get_port_numbers) },
	{ USB_SYM(get_parent) },
	{ USB_SYM(open) },
	{ USB_SYM(close) },
	{ USB_SYM(get_string_descriptor_ascii) },
	{ USB_SYM(set_auto_detach_kernel_driver) },
	{ USB_SYM(claim_interface) },
	{ USB_SYM(release_interface) },
	{ USB_SYM(set_interface_alt_setting) },
	{ USB_SYM(bulk_transfer) },
	{ USB_SYM(clear_halt) },
	{ USB_SYM(handle_events_timeout_completed) },
	{ USB_SYM(interrupt_event_handler) },
	{ USB_SYM(hotplug_register_callback) },
	{ USB_SYM(hotplug_deregister_callback) },
	{ NULL, NULL },
};

static struct dlib usb_dlib = { .soname = "libusb-1.0.so.0",
	.package = "libusb-1.0-0",
	.syms = usb_syms };

st_err
usb_lib_load(char **cause)
{
	return dlib_load(&usb_dlib, cause);
}
