/* The process's random generator (rng.h). */
#include "station/util/rng.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

int
rng_prefer_hash_drbg(void)
{
	/* Before the configuration is loaded (at OpenSSL's first use): a
	 * [random] section in it then sets the type again, and stands. */
	return RAND_set_DRBG_type(NULL, "HASH-DRBG", NULL, NULL, "SHA256") ==
		1 ?
	    0 :
	    -1;
}

const char *
rng_primary_name(void)
{
	EVP_RAND_CTX *primary = RAND_get0_primary(NULL);

	return primary != NULL ?
	    EVP_RAND_get0_name(EVP_RAND_CTX_get0_rand(primary)) :
	    NULL;
}
