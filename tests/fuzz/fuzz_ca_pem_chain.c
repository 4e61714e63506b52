/*
 * Fuzz the PEM handling the remote backends share (station/ca/remote.c):
 * remote_cert_from_pem (a reply's certificate) and remote_chain_add_pem
 * (a reply's chain or caCert), on the input as a C string, as they get
 * it from a JSON string.
 *
 * Beyond "no crash": both agree (one finds a certificate exactly when the
 * other does, and it is the chain's first); every certificate found
 * re-encodes to DER that parses again; a chain that takes nothing stays
 * as it was.
 */
#include <string.h>

#include "station/ca/remote.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_issued.h"

int
fuzz_ca_pem_chain(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *cert = NULL;
	char *why1 = NULL, *why2 = NULL;

	FUZZ_CHECK(text != NULL && chain != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	st_err e1 = remote_cert_from_pem(text, "fuzz", &cert, &why1);
	st_err e2 = remote_chain_add_pem(chain, text, "fuzz", &why2);
	FUZZ_CHECK((e1 == ST_OK) == (e2 == ST_OK));
	if (e1 != ST_OK) {
		FUZZ_CHECK(e1 == ST_E_CA && e2 == ST_E_CA);
		FUZZ_CHECK(why1 != NULL && why2 != NULL && cert == NULL);
		FUZZ_CHECK(sk_X509_num(chain) == 0);
	} else {
		FUZZ_CHECK(why1 == NULL && why2 == NULL);
		FUZZ_CHECK(sk_X509_num(chain) >= 1);
		FUZZ_CHECK(X509_cmp(cert, sk_X509_value(chain, 0)) == 0);
		fuzz_check_der_roundtrip(cert);
		for (int i = 0; i < sk_X509_num(chain); i++)
			fuzz_check_der_roundtrip(sk_X509_value(chain, i));
	}
	free(why1);
	free(why2);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	free(text);
	ERR_clear_error();
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ca_pem_chain(data, size);
}
#endif
