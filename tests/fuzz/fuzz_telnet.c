/*
 * Fuzz the telnet codec of rfc2217: ports (drivers/transport/telnet.c):
 * any bytes from a port server, decoded cut at a point the input chooses
 * (its first byte), never give more data than came in, never fill a
 * subnegotiation past TELNET_SB_MAX, answer at most 3 bytes per 3 bytes
 * read, and a failure stays (the next call fails with the same cause).
 * The rest, escaped as the station sends data and decoded again, is
 * itself.
 */
#include <string.h>

#include "drivers/transport/telnet.h"
#include "tests/fuzz/fuzz.h"

/* Decode `len` bytes of `in` (a copy: the codec works in place). */
static st_err
telnet_fuzz_feed(struct telnet *tn, const uint8_t *in, size_t len, size_t *dlen)
{
	uint8_t *b = malloc(len ? len : 1);
	size_t before = tn->out_len;
	char *why = NULL;
	st_err err;

	memcpy(b, in, len);
	err = telnet_decode(tn, b, len, dlen, &why);
	FUZZ_CHECK(*dlen <= len);
	FUZZ_CHECK(tn->sb_len <= TELNET_SB_MAX);
	FUZZ_CHECK(tn->out_len - before <= len + 2);
	FUZZ_CHECK((err == ST_OK) == (why == NULL));
	FUZZ_CHECK(err == ST_OK || err == ST_E_PROTO);
	FUZZ_CHECK((err != ST_OK) == (tn->state == TELNET_S_FAILED));
	free(why);
	free(b);
	return err;
}

int
fuzz_telnet(const uint8_t *data, size_t size)
{
	struct telnet tn;
	size_t cut = size ? data[0] % (size + 1) : 0, d1 = 0, d2 = 0, elen;
	uint8_t *esc;
	st_err err;

	telnet_init(&tn);
	telnet_ask(&tn, TELNET_WILL, TELNET_OPT_COMPORT);
	telnet_ask(&tn, TELNET_WILL, TELNET_OPT_BINARY);
	telnet_ask(&tn, TELNET_DO, TELNET_OPT_BINARY);
	err = telnet_fuzz_feed(&tn, data, cut, &d1);
	if (err == ST_OK)
		err = telnet_fuzz_feed(&tn, data + cut, size - cut, &d2);
	if (err != ST_OK)
		FUZZ_CHECK(
		    telnet_fuzz_feed(&tn, data, size, &d2) == ST_E_PROTO);
	telnet_clear(&tn);

	/* Data the station sends comes back unchanged, with nothing to
	 * answer. */
	esc = malloc(2 * size + 1);
	elen = telnet_escape(data, size, esc);
	telnet_init(&tn);
	FUZZ_CHECK(telnet_decode(&tn, esc, elen, &d1, NULL) == ST_OK);
	FUZZ_CHECK(d1 == size);
	FUZZ_CHECK(size == 0 || memcmp(esc, data, size) == 0);
	FUZZ_CHECK(tn.out_len == 0);
	telnet_clear(&tn);
	free(esc);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_telnet(data, size);
}
#endif
