/* Test support: a scripted device (script_dev.h). */
#include "tests/support/script_dev.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "drivers/proto/proto.h"
#include "station/util/xalloc.h"

#define OUT_CAP 16384

struct script_dev {
	script_fn fn;
	void *ctx;
	int lfd;
	char uri[64];
	pthread_t thread;
	atomic_int stop;
	atomic_ulong requests;
	struct frame_reader reader;
	uint8_t out[OUT_CAP];
};

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Feed the bytes of one connection to the script until it closes, the
 * test stops us, or it stays idle too long. */
static void
serve(struct script_dev *d, int fd)
{
	time_t idle_since = time(NULL);
	uint8_t buf[1024];

	frame_reader_init(&d->reader, PROTO_MAX_FRAME);
	while (!atomic_load(&d->stop) &&
	    time(NULL) - idle_since < SCRIPT_DEV_IDLE_S) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		const uint8_t *at = buf;
		ssize_t got;
		size_t left;

		if (poll(&p, 1, 100) <= 0)
			continue;
		got = read(fd, buf, sizeof buf);
		if (got <= 0)
			break;
		idle_since = time(NULL);
		left = (size_t)got;
		while (left > 0) {
			struct frame f;
			int have = 0;
			size_t n;

			if (frame_reader_feed(&d->reader, &at, &left, &f, &have,
				NULL) != ST_OK ||
			    !have || (f.flags & PROTO_FLAG_RESPONSE))
				continue;
			atomic_fetch_add(&d->requests, 1);
			n = d->fn(d->ctx, &f, d->out, sizeof d->out);
			if (n > 0 && write_all(fd, d->out, n) != 0)
				goto out;
		}
	}
out:
	frame_reader_free(&d->reader);
}

static void *
run(void *arg)
{
	struct script_dev *d = arg;
	time_t idle_since = time(NULL);

	while (!atomic_load(&d->stop) &&
	    time(NULL) - idle_since < SCRIPT_DEV_IDLE_S) {
		struct pollfd p = { .fd = d->lfd, .events = POLLIN };
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(d->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(d, fd);
		close(fd);
		idle_since = time(NULL);
	}
	return NULL;
}

struct script_dev *
script_dev_start(script_fn fn, void *ctx)
{
	struct script_dev *d = xcalloc(1, sizeof *d);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;

	d->fn = fn;
	d->ctx = ctx;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (d->lfd < 0 || bind(d->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(d->lfd, 4) != 0 ||
	    getsockname(d->lfd, (struct sockaddr *)&a, &len) != 0)
		abort();
	snprintf(d->uri, sizeof d->uri, "tcp:127.0.0.1:%u", ntohs(a.sin_port));
	if (pthread_create(&d->thread, NULL, run, d) != 0)
		abort();
	return d;
}

const char *
script_dev_uri(const struct script_dev *d)
{
	return d->uri;
}

unsigned long
script_dev_requests(const struct script_dev *d)
{
	return atomic_load(&d->requests);
}

void
script_dev_stop(struct script_dev *d)
{
	if (d == NULL)
		return;
	atomic_store(&d->stop, 1);
	pthread_join(d->thread, NULL);
	close(d->lfd);
	free(d);
}

size_t
script_reply(const struct frame *req, uint8_t status, uint16_t offset,
    uint16_t total, const void *payload, size_t len, uint8_t *out, size_t cap)
{
	struct frame f = { .version = PROTO_VERSION,
		.flags = PROTO_FLAG_RESPONSE,
		.seq = req->seq,
		.cmd = req->cmd,
		.status = status,
		.offset = offset,
		.total = total,
		.payload = payload,
		.payload_len = len };
	size_t n = 0;

	if (frame_encode(&f, out, cap, &n, NULL) != ST_OK)
		abort();
	return n;
}

size_t
script_reply_msg(const struct frame *req, uint8_t status, const void *payload,
    size_t len, uint8_t *out, size_t cap)
{
	return script_reply(req, status, 0, (uint16_t)len, payload, len, out,
	    cap);
}
