/* CSR policy: each hostile CSR is refused by the rule that names its fault,
 * and well-formed EC and RSA-2048 CSRs pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/x509/csr_policy.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,OU=IoT-Device,CN=SN0001"
#define SAN "DNS:sn0001.devices.example.com,URI:urn:dev:SN0001"

static const char *const san_dns[] = { "sn0001.devices.example.com", NULL };
static const char *const san_uri[] = { "urn:dev:SN0001", NULL };

static int allow_null_param; /* csr_expect.allow_ecdsa_null_param */

struct fx {
	EVP_PKEY *chip; /* the key the chip reported */
	struct profile profile;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	fx->chip = pki_key_ec("P-256");
	pki_profile(&fx->profile);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	EVP_PKEY_free(fx->chip);
	free(fx);
	return 0;
}

/* Run the policy on `der` with the chip key `chip`; return the rule id
 * (NULL on pass) and check that a refusal carries a cause. */
static const char *
run(struct fx *fx, EVP_PKEY *chip, const uint8_t *der, size_t len,
    size_t max_size)
{
	size_t spki_len;
	uint8_t *spki = pki_spki(chip, &spki_len);
	struct csr_expect exp = { .profile = &fx->profile,
		.subject = SUBJECT,
		.san_dns = san_dns,
		.san_uri = san_uri,
		.chip_spki = spki,
		.chip_spki_len = spki_len,
		.max_size = max_size,
		.allow_ecdsa_null_param = allow_null_param };
	X509_REQ *out = NULL;
	const char *rule = "unset";
	char *cause = NULL;
	st_err err = csr_policy_check(der, len, &exp, &out, &rule, &cause);

	if (err == ST_OK) {
		assert_null(rule);
		assert_non_null(out);
	} else {
		assert_int_equal(err, ST_E_POLICY);
		assert_non_null(rule);
		assert_non_null(cause);
		assert_true(strlen(cause) > 10);
		assert_null(out);
	}
	X509_REQ_free(out);
	free(cause);
	free(spki);
	return rule;
}

/* Build a CSR from spec (key defaults to the chip's) and run it. */
static const char *
run_spec(struct fx *fx, struct pki_csr_spec spec)
{
	if (spec.key == NULL)
		spec.key = fx->chip;
	if (spec.subject == NULL)
		spec.subject = SUBJECT;
	X509_REQ *req = pki_make_csr(&spec);
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);
	EVP_PKEY *chip = spec.pub ? spec.pub : spec.key;
	const char *rule = run(fx, chip, der, len, 0);

	free(der);
	X509_REQ_free(req);
	return rule;
}

static void
test_good_ec_csr_passes(void **state)
{
	assert_null(run_spec(*state, (struct pki_csr_spec){ .san = SAN }));
}

static void
test_good_rsa_2048_csr_passes(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *rsa = pki_key_rsa(2048);

	fx->profile.key_alg = KEY_ALG_RSA_2048;
	assert_null(
	    run_spec(fx, (struct pki_csr_spec){ .key = rsa, .san = SAN }));
	fx->profile.key_alg = KEY_ALG_EC_P256;
	EVP_PKEY_free(rsa);
}

static void
test_csr_with_foreign_key_is_key_mismatch(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *other = pki_key_ec("P-256");
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = other,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	/* Valid signature, but not by the key the chip reported. */
	assert_string_equal(run(fx, fx->chip, der, len, 0), "csr.key-mismatch");
	free(der);
	X509_REQ_free(req);
	EVP_PKEY_free(other);
}

static void
test_wrong_subject_is_refused(void **state)
{
	assert_string_equal(
	    run_spec(*state,
		(struct pki_csr_spec){
		    .subject = "C=US,O=Example-Org,OU=IoT-Device,CN=SN0002",
		    .san = SAN }),
	    "csr.subject");
}

/* protocol.md 8.5: a device's crypto library may pick another string
 * type (UTF8String for C, PrintableString for CN) than the station's
 * dn_parse; the string type does not count, so the CSR passes. */
static void
test_other_string_types_pass(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	X509_NAME *name = X509_NAME_new();
	static const struct {
		const char *attr, *val;
		int type;
	} rdn[] = { { "C", "US", V_ASN1_UTF8STRING },
		{ "O", "Example-Org", V_ASN1_PRINTABLESTRING },
		{ "OU", "IoT-Device", V_ASN1_PRINTABLESTRING },
		{ "CN", "SN0001", V_ASN1_PRINTABLESTRING } };
	size_t len;
	uint8_t *der;

	for (size_t i = 0; i < sizeof rdn / sizeof rdn[0]; i++)
		assert_int_equal(X509_NAME_add_entry_by_txt(name, rdn[i].attr,
				     rdn[i].type,
				     (const unsigned char *)rdn[i].val, -1, -1,
				     0),
		    1);
	assert_int_equal(X509_REQ_set_subject_name(req, name), 1);
	assert_true(X509_REQ_sign(req, fx->chip, EVP_sha256()) > 0);
	der = pki_csr_der(req, &len);
	assert_null(run(fx, fx->chip, der, len, 0));
	free(der);
	X509_NAME_free(name);
	X509_REQ_free(req);
}

/* Case and spaces count, unlike RFC 5280's caseless match
 * (X509_NAME_cmp): "sn0001" may be another device's serial. */
static void
test_subject_differing_in_case_or_spaces_is_refused(void **state)
{
	static const char *const near[] = {
		"C=US,O=Example-Org,OU=IoT-Device,CN=sn0001",
		"C=US,O=EXAMPLE-ORG,OU=IoT-Device,CN=SN0001",
		"C=US,O=Example-Org,OU=IoT  Device,CN=SN0001",
		"C=US,O=Example-Org,OU=IoT-Device,CN=SN0001 ",
	};

	for (size_t i = 0; i < sizeof near / sizeof near[0]; i++)
		assert_string_equal(run_spec(*state,
					(struct pki_csr_spec){ .subject =
								   near[i],
					    .san = SAN }),
		    "csr.subject");
}

static void
test_subject_with_extra_attribute_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .subject = SUBJECT
				    ",emailAddress=x@example.com",
				    .san = SAN }),
	    "csr.subject");
}

static void
test_extra_san_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){
				    .san = SAN ",DNS:evil.example.com" }),
	    "csr.san");
}

static void
test_missing_san_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){
				    .san = "DNS:sn0001.devices.example.com" }),
	    "csr.san");
	assert_string_equal(run_spec(*state, (struct pki_csr_spec){ 0 }),
	    "csr.san");
}

static void
test_ip_san_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){
				    .san = SAN ",IP:127.0.0.1" }),
	    "csr.san");
}

static void
test_ca_true_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .san = SAN,
				    .ca_true = 1 }),
	    "csr.ca");
}

static void
test_unexpected_extension_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .san = SAN,
				    .ns_comment = 1 }),
	    "csr.extension");
}

static void
test_challenge_password_attribute_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .san = SAN,
				    .challenge = 1 }),
	    "csr.attribute");
}

static void
test_rsa_1024_is_refused_as_key_size(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *rsa = pki_key_rsa(1024);

	fx->profile.key_alg = KEY_ALG_RSA_2048;
	assert_string_equal(run_spec(fx,
				(struct pki_csr_spec){ .key = rsa,
				    .san = SAN }),
	    "csr.key-size");
	fx->profile.key_alg = KEY_ALG_EC_P256;
	EVP_PKEY_free(rsa);
}

static void
test_p384_when_profile_says_p256_is_refused(void **state)
{
	EVP_PKEY *p384 = pki_key_ec("P-384");

	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .key = p384,
				    .san = SAN }),
	    "csr.key-size");
	EVP_PKEY_free(p384);
}

static void
test_rsa_key_when_profile_says_ec_is_key_type(void **state)
{
	EVP_PKEY *rsa = pki_key_rsa(2048);

	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .key = rsa,
				    .san = SAN }),
	    "csr.key-type");
	EVP_PKEY_free(rsa);
}

static void
test_flipped_signature_byte_is_refused(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	/* The signature BIT STRING ends the encoding; its last byte is the
	 * low byte of ECDSA's s. */
	der[len - 1] ^= 0x01;
	assert_string_equal(run(fx, fx->chip, der, len, 0), "csr.signature");
	free(der);
	X509_REQ_free(req);
}

/* ecdsa-with-SHA256 with a NULL parameter (what an nRF91 modem's
 * %KEYGEN writes; the signature does not cover it, so it verifies):
 * refused unless the device's dialect allows it. */
static void
test_ecdsa_null_parameter_only_where_allowed(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	const X509_ALGOR *alg = NULL;
	size_t len;
	uint8_t *der;

	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_set0((X509_ALGOR *)alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
	    V_ASN1_NULL, NULL);
	der = pki_csr_der(req, &len);
	allow_null_param = 0;
	assert_string_equal(run(fx, fx->chip, der, len, 0), "csr.signature");
	allow_null_param = 1;
	assert_null(run(fx, fx->chip, der, len, 0));
	allow_null_param = 0;
	free(der);
	X509_REQ_free(req);
}

static void
test_sha1_signature_is_refused(void **state)
{
	assert_string_equal(run_spec(*state,
				(struct pki_csr_spec){ .san = SAN,
				    .md = EVP_sha1() }),
	    "csr.signature");
}

static void
test_malformed_der_is_refused(void **state)
{
	struct fx *fx = *state;
	static const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01,
		0x00, 0xde, 0xad };
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	assert_string_equal(run(fx, fx->chip, junk, sizeof junk, 0), "csr.der");
	/* A truncated CSR. */
	assert_string_equal(run(fx, fx->chip, der, len - 10, 0), "csr.der");
	free(der);
	X509_REQ_free(req);
}

static void
test_trailing_garbage_is_refused(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	assert_null(run(fx, fx->chip, der, len, 0));
	der[len] = 0x00;
	der[len + 1] = 0x00;
	assert_string_equal(run(fx, fx->chip, der, len + 2, 0), "csr.der");
	free(der);
	X509_REQ_free(req);
}

static void
test_non_minimal_length_encoding_is_refused(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);
	uint8_t *ber = malloc(len + 1);

	/* Outer SEQUENCE 30 82 hi lo rewritten as 30 83 00 hi lo: the same
	 * value in BER, not in DER. */
	assert_int_equal(der[0], 0x30);
	assert_int_equal(der[1], 0x82);
	ber[0] = 0x30;
	ber[1] = 0x83;
	ber[2] = 0x00;
	memcpy(ber + 3, der + 2, len - 2);
	assert_string_equal(run(fx, fx->chip, ber, len + 1, 0), "csr.der");
	free(ber);
	free(der);
	X509_REQ_free(req);
}

static void
test_version_other_than_1_is_refused(void **state)
{
	struct fx *fx = *state;
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	/* 30 82 LL LL | 30 8n L.. | 02 01 00: the version INTEGER. */
	assert_int_equal(der[4], 0x30);
	size_t at = 4 + 2 + (der[5] & 0x80 ? (size_t)(der[5] & 0x7F) : 0);
	assert_memory_equal(der + at, "\x02\x01\x00", 3);
	der[at + 2] = 0x01;
	assert_string_equal(run(fx, fx->chip, der, len, 0), "csr.version");
	free(der);
	X509_REQ_free(req);
}

static void
test_oversize_csr_is_refused(void **state)
{
	struct fx *fx = *state;
	size_t big = CSR_MAX_SIZE_DEFAULT + 1;
	uint8_t *buf = calloc(1, big);
	X509_REQ *req = pki_make_csr(&(struct pki_csr_spec){ .key = fx->chip,
	    .subject = SUBJECT,
	    .san = SAN });
	size_t len;
	uint8_t *der = pki_csr_der(req, &len);

	assert_string_equal(run(fx, fx->chip, buf, big, 0), "csr.size");
	assert_string_equal(run(fx, fx->chip, buf, 0, 0), "csr.size");
	/* A configured smaller limit applies to a well-formed CSR too. */
	assert_string_equal(run(fx, fx->chip, der, len, len - 1), "csr.size");
	assert_null(run(fx, fx->chip, der, len, len));
	free(der);
	free(buf);
	X509_REQ_free(req);
}

static void
test_missing_chip_key_is_an_argument_error(void **state)
{
	struct fx *fx = *state;
	struct csr_expect exp = { .profile = &fx->profile, .subject = SUBJECT };
	const uint8_t der[] = { 0x30, 0x00 };
	char *cause = NULL;

	assert_int_equal(csr_policy_check(der, sizeof der, &exp, NULL, NULL,
			     &cause),
	    ST_E_ARG);
	assert_non_null(cause);
	free(cause);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ec_csr_passes),
		cmocka_unit_test(test_good_rsa_2048_csr_passes),
		cmocka_unit_test(test_csr_with_foreign_key_is_key_mismatch),
		cmocka_unit_test(test_wrong_subject_is_refused),
		cmocka_unit_test(test_other_string_types_pass),
		cmocka_unit_test(
		    test_subject_differing_in_case_or_spaces_is_refused),
		cmocka_unit_test(test_subject_with_extra_attribute_is_refused),
		cmocka_unit_test(test_extra_san_is_refused),
		cmocka_unit_test(test_missing_san_is_refused),
		cmocka_unit_test(test_ip_san_is_refused),
		cmocka_unit_test(test_ca_true_is_refused),
		cmocka_unit_test(test_unexpected_extension_is_refused),
		cmocka_unit_test(test_challenge_password_attribute_is_refused),
		cmocka_unit_test(test_rsa_1024_is_refused_as_key_size),
		cmocka_unit_test(test_p384_when_profile_says_p256_is_refused),
		cmocka_unit_test(test_rsa_key_when_profile_says_ec_is_key_type),
		cmocka_unit_test(test_flipped_signature_byte_is_refused),
		cmocka_unit_test(test_sha1_signature_is_refused),
		cmocka_unit_test(test_ecdsa_null_parameter_only_where_allowed),
		cmocka_unit_test(test_malformed_der_is_refused),
		cmocka_unit_test(test_trailing_garbage_is_refused),
		cmocka_unit_test(test_non_minimal_length_encoding_is_refused),
		cmocka_unit_test(test_version_other_than_1_is_refused),
		cmocka_unit_test(test_oversize_csr_is_refused),
		cmocka_unit_test(test_missing_chip_key_is_an_argument_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
