/* Test broker (see broker.h). */
#include "tests/support/broker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
test_broker_start(struct test_broker *b, const char *dir,
    const char *device_ca_pem, int lifetime_s)
{
	const char *src = getenv("STATION_SRCDIR");
	char cmd[2048], line[128];
	FILE *fp;
	long port = 0, pid = 0;
	int n;

	memset(b, 0, sizeof *b);
	snprintf(cmd, sizeof cmd,
	    "sh '%s/fixtures/broker/start.sh' '%s' '%s' %d", src ? src : ".",
	    dir, device_ca_pem, lifetime_s);
	fp = popen(cmd, "r");
	if (fp == NULL)
		return -1;
	n = fgets(line, sizeof line, fp) ?
	    sscanf(line, "%ld %ld", &port, &pid) :
	    0;
	if (pclose(fp) != 0 || n != 2 || port <= 0 || port > 65535 ||
	    pid <= 1) {
		fprintf(stderr, "test broker: start.sh failed\n");
		return -1;
	}
	b->port = (int)port;
	b->pid = (pid_t)pid;
	snprintf(b->ca_file, sizeof b->ca_file, "%s/broker-ca.pem", dir);
	return 0;
}

/* Gone, or a zombie waiting for a parent that may never reap it. */
static int
process_gone(pid_t pid)
{
	char path[64], buf[256];
	FILE *fp;
	char *close_paren;
	int gone = 1;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return kill(pid, 0) != 0;
	if (fgets(buf, sizeof buf, fp) != NULL) {
		close_paren = strrchr(buf, ')');
		gone = close_paren != NULL && close_paren[1] == ' ' &&
		    close_paren[2] == 'Z';
	}
	fclose(fp);
	return gone;
}

void
test_broker_stop(struct test_broker *b)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	if (b == NULL || b->pid <= 1)
		return;
	kill(b->pid, SIGTERM);
	/* Not our child (the script started it): wait, bounded, until gone. */
	for (int i = 0; i < 200 && !process_gone(b->pid); i++)
		nanosleep(&ts, NULL);
	b->pid = 0;
}
