/*
 * Fuzz the parsing of a HELLO reply (dev_info_parse, drivers/client.c):
 * the first bytes the station trusts a device with.  An accepted reply
 * always carries a usable serial and frame limit.
 */
#include <string.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "tests/fuzz/fuzz.h"

int
fuzz_dev_info(const uint8_t *data, size_t size)
{
	struct dev_info info;
	char *why = NULL;

	if (dev_info_parse(data, size, &info, &why) != ST_OK) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(info.serial == NULL && info.model == NULL);
		free(why);
		return 0;
	}
	FUZZ_CHECK(info.version == PROTO_VERSION);
	FUZZ_CHECK(info.max_frame >= PROTO_MIN_FRAME &&
	    info.max_frame <= PROTO_MAX_FRAME);
	FUZZ_CHECK(info.serial && info.serial[0] && strlen(info.serial) <= 64);
	FUZZ_CHECK(
	    info.model && info.hw_version && info.fw_version && info.chip);
	dev_info_clear(&info);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_dev_info(data, size);
}
#endif
