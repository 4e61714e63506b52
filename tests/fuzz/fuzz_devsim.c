/*
 * Fuzz the simulated device's receive side (server_feed and the commands
 * behind it, fixtures/devsim/): the device must survive garbage too, and
 * everything it sends back must be a well-formed reply frame.
 *
 * Input byte 0 picks the mode.  Even: the rest is fed as raw line bytes.
 * Odd: the rest is a list of records, each made into a frame with a
 * correct CRC (random bytes almost never have one), so the fuzzer reaches
 * chunk reassembly, the reply cache, CONTINUE and every command:
 *
 *	len(1) flags(1) seq(2) cmd(1) offset(2) total(2) payload(len)
 *
 * KEYGEN with RSA is rewritten to EC P-256: an RSA-2048 key takes ~100 ms
 * and would eat the run (tests/drivers/test_client covers RSA).
 */
#include <openssl/err.h>
#include <string.h>

#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "fixtures/devsim/device.h"
#include "fixtures/devsim/server.h"
#include "station/util/log.h"
#include "tests/fuzz/fuzz.h"

#define DEVSIM_FUZZ_REC_HDR 9

/* Every byte the device sent decodes into reply frames. */
static void
devsim_fuzz_check_output(struct server *s)
{
	struct frame_reader r;
	size_t left = 0;
	const uint8_t *p = server_output(s, &left);

	frame_reader_init(&r, PROTO_MAX_FRAME);
	while (left > 0) {
		struct frame f;
		int got = 0;

		FUZZ_CHECK(
		    frame_reader_feed(&r, &p, &left, &f, &got, NULL) == ST_OK);
		if (!got)
			continue;
		FUZZ_CHECK((f.flags & PROTO_FLAG_RESPONSE) != 0);
		/* docs/protocol.md 6.1: a chunk acknowledgement is empty. */
		if (f.status == PROTO_ST_CONTINUE)
			FUZZ_CHECK(f.offset == 0 && f.total == 0 &&
			    f.payload_len == 0);
		/* 6.2: an error reply is one whole frame. */
		if (f.status >= PROTO_ST_BAD_FRAME)
			FUZZ_CHECK(f.offset == 0 && f.total == f.payload_len);
	}
	FUZZ_CHECK(r.len == 0); /* nothing left half-sent */
	frame_reader_free(&r);
	server_output_clear(s);
}

static void
devsim_fuzz_no_rsa(uint8_t cmd, uint8_t *payload, size_t len)
{
	if (cmd != PROTO_CMD_KEYGEN)
		return;
	for (size_t i = 0; i + 3 < len; i++) {
		if (payload[i] == PROTO_T_KEY_ALG && payload[i + 1] == 0 &&
		    payload[i + 2] == 1 && payload[i + 3] == PROTO_ALG_RSA_2048)
			payload[i + 3] = PROTO_ALG_EC_P256;
	}
}

static void
devsim_fuzz_records(struct server *s, const uint8_t *data, size_t size)
{
	static uint8_t wire[PROTO_MAX_FRAME + PROTO_MAX_FRAME / 254 + 8];
	uint8_t payload[256];

	while (size >= DEVSIM_FUZZ_REC_HDR) {
		size_t len = data[0];

		if (len > size - DEVSIM_FUZZ_REC_HDR)
			len = size - DEVSIM_FUZZ_REC_HDR;
		memcpy(payload, data + DEVSIM_FUZZ_REC_HDR, len);
		devsim_fuzz_no_rsa(data[4], payload, len);
		struct frame f = { .version = PROTO_VERSION,
			.flags = data[1],
			.seq = (uint16_t)(data[2] << 8 | data[3]),
			.cmd = data[4],
			.offset = (uint16_t)(data[5] << 8 | data[6]),
			.total = (uint16_t)(data[7] << 8 | data[8]),
			.payload = payload,
			.payload_len = len };
		size_t n = 0;

		FUZZ_CHECK(
		    frame_encode(&f, wire, sizeof wire, &n, NULL) == ST_OK);
		server_feed(s, wire, n);
		devsim_fuzz_check_output(s);
		if (server_take_reset(s))
			server_session_begin(s);
		data += DEVSIM_FUZZ_REC_HDR + len;
		size -= DEVSIM_FUZZ_REC_HDR + len;
	}
}

int
fuzz_devsim(const uint8_t *data, size_t size)
{
	struct device_config cfg = { .serial = "SN0001",
		.model = "sim-1",
		.hw_version = "1.0",
		.fw_version = "1.0",
		.max_frame = PROTO_MAX_FRAME };
	struct faults faults;
	struct device *dev = NULL;

	if (size == 0)
		return 0;
	log_set_level(LOG_LEVEL_ERROR);
	/* Errors left in OpenSSL's queue by an earlier input would end up in
	 * this input's messages: start each input clean. */
	ERR_clear_error();
	faults_init(&faults);
	if (data[0] & 2)
		cfg.max_frame = PROTO_MIN_FRAME;
	FUZZ_CHECK(device_new(&cfg, &faults, &dev, NULL) == ST_OK);
	struct server *s = server_new(dev, &faults);
	if (data[0] & 1) {
		devsim_fuzz_records(s, data + 1, size - 1);
	} else {
		server_feed(s, data + 1, size - 1);
		devsim_fuzz_check_output(s);
	}
	server_free(s);
	device_free(dev);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_devsim(data, size);
}
#endif
