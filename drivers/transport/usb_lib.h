/*
 * libusb-1.0, loaded on first use (station/util/dlib.h): it and the
 * libudev it pulls in cost every station process start-up time, and a
 * station that reaches its devices over TCP never calls them.
 *
 * Contract: usb_lib_load() before the first call through `libusb`; every
 * place that makes a libusb context (usb_open, usb_list_devices,
 * usb_hotplug_start) does, and whatever takes a libusb_context or
 * libusb_device holds one only because a load succeeded.  Each pointer
 * has the prototype of <libusb.h> (types and constants still come from
 * there, only the calls go through the table) and is valid once a load
 * returned ST_OK.
 */
#ifndef ST_USB_LIB_H
#define ST_USB_LIB_H

#include <libusb.h>

#include "station/util/err.h"

struct usb_lib {
	__typeof__(libusb_init) *init;
	__typeof__(libusb_exit) *exit;
	__typeof__(libusb_strerror) *strerror;
	__typeof__(libusb_has_capability) *has_capability;
	__typeof__(libusb_get_device_list) *get_device_list;
	__typeof__(libusb_free_device_list) *free_device_list;
	__typeof__(libusb_ref_device) *ref_device;
	__typeof__(libusb_unref_device) *unref_device;
	__typeof__(libusb_get_device_descriptor) *get_device_descriptor;
	__typeof__(libusb_get_active_config_descriptor)
	    *get_active_config_descriptor;
	__typeof__(libusb_free_config_descriptor) *free_config_descriptor;
	__typeof__(libusb_get_bus_number) *get_bus_number;
	__typeof__(libusb_get_device_address) *get_device_address;
	__typeof__(libusb_get_port_number) *get_port_number;
	__typeof__(libusb_get_port_numbers) *get_port_numbers;
	__typeof__(libusb_get_parent) *get_parent;
	__typeof__(libusb_open) *open;
	__typeof__(libusb_close) *close;
	__typeof__(libusb_get_string_descriptor_ascii)
	    *get_string_descriptor_ascii;
	__typeof__(libusb_set_auto_detach_kernel_driver)
	    *set_auto_detach_kernel_driver;
	__typeof__(libusb_claim_interface) *claim_interface;
	__typeof__(libusb_release_interface) *release_interface;
	__typeof__(libusb_set_interface_alt_setting) *set_interface_alt_setting;
	__typeof__(libusb_bulk_transfer) *bulk_transfer;
	__typeof__(libusb_clear_halt) *clear_halt;
	__typeof__(libusb_handle_events_timeout_completed)
	    *handle_events_timeout_completed;
	__typeof__(libusb_interrupt_event_handler) *interrupt_event_handler;
	__typeof__(libusb_hotplug_register_callback) *hotplug_register_callback;
	__typeof__(libusb_hotplug_deregister_callback)
	    *hotplug_deregister_callback;
};
extern struct usb_lib libusb;

/*
 * Load libusb-1.0.so.0 once per process (thread-safe; ST_OK at once
 * after the first success).  ST_E_CONFIG when it is missing or too old,
 * the cause naming the SONAME and 'apt-get install libusb-1.0-0'.
 */
st_err usb_lib_load(char **cause);

#endif
