/*
 * TPM key attestation checks (see attest.h): a reader of the two TPM
 * structures that never reads past its buffer, and the rules, with
 * OpenSSL for the certificates and signatures.
 */
#include "station/x509/attest.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/x509/policy_rule.h"
#include "station/util/xalloc.h"

/* Largest TPM2B_NAME (a TPMT_HA: algorithm + SHA-512), TPM2B_DATA and
 * TPM2B_DIGEST (SHA-512), and an ECC coordinate (P-521). */
#define NAME_MAX_LEN 66
#define DATA_MAX_LEN 64
#define ECC_MAX_LEN 66
#define TPM_ALG_ECDAA 0x001au

/* A cursor over hostile bytes: every read is bounded by len. */
struct rd {
	const uint8_t *p;
	size_t len, pos;
	const char *what; /* "TPMS_ATTEST", "TPMT_PUBLIC" */
	const char *rule;
	char **cause;
	st_err err;
};

static int
rd_fail(struct rd *r, const char *field, const char *fmt, size_t a, size_t b)
{
	char *detail;

	if (r->err)
		return 0;
	detail = xasprintf(fmt, a, b);
	r->err = policy_refuse(&r->rule, "attest.format", r->cause,
	    "attest.format: %s %s at byte %zu: %s", r->what, field, r->pos,
	    detail);
	free(detail);
	return 0;
}

/* `n` more bytes for `field`, or a failure naming it. */
static int
rd_need(struct rd *r, size_t n, const char *field)
{
	if (r->err)
		return 0;
	if (r->len - r->pos < n)
		return rd_fail(r, field,
		    "truncated (%zu bytes needed, %zu left)", n,
		    r->len - r->pos);
	return 1;
}

static uint64_t
rd_uint(struct rd *r, size_t width, const char *field)
{
	uint64_t v = 0;

	if (!rd_need(r, width, field))
		return 0;
	for (size_t i = 0; i < width; i++)
		v = v << 8 | r->p[r->pos + i];
	r->pos += width;
	return v;
}

static struct tpm2b
rd_2b(struct rd *r, size_t max, const char *field)
{
	struct tpm2b b = { NULL, 0 };
	size_t n = (size_t)rd_uint(r, 2, field);

	if (r->err)
		return b;
	if (n > max) {
		rd_fail(r, field, "size %zu exceeds the %zu a TPM sends", n,
		    max);
		return b;
	}
	if (!rd_need(r, n, field))
		return b;
	b.buf = r->p + r->pos;
	b.len = n;
	r->pos += n;
	return b;
}

static void
rd_end(struct rd *r)
{
	if (r->err == ST_OK && r->pos != r->len)
		rd_fail(r, "end", "%zu trailing bytes after %zu",
		    r->len - r->pos, r->pos);
}

st_err
tpm_attest_parse(const uint8_t *buf, size_t len, struct tpm_attest *out,
    char **cause)
{
	struct rd r = { .p = buf,
		.len = len,
		.what = "TPMS_ATTEST",
		.cause = cause };

	memset(out, 0, sizeof *out);
	out->magic = (uint32_t)rd_uint(&r, 4, "magic");
	out->type = (uint16_t)rd_uint(&r, 2, "type");
	out->signer = rd_2b(&r, NAME_MAX_LEN, "qualifiedSigner");
	out->extra = rd_2b(&r, DATA_MAX_LEN, "extraData");
	out->clock = rd_uint(&r, 8, "clockInfo.clock");
	out->reset_count = (uint32_t)rd_uint(&r, 4, "clockInfo.resetCount");
	out->restart_count = (uint32_t)rd_uint(&r, 4, "clockInfo.restartCount");
	out->safe = (uint8_t)rd_uint(&r, 1, "clockInfo.safe");
	out->firmware = rd_uint(&r, 8, "firmwareVersion");
	out->name = rd_2b(&r, NAME_MAX_LEN, "certify.name");
	out->qualified_name = rd_2b(&r, NAME_MAX_LEN, "certify.qualifiedName");
	rd_end(&r);
	return r.err;
}

st_err
tpm_public_parse(const uint8_t *buf, size_t len, struct tpm_public *out,
    char **cause)
{
	struct rd r = { .p = buf,
		.len = len,
		.what = "TPMT_PUBLIC",
		.cause = cause };
	uint16_t alg;

	memset(out, 0, sizeof *out);
	out->type = (uint16_t)rd_uint(&r, 2, "type");
	if (r.err == ST_OK && out->type != TPM_ALG_ECC) {
		r.pos = 0;
		rd_fail(&r, "type",
		    "0x%04zx is not ECC (0x%04zx): the station attests EC "
		    "keys",
		    out->type, TPM_ALG_ECC);
		return r.err;
	}
	out->name_alg = (uint16_t)rd_uint(&r, 2, "nameAlg");
	out->attributes = (uint32_t)rd_uint(&r, 4, "objectAttributes");
	out->auth_policy = rd_2b(&r, DATA_MAX_LEN, "authPolicy");
	/* TPMS_ECC_PARMS: symmetric, scheme, curveID, kdf. */
	alg = (uint16_t)rd_uint(&r, 2, "symmetric.algorithm");
	if (alg != TPM_ALG_NULL) {
		rd_uint(&r, 2, "symmetric.keyBits");
		rd_uint(&r, 2, "symmetric.mode");
	}
	alg = (uint16_t)rd_uint(&r, 2, "scheme.scheme");
	if (alg != TPM_ALG_NULL)
		rd_uint(&r, 2, "scheme.hashAlg");
	if (alg == TPM_ALG_ECDAA)
		rd_uint(&r, 2, "scheme.count");
	out->curve = (uint16_t)rd_uint(&r, 2, "curveID");
	alg = (uint16_t)rd_uint(&r, 2, "kdf.scheme");
	if (alg != TPM_ALG_NULL)
		rd_uint(&r, 2, "kdf.hashAlg");
	out->x = rd_2b(&r, ECC_MAX_LEN, "unique.x");
	out->y = rd_2b(&r, ECC_MAX_LEN, "unique.y");
	rd_end(&r);
	return r.err;
}

/* ---- the rules ------------------------------------------------------------ */

/* attest.chain: the AK certificate (and the intermediates after it)
 * verify to a certificate of ca_file. */
static st_err
check_chain(X509 *ak, STACK_OF(X509) * rest, const char *ca_file,
    const char **rule, char **cause)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	st_err err = ST_OK;

	if (store == NULL || ctx == NULL ||
	    X509_STORE_load_file(store, ca_file) != 1) {
		err = st_fail_ssl(cause, ST_E_CONFIG,
		    "attestation_ca %s cannot be read as PEM certificates",
		    ca_file);
		goto out;
	}
	if (X509_STORE_CTX_init(ctx, store, ak, rest) != 1) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "setting up the AK chain check");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		err = policy_refuse(rule, "attest.chain", cause,
		    "attest.chain: the AK certificate does not verify to "
		    "attestation_ca %s: %s (depth %d)",
		    ca_file, X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

/* attest.signature: SHA-256 of the TPMS_ATTEST bytes, signed by the AK. */
static st_err
check_signature(const struct attest_evidence *ev, X509 *ak, const char **rule,
    char **cause)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY *pub = X509_get0_pubkey(ak);
	int ok = md && pub &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 &&
	    EVP_DigestVerify(md, ev->sig, ev->sig_len, ev->attest,
		ev->attest_len) == 1;

	EVP_MD_CTX_free(md);
	if (ok)
		return ST_OK;
	return policy_refuse(rule, "attest.signature", cause,
	    "attest.signature: the TPMS_ATTEST is not signed by the AK "
	    "certificate's key (a forged or altered attestation)");
}

/* attest.key: the TPM key's EC point is the CSR's public key. */
static st_err
check_key(const struct tpm_public *pub, EVP_PKEY *csr_key, const char **rule,
    char **cause)
{
	uint8_t want[65], have[200];
	size_t n = 0;

	if (pub->curve != TPM_ECC_NIST_P256 || pub->x.len > 32 ||
	    pub->y.len > 32)
		return policy_refuse(rule, "attest.key", cause,
		    "attest.key: the certified key is not on P-256 (curve "
		    "0x%04x)",
		    pub->curve);
	memset(want, 0, sizeof want);
	want[0] = 0x04;
	memcpy(want + 1 + 32 - pub->x.len, pub->x.buf, pub->x.len);
	memcpy(want + 33 + 32 - pub->y.len, pub->y.buf, pub->y.len);
	if (csr_key == NULL || !EVP_PKEY_is_a(csr_key, "EC") ||
	    EVP_PKEY_get_octet_string_param(csr_key,
		OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, have, sizeof have,
		&n) != 1 ||
	    n != sizeof want || memcmp(have, want, n) != 0)
		return policy_refuse(rule, "attest.key", cause,
		    "attest.key: the key the TPM certified is not the CSR's "
		    "key");
	return ST_OK;
}

/* The rules on the two TPM structures, after the chain and signature. */
static st_err
check_certify(const struct attest_evidence *ev, const uint8_t *nonce,
    size_t nonce_len, EVP_PKEY *csr_key, const char **rule, char **cause)
{
	struct tpm_attest a;
	struct tpm_public pub;
	uint8_t name[2 + SHA256_DIGEST_LENGTH];
	const uint32_t born =
	    TPMA_FIXED_TPM | TPMA_FIXED_PARENT | TPMA_SENSITIVE_DATA_ORIGIN;
	st_err err;

	err = tpm_attest_parse(ev->attest, ev->attest_len, &a, cause);
	if (err) {
		*rule = "attest.format";
		return err;
	}
	if (a.magic != TPM_GENERATED_VALUE)
		return policy_refuse(rule, "attest.magic", cause,
		    "attest.magic: magic is 0x%08x, not TPM_GENERATED_VALUE "
		    "(0x%08x): the TPM did not produce this structure",
		    a.magic, TPM_GENERATED_VALUE);
	if (a.type != TPM_ST_ATTEST_CERTIFY)
		return policy_refuse(rule, "attest.type", cause,
		    "attest.type: type is 0x%04x, not TPM_ST_ATTEST_CERTIFY "
		    "(0x%04x)",
		    a.type, TPM_ST_ATTEST_CERTIFY);
	if (a.extra.len != nonce_len ||
	    memcmp(a.extra.buf, nonce, nonce_len) != 0)
		return policy_refuse(rule, "attest.nonce", cause,
		    "attest.nonce: extraData is not this run's nonce (a "
		    "replayed attestation)");
	err = tpm_public_parse(ev->public_area, ev->public_len, &pub, cause);
	if (err) {
		*rule = "attest.format";
		return err;
	}
	if (pub.name_alg != TPM_ALG_SHA256)
		return policy_refuse(rule, "attest.name", cause,
		    "attest.name: the key's nameAlg 0x%04x is not SHA-256",
		    pub.name_alg);
	name[0] = (uint8_t)(TPM_ALG_SHA256 >> 8);
	name[1] = (uint8_t)TPM_ALG_SHA256;
	SHA256(ev->public_area, ev->public_len, name + 2);
	if (a.name.len != sizeof name || memcmp(a.name.buf, name, sizeof name))
		return policy_refuse(rule, "attest.name", cause,
		    "attest.name: the certified name is not nameAlg || "
		    "SHA-256(TPMT_PUBLIC): the public area sent is not the "
		    "key the TPM certified");
	if ((pub.attributes & born) != born)
		return policy_refuse(rule, "attest.attributes", cause,
		    "attest.attributes: objectAttributes 0x%08x lack %s%s%s "
		    "(a key that can leave the TPM or was imported)",
		    pub.attributes,
		    pub.attributes & TPMA_FIXED_TPM ? "" : "fixedTPM ",
		    pub.attributes & TPMA_FIXED_PARENT ? "" : "fixedParent ",
		    pub.attributes & TPMA_SENSITIVE_DATA_ORIGIN ?
			"" :
			"sensitiveDataOrigin");
	return check_key(&pub, csr_key, rule, cause);
}

st_err
attest_verify(const struct attest_evidence *ev, const uint8_t *nonce,
    size_t nonce_len, EVP_PKEY *csr_key, const char *ca_file,
    struct attest_result *res, const char **rule, char **cause)
{
	X509 *ak = NULL;
	STACK_OF(X509) *rest = sk_X509_new_null();
	const unsigned char *p;
	st_err err = ST_OK;

	memset(res, 0, sizeof *res);
	*rule = NULL;
	for (size_t i = 0; i < ev->n_ak_certs; i++) {
		X509 *x;

		p = ev->ak_cert[i];
		x = d2i_X509(NULL, &p, (long)ev->ak_cert_len[i]);
		if (x == NULL || p != ev->ak_cert[i] + ev->ak_cert_len[i]) {
			X509_free(x);
			err = policy_refuse(rule, "attest.chain", cause,
			    "attest.chain: AK certificate %zu of %zu is not "
			    "one DER certificate",
			    i + 1, ev->n_ak_certs);
			goto out;
		}
		if (i == 0)
			ak = x;
		else
			sk_X509_push(rest, x);
	}
	if (ak == NULL) {
		err = policy_refuse(rule, "attest.chain", cause,
		    "attest.chain: no AK certificate");
		goto out;
	}
	cert_fingerprint_sha256(ak, res->ak_fingerprint);
	err = check_chain(ak, rest, ca_file, rule, cause);
	if (err)
		goto out;
	err = check_signature(ev, ak, rule, cause);
	if (err)
		goto out;
	err = check_certify(ev, nonce, nonce_len, csr_key, rule, cause);
out:
	ERR_clear_error();
	X509_free(ak);
	sk_X509_pop_free(rest, X509_free);
	return err;
}

st_err
attest_ca_check(const char *ca_file, char **cause)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509_OBJECT) * objs;
	int n = 0;

	if (store != NULL && X509_STORE_load_file(store, ca_file) == 1) {
		objs = X509_STORE_get0_objects(store);
		for (int i = 0; i < sk_X509_OBJECT_num(objs); i++)
			n += X509_OBJECT_get_type(
				 sk_X509_OBJECT_value(objs, i)) == X509_LU_X509;
	}
	ERR_clear_error();
	X509_STORE_free(store);
	if (n == 0)
		return st_fail(cause, ST_E_CONFIG,
		    "attestation_ca %s holds no PEM certificate (or cannot be "
		    "read)",
		    ca_file);
	return ST_OK;
}
