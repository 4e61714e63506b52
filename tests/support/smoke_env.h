/*
 * Test support for end-to-end runs that include the smoke test: a station
 * home (provision_env.h) with a profile, and a real Mosquitto on
 * 127.0.0.1 (broker.h) trusting the home's local CA root, so `station
 * provision --broker ... --broker-ca ...` runs the whole flow.  Set-up
 * failures fail the test; smoke_env_free accepts NULL and stops the broker.
 */
#ifndef TEST_SMOKE_ENV_H
#define TEST_SMOKE_ENV_H

#include <jansson.h>

#include "tests/support/broker.h"
#include "tests/support/provision_env.h"

struct smoke_env {
	struct prov_env *env;
	struct test_broker broker;
	char *broker_arg; /* "127.0.0.1:PORT" */
	char *broker_dir; /* <home>/broker: broker.conf, its files */
	json_t *res;	  /* JSON result of the last smoke_env_provision */
};

/*
 * `profile_lines` go under "[profile default]" (NULL: none);
 * `broker_extra` (NULL: none) is appended to the broker's configuration;
 * the broker stops by itself after `lifetime_s` seconds.
 */
struct smoke_env *smoke_env_new(const char *profile_lines,
    const char *broker_extra, int lifetime_s);
void smoke_env_free(struct smoke_env *s);

/* `station provision URI --json --broker B --broker-ca F` with B the test
 * broker (or `broker_at` when not NULL); sets s->res and returns the exit
 * status. */
int smoke_env_provision(struct smoke_env *s, const char *uri,
    const char *broker_at);

#endif
