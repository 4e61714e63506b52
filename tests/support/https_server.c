/* A small HTTPS server for tests (see https_server.h). */
#include "tests/support/https_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/proc.h"

#define REQ_MAX (256 * 1024)

struct https_server {
	SSL_CTX *ctx;
	https_handler handler;
	void *arg;
	int fd, port;
	char addr[48]; /* https://127.0.0.1:PORT */
	atomic_int stop;
	pthread_t thread;
};

static void
die(const char *what)
{
	fprintf(stderr, "https test server: %s: %s\n", what, strerror(errno));
	abort();
}

char *
https_request_header(const struct https_request *req, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = req->headers; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			return strndup(v, len - (size_t)(v - p));
		}
		p = eol ? eol + 2 : p + len;
	}
	return NULL;
}

/* Read one request; 0 on success. */
static int
read_request(SSL *ssl, struct https_request *req)
{
	char *buf = malloc(REQ_MAX + 1);
	size_t len = 0, need = 0, hlen;
	char *end = NULL, *cl;

	if (buf == NULL)
		die("malloc");
	for (;;) {
		int n;

		if (end != NULL && len >= need)
			break;
		if (len >= REQ_MAX)
			goto fail;
		n = SSL_read(ssl, buf + len, (int)(REQ_MAX - len));
		if (n <= 0)
			goto fail;
		len += (size_t)n;
		buf[len] = '\0';
		if (end != NULL)
			continue;
		/* The headers have just arrived: now the body's length is known. */
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		hlen = (size_t)(end - buf) + 4;
		end[2] = '\0'; /* headers end with one CRLF */
		req->headers = strdup(strstr(buf, "\r\n") + 2);
		end[2] = '\r';
		cl = https_request_header(req, "Content-Length");
		need = hlen + (cl ? strtoul(cl, NULL, 10) : 0);
		free(cl);
	}
	if (sscanf(buf, "%15s %511s", req->method, req->path) != 2)
		goto fail;
	req->body_len = len - (size_t)(end + 4 - buf);
	req->body = strndup(end + 4, req->body_len);
	free(buf);
	return 0;
fail:
	free(buf);
	return -1;
}

static const char *
reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

/* 1 once the client has closed its end.  Bytes it sent after its
 * request (a TLS close_notify) are read and dropped: nothing more is
 * read or answered on a held connection. */
static int
peer_gone(int cfd)
{
	char buf[512];
	ssize_t n;

	do
		n = recv(cfd, buf, sizeof buf, MSG_DONTWAIT);
	while (n > 0);
	return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

static void
serve_one(struct https_server *s, int cfd)
{
	SSL *ssl = SSL_new(s->ctx);
	struct https_request req = { 0 };
	struct https_reply reply = { 0 };

	if (ssl == NULL || !SSL_set_fd(ssl, cfd) || SSL_accept(ssl) != 1 ||
	    read_request(ssl, &req) != 0)
		goto out;
	s->handler(s->arg, &req, &reply);
	if (reply.hang) {
		/* Until the server stops or the client goes away (a client
		 * killed mid-request), so that the next client is served. */
		while (!atomic_load(&s->stop) && !peer_gone(cfd))
			poll(NULL, 0, 20);
		goto out;
	}
	const char *body = reply.body ? reply.body : "";
	char head[384], now[64];
	time_t t = time(NULL);
	struct tm tm;

	/* Every reply carries a Date, as a real server's does (RFC 9110
	 * 6.6.1); the station's clock check reads it. */
	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	int n = snprintf(head, sizeof head,
	    "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n",
	    reply.status, reason(reply.status), reply.date ? reply.date : now,
	    strlen(body));
	SSL_write(ssl, head, n);
	if (body[0])
		SSL_write(ssl, body, (int)strlen(body));
	SSL_shutdown(ssl);
out:
	free(reply.body);
	free(req.headers);
	free(req.body);
	SSL_free(ssl);
	close(cfd);
}

static void *
run(void *arg)
{
	struct https_server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { s->fd, POLLIN, 0 };
		struct timeval tv = { test_ms(5000) / 1000, 0 };

		if (poll(&p, 1, 50) <= 0)
			continue;
		int cfd = accept(s->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		/* A client that stalls cannot stall the test forever. */
		setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		serve_one(s, cfd);
	}
	return NULL;
}

struct https_server *
https_server_start(SSL_CTX *ctx, https_handler h, void *arg)
{
	return https_server_start_on(ctx, h, arg, 0);
}

struct https_server *
https_server_start_on(SSL_CTX *ctx, https_handler h, void *arg, int port)
{
	struct https_server *s = calloc(1, sizeof *s);
	struct sockaddr_in a = { .sin_family = AF_INET,
		.sin_port = htons((uint16_t)port) };
	socklen_t alen = sizeof a;
	int one = 1;

	if (s == NULL)
		die("calloc");
	/* A client that hangs up mid-reply (a refused pin, a timeout test)
	 * must not kill the test program with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	s->ctx = ctx;
	s->handler = h;
	s->arg = arg;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A server restarted on its old port (a CA coming back) must not
	 * wait for the old connections' TIME_WAIT. */
	if (s->fd >= 0)
		setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(s->fd, 8) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0)
		die("listen");
	s->port = ntohs(a.sin_port);
	snprintf(s->addr, sizeof s->addr, "https://127.0.0.1:%d", s->port);
	if (pthread_create(&s->thread, NULL, run, s) != 0)
		die("pthread_create");
	return s;
}

int
https_server_port(const struct https_server *s)
{
	return s->port;
}

const char *
https_server_addr(const struct https_server *s)
{
	return s->addr;
}

void
https_server_stop(struct https_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	SSL_CTX_free(s->ctx);
	free(s);
}
