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

/* KEYGEN of an EC P-256 key in slot 0 (the public key dropped), as the
 * device state WRITE_CHAIN needs; fails the test otherwise. */
void dev_keygen_ec(struct client *c);

/*
 * WRITE_CHAIN of the `n` certificates der[i] (len[i] bytes each: any
 * bytes), then READ_CHAIN: the device must return exactly the TLV chain
 * written (fails the test otherwise).  The device must hold a key
 * (dev_keygen_ec).
 */
void dev_chain_check(struct client *c, const uint8_t *const *der,
    const size_t *len, size_t n);

/*
 * KEYGEN, then a chain of two `len`-byte certificates (`a`, `b`: any
 * bytes) written and read back (dev_chain_check).  Proves a link carries
 * every byte both ways, before or after a baud switch.
 */
void dev_chain_round_trip(struct client *c, const uint8_t *a, const uint8_t *b,
    size_t len);

#endif
