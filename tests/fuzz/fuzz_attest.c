/*
 * Fuzz the TPM structure readers of key attestation (station/x509/attest.c):
 * the TPMS_ATTEST and TPMT_PUBLIC a device sends in its ATTEST reply.  The
 * same bytes go through both.  An accepted structure's TPM2Bs lie inside
 * the input and within the sizes a TPM sends; a refused one names
 * attest.format.
 */
#include <string.h>

#include "station/x509/attest.h"
#include "tests/fuzz/fuzz.h"

/* `b` is empty or lies inside data[size]. */
static int
inside(const struct tpm2b *b, const uint8_t *data, size_t size, size_t max)
{
	if (b->len == 0)
		return 1;
	return b->len <= max && b->buf >= data &&
	    b->buf + b->len <= data + size;
}

int
fuzz_attest(const uint8_t *data, size_t size)
{
	struct tpm_attest a;
	struct tpm_public p;
	char *why = NULL;

	if (tpm_attest_parse(data, size, &a, &why) == ST_OK) {
		FUZZ_CHECK(why == NULL);
		FUZZ_CHECK(inside(&a.signer, data, size, 66));
		FUZZ_CHECK(inside(&a.extra, data, size, 64));
		FUZZ_CHECK(inside(&a.name, data, size, 66));
		FUZZ_CHECK(inside(&a.qualified_name, data, size, 66));
	} else {
		FUZZ_CHECK(
		    why != NULL && strncmp(why, "attest.format:", 14) == 0);
		free(why);
		why = NULL;
	}
	if (tpm_public_parse(data, size, &p, &why) == ST_OK) {
		FUZZ_CHECK(why == NULL && p.type == TPM_ALG_ECC);
		FUZZ_CHECK(inside(&p.x, data, size, 66));
		FUZZ_CHECK(inside(&p.y, data, size, 66));
	} else {
		FUZZ_CHECK(
		    why != NULL && strncmp(why, "attest.format:", 14) == 0);
		free(why);
	}
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_attest(data, size);
}
#endif
