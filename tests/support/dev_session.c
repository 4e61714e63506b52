/* Test support: devsim and a connected client (dev_session.h). */
#include "tests/support/dev_session.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "drivers/transport/transport.h"
#include "tests/support/proc.h"
#include "station/util/clock.h"

struct dev_session ds;

int
dev_session_teardown(void **state)
{
	(void)state;
	client_free(ds.cli);
	devsim_proc_stop(ds.sim);
	ds = (struct dev_session){ 0 };
	return 0;
}

void
dev_session_start(const char *const *args)
{
	ds.sim = devsim_proc_start(args);
	assert_non_null(ds.sim);
}

struct client *
dev_session_connect(const struct client_opts *opts)
{
	struct transport *t = NULL;
	struct client_opts slow;
	char *cause = NULL;

	if (transport_open(ds.sim->uri, deadline_in(test_ms(5000)), &t, &cause))
		fail_msg("connecting to %s: %s", ds.sim->uri, cause);
	/* Under valgrind (make valgrind sets STATION_TEST_SLOW) devsim's
	 * RSA key generation can outlast the default KEYGEN timeout. */
	if (opts == NULL) {
		client_opts_default(&slow);
		slow.reply_timeout_ms = test_ms(slow.reply_timeout_ms);
		slow.keygen_timeout_ms = test_ms(slow.keygen_timeout_ms);
		slow.crypto_timeout_ms = test_ms(slow.crypto_timeout_ms);
		opts = &slow;
	}
	ds.cli = client_new(t, opts);
	return ds.cli;
}

void
dev_keygen_ec(struct client *c)
{
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	char *cause = NULL;

	if (dev_keygen(c, PROTO_ALG_EC_P256, 0, &spki, &spki_len, &cause))
		fail_msg("KEYGEN: %s", cause);
	free(spki);
}

void
dev_chain_check(struct client *c, const uint8_t *const *der, const size_t *len,
    size_t n)
{
	uint8_t *back = NULL, *want;
	size_t back_len = 0, want_len;
	struct tlv_writer w;
	char *cause = NULL;

	if (dev_write_chain(c, der, len, n, &cause))
		fail_msg("WRITE_CHAIN: %s", cause);
	if (dev_read_chain(c, &back, &back_len, &cause))
		fail_msg("READ_CHAIN: %s", cause);
	tlv_writer_init(&w);
	for (size_t i = 0; i < n; i++)
		tlv_put(&w, PROTO_T_CERT, der[i], len[i]);
	want = tlv_writer_take(&w, &want_len);
	assert_int_equal(back_len, want_len);
	assert_memory_equal(back, want, want_len);
	free(want);
	free(back);
}

void
dev_chain_round_trip(struct client *c, const uint8_t *a, const uint8_t *b,
    size_t len)
{
	const uint8_t *der[2] = { a, b };
	size_t lens[2] = { len, len };

	dev_keygen_ec(c);
	dev_chain_check(c, der, lens, 2);
}
