/*
 * Fuzz subject strings (dn_parse and dn_format, station/dn.c): they come
 * from profiles with device serials expanded into them.  A string that
 * parses formats back to a string that parses to the same name.
 */
#include <string.h>

#include "station/x509/dn.h"
#include "tests/fuzz/fuzz.h"

int
fuzz_dn(const uint8_t *data, size_t size)
{
	X509_NAME *name = NULL, *again = NULL;
	char *text = malloc(size + 1);
	char *why = NULL, *formatted = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	if (dn_parse(text, &name, &why) != ST_OK) {
		FUZZ_CHECK(name == NULL && why != NULL);
		goto out;
	}
	FUZZ_CHECK(name != NULL);
	formatted = dn_format(name);
	FUZZ_CHECK(dn_parse(formatted, &again, NULL) == ST_OK);
	FUZZ_CHECK(X509_NAME_cmp(name, again) == 0);
out:
	X509_NAME_free(name);
	X509_NAME_free(again);
	free(formatted);
	free(why);
	free(text);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_dn(data, size);
}
#endif
