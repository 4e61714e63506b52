/*
 * Test support: a real ser2net (Debian's ser2net 4) on 127.0.0.1 in
 * telnet(rfc2217) mode in front of a serial device (a devsim pty), the
 * port server a factory puts between the station and a serial line.  It
 * stops with the test (parent-death signal) or at ser2net_stop.
 */
#ifndef TEST_SER2NET_H
#define TEST_SER2NET_H

#include <sys/types.h>

struct ser2net {
	pid_t pid; /* 0 when not running */
	int port;
	char uri[64]; /* "rfc2217:127.0.0.1:PORT" */
};

/* 1 when `ser2net` is installed (on PATH or in /usr/sbin). */
int ser2net_installed(void);

/*
 * Write <dir>/ser2net.yaml for `tty` (a device path) at `line` (ser2net's
 * "115200n81"), start ser2net with its output in <dir>/ser2net.log and wait
 * (at most 10 s) until it listens.  0 when it does; -1 when not (it is
 * then stopped).  ser2net traces into <dir>/ser2net.trace every byte it
 * passes between a client and the device, and a line with "OPEN (" or
 * "CLOSE" as a client connects or leaves: what proves a run went
 * through it.
 */
int ser2net_start(struct ser2net *s, const char *dir, const char *tty,
    const char *line);
/* SIGTERM and reap (nothing when not running). */
void ser2net_stop(struct ser2net *s);

#endif
