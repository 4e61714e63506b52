/*
 * Fuzz the CSR policy (csr_policy_check, station/csr_policy.c) on DER
 * input, as a device would send it.
 *
 * Each input is checked twice.  As is: the size, DER, version and
 * signature rules (a mutated CSR almost never keeps a valid signature).
 * Then, if OpenSSL parses it, with its public key replaced by the
 * harness's key and signed again: the rules behind the signature (key,
 * subject, attributes, extensions, SANs) see the fuzzer's content.  The
 * harness key lives in memory only.
 *
 * The station's CSR path takes DER only (the device protocol carries DER);
 * there is no PEM input to fuzz.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "station/x509/csr_policy.h"
#include "station/config/profile.h"
#include "tests/fuzz/fuzz.h"

static struct {
	int ready;
	EVP_PKEY *key;
	uint8_t *spki;
	size_t spki_len;
	struct profile profile;
} csr_fx;

static void
csr_fuzz_setup(void)
{
	unsigned char *p = NULL;
	int n;

	if (csr_fx.ready)
		return;
	csr_fx.key = EVP_EC_gen("P-256");
	FUZZ_CHECK(csr_fx.key != NULL);
	n = i2d_PUBKEY(csr_fx.key, &p);
	FUZZ_CHECK(n > 0);
	csr_fx.spki = p;
	csr_fx.spki_len = (size_t)n;
	profile_init_default(&csr_fx.profile);
	csr_fx.ready = 1;
}

static void
csr_fuzz_check(const uint8_t *der, size_t len)
{
	static const char *const dns[] = { "sn0001.example.com", NULL };
	static const char *const uri[] = { "urn:dev:SN0001", NULL };
	struct csr_expect exp = { .profile = &csr_fx.profile,
		.subject = "C=US,O=Example-Org,CN=SN0001",
		.san_dns = dns,
		.san_uri = uri,
		.chip_spki = csr_fx.spki,
		.chip_spki_len = csr_fx.spki_len };
	X509_REQ *out = NULL;
	const char *rule = NULL;
	char *why = NULL;
	st_err err = csr_policy_check(der, len, &exp, &out, &rule, &why);

	if (err == ST_OK) {
		FUZZ_CHECK(out != NULL && why == NULL);
	} else {
		FUZZ_CHECK(out == NULL && why != NULL);
		FUZZ_CHECK(err != ST_E_POLICY ||
		    (rule != NULL && strncmp(rule, "csr.", 4) == 0));
	}
	X509_REQ_free(out);
	free(why);
}

int
fuzz_csr_policy(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	unsigned char *der = NULL;

	csr_fuzz_setup();
	csr_fuzz_check(data, size);
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)size);
	if (req == NULL)
		return 0;
	if (X509_REQ_set_pubkey(req, csr_fx.key) &&
	    X509_REQ_sign(req, csr_fx.key, EVP_sha256()) > 0) {
		int n = i2d_X509_REQ(req, &der);

		if (n > 0)
			csr_fuzz_check(der, (size_t)n);
	}
	OPENSSL_free(der);
	X509_REQ_free(req);
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_csr_policy(data, size);
}
#endif
