/*
 * Fuzz the CFSSL backend's reply parser (cfssl_parse_reply,
 * station/ca/cfssl.c) with a sign/authsign reply body, and the errors[]
 * text quoted from a refusal.  The configured chain_file is stood for by
 * a self-signed certificate made in memory at start-up (its key is freed
 * at once).
 *
 * Beyond "no crash": an accepted reply had success true; its certificate
 * re-encodes to DER that parses again, its serial is the certificate's,
 * and its chain is exactly the configured chain; a refusal leaves the
 * result empty.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>

#include "station/ca/cfssl.h"
#include "station/util/log.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_issued.h"

static STACK_OF(X509) * cfssl_fx_chain;

static void
cfssl_fuzz_setup(void)
{
	EVP_PKEY *key;
	X509 *x;

	if (cfssl_fx_chain != NULL)
		return;
	key = EVP_EC_gen("P-256");
	x = X509_new();
	FUZZ_CHECK(key != NULL && x != NULL);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"Fuzz CFSSL CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	FUZZ_CHECK(X509_sign(x, key, EVP_sha256()) > 0);
	EVP_PKEY_free(key);
	cfssl_fx_chain = sk_X509_new_null();
	sk_X509_push(cfssl_fx_chain, x);
}

int
fuzz_ca_cfssl(const uint8_t *data, size_t size)
{
	struct ca_issued is;
	char *why = NULL;

	log_set_level(LOG_LEVEL_ERROR);
	cfssl_fuzz_setup();
	st_err err = cfssl_parse_reply((const char *)data, size, cfssl_fx_chain,
	    &is, &why);
	if (err != ST_OK) {
		fuzz_check_refused(err, why, &is);
		free(why);
	} else {
		json_t *root = json_loadb((const char *)data, size, 0, NULL);

		FUZZ_CHECK(why == NULL);
		FUZZ_CHECK(json_is_true(json_object_get(root, "success")));
		json_decref(root);
		fuzz_check_issued(&is);
		FUZZ_CHECK(sk_X509_num(is.chain) == 1);
		FUZZ_CHECK(sk_X509_value(is.chain, 0) ==
		    sk_X509_value(cfssl_fx_chain, 0));
		ca_issued_clear(&is);
	}
	/* Without a configured chain, the chain is empty, not NULL. */
	err = cfssl_parse_reply((const char *)data, size, NULL, &is, NULL);
	if (err == ST_OK) {
		FUZZ_CHECK(is.chain != NULL && sk_X509_num(is.chain) == 0);
		ca_issued_clear(&is);
	}
	fuzz_check_error_text((const char *)data, size);
	ERR_clear_error();
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ca_cfssl(data, size);
}
#endif
