/*
 * tcp:HOST:PORT — raw bytes over TCP, as ser2net and serial device servers
 * offer on factory floors, and how the demo reaches simulated devices.
 * ?baud=N says the endpoint is a line at N baud (attempt times count the
 * bytes' time on it); &max_baud=M that it follows the device's rate, so
 * the baud switch (SET_BAUD) may raise it up to M.  Without max_baud the
 * switch is not offered: a raw ser2net port keeps its configured rate.
 * Non-blocking connect and poll() give every call its deadline; Nagle is
 * off because the protocol is request/response with small frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "drivers/transport/tcp.h"
#include "drivers/transport/transport.h"

struct tcp_transport {
	struct transport base;
	int fd;
};

static st_err
tcp_connect_one(const struct addrinfo *ai, struct deadline dl, int *out,
    char **cause)
{
	int fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t sl;
	int one = 1, n, e, soerr = 0;
	st_err err = ST_OK;

	if (fd < 0)
		return st_fail(cause, ST_E_IO, "socket: %s", strerror(errno));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) {
		e = errno;
		err = st_fail(cause, e == ECONNREFUSED ? ST_E_HANGUP : ST_E_IO,
		    "connect: %s", strerror(e));
		goto out;
	}
	n = poll(&pfd, 1, deadline_left_ms(dl));
	if (n == 0) {
		err = st_fail(cause, ST_E_TIMEOUT, "connect timed out");
		goto out;
	}
	sl = sizeof soerr;
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
	    soerr != 0) {
		e = soerr ? soerr : errno;
		err = st_fail(cause, e == ECONNREFUSED ? ST_E_HANGUP : ST_E_IO,
		    "connect: %s", strerror(e));
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	*out = fd;
	fd = -1; /* the caller owns it */
out:
	if (fd >= 0)
		close(fd);
	return err;
}

static const char *const tcp_known_opts[] = { "baud", "max_baud", NULL };

void
tcp_addr_clear(struct tcp_addr *a)
{
	free(a->host);
	free(a->port);
	*a = (struct tcp_addr){ 0 };
}

st_err
tcp_addr_parse(const char *scheme, const char *spec, const char *const *known,
    struct tcp_addr *a, char **cause)
{
	const char *query;
	char *addr = transport_split_query(spec, &query);
	const char *colon = strrchr(addr, ':');
	long long p;
	st_err err = ST_OK;

	*a = (struct tcp_addr){ 0 };
	if (colon == NULL || colon == addr || colon[1] == '\0')
		err = st_fail(cause, ST_E_URI,
		    "expected %s:HOST:PORT, got '%s:%s'", scheme, scheme, spec);
	else if (!num_valid(colon + 1, 1, 65535, &p))
		err = st_fail(cause, ST_E_URI, "bad TCP port '%s'", colon + 1);
	if (err == ST_OK)
		err = transport_query_check(query, known, cause);
	if (err == ST_OK)
		err =
		    transport_query_rates(query, &a->baud, &a->max_baud, cause);
	if (err == ST_OK) {
		a->host = xstrndup(addr, (size_t)(colon - addr));
		a->port = xstrdup(colon + 1);
	}
	free(addr);
	return err;
}

st_err
tcp_addr_check(const char *scheme, const char *spec, const char *const *known,
    char **cause)
{
	struct tcp_addr a;
	st_err err;

	err = tcp_addr_parse(scheme, spec, known, &a, cause);
	tcp_addr_clear(&a);
	return err;
}

static st_err
tcp_check(const char *spec, char **cause)
{
	return tcp_addr_check("tcp", spec, tcp_known_opts, cause);
}

st_err
tcp_dial(const struct tcp_addr *a, struct deadline dl, int *fd, char **cause)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	struct addrinfo *ai;
	st_err err = ST_OK;
	int gai;

	*fd = -1;
	gai = getaddrinfo(a->host, a->port, &hints, &res);
	if (gai != 0)
		return st_fail(cause, ST_E_URI, "cannot resolve '%s': %s",
		    a->host, gai_strerror(gai));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		err = tcp_connect_one(ai, dl, fd, cause);
		if (err == ST_OK)
			break;
	}
	freeaddrinfo(res);
	return err;
}

static st_err
tcp_open(const char *spec, struct deadline dl, struct transport **out,
    char **cause)
{
	struct tcp_transport *t;
	struct tcp_addr a;
	st_err err;
	int fd = -1;

	err = tcp_addr_parse("tcp", spec, tcp_known_opts, &a, cause);
	if (err)
		goto out;
	err = tcp_dial(&a, dl, &fd, cause);
	if (err)
		goto out;

	t = xcalloc(1, sizeof *t);
	transport_init(&t->base, &transport_tcp_ops, "tcp", spec);
	t->base.describe = xasprintf("tcp %s", spec);
	t->base.baud = a.baud;
	t->base.max_baud = a.max_baud;
	t->fd = fd;
	*out = &t->base;
out:
	tcp_addr_clear(&a);
	return err;
}

st_err
tcp_send_all(int fd, const uint8_t *buf, size_t len, struct deadline dl,
    char **cause)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int r;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return st_fail(cause,
			    errno == EPIPE || errno == ECONNRESET ?
				ST_E_HANGUP :
				ST_E_IO,
			    "send: %s", strerror(errno));
		r = poll(&pfd, 1, deadline_left_ms(dl));
		if (r == 0)
			return st_fail(cause, ST_E_TIMEOUT, "send timed out");
		if (r < 0 && errno != EINTR)
			return st_fail(cause, ST_E_IO, "poll: %s",
			    strerror(errno));
	}
	return ST_OK;
}

st_err
tcp_recv_some(int fd, uint8_t *buf, size_t cap, size_t *got, struct deadline dl,
    char **cause)
{
	*got = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, cap, 0);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r;

		if (n > 0) {
			*got = (size_t)n;
			return ST_OK;
		}
		if (n == 0)
			return st_fail(cause, ST_E_HANGUP,
			    "device closed the connection");
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return st_fail(cause,
			    errno == ECONNRESET ? ST_E_HANGUP : ST_E_IO,
			    "recv: %s", strerror(errno));
		r = poll(&pfd, 1, deadline_left_ms(dl));
		if (r == 0)
			return st_fail(cause, ST_E_TIMEOUT, "no data");
		if (r < 0 && errno != EINTR)
			return st_fail(cause, ST_E_IO, "poll: %s",
			    strerror(errno));
	}
}

static st_err
tcp_write(struct transport *tp, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct tcp_transport *t = (struct tcp_transport *)tp;

	return tcp_send_all(t->fd, buf, len, dl, cause);
}

static st_err
tcp_read(struct transport *tp, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct tcp_transport *t = (struct tcp_transport *)tp;

	return tcp_recv_some(t->fd, buf, cap, got, dl, cause);
}

static void
tcp_flush_input(struct transport *tp)
{
	struct tcp_transport *t = (struct tcp_transport *)tp;
	uint8_t junk[512];

	while (recv(t->fd, junk, sizeof junk, MSG_DONTWAIT) > 0)
		;
}

/* A TCP endpoint that follows the device's line rate (max_baud= in the
 * URI, as a simulated device does) has nothing to set: the new rate only
 * counts in the attempt times. */
static st_err
tcp_set_baud(struct transport *tp, unsigned baud, char **cause)
{
	(void)tp;
	(void)baud;
	(void)cause;
	return ST_OK;
}

static void
tcp_close(struct transport *tp)
{
	struct tcp_transport *t = (struct tcp_transport *)tp;

	close(t->fd);
	free(t);
}

const struct transport_ops transport_tcp_ops = {
	.scheme = "tcp",
	.summary =
	    "tcp:HOST:PORT[?baud=N&max_baud=M]  raw bytes over TCP (ser2net, "
	    "device servers, devsim)",
	.open = tcp_open,
	.check = tcp_check,
	.write = tcp_write,
	.read = tcp_read,
	.flush_input = tcp_flush_input,
	.set_baud = tcp_set_baud,
	.close = tcp_close,
};
