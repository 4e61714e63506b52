/*
 * devsim's --fault options, each seen the way the station sees it: through
 * the client API (drivers/client.h) against devsim as a real process.  A
 * fault that did nothing would let these tests fail, so each one proves the
 * fault is real before the station's checks rely on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "drivers/client.h"
#include "drivers/proto.h"
#include "drivers/tlv.h"
#include "station/dn.h"
#include "tests/support/pki.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"

#define SUBJECT "C=US,O=Example,CN=SN-FAULT"

/* devsim with one --fault, connected, HELLO done.  Short attempt times
 * keep the failing cases fast; `timeout_ms` 0 keeps the defaults. */
static void
start_with(const char *fault, int timeout_ms, int retries)
{
	const char *args[] = { "--serial", "SN-FAULT", "--fault", fault,
		"--seed", "3", NULL };
	struct client_opts o;
	struct dev_info info;
	char *cause = NULL;

	dev_session_start(args);
	client_opts_default(&o);
	if (timeout_ms > 0)
		o.reply_timeout_ms = o.crypto_timeout_ms = timeout_ms;
	o.retries = retries;
	dev_session_connect(&o);
	if (dev_hello(ds.cli, &info, &cause))
		fail_msg("HELLO with %s: %s", fault, cause);
	dev_info_clear(&info);
}

static EVP_PKEY *
keygen(void)
{
	uint8_t *spki = NULL;
	size_t len = 0;
	char *cause = NULL;

	if (dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki, &len, &cause))
		fail_msg("KEYGEN: %s", cause);
	const unsigned char *p = spki;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);
	assert_non_null(k);
	free(spki);
	return k;
}

/* The device's CSR for SUBJECT with one DNS SAN (DER, caller frees). */
static uint8_t *
csr_der(size_t *len)
{
	const char *dns[] = { "sn-fault.devices.example", NULL };
	uint8_t *der = NULL;
	char *cause = NULL;

	if (dev_csr(ds.cli, 0, SUBJECT, dns, NULL, &der, len, &cause))
		fail_msg("CSR: %s", cause);
	return der;
}

static X509_REQ *
csr(void)
{
	size_t len = 0;
	uint8_t *der = csr_der(&len);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);

	assert_non_null(req);
	free(der);
	return req;
}

/* A certificate for the chip's own key (from its CSR, signed by a
 * throwaway CA); caller frees. */
static uint8_t *
real_cert(size_t *len)
{
	size_t csr_len = 0;
	uint8_t *der = csr_der(&csr_len);
	uint8_t *cert = pki_cert_for_csr_der(der, csr_len, len);

	assert_non_null(cert);
	free(der);
	return cert;
}

/* refuse-write: WRITE_CERT of a good certificate fails with STORAGE. */
static void
test_refuse_write_fails_write_cert_with_storage(void **state)
{
	(void)state;
	size_t len = 0;
	char *cause = NULL;

	start_with("refuse-write", 0, 3);
	EVP_PKEY_free(keygen());
	uint8_t *cert = real_cert(&len);
	assert_int_equal(
	    dev_write_cert(ds.cli, cert, len, &cause), ST_E_DEVICE);
	assert_non_null(strstr(cause, "STORAGE"));
	free(cause);
	free(cert);
}

/* readback-lie: WRITE_CERT succeeds, READ_CERT returns other bytes. */
static void
test_readback_lie_returns_different_cert(void **state)
{
	(void)state;
	size_t len = 0, back_len = 0;
	uint8_t *back = NULL;
	char *cause = NULL;

	start_with("readback-lie", 0, 3);
	EVP_PKEY_free(keygen());
	uint8_t *cert = real_cert(&len);
	assert_int_equal(dev_write_cert(ds.cli, cert, len, &cause), ST_OK);
	assert_int_equal(
	    dev_read_cert(ds.cli, &back, &back_len, &cause), ST_OK);
	assert_int_equal(back_len, len);
	assert_memory_not_equal(back, cert, len);
	free(back);
	free(cert);
}

/* csr-foreign-key: the CSR verifies but carries a key that is not the one
 * PUBKEY reports. */
static void
test_csr_foreign_key_differs_from_pubkey(void **state)
{
	(void)state;
	start_with("csr-foreign-key", 0, 3);
	EVP_PKEY *chip = keygen();
	X509_REQ *req = csr();
	EVP_PKEY *in_csr = X509_REQ_get0_pubkey(req);

	assert_non_null(in_csr);
	assert_int_equal(X509_REQ_verify(req, in_csr), 1);
	assert_int_not_equal(EVP_PKEY_eq(in_csr, chip), 1);
	X509_REQ_free(req);
	EVP_PKEY_free(chip);
}

/* csr-wrong-subject: the CSR's subject is not the one asked for. */
static void
test_csr_wrong_subject_differs(void **state)
{
	(void)state;
	X509_NAME *want = NULL;

	start_with("csr-wrong-subject", 0, 3);
	EVP_PKEY *chip = keygen();
	X509_REQ *req = csr();
	assert_int_equal(dn_parse(SUBJECT, &want, NULL), ST_OK);
	assert_int_not_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req),
	    want), 0);
	assert_int_equal(X509_REQ_verify(req, chip), 1);
	X509_NAME_free(want);
	X509_REQ_free(req);
	EVP_PKEY_free(chip);
}

/* The CSR's extension with `nid`, or NULL (caller frees). */
static X509_EXTENSION *
csr_ext(X509_REQ *req, int nid)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	X509_EXTENSION *e = NULL;
	int i = X509v3_get_ext_by_NID(exts, nid, -1);

	if (i >= 0)
		e = X509_EXTENSION_dup(X509v3_get_ext(exts, i));
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return e;
}

/* csr-ca-true: the CSR asks for basicConstraints CA:TRUE. */
static void
test_csr_ca_true_requests_ca(void **state)
{
	(void)state;
	start_with("csr-ca-true", 0, 3);
	EVP_PKEY_free(keygen());
	X509_REQ *req = csr();
	X509_EXTENSION *e = csr_ext(req, NID_basic_constraints);

	assert_non_null(e);
	BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(e);
	assert_non_null(bc);
	assert_true(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	X509_EXTENSION_free(e);
	X509_REQ_free(req);
}

/* csr-extra-ext: an extension besides subjectAltName is present. */
static void
test_csr_extra_ext_is_present(void **state)
{
	(void)state;
	start_with("csr-extra-ext", 0, 3);
	EVP_PKEY_free(keygen());
	X509_REQ *req = csr();
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);

	assert_int_equal(sk_X509_EXTENSION_num(exts), 2);
	X509_EXTENSION *e = csr_ext(req, NID_netscape_comment);
	assert_non_null(e);
	X509_EXTENSION_free(e);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
}

/* sign-wrong-key: SIGN answers, but the signature does not verify with
 * the key PUBKEY reports. */
static void
test_sign_wrong_key_does_not_verify(void **state)
{
	(void)state;
	uint8_t digest[32], *sig = NULL;
	size_t sig_len = 0;
	char *cause = NULL;

	start_with("sign-wrong-key", 0, 3);
	EVP_PKEY *chip = keygen();
	SHA256((const unsigned char *)"transcript", 10, digest);
	assert_int_equal(dev_sign(ds.cli, 0, PROTO_SIG_ECDSA_SHA256, digest,
	    sizeof digest, &sig, &sig_len, &cause), ST_OK);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(chip, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_not_equal(EVP_PKEY_verify(ctx, sig, sig_len, digest,
	    sizeof digest), 1);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(chip);
	free(sig);
}

/* Does a SIGN of `digest` by the device verify with `chip`? */
static int
sign_verifies(EVP_PKEY *chip, const uint8_t digest[32])
{
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	char *cause = NULL;

	if (dev_sign(ds.cli, 0, PROTO_SIG_ECDSA_SHA256, digest, 32, &sig,
	    &sig_len, &cause) != ST_OK)
		fail_msg("SIGN: %s", cause);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(chip, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	int ok = EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	free(sig);
	return ok;
}

/* sign-wrong-key-from=2: the first SIGN is the chip's, the second and
 * later ones are another key's (the station's proof passes, a handshake
 * after it fails). */
static void
test_sign_wrong_key_from_second_signature(void **state)
{
	(void)state;
	uint8_t digest[32];

	start_with("sign-wrong-key-from=2", 0, 3);
	EVP_PKEY *chip = keygen();
	SHA256((const unsigned char *)"challenge", 9, digest);
	assert_true(sign_verifies(chip, digest));
	assert_false(sign_verifies(chip, digest));
	assert_false(sign_verifies(chip, digest));
	EVP_PKEY_free(chip);
}

/* hello-bad-serial: the serial in HELLO holds a ','. */
static void
test_hello_bad_serial_contains_comma(void **state)
{
	(void)state;
	struct dev_info info;
	char *cause = NULL;

	start_with("hello-bad-serial", 0, 3);
	assert_int_equal(dev_hello(ds.cli, &info, &cause), ST_OK);
	assert_non_null(strchr(info.serial, ','));
	dev_info_clear(&info);
}

/* silent-at=WRITE_CERT: HELLO (done in start_with) and KEYGEN work,
 * WRITE_CERT times out. */
static void
test_silent_at_write_cert_times_out_there(void **state)
{
	(void)state;
	size_t len = 0;
	char *cause = NULL;

	start_with("silent-at=WRITE_CERT", 200, 1);
	EVP_PKEY_free(keygen());
	uint8_t *cert = real_cert(&len);
	assert_int_equal(
	    dev_write_cert(ds.cli, cert, len, &cause), ST_E_TIMEOUT);
	assert_non_null(strstr(cause, "WRITE_CERT"));
	free(cause);
	free(cert);
}

/* slow=MS: a device that answers late still works with a long enough
 * attempt time. */
static void
test_slow_device_succeeds_with_long_timeout(void **state)
{
	(void)state;
	uint8_t *spki = NULL;
	size_t len = 0;
	char *cause = NULL;

	start_with("slow=100", 2000, 0);
	EVP_PKEY_free(keygen());
	assert_int_equal(dev_pubkey(ds.cli, 0, &spki, &len, &cause), ST_OK);
	assert_true(len > 0);
	free(spki);
}

/* dup=P: duplicated bytes corrupt frames, retransmission gets every call
 * through (and there were retransmissions: the fault is live). */
static void
test_dup_bytes_calls_still_succeed(void **state)
{
	(void)state;
	struct client_stats st;
	char *cause = NULL;

	start_with("dup=0.005", 150, 12);
	EVP_PKEY_free(keygen());
	for (int i = 0; i < 20; i++) {
		uint8_t *spki = NULL;
		size_t len = 0;

		if (dev_pubkey(ds.cli, 0, &spki, &len, &cause) != ST_OK)
			fail_msg("PUBKEY %d through dup: %s", i, cause);
		free(spki);
	}
	client_get_stats(ds.cli, &st);
	assert_true(st.retransmits > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DEV_SESSION_TEST(
		    test_refuse_write_fails_write_cert_with_storage),
		DEV_SESSION_TEST(test_readback_lie_returns_different_cert),
		DEV_SESSION_TEST(test_csr_foreign_key_differs_from_pubkey),
		DEV_SESSION_TEST(test_csr_wrong_subject_differs),
		DEV_SESSION_TEST(test_csr_ca_true_requests_ca),
		DEV_SESSION_TEST(test_csr_extra_ext_is_present),
		DEV_SESSION_TEST(test_sign_wrong_key_does_not_verify),
		DEV_SESSION_TEST(test_sign_wrong_key_from_second_signature),
		DEV_SESSION_TEST(test_hello_bad_serial_contains_comma),
		DEV_SESSION_TEST(test_silent_at_write_cert_times_out_there),
		DEV_SESSION_TEST(test_slow_device_succeeds_with_long_timeout),
		DEV_SESSION_TEST(test_dup_bytes_calls_still_succeed),
	};

	return cmocka_run_group_tests_name("devsim faults", tests, NULL, NULL);
}
