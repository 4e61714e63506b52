/*
 * The socket side of the TCP transports (transport_tcp.c): tcp: speaks raw
 * bytes on it, rfc2217: telnet (transport_rfc2217.c).  Both take the same
 * HOST:PORT[?options] spec and give every call the caller's deadline.
 */
#ifndef ST_TRANSPORT_TCP_H
#define ST_TRANSPORT_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/clock.h"
#include "station/util/err.h"

/* What HOST:PORT[?baud=N&max_baud=M] says.  Filled by tcp_addr_parse;
 * release with tcp_addr_clear. */
struct tcp_addr {
	char *host;	   /* owned */
	char *port;	   /* owned, 1..65535 */
	unsigned baud;	   /* 0 when the URI gives none */
	unsigned max_baud; /* 0 when the URI gives none */
};

/* Parse `spec` (the URI after "scheme:"), refusing any option not in the
 * NULL-terminated `known` list: ST_E_URI naming the problem, with nothing
 * left to clear. */
st_err tcp_addr_parse(const char *scheme, const char *spec,
    const char *const *known, struct tcp_addr *a, char **cause);
/* Accepts a cleared or zeroed struct. */
void tcp_addr_clear(struct tcp_addr *a);
/* tcp_addr_parse for the check op: the form alone, nothing kept. */
st_err tcp_addr_check(const char *scheme, const char *spec,
    const char *const *known, char **cause);

/* Resolve and connect before `dl`, Nagle off: *fd (non-blocking,
 * close-on-exec) is the caller's.  ST_E_URI when the name does not
 * resolve, ST_E_HANGUP when refused, ST_E_TIMEOUT past `dl`. */
st_err tcp_dial(const struct tcp_addr *a, struct deadline dl, int *fd,
    char **cause);
/* All `len` bytes before `dl`, or ST_E_TIMEOUT / ST_E_HANGUP / ST_E_IO. */
st_err tcp_send_all(int fd, const uint8_t *buf, size_t len, struct deadline dl,
    char **cause);
/* At least one byte before `dl` (the read op's contract, transport.h). */
st_err tcp_recv_some(int fd, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause);

#endif
