/*
 * Fuzz the configuration loader (config_load_buffer, station/config_load.c
 * and the key tables): inih, our line reader that follows inih's section
 * rules, every key parser and the whole-file checks.  A loaded config
 * always has a profile, and every slot names one that exists.
 */
#include <string.h>

#include "station/config/config.h"
#include "tests/fuzz/fuzz.h"

int
fuzz_config(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	char *why = NULL;

	log_set_level(LOG_LEVEL_ERROR);
	if (config_load_buffer("fuzz.ini", (const char *)data, size, &cfg,
		&why) != ST_OK) {
		FUZZ_CHECK(cfg == NULL && why != NULL);
		FUZZ_CHECK(strncmp(why, "fuzz.ini", 8) == 0);
		free(why);
		return 0;
	}
	FUZZ_CHECK(cfg->n_profiles >= 1);
	FUZZ_CHECK(config_id_is_valid(cfg->station_id));
	for (size_t i = 0; i < cfg->n_slots; i++) {
		FUZZ_CHECK(cfg->slots[i].device != NULL);
		FUZZ_CHECK(config_profile(cfg, cfg->slots[i].profile) != NULL);
		if (i > 0)
			FUZZ_CHECK(
			    cfg->slots[i - 1].index < cfg->slots[i].index);
	}
	config_free(cfg);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_config(data, size);
}
#endif
