/*
 * Test support: a devsim process and the station's client connected to
 * it, held in `ds` so that the teardown closes and stops both even after a
 * failed assert has left the test.
 */
#ifndef TEST_DEV_SESSION_H
#define TEST_DEV_SESSION_H

#include "drivers/proto/client.h"
#include "tests/support/devsim_proc.h"

struct dev_session {
	struct devsim_proc *sim; /* NULL until started */
	struct client *cli;	 /* NULL until connected */
};

extern struct dev_session ds;

/* cmocka teardown: frees ds.cli, stops ds.sim. */
int dev_session_teardown(void **state);
#define DEV_SESSION_TEST(f) cmocka_unit_test_teardown(f, dev_session_teardown)

/* Start devsim with `args` into ds.sim (asserts it came up). */
void dev_session_start(const char *const *args);

/*
 * Connect a client to ds.sim with `opts` (NULL: the defaults, every
 * reply timeout stretched by test_ms, proc.h); kept in ds.cli and
 * returned.
 */
struct client *dev_session_connect(const struct client_opts *opts);

/*
 * KEYGEN, then a chain of two `len`-byte certificates (`a`, `b`: any
 * bytes) written and read back: the device must return exactly the TLV
 * chain written (fails the test otherwise).  Proves a link carries every
 * byte both ways, before or after a baud switch.
 */
void dev_chain_round_trip(struct client *c, const uint8_t *a, const uint8_t *b,
    size_t len);

#endif
