/* USB hotplug on a dedicated thread (see usb_hotplug.h). */
#include "drivers/transport/usb_hotplug.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "drivers/transport/usb_lib.h"

#define LOG_MODULE "usb"
#include "station/util/log.h"

/* How often the thread looks at the stop flag. */
#define HOTPLUG_TICK_MS 100
/* How long an arrived device that cannot be opened yet (udev still
 * setting its permissions) is retried before it is ignored. */
#define HOTPLUG_OPEN_RETRIES 30

struct hp_event {
	int arrived;
	int tries;	    /* matching attempts so far */
	libusb_device *dev; /* referenced */
	struct hp_event *next;
};

struct hp_seen {
	libusb_device *dev; /* referenced */
	struct usb_dev_info info;
	struct hp_seen *next;
};

struct usb_hotplug {
	struct usb_selector sel;
	usb_hotplug_fn fn;
	void *ctx;
	libusb_context *usb;
	libusb_hotplug_callback_handle cb;
	pthread_t thread;
	atomic_int stop;
	/* Filled by libusb's callback, drained by the thread: libusb calls
	 * back from inside its event handling, where opening a device to
	 * read its serial is not allowed. */
	pthread_mutex_t mu;
	struct hp_event *queue;
	struct hp_seen *seen; /* matching devices reported ARRIVED */
};

static int LIBUSB_CALL
on_hotplug(libusb_context *usb, libusb_device *dev, libusb_hotplug_event ev,
    void *arg)
{
	struct usb_hotplug *h = arg;
	struct hp_event *e = xcalloc(1, sizeof *e), **p;

	(void)usb;
	e->arrived = ev == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED;
	e->dev = libusb.ref_device(dev);
	pthread_mutex_lock(&h->mu);
	for (p = &h->queue; *p != NULL; p = &(*p)->next)
		;
	*p = e;
	pthread_mutex_unlock(&h->mu);
	return 0; /* stay registered */
}

static void
seen_free(struct hp_seen *s)
{
	usb_dev_info_clear(&s->info);
	libusb.unref_device(s->dev);
	free(s);
}

/* Returns 1 when `e` must be tried again at the next tick. */
static int
handle(struct usb_hotplug *h, struct hp_event *e)
{
	struct hp_seen **p = &h->seen, *s;
	int match;

	while (*p != NULL && (*p)->dev != e->dev)
		p = &(*p)->next;
	if (e->arrived) {
		if (*p != NULL)
			return 0;
		match = usb_selector_match(&h->sel, e->dev);
		if (match < 0 && ++e->tries < HOTPLUG_OPEN_RETRIES)
			return 1;
		if (match <= 0)
			return 0;
		s = xcalloc(1, sizeof *s);
		s->dev = libusb.ref_device(e->dev);
		/* Report the strings too, once they can be read. */
		if (usb_dev_info_get(e->dev, &s->info) != 0 &&
		    ++e->tries < HOTPLUG_OPEN_RETRIES) {
			seen_free(s);
			return 1;
		}
		s->next = h->seen;
		h->seen = s;
		log_debug("arrived: %s", s->info.uri);
		h->fn(USB_HOTPLUG_ARRIVED, &s->info, h->ctx);
		return 0;
	}
	if (*p == NULL)
		return 0;
	s = *p;
	*p = s->next;
	log_debug("left: %s", s->info.uri);
	h->fn(USB_HOTPLUG_LEFT, &s->info, h->ctx);
	seen_free(s);
	return 0;
}

/* Handle the queued events in order; those to retry go back in front of
 * whatever arrived meanwhile (a removal after them must still follow). */
static void
drain(struct usb_hotplug *h)
{
	struct hp_event *retry = NULL, **tail = &retry;

	for (;;) {
		struct hp_event *e;

		pthread_mutex_lock(&h->mu);
		e = h->queue;
		if (e != NULL)
			h->queue = e->next;
		pthread_mutex_unlock(&h->mu);
		if (e == NULL)
			break;
		if (handle(h, e)) {
			e->next = NULL;
			*tail = e;
			tail = &e->next;
			continue;
		}
		libusb.unref_device(e->dev);
		free(e);
	}
	if (retry == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	*tail = h->queue;
	h->queue = retry;
	pthread_mutex_unlock(&h->mu);
}

static void *
hotplug_main(void *arg)
{
	struct usb_hotplug *h = arg;

	drain(h); /* the devices present at start */
	while (!atomic_load(&h->stop)) {
		struct timeval tv = { 0, HOTPLUG_TICK_MS * 1000 };

		libusb.handle_events_timeout_completed(h->usb, &tv, NULL);
		drain(h);
	}
	return NULL;
}

static void
hotplug_free(struct usb_hotplug *h)
{
	while (h->seen != NULL) {
		struct hp_seen *s = h->seen;

		h->seen = s->next;
		seen_free(s);
	}
	while (h->queue != NULL) {
		struct hp_event *e = h->queue;

		h->queue = e->next;
		libusb.unref_device(e->dev);
		free(e);
	}
	if (h->usb != NULL)
		libusb.exit(h->usb);
	pthread_mutex_destroy(&h->mu);
	usb_selector_clear(&h->sel);
	free(h);
}

st_err
usb_hotplug_start(const char *selector, usb_hotplug_fn fn, void *ctx,
    struct usb_hotplug **out, char **cause)
{
	struct usb_hotplug *h = xcalloc(1, sizeof *h);
	st_err err;
	int r;

	*out = NULL;
	h->fn = fn;
	h->ctx = ctx;
	pthread_mutex_init(&h->mu, NULL);
	err = usb_selector_parse(selector, &h->sel, cause);
	if (err)
		goto fail;
	err = usb_lib_load(cause);
	if (err)
		goto fail;
	r = libusb.init(&h->usb);
	if (r != 0) {
		err =
		    st_fail(cause, ST_E_IO, "libusb_init: %s", usb_strerror(r));
		goto fail;
	}
	if (!libusb.has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		err = st_fail(cause, ST_E_UNSUPPORTED,
		    "this libusb has no hotplug support");
		goto fail;
	}
	r = libusb.hotplug_register_callback(h->usb,
	    LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
		LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
	    LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY,
	    LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY, on_hotplug, h,
	    &h->cb);
	if (r != 0) {
		err = st_fail(cause, ST_E_IO, "registering for hotplug: %s",
		    usb_strerror(r));
		goto fail;
	}
	if (pthread_create(&h->thread, NULL, hotplug_main, h) != 0) {
		libusb.hotplug_deregister_callback(h->usb, h->cb);
		err = st_fail(cause, ST_E_IO,
		    "cannot start the hotplug "
		    "thread");
		goto fail;
	}
	*out = h;
	return ST_OK;
fail:
	hotplug_free(h);
	return err;
}

void
usb_hotplug_stop(struct usb_hotplug *h)
{
	if (h == NULL)
		return;
	atomic_store(&h->stop, 1);
	libusb.interrupt_event_handler(h->usb);
	pthread_join(h->thread, NULL);
	libusb.hotplug_deregister_callback(h->usb, h->cb);
	hotplug_free(h);
}
