/*
 * A small HTTPS/1.1 server for tests: 127.0.0.1 on a random port, one
 * connection at a time on its own thread, one request per connection.  A
 * handler sees each request and fills the reply; it may also ask the
 * server to hold the connection without answering (a CA that hangs) until
 * the server stops or the client goes away.
 * https_server_stop() ends the thread and joins it: the server never
 * outlives its test.
 */
#ifndef TEST_HTTPS_SERVER_H
#define TEST_HTTPS_SERVER_H

#include <openssl/ssl.h>
#include <stddef.h>

struct https_request {
	char method[16];
	char path[512];
	char *headers; /* the header block as received */
	char *body;    /* NUL-terminated */
	size_t body_len;
};

struct https_reply {
	int status;
	char *body;	  /* malloc'ed by the handler; freed by the server */
	int hang;	  /* 1: never answer (until the server stops or the
	               client goes away) */
	const char *date; /* the Date header (static text, e.g. "Sun, 01 Nov
	                     2026 00:00:00 GMT": a CA whose clock is off);
	                     NULL: now, as every real server sends */
};

typedef void (*https_handler)(void *arg, const struct https_request *req,
    struct https_reply *reply);

struct https_server;

/* ctx is taken (freed at stop). */
struct https_server *https_server_start(SSL_CTX *ctx, https_handler h,
    void *arg);
/* The same on a given loopback port (0: any), e.g. the port a server that
 * was stopped had: a CA that comes back. */
struct https_server *https_server_start_on(SSL_CTX *ctx, https_handler h,
    void *arg, int port);
int https_server_port(const struct https_server *s);
/* "https://127.0.0.1:PORT" (owned by the server). */
const char *https_server_addr(const struct https_server *s);
void https_server_stop(struct https_server *s);

/* The value of header `name` in req (malloc'ed), or NULL. */
char *https_request_header(const struct https_request *req, const char *name);

#endif
