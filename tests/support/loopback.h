/* Test support: ports on 127.0.0.1 for servers started by tests. */
#ifndef TEST_LOOPBACK_H
#define TEST_LOOPBACK_H

/* A loopback port nobody listens on (bound and closed); aborts when no
 * port can be bound. */
int loopback_free_port(void);
/* A listening socket on a free loopback port that nobody ever accepts
 * from or reads: connections complete into its backlog and then hang (a
 * server that takes a connection and never answers).  Returns the socket
 * (the caller closes it) and *port; aborts when none can be made. */
int loopback_hung_listener(int *port);
/* 1 when something accepts connections on 127.0.0.1:port. */
int loopback_listening(int port);
/* A connected TCP socket to 127.0.0.1:port (Nagle off), or -1. */
int loopback_connect(int port);
/* The same for a device URI "tcp:127.0.0.1:PORT" (what devsim prints);
 * -1 for any other URI. */
int loopback_connect_uri(const char *uri);

#endif
