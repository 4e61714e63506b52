/* Local CA: creation (file modes, no overwrite), issuance (what the
 * certificate says, unique serials, the index), revocation, and the
 * `station ca init` command as a real process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "station/ca/local.h"
#include "station/ca/local_int.h"
#include "station/util/xalloc.h"
#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define SAN "DNS:sn0001.devices.example.com,URI:urn:dev:SN0001"

struct fx {
	char *tmp, *dir;
	struct ca_backend *ca;
	EVP_PKEY *dev;
	X509_REQ *csr;
	struct profile profile;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->dir = malloc(strlen(fx->tmp) + 8);
	snprintf(fx->dir, strlen(fx->tmp) + 8, "%s/ca", fx->tmp);
	pki_device(SUBJECT, SAN, &fx->dev, &fx->csr, &fx->profile);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_free(fx->ca);
	X509_REQ_free(fx->csr);
	EVP_PKEY_free(fx->dev);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx->dir);
	free(fx);
	return 0;
}

/* A fixture with a CA already created and opened through ca_open. */
static int
setup_open(void **state)
{
	struct fx *fx;
	struct ca_settings s = { 0 };

	setup(state);
	fx = *state;
	s.dir = fx->dir;
	if (local_ca_init(fx->dir, NULL) != ST_OK ||
	    ca_open("local", &s, &fx->ca, NULL) != ST_OK)
		return -1;
	return 0;
}

static char *
path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static mode_t
mode_of(const char *dir, const char *name)
{
	char *p = path_in(dir, name);
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	free(p);
	return st.st_mode & 07777;
}

static X509 *
load(const char *dir, const char *name)
{
	char *p = path_in(dir, name);
	X509 *x = NULL;

	assert_int_equal(x509_load_pem_file(p, &x, NULL), ST_OK);
	free(p);
	return x;
}

static void
issue(struct fx *fx, struct ca_issued *out)
{
	struct ca_request req = { .csr = fx->csr,
		.profile = &fx->profile,
		.device_serial = "SN0001",
		.deadline = deadline_in(test_ms(5000)) };
	char *cause = NULL;

	assert_int_equal(ca_sign(fx->ca, &req, out, &cause), ST_OK);
	assert_null(cause);
	assert_non_null(out->cert);
	assert_int_equal(sk_X509_num(out->chain), 2);
}

static void
test_init_creates_private_keys_0600_in_a_0700_dir(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(local_ca_init(fx->dir, NULL), ST_OK);
	assert_int_equal(mode_of(fx->dir, "."), 0700);
	assert_int_equal(mode_of(fx->dir, "intermediate.key"), 0600);
	assert_int_equal(mode_of(fx->dir, "root.pem") & 0077, 0044);

	X509 *root = load(fx->dir, "root.pem");
	X509 *inter = load(fx->dir, "intermediate.pem");
	X509_NAME *want = NULL;

	assert_int_equal(dn_parse(LOCAL_CA_ROOT_SUBJECT, &want, NULL), ST_OK);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(root), want), 0);
	X509_NAME_free(want);
	assert_int_equal(X509_check_issued(root, inter), X509_V_OK);
	assert_true(X509_get_extension_flags(inter) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(inter), 0);
	assert_int_equal(X509_get_key_usage(inter),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(inter));
	assert_non_null(X509_get0_authority_key_id(inter));
	/* Root 20 years, intermediate 10 years (to within a day). */
	time_t now = time(NULL);
	assert_true(ASN1_TIME_cmp_time_t(X509_get0_notAfter(root),
			now + (time_t)(LOCAL_CA_ROOT_DAYS - 1) * 86400) > 0);
	assert_true(
	    ASN1_TIME_cmp_time_t(X509_get0_notAfter(inter),
		now + (time_t)(LOCAL_CA_INTERMEDIATE_DAYS + 1) * 86400) < 0);
	X509_free(root);
	X509_free(inter);
}

static void
test_init_refuses_to_overwrite_unless_forced(void **state)
{
	struct fx *fx = *state;
	struct local_ca_init_opts force = { .force = 1 };
	char fp1[65], fp2[65], fp3[65];
	char *cause = NULL;

	assert_int_equal(local_ca_init(fx->dir, NULL), ST_OK);
	X509 *r1 = load(fx->dir, "root.pem");
	cert_fingerprint_sha256(r1, fp1);
	assert_int_equal(local_ca_init(fx->dir, &cause), ST_E_EXISTS);
	assert_non_null(strstr(cause, "--force"));
	X509 *r2 = load(fx->dir, "root.pem");
	cert_fingerprint_sha256(r2, fp2);
	assert_string_equal(fp1, fp2);
	assert_int_equal(local_ca_init_opts(fx->dir, &force, NULL), ST_OK);
	X509 *r3 = load(fx->dir, "root.pem");
	cert_fingerprint_sha256(r3, fp3);
	assert_string_not_equal(fp1, fp3);
	free(cause);
	X509_free(r1);
	X509_free(r2);
	X509_free(r3);
}

static void
test_init_uses_given_names(void **state)
{
	struct fx *fx = *state;
	struct local_ca_init_opts o = { .root_subject = "CN=Line 3 Root,O=Acme",
		.intermediate_subject = "CN=Line 3 Issuing,O=Acme" };

	assert_int_equal(local_ca_init_opts(fx->dir, &o, NULL), ST_OK);
	X509 *inter = load(fx->dir, "intermediate.pem");
	char *s = dn_format(X509_get_subject_name(inter));
	char *i = dn_format(X509_get_issuer_name(inter));
	assert_string_equal(s, "CN=Line 3 Issuing,O=Acme");
	assert_string_equal(i, "CN=Line 3 Root,O=Acme");
	free(s);
	free(i);
	X509_free(inter);
}

/* The DER SubjectPublicKeyInfo of a certificate or request (owned). */
static int
spki_der(X509_PUBKEY *pk, unsigned char **der)
{
	*der = NULL;
	return i2d_X509_PUBKEY(pk, der);
}

/* The certificate carries the request's SubjectPublicKeyInfo byte for
 * byte (copied, not re-encoded), for an EC key (curve OID parameters)
 * and an RSA key (NULL parameters), and the key decodes from it. */
static void
test_issued_cert_carries_the_csr_key_bytes(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *keys[2] = { pki_key(0), pki_key(1) };

	for (int k = 0; k < 2; k++) {
		struct pki_csr_spec spec = { .key = keys[k],
			.subject = SUBJECT,
			.san = SAN };
		X509_REQ *csr = pki_make_csr(&spec);
		struct ca_issued out = { 0 };
		unsigned char *a = NULL, *b = NULL;
		int na, nb;

		X509_REQ_free(fx->csr);
		fx->csr = csr;
		issue(fx, &out);
		na = spki_der(X509_REQ_get_X509_PUBKEY(csr), &a);
		nb = spki_der(X509_get_X509_PUBKEY(out.cert), &b);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, (size_t)na);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(out.cert),
				     keys[k]),
		    1);
		assert_int_equal(X509_verify(out.cert,
				     X509_get0_pubkey(
					 sk_X509_value(out.chain, 0))),
		    1);
		OPENSSL_free(a);
		OPENSSL_free(b);
		ca_issued_clear(&out);
		EVP_PKEY_free(keys[k]);
	}
}

static void
test_issued_cert_carries_what_the_profile_says(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue(fx, &out);
	X509 *c = out.cert;
	int crit = -1;
	BASIC_CONSTRAINTS *bc =
	    X509_get_ext_d2i(c, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING *ku = X509_get_ext_d2i(c, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	ASN1_BIT_STRING_free(ku);
	assert_int_equal(X509_get_key_usage(c), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(c), XKU_SSL_CLIENT);
	assert_int_equal(X509_REQ_get0_pubkey(fx->csr) != NULL, 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(c), fx->dev), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c),
			     X509_REQ_get_subject_name(fx->csr)),
	    0);
	/* SAN copied; SKI present; AKI = intermediate's SKI. */
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 2);
	GENERAL_NAMES_free(gens);
	assert_non_null(X509_get0_subject_key_id(c));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(c),
			     X509_get0_subject_key_id(
				 sk_X509_value(out.chain, 0))),
	    0);
	assert_int_equal(X509_get_signature_nid(c), NID_ecdsa_with_SHA256);
	/* notBefore = now - 5 min, notAfter = now + 365 days (± 1 min). */
	time_t now = time(NULL);
	assert_true(
	    ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), now - 240) < 0);
	assert_true(
	    ASN1_TIME_cmp_time_t(X509_get0_notBefore(c), now - 360) > 0);
	assert_true(ASN1_TIME_cmp_time_t(X509_get0_notAfter(c),
			now + 365 * 86400 - 60) > 0);
	assert_true(ASN1_TIME_cmp_time_t(X509_get0_notAfter(c),
			now + 365 * 86400 + 60) < 0);
	/* Chain is [intermediate, root]. */
	X509 *root = load(fx->dir, "root.pem");
	assert_int_equal(X509_cmp(sk_X509_value(out.chain, 1), root), 0);
	X509_free(root);
	ca_issued_clear(&out);
	assert_null(out.cert);
}

/* openssl verify, as a separate process, accepts the issued certificate
 * against root.pem with intermediate.pem as the untrusted chain. */
static void
test_openssl_verify_accepts_issued_cert(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };

	issue(fx, &out);
	char *leaf = path_in(fx->tmp, "leaf.pem");
	char *pem = cert_to_pem(out.cert);
	FILE *fp = fopen(leaf, "w");
	assert_non_null(fp);
	fputs(pem, fp);
	fclose(fp);
	size_t cap = 4 * strlen(fx->dir) + 256;
	char *cmd = malloc(cap);
	snprintf(cmd, cap,
	    "openssl verify -CAfile '%s/root.pem' -untrusted "
	    "'%s/intermediate.pem' '%s' >/dev/null 2>&1",
	    fx->dir, fx->dir, leaf);
	int rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
	/* Without the intermediate it must not verify: the check is real. */
	snprintf(cmd, cap,
	    "openssl verify -CAfile '%s/root.pem' '%s' >/dev/null "
	    "2>&1",
	    fx->dir, leaf);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_not_equal(WEXITSTATUS(rc), 0);
	free(cmd);
	free(pem);
	free(leaf);
	ca_issued_clear(&out);
}

struct collect {
	char serials[64][40];
	char fps[64][65];
	int n;
};

static int
collect_cb(const struct local_ca_record *rec, void *arg)
{
	struct collect *c = arg;

	if (c->n < 64) {
		snprintf(c->serials[c->n], sizeof c->serials[0], "%s",
		    rec->serial_hex);
		snprintf(c->fps[c->n], sizeof c->fps[0], "%s",
		    rec->fingerprint);
	}
	c->n++;
	return 0;
}

static void
test_serials_are_unique_positive_128_bit_and_indexed(void **state)
{
	struct fx *fx = *state;
	struct collect *idx = calloc(1, sizeof *idx);
	char serials[32][40], fps[32][65];
	int max_bits = 0;

	for (int i = 0; i < 32; i++) {
		struct ca_issued out = { 0 };

		issue(fx, &out);
		BIGNUM *bn =
		    ASN1_INTEGER_to_BN(X509_get0_serialNumber(out.cert), NULL);
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		assert_true(BN_num_bits(bn) <= 127);
		if (BN_num_bits(bn) > max_bits)
			max_bits = BN_num_bits(bn);
		BN_free(bn);
		char *hex = cert_serial_hex(out.cert);
		assert_string_equal(hex, out.serial_hex);
		snprintf(serials[i], sizeof serials[i], "%s", hex);
		cert_fingerprint_sha256(out.cert, fps[i]);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(serials[k], serials[i]);
		free(hex);
		ca_issued_clear(&out);
	}
	/* 32 draws of 127 random bits all below 2^120: chance 2^-224. */
	assert_true(max_bits >= 120);
	char *index = path_in(fx->dir, "issued.txt");
	assert_int_equal(scratch_count_lines(index), 32);
	free(index);
	assert_int_equal(local_ca_read_index(fx->dir, collect_cb, idx, NULL),
	    ST_OK);
	assert_int_equal(idx->n, 32);
	for (int i = 0; i < 32; i++) {
		assert_string_equal(idx->serials[i], serials[i]);
		assert_string_equal(idx->fps[i], fps[i]);
	}
	free(idx);
}

struct signer {
	struct fx *fx;
	int ok;
};

static void *
sign_many(void *arg)
{
	struct signer *s = arg;
	struct ca_request req = { .csr = s->fx->csr,
		.profile = &s->fx->profile,
		.deadline = deadline_in(test_ms(5000)) };

	for (int i = 0; i < 16; i++) {
		struct ca_issued out = { 0 };

		if (ca_sign(s->fx->ca, &req, &out, NULL) == ST_OK)
			s->ok++;
		ca_issued_clear(&out);
	}
	return NULL;
}

static void
test_concurrent_signing_keeps_one_index_line_per_cert(void **state)
{
	struct fx *fx = *state;
	pthread_t th[4];
	struct signer s[4];
	struct collect *idx = calloc(1, sizeof *idx);

	for (int i = 0; i < 4; i++) {
		s[i] = (struct signer){ fx, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, sign_many, &s[i]),
		    0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(s[i].ok, 16);
	}
	assert_int_equal(local_ca_read_index(fx->dir, collect_cb, idx, NULL),
	    ST_OK);
	assert_int_equal(idx->n, 64);
	for (int i = 0; i < 64; i++) {
		for (int k = 0; k < i; k++)
			assert_string_not_equal(idx->serials[k],
			    idx->serials[i]);
	}
	free(idx);
}

static void
test_sign_refuses_csr_with_bad_signature(void **state)
{
	struct fx *fx = *state;
	EVP_PKEY *other = pki_key_ec("P-256");
	/* Signed by `other` but carrying the device's public key. */
	X509_REQ *forged = pki_make_csr(&(struct pki_csr_spec){ .key = other,
	    .pub = fx->dev,
	    .subject = SUBJECT,
	    .san = SAN });
	struct ca_request req = { .csr = forged, .profile = &fx->profile };
	struct ca_issued out = { 0 };
	char *cause = NULL;

	assert_int_equal(ca_sign(fx->ca, &req, &out, &cause), ST_E_CA);
	assert_non_null(strstr(cause, "signature"));
	assert_null(out.cert);
	char *index = path_in(fx->dir, "issued.txt");
	assert_int_equal(scratch_count_lines(index), -1); /* nothing issued */
	free(index);
	free(cause);
	X509_REQ_free(forged);
	EVP_PKEY_free(other);
}

static void
test_revoke_records_known_serial_and_refuses_unknown(void **state)
{
	struct fx *fx = *state;
	struct ca_issued out = { 0 };
	char *cause = NULL;

	issue(fx, &out);
	assert_int_equal(ca_revoke(fx->ca, out.serial_hex,
			     "orphaned: never written", NULL),
	    ST_OK);
	char *path = path_in(fx->dir, "revoked.txt");
	assert_int_equal(scratch_count_lines(path), 1);
	FILE *fp = fopen(path, "r");
	char line[256] = "";
	assert_non_null(fgets(line, sizeof line, fp));
	fclose(fp);
	assert_memory_equal(line, out.serial_hex, strlen(out.serial_hex));
	assert_non_null(strstr(line, "orphaned: never written"));
	assert_int_equal(ca_revoke(fx->ca, "0123abcd", "x", &cause),
	    ST_E_NOTFOUND);
	assert_int_equal(ca_revoke(fx->ca, "12\n34", "x", NULL), ST_E_ARG);
	assert_int_equal(scratch_count_lines(path), 1);
	free(path);
	free(cause);
	ca_issued_clear(&out);
}

static void
test_ca_open_rejects_unknown_backend_and_missing_ca(void **state)
{
	struct fx *fx = *state;
	struct ca_settings s = { .dir = fx->dir };
	struct ca_backend *ca = NULL;
	char *cause = NULL, *dir_advice;

	assert_int_equal(ca_open("nosuch", &s, &ca, &cause), ST_E_CONFIG);
	assert_non_null(strstr(cause, "known: local"));
	assert_null(ca);
	assert_int_equal(ca_open("local", &s, &ca, &cause), ST_E_CA);
	/* The advice creates the CA this station uses: its directory... */
	dir_advice = xasprintf("'station ca init --dir %s'", fx->dir);
	assert_non_null(strstr(cause, dir_advice));
	assert_null(ca);
	free(cause);
	cause = NULL;
	/* ... or, on a configured station, its configuration. */
	s.config = "/etc/station/line-7.ini";
	assert_int_equal(ca_open("local", &s, &ca, &cause), ST_E_CA);
	assert_non_null(strstr(cause,
	    "'station --config /etc/station/line-7.ini ca init'"));
	assert_non_null(strstr(cause, fx->dir));
	assert_null(ca);
	free(cause);
	free(dir_advice);
	static const struct ca_setting extra[] = { { "role", "device" },
		{ NULL, NULL } };
	s.extra = extra;
	assert_string_equal(ca_settings_get(&s, "role"), "device");
	assert_null(ca_settings_get(&s, "url"));
}

/* `station ca init` as a process: creates the CA under $STATION_HOME/ca,
 * then refuses a second time with exit code 3 (station error). */
static void
test_station_ca_init_command(void **state)
{
	struct fx *fx = *state;
	const char *bin = getenv("STATION_BIN");

	if (bin == NULL || access(bin, X_OK) != 0) {
		skip();
		return;
	}
	size_t cap = 2 * strlen(fx->tmp) + strlen(bin) + 128;
	char *cmd = malloc(cap);
	snprintf(cmd, cap,
	    "STATION_HOME='%s/home' '%s' --demo ca init >/dev/null 2>&1",
	    fx->tmp, bin);
	int rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 0);
	char *home = path_in(fx->tmp, "home/ca");
	assert_int_equal(mode_of(home, "intermediate.key"), 0600);
	rc = system(cmd);
	assert_int_equal(WEXITSTATUS(rc), 3);
	free(home);
	free(cmd);
}

static int
count_cb(X509 *cert, void *arg)
{
	(void)cert;
	(*(int *)arg)++;
	return 0;
}

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * issued.txt and certs/SERIAL.pem are not fsynced per issuance: the
 * issuance log is.  A power loss can leave the index without its newest
 * line (here: a torn half line) and the copy missing; the next open
 * completes both from the log, which it keeps while it is small (it is
 * still their durable record).
 */
static void
test_index_and_copy_lost_after_the_log_are_restored_on_open(void **state)
{
	struct fx *fx = *state;
	struct ca_issued a = { 0 }, b = { 0 };
	struct ca_settings s = { .dir = fx->dir };
	struct ca_backend *again = NULL;
	struct collect *idx = calloc(1, sizeof *idx);
	char *index = path_in(fx->dir, "issued.txt");
	char *log = path_in(fx->dir, "issued.log");
	char key[65];
	int found = 0;

	issue(fx, &a);
	off_t after_a = size_of(index);
	issue(fx, &b);
	assert_true(size_of(log) > 0); /* the CA is still open */
	size_t cn_len = strlen(b.serial_hex) + 16;
	char *copy_name = malloc(cn_len);
	snprintf(copy_name, cn_len, "certs/%s.pem", b.serial_hex);
	char *copy = path_in(fx->dir, copy_name);
	assert_int_equal(unlink(copy), 0);
	assert_int_equal(truncate(index, after_a + 10), 0);

	assert_int_equal(ca_open("local", &s, &again, NULL), ST_OK);
	assert_int_equal(scratch_count_lines(index), 2);
	assert_int_equal(local_ca_read_index(fx->dir, collect_cb, idx, NULL),
	    ST_OK);
	assert_int_equal(idx->n, 2);
	assert_string_equal(idx->serials[0], a.serial_hex);
	assert_string_equal(idx->serials[1], b.serial_hex);
	X509 *back = load(fx->dir, copy_name);
	assert_int_equal(X509_cmp(back, b.cert), 0);
	assert_true(size_of(log) > 0);
	assert_true(size_of(log) <= LOCAL_LOG_KEEP_BYTES);
	cert_key_sha256(b.cert, key);
	assert_int_equal(local_ca_find_by_key(fx->dir, key, count_cb, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 2);

	X509_free(back);
	ca_free(again);
	ca_issued_clear(&a);
	ca_issued_clear(&b);
	free(copy);
	free(copy_name);
	free(log);
	free(index);
	free(idx);
}

/*
 * A process per device does not settle the log (syncfs, fsync, truncate)
 * at every close: a small log stays, covering its records, and a later
 * open only compares them with issued.txt and certs/ (nothing written);
 * once it holds more than LOCAL_LOG_KEEP_BYTES the next open settles it.
 */
static void
test_small_log_kept_large_log_settled(void **state)
{
	struct fx *fx = *state;
	struct ca_settings s = { .dir = fx->dir };
	struct ca_issued a = { 0 };
	char *index = path_in(fx->dir, "issued.txt");
	char *log = path_in(fx->dir, "issued.log");
	char name[200];
	struct stat before, after;
	int n = 1;

	issue(fx, &a);
	snprintf(name, sizeof name, "%s/certs/%s.pem", fx->dir, a.serial_hex);
	ca_free(fx->ca);
	fx->ca = NULL;
	off_t kept = size_of(log);
	assert_true(kept > 0);
	assert_int_equal(scratch_count_lines(index), 1);
	assert_int_equal(stat(name, &before), 0);
	assert_int_equal(ca_open("local", &s, &fx->ca, NULL), ST_OK);
	assert_int_equal(stat(name, &after), 0);
	/* Compared, not written again. */
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(size_of(log), kept);
	assert_int_equal(scratch_count_lines(index), 1);
	while (size_of(log) <= LOCAL_LOG_KEEP_BYTES) {
		ca_issued_clear(&a);
		issue(fx, &a);
		n++;
	}
	/* A close leaves it (that process wrote its own copies); the
	 * next open settles it. */
	ca_free(fx->ca);
	fx->ca = NULL;
	assert_true(size_of(log) > LOCAL_LOG_KEEP_BYTES);
	assert_int_equal(ca_open("local", &s, &fx->ca, NULL), ST_OK);
	assert_int_equal(size_of(log), 0);
	assert_int_equal(scratch_count_lines(index), (unsigned)n);
	ca_issued_clear(&a);
	free(log);
	free(index);
}

/* The CA's root is handed out for its own root.pem, by any path to that
 * file (a symlink here), and for nothing else. */
static void
test_root_handed_out_only_for_its_own_file(void **state)
{
	struct fx *fx = *state;
	char *own = path_in(fx->dir, "root.pem");
	char *link = path_in(fx->tmp, "pinned-root.pem");
	char *copy = path_in(fx->tmp, "copied-root.pem");
	X509 *got;

	got = local_ca_root_if_same(fx->ca, own);
	assert_non_null(got);
	assert_ptr_equal(got, ((struct local_ca *)fx->ca)->root);
	X509_free(got);
	assert_int_equal(symlink(own, link), 0);
	got = local_ca_root_if_same(fx->ca, link);
	assert_non_null(got);
	X509_free(got);
	/* The same bytes in another file are another file: parsed anew. */
	assert_int_equal(proc_sh("cp '%s' '%s'", own, copy), 0);
	assert_null(local_ca_root_if_same(fx->ca, copy));
	assert_null(local_ca_root_if_same(fx->ca, NULL));
	assert_null(local_ca_root_if_same(NULL, own));
	free(copy);
	free(link);
	free(own);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_init_creates_private_keys_0600_in_a_0700_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_init_refuses_to_overwrite_unless_forced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_init_uses_given_names,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_issued_cert_carries_what_the_profile_says, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_issued_cert_carries_the_csr_key_bytes, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_openssl_verify_accepts_issued_cert, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_serials_are_unique_positive_128_bit_and_indexed,
		    setup_open, teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrent_signing_keeps_one_index_line_per_cert,
		    setup_open, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sign_refuses_csr_with_bad_signature, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoke_records_known_serial_and_refuses_unknown,
		    setup_open, teardown),
		cmocka_unit_test_setup_teardown(
		    test_index_and_copy_lost_after_the_log_are_restored_on_open,
		    setup_open, teardown),
		cmocka_unit_test_setup_teardown(
		    test_small_log_kept_large_log_settled, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_root_handed_out_only_for_its_own_file, setup_open,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_ca_open_rejects_unknown_backend_and_missing_ca, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_station_ca_init_command,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
