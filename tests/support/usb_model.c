/*
 * A vendor bulk USB device behind umockdev's usbdevfs emulation, bridged
 * to devsim (see usb_model.h).
 *
 * libusb talks to /dev/bus/usb/BBB/AAA with ioctls only: SUBMITURB hands
 * over a URB, REAPURBNDELAY collects a finished one (EAGAIN: none yet),
 * DISCARDURB cancels one (it is then reaped with ENOENT).  umockdev passes
 * each ioctl to the handler below, in the testbed's thread, with access to
 * the caller's memory: a URB resolved at submit time is written back to
 * the caller when a later REAP points the caller at it.  The enumeration
 * side (sysfs attributes, the binary "descriptors" file libusb caches) is
 * a .umockdev description generated from usb_model_desc.
 */
#include "tests/support/usb_model.h"
#include "tests/support/loopback.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"

struct urb_rec {
	UMockdevIoctlData *urb; /* the caller's struct usbdevfs_urb */
	UMockdevIoctlData *buf; /* its buffer, or NULL */
	void *client;		/* the open file it was submitted on */
	uint8_t endpoint;
	int len;
	struct urb_rec *next;
};

struct usb_model {
	struct usb_model_desc d;
	char *strings[4]; /* index 1..3: manufacturer, product, serial */
	UMockdevTestbed *tb;
	UMockdevIoctlBase *ioctl;
	char *syspath;
	char devnode[32];
	uint8_t desc[64];
	size_t desc_len;

	pthread_mutex_t mu;
	struct urb_rec *in_q;	/* bulk IN URBs waiting for data */
	struct urb_rec *done_q; /* finished, to be reaped */
	uint8_t *in;		/* devsim's bytes not yet sent IN */
	size_t in_len, in_cap;
	int stall_in, gone, unplug_cmd;
	int removed; /* "remove" uevent sent, out of the testbed */
	unsigned clear_halts, claims;
	struct frame_reader out_rd;

	int sock; /* to devsim, -1 for a silent device */
	pthread_t reader;
	int reader_running;
	atomic_int stop;
};

static void
q_push(struct urb_rec **q, struct urb_rec *r)
{
	r->next = NULL;
	while (*q != NULL)
		q = &(*q)->next;
	*q = r;
}

static struct urb_rec *
q_pop(struct urb_rec **q)
{
	struct urb_rec *r = *q;

	if (r != NULL)
		*q = r->next;
	return r;
}

static void
rec_free(struct urb_rec *r)
{
	if (r == NULL)
		return;
	if (r->buf != NULL)
		umockdev_ioctl_data_unref(r->buf);
	umockdev_ioctl_data_unref(r->urb);
	free(r);
}

/* Finish a URB: its status and length go back to the caller at reap. */
static void
rec_finish(struct usb_model *m, struct urb_rec *r, int status, int actual)
{
	struct usbdevfs_urb u;

	memcpy(&u, r->urb->data, sizeof u);
	u.status = status;
	u.actual_length = actual;
	umockdev_ioctl_data_update(r->urb, 0, (guint8 *)&u, (gint)sizeof u);
	q_push(&m->done_q, r);
}

/* Locked: pull the plug; every queued IN URB ends with ESHUTDOWN, as the
 * kernel reports a disconnect to URBs in flight. */
static void
unplug_locked(struct usb_model *m)
{
	struct urb_rec *r;

	m->gone = 1;
	for (r = q_pop(&m->in_q); r != NULL; r = q_pop(&m->in_q))
		rec_finish(m, r, -ESHUTDOWN, 0);
}

/* ---- descriptors ---------------------------------------------------- */

static void
build_descriptors(struct usb_model *m)
{
	const struct usb_model_desc *d = &m->d;
	/* In rows, as USB lays the descriptors out. */
	/* clang-format off */
	static const uint8_t vendor_cfg[] = {
		0x09, 0x02, 0x20, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
		0x09, 0x04, 0x00, 0x00, 0x02, 0xff, 0x00, 0x00, 0x00,
		0x07, 0x05, 0x01, 0x02, 0x00, 0x02, 0x00,
		0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00,
	};
	static const uint8_t hub_cfg[] = {
		0x09, 0x02, 0x19, 0x00, 0x01, 0x01, 0x00, 0xe0, 0x00,
		0x09, 0x04, 0x00, 0x00, 0x01, 0x09, 0x00, 0x00, 0x00,
		0x07, 0x05, 0x81, 0x03, 0x01, 0x00, 0x0c,
	};
	uint8_t dev[18] = { 0x12, 0x01, 0x00, 0x02, d->hub ? 0x09 : 0x00, 0,
		0, 0x40, d->vid & 0xff, d->vid >> 8, d->pid & 0xff,
		d->pid >> 8, 0x00, 0x01, 1, 2, 3, 1 };
	/* clang-format on */

	memcpy(m->desc, dev, sizeof dev);
	if (d->hub) {
		memcpy(m->desc + sizeof dev, hub_cfg, sizeof hub_cfg);
		m->desc_len = sizeof dev + sizeof hub_cfg;
	} else {
		memcpy(m->desc + sizeof dev, vendor_cfg, sizeof vendor_cfg);
		m->desc_len = sizeof dev + sizeof vendor_cfg;
	}
}

/* GET_DESCRIPTOR on endpoint 0 into out[cap]: bytes, or -1 to STALL. */
static int
get_descriptor(struct usb_model *m, int type, int index, uint8_t *out,
    size_t cap)
{
	uint8_t tmp[256];
	size_t n = 0;

	if (type == 1) {
		n = 18;
		memcpy(tmp, m->desc, n);
	} else if (type == 2 && index == 0) {
		n = m->desc_len - 18;
		memcpy(tmp, m->desc + 18, n);
	} else if (type == 3 && index == 0) {
		static const uint8_t langs[] = { 4, 3, 0x09, 0x04 };

		n = sizeof langs;
		memcpy(tmp, langs, n);
	} else if (type == 3 && index >= 1 && index <= 3 &&
	    m->strings[index] != NULL) {
		const char *s = m->strings[index];
		size_t len = strlen(s);

		if (len > 126)
			len = 126;
		n = 2 + 2 * len;
		tmp[0] = (uint8_t)n;
		tmp[1] = 3;
		for (size_t i = 0; i < len; i++) {
			tmp[2 + 2 * i] = (uint8_t)s[i];
			tmp[3 + 2 * i] = 0;
		}
	} else {
		return -1;
	}
	if (n > cap)
		n = cap;
	memcpy(out, tmp, n);
	return (int)n;
}

/* ---- URBs ----------------------------------------------------------- */

static void
submit_control(struct usb_model *m, struct urb_rec *r)
{
	const uint8_t *s = r->buf ? r->buf->data : NULL;
	uint8_t out[256];
	int n = 0;

	if (s == NULL || r->len < 8) {
		rec_finish(m, r, -EPIPE, 0);
		return;
	}
	int req_type = s[0], req = s[1];
	int value = s[2] | s[3] << 8, length = s[6] | s[7] << 8;

	if (req_type == 0x80 && req == 6) {
		size_t cap = (size_t)(r->len - 8);

		if (cap > (size_t)length)
			cap = (size_t)length;
		if (cap > sizeof out)
			cap = sizeof out;
		n = get_descriptor(m, value >> 8, value & 0xff, out, cap);
		if (n < 0) {
			rec_finish(m, r, -EPIPE, 0);
			return;
		}
		umockdev_ioctl_data_update(r->buf, 8, out, n);
		rec_finish(m, r, 0, n);
	} else if ((req_type & 0x80) == 0) {
		rec_finish(m, r, 0, 0); /* SET_CONFIGURATION and the like */
	} else {
		rec_finish(m, r, -EPIPE, 0);
	}
}

static int
out_has_cmd(struct usb_model *m, const uint8_t *p, size_t left, int cmd)
{
	int hit = 0;

	while (left > 0) {
		struct frame fr;
		int got = 0;

		if (frame_reader_feed(&m->out_rd, &p, &left, &fr, &got, NULL) ==
			ST_OK &&
		    got && fr.cmd == cmd)
			hit = 1;
	}
	return hit;
}

static void
submit_bulk_out(struct usb_model *m, struct urb_rec *r)
{
	const uint8_t *p = r->buf ? r->buf->data : NULL;
	size_t done = 0, len = p ? (size_t)r->len : 0;

	if (m->unplug_cmd >= 0 && out_has_cmd(m, p, len, m->unplug_cmd)) {
		rec_finish(m, r, -ESHUTDOWN, 0);
		unplug_locked(m);
		return;
	}
	while (m->sock >= 0 && done < len) {
		ssize_t w = send(m->sock, p + done, len - done, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		done += (size_t)w;
	}
	rec_finish(m, r, 0, (int)len);
}

/* Locked: give waiting IN URBs the bytes devsim sent, or a STALL. */
static void
serve_in(struct usb_model *m)
{
	while (m->in_q != NULL && (m->stall_in || m->in_len > 0)) {
		struct urb_rec *r = q_pop(&m->in_q);
		size_t n =
		    m->in_len < (size_t)r->len ? m->in_len : (size_t)r->len;

		if (m->stall_in) {
			m->stall_in = 0;
			rec_finish(m, r, -EPIPE, 0);
			continue;
		}
		umockdev_ioctl_data_update(r->buf, 0, m->in, (gint)n);
		memmove(m->in, m->in + n, m->in_len - n);
		m->in_len -= n;
		rec_finish(m, r, 0, (int)n);
	}
}

static int
do_submit(struct usb_model *m, void *client, UMockdevIoctlData *arg)
{
	GError *gerr = NULL;
	UMockdevIoctlData *u = umockdev_ioctl_data_resolve(arg, 0,
	    sizeof(struct usbdevfs_urb), &gerr);
	struct usbdevfs_urb urb;
	struct urb_rec *r;

	if (u == NULL) {
		g_clear_error(&gerr);
		return EFAULT;
	}
	memcpy(&urb, u->data, sizeof urb);
	if (m->gone) {
		umockdev_ioctl_data_unref(u);
		return ENODEV;
	}
	r = calloc(1, sizeof *r);
	if (r == NULL)
		abort();
	r->urb = u;
	r->client = client;
	r->endpoint = urb.endpoint;
	r->len = urb.buffer_length;
	if (urb.buffer_length > 0) {
		r->buf = umockdev_ioctl_data_resolve(u,
		    offsetof(struct usbdevfs_urb, buffer),
		    (gsize)urb.buffer_length, &gerr);
		if (r->buf == NULL) {
			g_clear_error(&gerr);
			rec_free(r);
			return EFAULT;
		}
	}
	if (urb.type == USBDEVFS_URB_TYPE_CONTROL)
		submit_control(m, r);
	else if (urb.type != USBDEVFS_URB_TYPE_BULK)
		rec_finish(m, r, -EINVAL, 0);
	else if (urb.endpoint & 0x80)
		q_push(&m->in_q, r);
	else
		submit_bulk_out(m, r);
	return 0;
}

/* Each open file reaps only the URBs submitted on it, as with usbfs. */
static int
do_reap(struct usb_model *m, void *client, UMockdevIoctlData *arg)
{
	GError *gerr = NULL;
	UMockdevIoctlData *slot;
	struct urb_rec **p = &m->done_q, *r;

	serve_in(m);
	while (*p != NULL && (*p)->client != client)
		p = &(*p)->next;
	if (*p == NULL)
		return m->gone ? ENODEV : EAGAIN;
	slot = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &gerr);
	if (slot == NULL) {
		g_clear_error(&gerr);
		return EFAULT;
	}
	r = *p;
	*p = r->next;
	umockdev_ioctl_data_set_ptr(slot, 0, r->urb);
	umockdev_ioctl_data_unref(slot);
	rec_free(r); /* the slot holds the URB until the reply is sent */
	return 0;
}

static int
do_discard(struct usb_model *m, void *client, UMockdevIoctlData *arg)
{
	gulong addr;

	memcpy(&addr, arg->data, sizeof addr);
	for (struct urb_rec **p = &m->in_q; *p != NULL; p = &(*p)->next) {
		struct urb_rec *r = *p;

		if (r->client != client || r->urb->client_addr != addr)
			continue;
		*p = r->next;
		rec_finish(m, r, -ENOENT, 0);
		return 0;
	}
	return EINVAL;
}

static gboolean
on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer data)
{
	struct usb_model *m = data;
	gulong req = umockdev_ioctl_client_get_request(client);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	int e = 0;

	(void)base;
	pthread_mutex_lock(&m->mu);
	if (req == USBDEVFS_SUBMITURB) {
		e = do_submit(m, client, arg);
	} else if (req == USBDEVFS_REAPURBNDELAY || req == USBDEVFS_REAPURB) {
		e = do_reap(m, client, arg);
	} else if (req == USBDEVFS_DISCARDURB) {
		e = do_discard(m, client, arg);
	} else if (req == USBDEVFS_GET_CAPABILITIES) {
		GError *gerr = NULL;
		UMockdevIoctlData *v = umockdev_ioctl_data_resolve(arg, 0,
		    sizeof(uint32_t), &gerr);
		uint32_t caps = USBDEVFS_CAP_BULK_CONTINUATION |
		    USBDEVFS_CAP_NO_PACKET_SIZE_LIM | USBDEVFS_CAP_ZERO_PACKET |
		    USBDEVFS_CAP_REAP_AFTER_DISCONNECT;

		if (v == NULL) {
			g_clear_error(&gerr);
			e = EFAULT;
		} else {
			umockdev_ioctl_data_update(v, 0, (guint8 *)&caps,
			    (gint)sizeof caps);
			umockdev_ioctl_data_unref(v);
		}
	} else if (m->gone) {
		e = ENODEV;
	} else if (req == USBDEVFS_CLAIMINTERFACE ||
	    req == USBDEVFS_DISCONNECT_CLAIM) {
		m->claims++;
	} else if (req == USBDEVFS_CLEAR_HALT) {
		m->clear_halts++;
	} else if (req == USBDEVFS_GETDRIVER || req == USBDEVFS_IOCTL) {
		e = ENODATA; /* no kernel driver bound */
	} else if (req != USBDEVFS_RELEASEINTERFACE &&
	    req != USBDEVFS_SETINTERFACE && req != USBDEVFS_SETCONFIGURATION &&
	    req != USBDEVFS_RESET && req != USBDEVFS_RESETEP) {
		e = ENOTTY;
	}
	pthread_mutex_unlock(&m->mu);
	umockdev_ioctl_client_complete(client, e ? -1 : 0, e);
	return TRUE;
}

/* ---- the bridge to devsim ------------------------------------------- */

static void *
reader_main(void *arg)
{
	struct usb_model *m = arg;
	uint8_t buf[1024];

	while (!atomic_load(&m->stop)) {
		struct pollfd pfd = { .fd = m->sock, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(m->sock, buf, sizeof buf, 0);
		if (n <= 0)
			break; /* devsim is gone: the device falls silent */
		pthread_mutex_lock(&m->mu);
		if (m->in_len + (size_t)n > m->in_cap) {
			m->in_cap = (m->in_len + (size_t)n) * 2;
			m->in = realloc(m->in, m->in_cap);
			if (m->in == NULL)
				abort();
		}
		memcpy(m->in + m->in_len, buf, (size_t)n);
		m->in_len += (size_t)n;
		pthread_mutex_unlock(&m->mu);
	}
	return NULL;
}

/* ---- the testbed ---------------------------------------------------- */

/* "/devices/.../usb1/1-1/1-1.4": every ancestor hub is a directory. */
static char *
device_path(const struct usb_model_desc *d)
{
	GString *s = g_string_new("/devices/pci0000:00/0000:00:14.0/");
	const char *dash = strchr(d->port, '-');

	g_string_append_printf(s, "usb%d", d->bus);
	for (const char *p = dash; p != NULL; p = strchr(p + 1, '.')) {
		g_string_append_c(s, '/');
		g_string_append_len(s, d->port, p - d->port);
	}
	g_string_append_printf(s, "/%s", d->port);
	return g_string_free(s, FALSE);
}

static char *
describe_device(struct usb_model *m, const char *devpath)
{
	const struct usb_model_desc *d = &m->d;
	GString *s = g_string_new("P: ");

	g_string_append_printf(s, "%s\n", devpath);
	g_string_append_printf(s, "N: bus/usb/%03d/%03d\n", d->bus, d->address);
	g_string_append_printf(s,
	    "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\n"
	    "E: DEVNAME=%s\nE: BUSNUM=%03d\nE: DEVNUM=%03d\n"
	    "E: PRODUCT=%x/%x/100\n",
	    m->devnode, d->bus, d->address, d->vid, d->pid);
	g_string_append_printf(s,
	    "A: busnum=%d\nA: devnum=%d\n"
	    "A: idVendor=%04x\nA: idProduct=%04x\nA: bConfigurationValue=1\n"
	    "A: bNumConfigurations=1\nA: speed=480\n",
	    d->bus, d->address, d->vid, d->pid);
	for (int i = 1; i <= 3; i++) {
		static const char *const names[] = { NULL, "manufacturer",
			"product", "serial" };

		if (m->strings[i] != NULL)
			g_string_append_printf(s, "A: %s=%s\n", names[i],
			    m->strings[i]);
	}
	g_string_append(s, "H: descriptors=");
	for (size_t i = 0; i < m->desc_len; i++)
		g_string_append_printf(s, "%02X", m->desc[i]);
	g_string_append(s, "\n\n");
	return g_string_free(s, FALSE);
}

struct usb_model *
usb_model_new(UMockdevTestbed *tb, const struct usb_model_desc *desc,
    const char *devsim_uri)
{
	struct usb_model *m = calloc(1, sizeof *m);
	GError *gerr = NULL;
	char *text, *devpath;
	gboolean ok;

	if (m == NULL)
		return NULL;
	m->d = *desc;
	m->d.port = strdup(desc->port);
	m->strings[1] = desc->manufacturer ? strdup(desc->manufacturer) : NULL;
	m->strings[2] = desc->product ? strdup(desc->product) : NULL;
	m->strings[3] = desc->serial ? strdup(desc->serial) : NULL;
	m->tb = tb;
	m->sock = -1;
	m->unplug_cmd = -1;
	pthread_mutex_init(&m->mu, NULL);
	frame_reader_init(&m->out_rd, PROTO_MAX_FRAME);
	snprintf(m->devnode, sizeof m->devnode, "/dev/bus/usb/%03d/%03d",
	    desc->bus, desc->address);
	build_descriptors(m);
	if (devsim_uri != NULL) {
		m->sock = loopback_connect_uri(devsim_uri);
		if (m->sock < 0) {
			fprintf(stderr, "usb_model: cannot reach %s\n",
			    devsim_uri);
			goto fail;
		}
		if (pthread_create(&m->reader, NULL, reader_main, m) != 0)
			goto fail;
		m->reader_running = 1;
	}
	/* The ioctl handler first: a process that enumerates the bus (a
	 * hotplug watcher starting) may open the node as soon as the device
	 * is in sysfs, and the preload library aborts when the node has no
	 * handler yet. */
	m->ioctl = umockdev_ioctl_base_new();
	g_signal_connect(m->ioctl, "handle-ioctl", G_CALLBACK(on_ioctl), m);
	if (!umockdev_testbed_attach_ioctl(tb, m->devnode, m->ioctl, &gerr)) {
		fprintf(stderr, "usb_model: attach %s: %s\n", m->devnode,
		    gerr->message);
		g_clear_error(&gerr);
		goto fail;
	}
	devpath = device_path(desc);
	text = describe_device(m, devpath);
	ok = umockdev_testbed_add_from_string(tb, text, &gerr);
	g_free(text);
	m->syspath = g_strdup_printf("/sys%s", devpath);
	g_free(devpath);
	if (!ok) {
		fprintf(stderr, "usb_model: testbed: %s\n", gerr->message);
		g_clear_error(&gerr);
		goto fail;
	}
	umockdev_testbed_uevent(tb, m->syspath, "add");
	return m;
fail:
	usb_model_free(m);
	return NULL;
}

void
usb_model_unplug(struct usb_model *m)
{
	int was;

	pthread_mutex_lock(&m->mu);
	was = !m->removed;
	m->removed = 1;
	unplug_locked(m);
	pthread_mutex_unlock(&m->mu);
	if (was && m->syspath != NULL) {
		umockdev_testbed_uevent(m->tb, m->syspath, "remove");
		umockdev_testbed_remove_device(m->tb, m->syspath);
	}
}

void
usb_model_free(struct usb_model *m)
{
	struct urb_rec *r;

	if (m == NULL)
		return;
	if (m->ioctl != NULL)
		usb_model_unplug(m);
	if (m->reader_running) {
		atomic_store(&m->stop, 1);
		pthread_join(m->reader, NULL);
	}
	if (m->sock >= 0)
		close(m->sock);
	if (m->ioctl != NULL)
		g_object_unref(m->ioctl);
	for (r = q_pop(&m->in_q); r != NULL; r = q_pop(&m->in_q))
		rec_free(r);
	for (r = q_pop(&m->done_q); r != NULL; r = q_pop(&m->done_q))
		rec_free(r);
	frame_reader_free(&m->out_rd);
	pthread_mutex_destroy(&m->mu);
	for (int i = 1; i <= 3; i++)
		free(m->strings[i]);
	free((char *)m->d.port);
	g_free(m->syspath);
	free(m->in);
	free(m);
}

void
usb_model_stall_in_once(struct usb_model *m)
{
	pthread_mutex_lock(&m->mu);
	m->stall_in = 1;
	pthread_mutex_unlock(&m->mu);
}

void
usb_model_unplug_at_cmd(struct usb_model *m, int cmd)
{
	pthread_mutex_lock(&m->mu);
	m->unplug_cmd = cmd;
	pthread_mutex_unlock(&m->mu);
}

#define GETTER(name, type, expr) \
	type name(struct usb_model *m) \
	{ \
		type v; \
		pthread_mutex_lock(&m->mu); \
		v = (expr); \
		pthread_mutex_unlock(&m->mu); \
		return v; \
	}

static unsigned
count_q(const struct urb_rec *r)
{
	unsigned n = 0;

	for (; r != NULL; r = r->next)
		n++;
	return n;
}

GETTER(usb_model_in_waiting, unsigned, count_q(m->in_q))
GETTER(usb_model_clear_halts, unsigned, m->clear_halts)
GETTER(usb_model_claims, unsigned, m->claims)
GETTER(usb_model_plugged, int, !m->gone)

const char *
usb_model_syspath(struct usb_model *m)
{
	return m->syspath;
}
