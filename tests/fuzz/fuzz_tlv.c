/*
 * Fuzz the TLV reader (drivers/tlv.c): tlv_validate on any bytes; on a
 * valid buffer, iteration stays inside it and rebuilds the same bytes
 * through the writer, and every typed getter either fails cleanly or
 * returns what the element holds.
 */
#include <string.h>

#include "drivers/proto/tlv.h"
#include "tests/fuzz/fuzz.h"

static void
tlv_fuzz_getters(const uint8_t *data, size_t size, uint8_t tag)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	char *s = NULL;
	const uint8_t *val;
	size_t vlen;

	(void)tlv_get_u8(data, size, tag, &v8, NULL);
	(void)tlv_get_u16(data, size, tag, &v16, NULL);
	(void)tlv_get_u32(data, size, tag, &v32, NULL);
	if (tlv_get_str(data, size, tag, 64, &s, NULL) == ST_OK) {
		FUZZ_CHECK(s != NULL && strlen(s) <= 64);
		for (const char *p = s; *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7F);
	}
	free(s);
	if (tlv_get_bytes(data, size, tag, 1024, &val, &vlen, NULL) == ST_OK)
		FUZZ_CHECK(
		    val >= data && vlen <= 1024 && val + vlen <= data + size);
}

int
fuzz_tlv(const uint8_t *data, size_t size)
{
	struct tlv_writer w;
	struct tlv t;
	size_t pos = 0, n = 0;
	char *why = NULL;

	if (tlv_validate(data, size, &why) != ST_OK) {
		FUZZ_CHECK(why != NULL);
		free(why);
		return 0;
	}
	tlv_writer_init(&w);
	while (tlv_next(data, size, &pos, &t)) {
		FUZZ_CHECK(t.val >= data && t.val + t.len <= data + size);
		tlv_put(&w, t.tag, t.val, t.len);
		n++;
	}
	FUZZ_CHECK(pos == size);
	size_t len = 0;
	uint8_t *again = tlv_writer_take(&w, &len);
	FUZZ_CHECK(len == size);
	FUZZ_CHECK(size == 0 || memcmp(again, data, size) == 0);
	free(again);
	/* The first element's tag, and tags the protocol defines. */
	if (size > 0)
		tlv_fuzz_getters(data, size, data[0]);
	for (uint8_t tag = 0x01; tag <= 0x1b; tag++)
		tlv_fuzz_getters(data, size, tag);
	(void)n;
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_tlv(data, size);
}
#endif
