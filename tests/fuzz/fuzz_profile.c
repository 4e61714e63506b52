/*
 * Fuzz template expansion (profile_expand, station/profile.c) and the
 * serial rule: templates come from the configuration file, serials from
 * devices.  An expansion that succeeds leaves no reference behind and
 * contains every literal byte of the template.
 */
#include <string.h>

#include "station/profile.h"
#include "tests/fuzz/fuzz.h"

static void
profile_fuzz_expand(const char *tmpl, const struct template_vars *vars)
{
	char *out = NULL, *why = NULL;

	if (profile_expand(tmpl, vars, &out, &why) != ST_OK) {
		FUZZ_CHECK(out == NULL && why != NULL);
		free(why);
		return;
	}
	FUZZ_CHECK(out != NULL);
	/* The values below hold no "${", so none can survive expansion. */
	FUZZ_CHECK(strstr(out, "${") == NULL);
	/* A template without references expands to itself. */
	if (strstr(tmpl, "${") == NULL)
		FUZZ_CHECK(strcmp(out, tmpl) == 0);
	free(out);
}

int
fuzz_profile(const uint8_t *data, size_t size)
{
	static const struct template_vars full = { "SN0001", "M-1", "st-1",
		"SN0001" };
	static const struct template_vars no_cn = { "SN0001", "M-1", "st-1",
		NULL };
	static const struct template_vars none = { NULL, NULL, NULL, NULL };
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	profile_fuzz_expand(text, &full);
	profile_fuzz_expand(text, &no_cn);
	profile_fuzz_expand(text, &none);
	if (serial_is_valid(text)) {
		FUZZ_CHECK(strlen(text) >= 1 && strlen(text) <= 64);
		FUZZ_CHECK(strpbrk(text, ",=/${}+\\\" ") == NULL);
	}
	free(text);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_profile(data, size);
}
#endif
