/*
 * Fuzz the PEM handling the remote backends share (station/ca/remote.c):
 * remote_cert_from_pem (a reply's certificate) and remote_chain_add_pem
 * (a reply's chain or caCert), on the input as a C string, as they get
 * it from a JSON string.
 *
 * Beyond "no crash": both agree (the certificate is the chain's first;
 * the chain finds one whenever the certificate is found, and the
 * certificate is refused only when the chain finds none or the first has
 * a serial that is not positive); every certificate found re-encodes to
 * DER that parses again; a chain that takes nothing stays as it was.
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
	FUZZ_CHECK(
	    e1 == ST_OK || (e1 == ST_E_CA && why1 != NULL && cert == NULL));
	FUZZ_CHECK(e2 == ST_OK ||
	    (e2 == ST_E_CA && why2 != NULL && sk_X509_num(chain) == 0));
	if (e2 == ST_OK) {
		X509 *first = sk_X509_value(chain, 0);
		char *serial = cert_serial_hex(first);

		FUZZ_CHECK(why2 == NULL && sk_X509_num(chain) >= 1);
		for (int i = 0; i < sk_X509_num(chain); i++)
			fuzz_check_der_roundtrip(sk_X509_value(chain, i));
		/* Refused only for its serial: "0" or "-..." */
		FUZZ_CHECK(e1 == ST_OK || serial[0] == '-' ||
		    strcmp(serial, "0") == 0);
		free(serial);
	}
	if (e1 == ST_OK) {
		FUZZ_CHECK(why1 == NULL && e2 == ST_OK);
		FUZZ_CHECK(X509_cmp(cert, sk_X509_value(chain, 0)) == 0);
		fuzz_check_der_roundtrip(cert);
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
