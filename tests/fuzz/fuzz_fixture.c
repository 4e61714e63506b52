/*
 * Fuzz the fixture loader (fixture_load_buffer, station/fixture.c): inih,
 * the line reader, the [fixture] and [slot N] keys and the whole-file
 * checks, against a configuration with the profiles "default" and "rsa".
 *
 * Beyond "no crash": errors are ST_E_CONFIG and name the file; a fixture
 * that loads has a valid name, a hook deadline in range, and at least one
 * slot; slots are sorted by index with unique indexes in 1..999 and
 * unique labels that are one scannable word; every slot has a device URI
 * of a known scheme and a profile of the configuration; the look-ups by
 * index and by label find each slot.
 */
#include <string.h>

#include "station/config/config.h"
#include "station/config/fixture.h"
#include "tests/fuzz/fuzz.h"

#define FIXTURE_FUZZ_CONFIG \
	"[station]\nid = st-1\n" \
	"[profile default]\nkey = ec-p256\nsubject = CN=${serial}\n" \
	"[profile rsa]\nkey = rsa-2048\nsubject = CN=${serial}\n"

static struct config *fixture_fx_cfg;

static void
fixture_fuzz_check(const struct fixture *fx)
{
	FUZZ_CHECK(fx->n_slots >= 1 && fx->slots != NULL);
	FUZZ_CHECK(config_id_is_valid(fx->name));
	FUZZ_CHECK(fx->hook_timeout_ms >= 1 && fx->hook_timeout_ms <= 600000);
	FUZZ_CHECK(fx->path != NULL && strcmp(fx->path, "fuzz.ini") == 0);
	for (size_t i = 0; i < fx->n_slots; i++) {
		const struct fixture_slot *s = &fx->slots[i];

		FUZZ_CHECK(s->index >= 1 && s->index <= CONFIG_SLOT_MAX);
		FUZZ_CHECK(i == 0 || fx->slots[i - 1].index < s->index);
		FUZZ_CHECK(s->label != NULL && config_id_is_valid(s->label));
		FUZZ_CHECK(s->device != NULL &&
		    (strncmp(s->device, "tcp:", 4) == 0 ||
			strncmp(s->device, "uart:", 5) == 0 ||
			strncmp(s->device, "usb:", 4) == 0));
		FUZZ_CHECK(s->profile != NULL &&
		    config_profile(fixture_fx_cfg, s->profile) != NULL);
		FUZZ_CHECK(s->power_on == NULL || s->power_on[0] != '\0');
		FUZZ_CHECK(s->power_off == NULL || s->power_off[0] != '\0');
		FUZZ_CHECK(s->reset == NULL || s->reset[0] != '\0');
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(fx->slots[j].label, s->label) != 0);
		FUZZ_CHECK(fixture_slot(fx, s->index) == s);
		FUZZ_CHECK(fixture_slot_by_label(fx, s->label) == s);
	}
}

int
fuzz_fixture(const uint8_t *data, size_t size)
{
	struct fixture *fx = NULL;
	char *why = NULL;
	st_err err;

	log_set_level(LOG_LEVEL_ERROR);
	if (fixture_fx_cfg == NULL) {
		err =
		    config_load_buffer("fuzz-station.ini", FIXTURE_FUZZ_CONFIG,
			strlen(FIXTURE_FUZZ_CONFIG), &fixture_fx_cfg, NULL);
		FUZZ_CHECK(err == ST_OK);
	}
	err = fixture_load_buffer("fuzz.ini", (const char *)data, size,
	    fixture_fx_cfg, &fx, &why);
	if (err != ST_OK) {
		FUZZ_CHECK(err == ST_E_CONFIG && fx == NULL && why != NULL);
		FUZZ_CHECK(strncmp(why, "fuzz.ini:", 9) == 0);
		free(why);
		return 0;
	}
	FUZZ_CHECK(why == NULL);
	fixture_fuzz_check(fx);
	fixture_free(fx);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_fixture(data, size);
}
#endif
