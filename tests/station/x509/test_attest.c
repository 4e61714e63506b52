/*
 * station/x509/attest.h without a TPM: TPMS_ATTEST and TPMT_PUBLIC built
 * byte by byte as TPM 2.0 Part 2 lays them out, an AK certified by a test
 * manufacturer CA (OpenSSL keys), and every rule broken once.  The parsers
 * take every truncation of a good structure, an oversized TPM2B and
 * trailing bytes, and refuse each as attest.format without reading past
 * the buffer (the ASan build runs this too).  The real TPM's structures
 * are tests/station/pipeline/test_provision_attest.c's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "station/util/xalloc.h"
#include "station/x509/attest.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"

#define ATTRS_BORN 0x00040072u /* fixedTPM fixedParent sDO userWithAuth sign */

struct buf {
	uint8_t b[1024];
	size_t n;
};

static void
put(struct buf *b, uint64_t v, size_t width)
{
	for (size_t i = width; i > 0; i--)
		b->b[b->n++] = (uint8_t)(v >> (8 * (i - 1)));
}

static void
put_2b(struct buf *b, const uint8_t *v, size_t n)
{
	put(b, n, 2);
	if (n > 0)
		memcpy(b->b + b->n, v, n);
	b->n += n;
}

/* TPMT_PUBLIC of `key` (EC P-256) with `attrs`. */
static struct buf
public_of(EVP_PKEY *key, uint32_t attrs)
{
	struct buf b = { .n = 0 };
	uint8_t pt[65];
	size_t n = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key,
			     OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof pt,
			     &n),
	    1);
	assert_int_equal(n, 65);
	put(&b, TPM_ALG_ECC, 2);
	put(&b, TPM_ALG_SHA256, 2);
	put(&b, attrs, 4);
	put_2b(&b, NULL, 0);	    /* authPolicy */
	put(&b, TPM_ALG_NULL, 2);   /* symmetric */
	put(&b, 0x0018, 2);	    /* scheme ECDSA */
	put(&b, TPM_ALG_SHA256, 2); /* its hash */
	put(&b, TPM_ECC_NIST_P256, 2);
	put(&b, TPM_ALG_NULL, 2); /* kdf */
	put_2b(&b, pt + 1, 32);
	put_2b(&b, pt + 33, 32);
	return b;
}

/* TPMS_ATTEST certifying `pub` over `nonce`. */
static struct buf
attest_of(const struct buf *pub, const uint8_t *nonce, size_t nonce_len,
    uint32_t magic, uint16_t type)
{
	struct buf b = { .n = 0 };
	uint8_t name[34], signer[34] = { 0x00, 0x0b };

	name[0] = 0x00;
	name[1] = 0x0b;
	SHA256(pub->b, pub->n, name + 2);
	put(&b, magic, 4);
	put(&b, type, 2);
	put_2b(&b, signer, sizeof signer);
	put_2b(&b, nonce, nonce_len);
	put(&b, 123456789, 8); /* clock */
	put(&b, 1, 4);
	put(&b, 2, 4);
	put(&b, 1, 1);
	put(&b, 0x2023010100000000ull, 8);
	put_2b(&b, name, sizeof name);
	put_2b(&b, signer, sizeof signer);
	return b;
}

/* One evidence set and what it is checked against. */
static struct fx {
	char *dir, *ca_file;
	EVP_PKEY *ca_key, *ak_key, *dev_key, *other_key;
	X509 *ca, *ak;
	uint8_t *ak_der;
	size_t ak_der_len;
	uint8_t nonce[32];
	struct buf pub, att;
	uint8_t sig[128];
	size_t sig_len;
} f;

static void
sign_with(EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	f.sig_len = sizeof f.sig;
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key),
	    1);
	assert_int_equal(EVP_DigestSign(md, f.sig, &f.sig_len, f.att.b,
			     f.att.n),
	    1);
	EVP_MD_CTX_free(md);
}

static int
setup(void **state)
{
	unsigned char *der = NULL;
	char *pem;
	int n;

	(void)state;
	memset(&f, 0, sizeof f);
	f.dir = scratch_dir();
	f.ca_key = pki_key(0);
	f.ak_key = pki_key(0);
	f.dev_key = pki_key(0);
	f.other_key = pki_key(0);
	f.ca = pki_cert("TPM maker CA", f.ca_key, NULL, NULL, 1, -1, 3650);
	f.ak = pki_cert("TPM AK", f.ak_key, f.ca, f.ca_key, 0, -1, 3650);
	pem = pki_pem(f.ca);
	f.ca_file = scratch_write(f.dir, "maker.pem", pem, 0644);
	free(pem);
	n = i2d_X509(f.ak, &der);
	assert_true(n > 0);
	f.ak_der = xmemdup(der, (size_t)n);
	f.ak_der_len = (size_t)n;
	OPENSSL_free(der);
	memset(f.nonce, 0xA5, sizeof f.nonce);
	f.pub = public_of(f.dev_key, ATTRS_BORN);
	f.att = attest_of(&f.pub, f.nonce, sizeof f.nonce, TPM_GENERATED_VALUE,
	    TPM_ST_ATTEST_CERTIFY);
	sign_with(f.ak_key);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scratch_rmtree(f.dir);
	free(f.dir);
	free(f.ca_file);
	free(f.ak_der);
	X509_free(f.ca);
	X509_free(f.ak);
	EVP_PKEY_free(f.ca_key);
	EVP_PKEY_free(f.ak_key);
	EVP_PKEY_free(f.dev_key);
	EVP_PKEY_free(f.other_key);
	return 0;
}

/* attest_verify on the fixture as it now is, for the CSR key `csr_key`:
 * the rule it refuses (NULL: none). */
static const char *
verify(EVP_PKEY *csr_key, char **cause)
{
	const uint8_t *certs[] = { f.ak_der };
	size_t lens[] = { f.ak_der_len };
	struct attest_evidence ev = {
		.attest = f.att.b,
		.attest_len = f.att.n,
		.sig = f.sig,
		.sig_len = f.sig_len,
		.public_area = f.pub.b,
		.public_len = f.pub.n,
		.ak_cert = certs,
		.ak_cert_len = lens,
		.n_ak_certs = 1,
	};
	struct attest_result res;
	const char *rule = "unset";
	st_err err = attest_verify(&ev, f.nonce, sizeof f.nonce, csr_key,
	    f.ca_file, &res, &rule, cause);

	assert_int_equal(strlen(res.ak_fingerprint), 64);
	if (err == ST_OK) {
		assert_null(rule);
		return NULL;
	}
	assert_int_equal(err, ST_E_POLICY);
	assert_non_null(rule);
	/* The cause names the rule first. */
	assert_memory_equal(*cause, rule, strlen(rule));
	return rule;
}

static void
expect_rule(EVP_PKEY *csr_key, const char *want)
{
	char *cause = NULL;
	const char *rule = verify(csr_key, &cause);

	if (rule == NULL || strcmp(rule, want) != 0)
		fail_msg("expected %s, got %s (%s)", want, rule ? rule : "PASS",
		    cause ? cause : "");
	free(cause);
}

static void
test_good_certify_verifies(void **state)
{
	char *cause = NULL;

	(void)state;
	if (verify(f.dev_key, &cause) != NULL)
		fail_msg("refused: %s", cause);
}

static void
test_ak_outside_the_chain_is_attest_chain(void **state)
{
	EVP_PKEY *k = pki_key(0);
	X509 *other = pki_cert("Another maker", k, NULL, NULL, 1, -1, 3650);
	char *pem = pki_pem(other);

	(void)state;
	scratch_put(f.ca_file, pem, 0644);
	expect_rule(f.dev_key, "attest.chain");
	free(pem);
	X509_free(other);
	EVP_PKEY_free(k);
}

static void
test_signature_by_another_key_is_attest_signature(void **state)
{
	(void)state;
	sign_with(f.other_key);
	expect_rule(f.dev_key, "attest.signature");
}

static void
test_altered_attest_is_attest_signature(void **state)
{
	(void)state;
	f.att.b[f.att.n - 1] ^= 1;
	expect_rule(f.dev_key, "attest.signature");
}

static void
test_wrong_magic_is_attest_magic(void **state)
{
	(void)state;
	f.att = attest_of(&f.pub, f.nonce, sizeof f.nonce, 0xff544348u,
	    TPM_ST_ATTEST_CERTIFY);
	sign_with(f.ak_key);
	expect_rule(f.dev_key, "attest.magic");
}

static void
test_quote_type_is_attest_type(void **state)
{
	(void)state;
	f.att = attest_of(&f.pub, f.nonce, sizeof f.nonce, TPM_GENERATED_VALUE,
	    0x8018 /* TPM_ST_ATTEST_QUOTE */);
	sign_with(f.ak_key);
	expect_rule(f.dev_key, "attest.type");
}

static void
test_old_nonce_is_attest_nonce(void **state)
{
	uint8_t old[32];

	(void)state;
	memset(old, 0x5A, sizeof old);
	f.att = attest_of(&f.pub, old, sizeof old, TPM_GENERATED_VALUE,
	    TPM_ST_ATTEST_CERTIFY);
	sign_with(f.ak_key);
	expect_rule(f.dev_key, "attest.nonce");
}

/* The public area sent is not the one certified (the name differs). */
static void
test_swapped_public_area_is_attest_name(void **state)
{
	(void)state;
	f.pub = public_of(f.other_key, ATTRS_BORN);
	expect_rule(f.dev_key, "attest.name");
}

/* An imported or duplicable key: no fixedTPM or sensitiveDataOrigin. */
static void
test_key_not_born_in_the_tpm_is_attest_attributes(void **state)
{
	char *cause = NULL;

	(void)state;
	f.pub = public_of(f.dev_key, ATTRS_BORN & ~0x00000022u);
	f.att = attest_of(&f.pub, f.nonce, sizeof f.nonce, TPM_GENERATED_VALUE,
	    TPM_ST_ATTEST_CERTIFY);
	sign_with(f.ak_key);
	assert_string_equal(verify(f.dev_key, &cause), "attest.attributes");
	assert_non_null(strstr(cause, "fixedTPM"));
	assert_non_null(strstr(cause, "sensitiveDataOrigin"));
	assert_null(strstr(cause, "fixedParent"));
	free(cause);
}

/* A genuine certify of another key than the CSR's. */
static void
test_other_key_than_the_csrs_is_attest_key(void **state)
{
	(void)state;
	expect_rule(f.other_key, "attest.key");
}

/* Every proper prefix of a good structure is refused as attest.format,
 * naming the truncation. */
static void
test_every_truncation_is_refused(void **state)
{
	struct tpm_attest a;
	struct tpm_public p;

	(void)state;
	assert_int_equal(tpm_attest_parse(f.att.b, f.att.n, &a, NULL), ST_OK);
	assert_int_equal(a.extra.len, 32);
	assert_int_equal(tpm_public_parse(f.pub.b, f.pub.n, &p, NULL), ST_OK);
	assert_int_equal(p.attributes, ATTRS_BORN);
	for (size_t n = 0; n < f.att.n; n++) {
		/* A copy of exactly n bytes: ASan sees any read past it. */
		uint8_t *cut = xmemdup(f.att.b, n ? n : 1);
		char *cause = NULL;

		assert_int_equal(tpm_attest_parse(cut, n, &a, &cause),
		    ST_E_POLICY);
		assert_non_null(strstr(cause, "attest.format: TPMS_ATTEST"));
		free(cause);
		free(cut);
	}
	for (size_t n = 0; n < f.pub.n; n++) {
		uint8_t *cut = xmemdup(f.pub.b, n ? n : 1);
		char *cause = NULL;

		assert_int_equal(tpm_public_parse(cut, n, &p, &cause),
		    ST_E_POLICY);
		assert_non_null(strstr(cause, "attest.format: TPMT_PUBLIC"));
		free(cause);
		free(cut);
	}
}

/* A TPM2B claiming more than a TPM ever sends, or than there is. */
static void
test_oversized_and_trailing_are_refused(void **state)
{
	struct tpm_attest a;
	char *cause = NULL;
	struct buf big = f.att;

	(void)state;
	/* extraData's size (after magic, type, 34-byte signer) = 0xffff */
	big.b[4 + 2 + 2 + 34] = 0xff;
	big.b[4 + 2 + 2 + 34 + 1] = 0xff;
	assert_int_equal(tpm_attest_parse(big.b, big.n, &a, &cause),
	    ST_E_POLICY);
	assert_non_null(strstr(cause, "extraData"));
	assert_non_null(strstr(cause, "exceeds"));
	free(cause);
	cause = NULL;
	/* A whole structure and one byte more. */
	big = f.att;
	big.b[big.n++] = 0;
	assert_int_equal(tpm_attest_parse(big.b, big.n, &a, &cause),
	    ST_E_POLICY);
	assert_non_null(strstr(cause, "trailing"));
	free(cause);
	cause = NULL;
	/* Through attest_verify: a signed but oversized structure. */
	f.att.b[f.att.n++] = 0;
	sign_with(f.ak_key);
	expect_rule(f.dev_key, "attest.format");
}

static void
test_rsa_key_area_is_refused(void **state)
{
	struct tpm_public p;
	char *cause = NULL;

	(void)state;
	f.pub.b[0] = 0x00;
	f.pub.b[1] = 0x01; /* TPM_ALG_RSA */
	assert_int_equal(tpm_public_parse(f.pub.b, f.pub.n, &p, &cause),
	    ST_E_POLICY);
	assert_non_null(strstr(cause, "is not ECC"));
	free(cause);
}

/* attestation_ca must hold a certificate. */
static void
test_ca_file_check(void **state)
{
	char *empty = scratch_write(f.dir, "empty.pem", "no PEM here\n", 0644);
	char *cause = NULL;

	(void)state;
	assert_int_equal(attest_ca_check(f.ca_file, NULL), ST_OK);
	assert_int_equal(attest_ca_check(empty, &cause), ST_E_CONFIG);
	assert_non_null(strstr(cause, "holds no PEM certificate"));
	free(cause);
	free(empty);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_certify_verifies),
		T(test_ak_outside_the_chain_is_attest_chain),
		T(test_signature_by_another_key_is_attest_signature),
		T(test_altered_attest_is_attest_signature),
		T(test_wrong_magic_is_attest_magic),
		T(test_quote_type_is_attest_type),
		T(test_old_nonce_is_attest_nonce),
		T(test_swapped_public_area_is_attest_name),
		T(test_key_not_born_in_the_tpm_is_attest_attributes),
		T(test_other_key_than_the_csrs_is_attest_key),
		T(test_every_truncation_is_refused),
		T(test_oversized_and_trailing_are_refused),
		T(test_rsa_key_area_is_refused),
		T(test_ca_file_check),
	};

	return cmocka_run_group_tests_name("TPM attestation checks", tests,
	    NULL, NULL);
}
