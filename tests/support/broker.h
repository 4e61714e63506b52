/*
 * A real Mosquitto for tests, started by fixtures/broker/start.sh (the same
 * script the demo uses) on a random 127.0.0.1 port.  It stops at
 * test_broker_stop, or by itself after `lifetime_s` seconds.
 */
#ifndef TEST_BROKER_H
#define TEST_BROKER_H

#include <sys/types.h>

struct test_broker {
	int port;
	pid_t pid;
	char ca_file[512]; /* trusts the broker's certificate */
};

/* Start a broker in `dir` that trusts device certificates issued under
 * `device_ca_pem`.  Returns 0, or -1 with a message on stderr. */
int test_broker_start(struct test_broker *b, const char *dir,
    const char *device_ca_pem, int lifetime_s);
void test_broker_stop(struct test_broker *b);

#endif
