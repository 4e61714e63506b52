/*
 * The station's protocol client (drivers/client.c) against the simulated
 * device (devsim) as a real process over TCP: identity and frame-size
 * negotiation, chunking both ways, the chip's keys, CSRs and signatures,
 * retransmission through line noise, timeouts, hangups, device errors, and
 * `station probe` as a program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "station/x509/dn.h"
#include "tests/support/dev_session.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/pki.h"
#include "tests/support/script_dev.h"
#include "tests/support/proc.h"

static struct client *
start_and_hello(const char *const *args, struct dev_info *info)
{
	char *cause = NULL;

	dev_session_start(args);
	dev_session_connect(NULL);
	st_err err = dev_hello(ds.cli, info, &cause);
	if (err)
		fail_msg("HELLO: %s", cause);
	return ds.cli;
}

static EVP_PKEY *
parse_spki(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)len);

	assert_non_null(k);
	return k;
}

/* HELLO reports what devsim was told and settles on a 256-byte frame. */
static void
test_hello_reports_identity_and_negotiates_256(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0001", "--model", "M-7", "--hw",
		"rev-c", "--fw", "2.4.1", "--max-frame", "256", NULL };

	start_and_hello(args, &info);
	assert_string_equal(info.serial, "SN0001");
	assert_string_equal(info.model, "M-7");
	assert_string_equal(info.hw_version, "rev-c");
	assert_string_equal(info.fw_version, "2.4.1");
	assert_int_equal(info.version, PROTO_VERSION);
	assert_int_equal(info.max_frame, 256);
	assert_int_equal(info.state, PROTO_STATE_BLANK);
	assert_true(info.caps & PROTO_CAP_EC_P256);
	assert_true(info.caps & PROTO_CAP_RSA_2048);
	dev_info_clear(&info);
}

/* A device that accepts 4096-byte frames announces it. */
static void
test_hello_negotiates_4096(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN4096", "--max-frame", "4096",
		NULL };

	start_and_hello(args, &info);
	assert_int_equal(info.max_frame, 4096);
	assert_string_equal(info.serial, "SN4096");
	dev_info_clear(&info);
}

/* A ~3 KB chain crosses a 256-byte link as request chunks and comes back
 * as reply chunks, byte for byte. */
static void
test_chunked_chain_round_trip_at_256(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0002", "--max-frame", "256",
		NULL };
	uint8_t certs[3][1000];
	const uint8_t *der[3] = { certs[0], certs[1], certs[2] };
	size_t len[3] = { 1000, 1000, 1000 };
	struct client_stats before, after;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	dev_keygen_ec(ds.cli);
	assert_int_equal(RAND_bytes(&certs[0][0], sizeof certs), 1);
	client_get_stats(ds.cli, &before);
	dev_chain_check(ds.cli, der, len, 3);
	client_get_stats(ds.cli, &after);
	/* 3009 bytes: a 242-byte first chunk, then (devsim offers compact
	 * frames, docs/protocol.md 6.4) the other 2767 and the message's
	 * CRC-32 in 253-byte compact chunks: 12 exchanges each way (13 in
	 * full frames). */
	assert_int_equal(after.requests - before.requests, 24);
}

static void
keygen_and_pubkey(uint8_t alg, int want_type, int want_bits)
{
	struct dev_info info;
	const char *args[] = { "--serial", "SN0003", NULL };
	uint8_t *spki = NULL, *again = NULL;
	size_t spki_len = 0, again_len = 0;
	char *cause = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	assert_int_equal(dev_keygen(ds.cli, alg, 0, &spki, &spki_len, &cause),
	    ST_OK);
	assert_int_equal(dev_pubkey(ds.cli, 0, &again, &again_len, &cause),
	    ST_OK);
	assert_int_equal(again_len, spki_len);
	assert_memory_equal(again, spki, spki_len);
	EVP_PKEY *k = parse_spki(spki, spki_len);
	assert_int_equal(EVP_PKEY_get_base_id(k), want_type);
	assert_int_equal(EVP_PKEY_get_bits(k), want_bits);
	EVP_PKEY_free(k);
	free(spki);
	free(again);
}

/* KEYGEN returns the new key and PUBKEY reports the same one. */
static void
test_keygen_pubkey_ec_p256(void **state)
{
	(void)state;
	keygen_and_pubkey(PROTO_ALG_EC_P256, EVP_PKEY_EC, 256);
}

static void
test_keygen_pubkey_rsa_2048(void **state)
{
	(void)state;
	keygen_and_pubkey(PROTO_ALG_RSA_2048, EVP_PKEY_RSA, 2048);
}

/* PUBKEY, CSR and SIGN before KEYGEN are BAD_STATE (protocol.md 8.4-8.6,
 * "CSR before KEYGEN"), and so is WRITE_CHAIN: a chain needs a key. */
static void
test_key_commands_on_blank_device_are_bad_state(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0004", NULL };
	uint8_t *spki = NULL, *csr = NULL, *sig = NULL, digest[32] = { 0 };
	const uint8_t *der[] = { digest };
	size_t len = 0, dlen[] = { sizeof digest };
	char *cause = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	assert_int_equal(dev_pubkey(ds.cli, 0, &spki, &len, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	free(cause);
	cause = NULL;
	assert_int_equal(dev_csr(ds.cli, 0, "CN=SN0004", NULL, NULL, &csr, &len,
			     &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	free(cause);
	cause = NULL;
	assert_int_equal(dev_sign(ds.cli, 0, PROTO_SIG_ECDSA_SHA256, digest,
			     sizeof digest, &sig, &len, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	free(cause);
	cause = NULL;
	assert_int_equal(dev_write_chain(ds.cli, der, dlen, 1, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	free(cause);
}

static X509_REQ *
get_csr(uint8_t alg, const char *subject, uint8_t **spki, size_t *spki_len)
{
	const char *dns[] = { "sn0005.devices.example", NULL };
	const char *uri[] = { "urn:dev:sn0005", NULL };
	uint8_t *der = NULL;
	size_t der_len = 0;
	char *cause = NULL;

	assert_int_equal(dev_keygen(ds.cli, alg, 0, spki, spki_len, &cause),
	    ST_OK);
	st_err err =
	    dev_csr(ds.cli, 0, subject, dns, uri, &der, &der_len, &cause);
	if (err)
		fail_msg("CSR: %s", cause);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)der_len);
	assert_non_null(req);
	free(der);
	return req;
}

static void
check_csr(uint8_t alg)
{
	struct dev_info info;
	const char *args[] = { "--serial", "SN0005", NULL };
	const char *subject = "C=US,O=Example,OU=IoT,CN=SN0005";
	uint8_t *spki = NULL;
	size_t spki_len = 0;
	X509_NAME *want = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	X509_REQ *req = get_csr(alg, subject, &spki, &spki_len);
	EVP_PKEY *chip_key = parse_spki(spki, spki_len);

	/* Signed by the chip's key, and carrying that key. */
	assert_int_equal(X509_REQ_verify(req, chip_key), 1);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), chip_key), 1);
	assert_int_equal(dn_parse(subject, &want, NULL), ST_OK);
	assert_int_equal(X509_NAME_cmp(X509_REQ_get_subject_name(req), want),
	    0);
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	GENERAL_NAMES *gens =
	    X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_NAME_free(want);
	EVP_PKEY_free(chip_key);
	X509_REQ_free(req);
	free(spki);
}

/* The CSR verifies, carries the chip's key, the subject and the SANs. */
static void
test_csr_ec_verifies_and_carries_subject(void **state)
{
	(void)state;
	check_csr(PROTO_ALG_EC_P256);
}

static void
test_csr_rsa_verifies_and_carries_subject(void **state)
{
	(void)state;
	check_csr(PROTO_ALG_RSA_2048);
}

/* With csr-bad-sig the CSR no longer verifies: the check above is real. */
static void
test_csr_bad_sig_fault_fails_verification(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0006", "--fault", "csr-bad-sig",
		NULL };
	uint8_t *spki = NULL;
	size_t spki_len = 0;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	X509_REQ *req =
	    get_csr(PROTO_ALG_EC_P256, "CN=SN0006", &spki, &spki_len);
	EVP_PKEY *chip_key = parse_spki(spki, spki_len);
	assert_int_not_equal(X509_REQ_verify(req, chip_key), 1);
	EVP_PKEY_free(chip_key);
	X509_REQ_free(req);
	free(spki);
}

static int
verify_sig(EVP_PKEY *key, const uint8_t *digest, const uint8_t *sig,
    size_t sig_len, int pss)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	int ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1;

	if (ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) ==
			1 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) == 1;
	if (ok)
		ok = EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static void
check_sign(uint8_t alg, uint8_t sig_alg, int pss)
{
	struct dev_info info;
	const char *args[] = { "--serial", "SN0007", NULL };
	uint8_t digest[32], *spki = NULL, *sig = NULL;
	size_t spki_len = 0, sig_len = 0;
	char *cause = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	SHA256((const unsigned char *)"a TLS transcript", 16, digest);
	assert_int_equal(dev_keygen(ds.cli, alg, 0, &spki, &spki_len, &cause),
	    ST_OK);
	assert_int_equal(dev_sign(ds.cli, 0, sig_alg, digest, sizeof digest,
			     &sig, &sig_len, &cause),
	    ST_OK);
	EVP_PKEY *k = parse_spki(spki, spki_len);
	assert_true(verify_sig(k, digest, sig, sig_len, pss));
	digest[0] ^= 1;
	assert_false(verify_sig(k, digest, sig, sig_len, pss));
	EVP_PKEY_free(k);
	free(spki);
	free(sig);
}

/* SIGN returns a signature that verifies against PUBKEY (and only for the
 * digest that was sent). */
static void
test_sign_ecdsa_verifies_against_pubkey(void **state)
{
	(void)state;
	check_sign(PROTO_ALG_EC_P256, PROTO_SIG_ECDSA_SHA256, 0);
}

static void
test_sign_rsa_pss_verifies_against_pubkey(void **state)
{
	(void)state;
	check_sign(PROTO_ALG_RSA_2048, PROTO_SIG_RSA_PSS_SHA256, 1);
}

static void
calls_through_noise(const char *fault)
{
	const char *args[] = { "--serial", "SN0008", "--fault", fault, "--seed",
		"7", NULL };
	struct client_opts o;
	struct dev_info info;
	struct client_stats st;
	char *cause = NULL;

	client_opts_default(&o);
	o.reply_timeout_ms = test_ms(150);
	o.retries = 12;
	dev_session_start(args);
	dev_session_connect(&o);
	st_err err = dev_hello(ds.cli, &info, &cause);
	if (err)
		fail_msg("HELLO through %s: %s", fault, cause);
	dev_info_clear(&info);
	for (int i = 0; i < 50; i++) {
		struct tlv_writer w;
		uint8_t *req, *resp = NULL;
		size_t req_len, resp_len = 0;
		uint8_t result = 0xFF;

		tlv_writer_init(&w);
		tlv_put_u8(&w, PROTO_T_TEST_ID, 0);
		req = tlv_writer_take(&w, &req_len);
		err = client_call(ds.cli, PROTO_CMD_SELFTEST, req, req_len,
		    &resp, &resp_len, NULL, &cause);
		free(req);
		if (err)
			fail_msg("call %d through %s: %s", i, fault, cause);
		assert_int_equal(tlv_get_u8(resp, resp_len, PROTO_T_TEST_RESULT,
				     &result, NULL),
		    ST_OK);
		assert_int_equal(result, 0);
		free(resp);
	}
	client_get_stats(ds.cli, &st);
	assert_true(st.retransmits > 0);
	/* Calls that succeeded after retransmitting leave no cause behind. */
	assert_null(cause);
}

/* 50 calls succeed through bit errors, thanks to retransmission. */
static void
test_retransmission_through_bit_errors(void **state)
{
	(void)state;
	calls_through_noise("ber=1e-3");
}

/* ... and through lost bytes. */
static void
test_retransmission_through_dropped_bytes(void **state)
{
	(void)state;
	calls_through_noise("drop=0.005");
}

/* A device that never answers gives ST_E_TIMEOUT after bounded retries. */
static void
test_silent_device_times_out(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN0009", "--fault", "silent",
		NULL };
	struct client_opts o;
	struct dev_info info;
	struct client_stats st;
	char *cause = NULL;

	client_opts_default(&o);
	o.reply_timeout_ms = 100;
	o.retries = 2;
	dev_session_start(args);
	dev_session_connect(&o);
	assert_int_equal(dev_hello(ds.cli, &info, &cause), ST_E_TIMEOUT);
	assert_non_null(strstr(cause, "HELLO"));
	client_get_stats(ds.cli, &st);
	assert_int_equal(st.retransmits, 2);
	free(cause);
}

/* A device that disappears gives ST_E_HANGUP, not a timeout. */
static void
test_killed_device_gives_hangup(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0010", NULL };
	uint8_t *spki = NULL;
	size_t len = 0;
	char *cause = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	devsim_proc_kill(ds.sim);
	assert_int_equal(dev_pubkey(ds.cli, 0, &spki, &len, &cause),
	    ST_E_HANGUP);
	free(cause);
}

/* A device error arrives as ST_E_DEVICE with the status in the cause. */
static void
test_read_cert_on_blank_device_is_bad_state(void **state)
{
	(void)state;
	struct dev_info info;
	const char *args[] = { "--serial", "SN0011", NULL };
	uint8_t *der = NULL;
	size_t len = 0;
	char *cause = NULL;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	assert_int_equal(dev_read_cert(ds.cli, &der, &len, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "BAD_STATE"));
	assert_null(der);
	free(cause);
}

/* The key, certificate and lock survive a restart with --state; the
 * state file is private (0600); a locked slot refuses KEYGEN. */
static void
test_state_file_survives_restart_and_lock_holds(void **state)
{
	(void)state;
	char path[] = "/tmp/devsim-state-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	const char *args[] = { "--serial", "SN0012", "--state", path, NULL };
	struct dev_info info;
	uint8_t *spki = NULL, *again = NULL, *cert, *back = NULL;
	size_t spki_len = 0, again_len = 0, cert_len = 0, back_len = 0;
	char *cause = NULL;
	struct stat sb;

	start_and_hello(args, &info);
	dev_info_clear(&info);
	assert_int_equal(dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &spki,
			     &spki_len, &cause),
	    ST_OK);
	cert = pki_cert_for_spki_der(spki, spki_len, "SN0012", &cert_len);
	assert_non_null(cert);
	assert_int_equal(dev_write_cert(ds.cli, cert, cert_len, &cause), ST_OK);
	assert_int_equal(dev_commit(ds.cli, 1, &cause), ST_OK);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	dev_session_teardown(NULL);

	start_and_hello(args, &info);
	assert_int_equal(info.state, PROTO_STATE_LOCKED);
	dev_info_clear(&info);
	assert_int_equal(dev_pubkey(ds.cli, 0, &again, &again_len, &cause),
	    ST_OK);
	assert_int_equal(again_len, spki_len);
	assert_memory_equal(again, spki, spki_len);
	assert_int_equal(dev_read_cert(ds.cli, &back, &back_len, &cause),
	    ST_OK);
	assert_int_equal(back_len, cert_len);
	assert_memory_equal(back, cert, cert_len);
	free(again);
	again = NULL;
	assert_int_equal(dev_keygen(ds.cli, PROTO_ALG_EC_P256, 0, &again,
			     &again_len, &cause),
	    ST_E_DEVICE);
	assert_non_null(strstr(cause, "LOCKED"));
	unlink(path);
	free(cause);
	free(spki);
	free(cert);
	free(back);
}

static const char *
station_bin(void)
{
	return test_bin("STATION_BIN", "build/bin/station");
}

/* `station probe tcp:...` prints the serial and exits 0. */
static void
test_probe_prints_serial_and_exits_0(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN-PROBE-1", NULL };
	char *out = NULL;

	dev_session_start(args);
	const char *argv[] = { station_bin(), "probe", ds.sim->uri, NULL };
	assert_int_equal(proc_run_capture(argv, &out), 0);
	assert_non_null(strstr(out, "SN-PROBE-1"));
	free(out);
}

/* `--json` gives one valid JSON object with the serial. */
static void
test_probe_json_is_valid_with_serial(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN-PROBE-2", NULL };
	char *out = NULL;
	json_error_t jerr;

	dev_session_start(args);
	const char *argv[] = { station_bin(), "probe", ds.sim->uri, "--json",
		NULL };
	assert_int_equal(proc_run_capture(argv, &out), 0);
	json_t *o = json_loads(out, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "serial")),
	    "SN-PROBE-2");
	json_decref(o);
	free(out);
}

/* A device that misses its first four HELLOs (still booting) is found:
 * the probe's 5 s give it ten attempts of 500 ms, not the client's
 * default four (docs/protocol.md 5.1). */
static void
test_probe_waits_its_deadline_for_a_slow_device(void **state)
{
	(void)state;
	const char *args[] = { "--serial", "SN-PROBE-SLOW", "--fault",
		"silent-first=4", NULL };
	char *out = NULL;

	dev_session_start(args);
	const char *argv[] = { station_bin(), "probe", ds.sim->uri, NULL };
	assert_int_equal(proc_run_capture(argv, &out), 0);
	assert_non_null(strstr(out, "SN-PROBE-SLOW"));
	free(out);
}

/* Nobody listening: exit 1 (device unreachable). */
static void
test_probe_closed_port_exits_1(void **state)
{
	(void)state;
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char uri[64], *out = NULL;

	/* A port that was free a moment ago and has no listener now. */
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(uri, sizeof uri, "tcp:127.0.0.1:%u", ntohs(sa.sin_port));
	const char *argv[] = { station_bin(), "probe", uri, NULL };
	assert_int_equal(proc_run_capture(argv, &out), 1);
	free(out);
}

/* A malformed URI is a usage error: exit 2. */
static void
test_probe_bad_uri_exits_2(void **state)
{
	(void)state;
	char *out = NULL;
	const char *argv[] = { station_bin(), "probe", "nosuchscheme:x", NULL };

	assert_int_equal(proc_run_capture(argv, &out), 2);
	free(out);
	const char *argv2[] = { station_bin(), "probe",
		"tcp:127.0.0.1:notaport", NULL };
	assert_int_equal(proc_run_capture(argv2, &out), 2);
	free(out);
}

/* A HELLO reply announcing every capability protocol.md defines plus
 * two it does not (0x100 and 0x80000000), a window of 4 and 921600 baud:
 * a device newer than this station. */
static size_t
hello_all_caps(void *ctx, const struct frame *req, uint8_t *out, size_t cap)
{
	struct tlv_writer w;
	uint8_t *p;
	size_t len, n;

	(void)ctx;
	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, 256);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN-CAPS");
	tlv_put_u32(&w, PROTO_T_CAPS, 0x800007ffu);
	tlv_put_u8(&w, PROTO_T_STATE, PROTO_STATE_BLANK);
	tlv_put_u8(&w, PROTO_T_WINDOW, 4);
	tlv_put_u32(&w, PROTO_T_BAUD, 921600);
	p = tlv_writer_take(&w, &len);
	n = script_reply_msg(req, PROTO_ST_OK, p, len, out, cap);
	free(p);
	return n;
}

/* `station probe` lists every capability the device announces, by name
 * and unknown bits in hex, with the window and the rate, in text and in
 * JSON. */
static void
test_probe_lists_every_capability(void **state)
{
	(void)state;
	struct script_dev *sd = script_dev_start(hello_all_caps, NULL);
	char *out = NULL;
	json_error_t jerr;
	json_t *o;
	const char *argv[] = { station_bin(), "probe", script_dev_uri(sd),
		NULL };
	const char *argj[] = { station_bin(), "probe", script_dev_uri(sd),
		"--json", NULL };

	assert_int_equal(proc_run_capture(argv, &out), 0);
	assert_non_null(strstr(out,
	    "caps      ec-p256 rsa-2048 lock selftest factory-reset "
	    "server-trust window baud-switch compact attest 0x00000400 "
	    "0x80000000 (0x800007ff)\n"
	    "window    4 frames in flight\n"
	    "baud      up to 921600\n"));
	free(out);
	assert_int_equal(proc_run_capture(argj, &out), 0);
	o = json_loads(out, 0, &jerr);
	assert_non_null(o);
	assert_string_equal(json_string_value(
				json_object_get(o, "capabilities")),
	    "ec-p256 rsa-2048 lock selftest factory-reset server-trust "
	    "window baud-switch compact attest 0x00000400 0x80000000");
	assert_int_equal(json_integer_value(json_object_get(o, "caps")),
	    0x800007ffu);
	assert_int_equal(json_integer_value(json_object_get(o, "window")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "max_baud")),
	    921600);
	json_decref(o);
	free(out);
	script_dev_stop(sd);
}

/* dev_info_parse: the HELLO fields, optional ones defaulted, and every
 * required-field failure named. */
static void
test_dev_info_parse_fields_and_refusals(void **state)
{
	(void)state;
	struct tlv_writer w;
	struct dev_info info;
	uint8_t *buf;
	size_t len;
	char *cause = NULL;

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, 512);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN42");
	tlv_put_str(&w, PROTO_T_MODEL, "m1");
	buf = tlv_writer_take(&w, &len);
	assert_int_equal(dev_info_parse(buf, len, &info, &cause), ST_OK);
	assert_string_equal(info.serial, "SN42");
	assert_string_equal(info.model, "m1");
	assert_string_equal(info.chip, "");
	assert_int_equal(info.max_frame, 512);
	assert_int_equal(info.state, PROTO_STATE_BLANK);
	dev_info_clear(&info);
	/* Truncated TLV: refused before any getter runs. */
	assert_int_equal(dev_info_parse(buf, len - 1, &info, &cause),
	    ST_E_PROTO);
	assert_non_null(strstr(cause, "HELLO reply"));
	assert_null(info.serial);
	free(cause);
	cause = NULL;
	free(buf);

	tlv_writer_init(&w);
	tlv_put_u8(&w, PROTO_T_VERSION, PROTO_VERSION);
	tlv_put_u16(&w, PROTO_T_MAX_FRAME, 100);
	tlv_put_str(&w, PROTO_T_SERIAL, "SN42");
	buf = tlv_writer_take(&w, &len);
	assert_int_equal(dev_info_parse(buf, len, &info, &cause), ST_E_PROTO);
	assert_non_null(strstr(cause, "100-byte frame limit"));
	free(cause);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		DEV_SESSION_TEST(
		    test_hello_reports_identity_and_negotiates_256),
		DEV_SESSION_TEST(test_hello_negotiates_4096),
		DEV_SESSION_TEST(test_chunked_chain_round_trip_at_256),
		DEV_SESSION_TEST(test_keygen_pubkey_ec_p256),
		DEV_SESSION_TEST(test_keygen_pubkey_rsa_2048),
		DEV_SESSION_TEST(
		    test_key_commands_on_blank_device_are_bad_state),
		DEV_SESSION_TEST(test_csr_ec_verifies_and_carries_subject),
		DEV_SESSION_TEST(test_csr_rsa_verifies_and_carries_subject),
		DEV_SESSION_TEST(test_csr_bad_sig_fault_fails_verification),
		DEV_SESSION_TEST(test_sign_ecdsa_verifies_against_pubkey),
		DEV_SESSION_TEST(test_sign_rsa_pss_verifies_against_pubkey),
		DEV_SESSION_TEST(test_retransmission_through_bit_errors),
		DEV_SESSION_TEST(test_retransmission_through_dropped_bytes),
		DEV_SESSION_TEST(test_silent_device_times_out),
		DEV_SESSION_TEST(test_killed_device_gives_hangup),
		DEV_SESSION_TEST(test_read_cert_on_blank_device_is_bad_state),
		DEV_SESSION_TEST(
		    test_state_file_survives_restart_and_lock_holds),
		DEV_SESSION_TEST(test_probe_prints_serial_and_exits_0),
		DEV_SESSION_TEST(test_probe_json_is_valid_with_serial),
		DEV_SESSION_TEST(
		    test_probe_waits_its_deadline_for_a_slow_device),
		DEV_SESSION_TEST(test_probe_closed_port_exits_1),
		DEV_SESSION_TEST(test_probe_bad_uri_exits_2),
		DEV_SESSION_TEST(test_probe_lists_every_capability),
		DEV_SESSION_TEST(test_dev_info_parse_fields_and_refusals),
	};

	return cmocka_run_group_tests_name("client against devsim", tests, NULL,
	    NULL);
}
