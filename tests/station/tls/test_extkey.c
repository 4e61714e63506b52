/* External key: OpenSSL signs through the callback, the private half never
 * leaves the "chip", and what comes out verifies with the public key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "station/tls/extkey.h"
#include "tests/support/pki.h"

struct fixture {
	EVP_PKEY *chip_key;
	struct test_chip chip;
	struct extkey *key;
};

static struct fixture *
fixture_new(int rsa)
{
	struct fixture *f = calloc(1, sizeof *f);
	size_t len;
	uint8_t *spki;

	assert_non_null(f);
	f->chip_key = pki_key(rsa);
	f->chip.key = f->chip_key;
	spki = pki_spki(f->chip_key, &len);
	assert_int_equal(extkey_new(spki, len, test_chip_sign, &f->chip,
			     &f->key, NULL),
	    ST_OK);
	free(spki);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	extkey_free(f->key);
	EVP_PKEY_free(f->chip_key);
	free(f);
}

static void
x509_signed_through_extkey_verifies(int rsa)
{
	struct fixture *f = fixture_new(rsa);
	X509 *x = pki_cert("device-1", f->chip_key, NULL, NULL, 0, 0, 1);

	assert_true(X509_sign(x, extkey_pkey(f->key), EVP_sha256()) > 0);
	assert_int_equal(X509_verify(x, f->chip_key), 1);
	assert_int_equal(f->chip.calls, 1);
	assert_int_equal(extkey_sign_count(f->key), 1);
	X509_free(x);
	fixture_free(f);
}

/* X509_sign with an EC extkey gives a certificate the public key verifies. */
static void
test_ec_certificate_signed_through_callback_verifies(void **state)
{
	(void)state;
	x509_signed_through_extkey_verifies(0);
}

static void
test_rsa_certificate_signed_through_callback_verifies(void **state)
{
	(void)state;
	x509_signed_through_extkey_verifies(1);
}

static void
csr_signed_through_extkey_verifies(int rsa)
{
	struct fixture *f = fixture_new(rsa);
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_REQ_get_subject_name(req);

	assert_true(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"device-2", -1, -1, 0));
	assert_true(X509_REQ_set_pubkey(req, f->chip_key));
	assert_true(X509_REQ_sign(req, extkey_pkey(f->key), EVP_sha256()) > 0);
	assert_int_equal(X509_REQ_verify(req, f->chip_key), 1);
	assert_int_equal(extkey_sign_count(f->key), 1);
	X509_REQ_free(req);
	fixture_free(f);
}

static void
test_ec_csr_signed_through_callback_verifies(void **state)
{
	(void)state;
	csr_signed_through_extkey_verifies(0);
}

static void
test_rsa_csr_signed_through_callback_verifies(void **state)
{
	(void)state;
	csr_signed_through_extkey_verifies(1);
}

/* RSA-PSS (what TLS uses) with salt = digest length verifies. */
static void
test_rsa_pss_digest_sign_verifies(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(1);
	const unsigned char msg[] = "transcript";
	unsigned char sig[512];
	size_t sig_len = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;

	assert_int_equal(EVP_DigestSignInit_ex(md, &pctx, "SHA256",
			     extkey_libctx(f->key), NULL, extkey_pkey(f->key),
			     NULL),
	    1);
	assert_true(
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0);
	assert_int_equal(EVP_DigestSign(md, sig, &sig_len, msg, sizeof msg), 1);
	assert_int_equal(sig_len, 256);
	EVP_MD_CTX_free(md);

	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL,
			     NULL, f->chip_key, NULL),
	    1);
	assert_true(
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0);
	assert_int_equal(EVP_DigestVerify(md, sig, sig_len, msg, sizeof msg),
	    1);
	EVP_MD_CTX_free(md);
	assert_int_equal(f->chip.calls, 1);
	fixture_free(f);
}

/* The private half cannot be exported; the public half can, and compares
 * equal to the chip's key. */
static void
test_private_export_refused(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	OSSL_PARAM *params = NULL;
	unsigned char *der = NULL;

	assert_true(EVP_PKEY_todata(extkey_pkey(f->key), EVP_PKEY_KEYPAIR,
			&params) <= 0);
	assert_null(params);
	assert_true(i2d_PrivateKey(extkey_pkey(f->key), &der) <= 0);
	assert_null(der);
	assert_true(EVP_PKEY_todata(extkey_pkey(f->key), EVP_PKEY_PUBLIC_KEY,
			&params) > 0);
	assert_non_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY));
	assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
	OSSL_PARAM_free(params);
	assert_int_equal(EVP_PKEY_eq(extkey_pkey(f->key), f->chip_key), 1);
	assert_int_equal(EVP_PKEY_get_bits(extkey_pkey(f->key)), 256);
	assert_int_equal(f->chip.calls, 0);
	ERR_clear_error();
	fixture_free(f);
}

/* A chip that refuses makes the signature fail with its reason. */
static void
test_chip_failure_fails_the_signature(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	X509 *x = pki_cert("device-3", f->chip_key, NULL, NULL, 0, 0, 1);

	f->chip.fail = 1;
	assert_true(X509_sign(x, extkey_pkey(f->key), EVP_sha256()) <= 0);
	assert_non_null(extkey_last_error(f->key));
	assert_non_null(strstr(extkey_last_error(f->key), "refused"));
	assert_int_equal(extkey_sign_count(f->key), 1);
	ERR_clear_error();
	X509_free(x);
	fixture_free(f);
}

/* A chip holding another key still signs (the peer's check is the real
 * test) but the signature is counted as not matching the public key. */
static void
test_signature_from_other_key_is_counted_bad(void **state)
{
	(void)state;
	struct fixture *f = fixture_new(0);
	EVP_PKEY *other = pki_key(0);
	X509 *x = pki_cert("device-4", f->chip_key, NULL, NULL, 0, 0, 1);

	assert_int_equal(extkey_bad_signatures(f->key), 0);
	f->chip.key = other;
	assert_true(X509_sign(x, extkey_pkey(f->key), EVP_sha256()) > 0);
	assert_int_equal(X509_verify(x, f->chip_key), 0);
	assert_int_equal(extkey_bad_signatures(f->key), 1);
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(other);
	fixture_free(f);
}

/* Only EC P-256 and RSA >= 2048 are accepted; garbage is refused. */
static void
test_unsupported_public_keys_refused(void **state)
{
	(void)state;
	struct test_chip chip = { 0 };
	struct extkey *k = NULL;
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	size_t len;
	uint8_t *spki = pki_spki(p384, &len);
	char *cause = NULL;

	assert_int_equal(extkey_new(spki, len, test_chip_sign, &chip, &k,
			     &cause),
	    ST_E_UNSUPPORTED);
	assert_null(k);
	assert_non_null(strstr(cause, "P-256"));
	assert_int_equal(extkey_new(junk, sizeof junk, test_chip_sign, &chip,
			     &k, &cause),
	    ST_E_CRYPTO);
	assert_null(k);
	free(cause);
	free(spki);
	EVP_PKEY_free(p384);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_ec_certificate_signed_through_callback_verifies),
		cmocka_unit_test(
		    test_rsa_certificate_signed_through_callback_verifies),
		cmocka_unit_test(test_ec_csr_signed_through_callback_verifies),
		cmocka_unit_test(test_rsa_csr_signed_through_callback_verifies),
		cmocka_unit_test(test_rsa_pss_digest_sign_verifies),
		cmocka_unit_test(test_private_export_refused),
		cmocka_unit_test(test_chip_failure_fails_the_signature),
		cmocka_unit_test(test_signature_from_other_key_is_counted_bad),
		cmocka_unit_test(test_unsupported_public_keys_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
