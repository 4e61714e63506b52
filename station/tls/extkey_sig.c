/*
 * Signature operations for external keys: ECDSA and RSA (PKCS#1 v1.5 and
 * PSS), SHA-256 only.  The data is hashed here; only the 32-byte digest
 * goes to the key's owner (the device or a token), which pads and signs.
 */
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/rsa.h>

#include "station/tls/extkey_int.h"
#include "station/util/xalloc.h"

#define EK_DIGEST_LEN 32

struct ek_sig {
	enum ek_type type;
	struct ek_key *key; /* borrowed from OpenSSL for the ctx lifetime */
	EVP_MD_CTX *mdctx;  /* digest_sign_* only */
	int pad;	    /* RSA_PKCS1_PADDING or RSA_PKCS1_PSS_PADDING */
};

/* DER AlgorithmIdentifiers, for X509_sign and friends (in rows: clang-format
 * would put one byte per line). */
/* clang-format off */
static const uint8_t aid_ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
};
static const uint8_t aid_rsa_sha256[] = {
	0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0b, 0x05, 0x00,
};
/* RSASSA-PSS: SHA-256, MGF1 with SHA-256, salt length 32. */
static const uint8_t aid_rsa_pss_sha256[] = {
	0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
	0x0a, 0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
	0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a,
	0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
	0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
	0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
};
/* clang-format on */

static void *
ek_sig_new(enum ek_type type)
{
	struct ek_sig *s = xcalloc(1, sizeof *s);

	s->type = type;
	s->pad = RSA_PKCS1_PADDING;
	return s;
}

static void *
ek_ecdsa_newctx(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	return ek_sig_new(EK_EC);
}

static void *
ek_rsa_newctx(void *provctx, const char *propq)
{
	(void)provctx;
	(void)propq;
	return ek_sig_new(EK_RSA);
}

static void
ek_sig_freectx(void *ctx)
{
	struct ek_sig *s = ctx;

	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->mdctx);
	free(s);
}

/* OpenSSL duplicates the context in EVP_DigestSignFinal. */
static void *
ek_sig_dupctx(void *ctx)
{
	struct ek_sig *s = ctx, *d = xmemdup(s, sizeof *s);

	d->mdctx = NULL;
	if (s->mdctx != NULL) {
		d->mdctx = EVP_MD_CTX_new();
		if (d->mdctx == NULL ||
		    !EVP_MD_CTX_copy_ex(d->mdctx, s->mdctx)) {
			ek_sig_freectx(d);
			return NULL;
		}
	}
	return d;
}

static int
is_sha256(const char *name)
{
	EVP_MD *md;
	int ok;

	if (name == NULL || *name == '\0')
		return 1;
	md = EVP_MD_fetch(ek_libctx(), name, EXTKEY_DEFAULT_PROPQ);
	ok = md != NULL && EVP_MD_is_a(md, "SHA2-256");
	EVP_MD_free(md);
	if (!ok)
		ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_DIGEST,
		    "external key signs SHA-256 only, not %s", name);
	return ok;
}

static int
set_pad_mode(struct ek_sig *s, const OSSL_PARAM *p)
{
	int mode = 0;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (strcasecmp(p->data, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
			mode = RSA_PKCS1_PADDING;
		else if (strcasecmp(p->data, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0)
			mode = RSA_PKCS1_PSS_PADDING;
	} else if (!OSSL_PARAM_get_int(p, &mode)) {
		return 0;
	}
	if (s->type != EK_RSA ||
	    (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING)) {
		ERR_raise(ERR_LIB_PROV,
		    PROV_R_ILLEGAL_OR_UNSUPPORTED_PADDING_MODE);
		return 0;
	}
	s->pad = mode;
	return 1;
}

/* The chip uses salt length = digest length; accept only that. */
static int
set_saltlen(const OSSL_PARAM *p)
{
	int len = 0;

	if (p->data_type == OSSL_PARAM_UTF8_STRING) {
		if (strcmp(p->data, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) == 0 ||
		    strcmp(p->data, "32") == 0)
			return 1;
	} else if (OSSL_PARAM_get_int(p, &len) &&
	    (len == RSA_PSS_SALTLEN_DIGEST || len == EK_DIGEST_LEN)) {
		return 1;
	}
	ERR_raise_data(ERR_LIB_PROV, PROV_R_INVALID_SALT_LENGTH,
	    "external key signs RSA-PSS with a 32-byte salt only");
	return 0;
}

static int
ek_sig_set_ctx_params(void *ctx, const OSSL_PARAM params[])
{
	struct ek_sig *s = ctx;
	const OSSL_PARAM *p;

	if (params == NULL)
		return 1;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL &&
	    (p->data_type != OSSL_PARAM_UTF8_STRING || !is_sha256(p->data)))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST);
	if (p != NULL &&
	    (p->data_type != OSSL_PARAM_UTF8_STRING || !is_sha256(p->data)))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL && !set_pad_mode(s, p))
		return 0;
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN);
	if (p != NULL && !set_saltlen(p))
		return 0;
	return 1;
}

static const OSSL_PARAM ek_sig_settable[] = {
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL, 0),
	OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
	OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL), OSSL_PARAM_END
};

static const OSSL_PARAM *
ek_sig_settable_ctx_params(void *ctx, void *provctx)
{
	(void)ctx;
	(void)provctx;
	return ek_sig_settable;
}

static int
ek_sig_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	struct ek_sig *s = ctx;
	OSSL_PARAM *p;

	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID);
	if (p != NULL) {
		const uint8_t *aid = aid_ecdsa_sha256;
		size_t len = sizeof aid_ecdsa_sha256;

		if (s->type == EK_RSA && s->pad == RSA_PKCS1_PSS_PADDING) {
			aid = aid_rsa_pss_sha256;
			len = sizeof aid_rsa_pss_sha256;
		} else if (s->type == EK_RSA) {
			aid = aid_rsa_sha256;
			len = sizeof aid_rsa_sha256;
		}
		if (!OSSL_PARAM_set_octet_string(p, aid, len))
			return 0;
	}
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL && !OSSL_PARAM_set_utf8_string(p, "SHA256"))
		return 0;
	p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL && !OSSL_PARAM_set_int(p, s->pad))
		return 0;
	return 1;
}

static const OSSL_PARAM ek_sig_gettable[] = {
	OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
	OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL), OSSL_PARAM_END
};

static const OSSL_PARAM *
ek_sig_gettable_ctx_params(void *ctx, void *provctx)
{
	(void)ctx;
	(void)provctx;
	return ek_sig_gettable;
}

static int
ek_sig_sign_init(void *ctx, void *provkey, const OSSL_PARAM params[])
{
	struct ek_sig *s = ctx;
	struct ek_key *key = provkey;

	if (key == NULL || key->owner == NULL || key->type != s->type) {
		ERR_raise_data(ERR_LIB_PROV, PROV_R_NOT_A_PRIVATE_KEY,
		    "not an external key with a signer");
		return 0;
	}
	s->key = key;
	return ek_sig_set_ctx_params(s, params);
}

/* Sign a SHA-256 digest through the owner; sig == NULL asks the size. */
static int
ek_sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
    const unsigned char *tbs, size_t tbslen)
{
	struct ek_sig *s = ctx;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum sig_scheme alg = SIG_ECDSA_SHA256;
	int ok = 0;

	if (s->key == NULL)
		return 0;
	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(s->key->pub);
		return 1;
	}
	if (tbslen != EK_DIGEST_LEN) {
		ERR_raise(ERR_LIB_PROV, PROV_R_INVALID_DIGEST_LENGTH);
		return 0;
	}
	if (s->type == EK_RSA)
		alg = s->pad == RSA_PKCS1_PSS_PADDING ? SIG_RSA_PSS_SHA256 :
							SIG_RSA_PKCS1_SHA256;
	if (!ek_owner_sign(s->key->owner, alg, tbs, tbslen, &out, &out_len))
		goto out;
	if (out_len > sigsize) {
		ERR_raise_data(ERR_LIB_PROV, PROV_R_OUTPUT_BUFFER_TOO_SMALL,
		    "external key returned %zu bytes, room for %zu", out_len,
		    sigsize);
		goto out;
	}
	memcpy(sig, out, out_len);
	*siglen = out_len;
	ok = 1;
out:
	free(out);
	return ok;
}

static int
ek_sig_digest_sign_init(void *ctx, const char *mdname, void *provkey,
    const OSSL_PARAM params[])
{
	struct ek_sig *s = ctx;
	EVP_MD *md = NULL;
	int ok = 0;

	if (!ek_sig_sign_init(s, provkey, params) || !is_sha256(mdname))
		return 0;
	md = EVP_MD_fetch(ek_libctx(), "SHA2-256", EXTKEY_DEFAULT_PROPQ);
	if (s->mdctx == NULL)
		s->mdctx = EVP_MD_CTX_new();
	if (md != NULL && s->mdctx != NULL &&
	    EVP_DigestInit_ex2(s->mdctx, md, NULL))
		ok = 1;
	EVP_MD_free(md);
	return ok;
}

static int
ek_sig_digest_sign_update(void *ctx, const unsigned char *data, size_t len)
{
	struct ek_sig *s = ctx;

	return s->mdctx != NULL && EVP_DigestUpdate(s->mdctx, data, len);
}

static int
ek_sig_digest_sign_final(void *ctx, unsigned char *sig, size_t *siglen,
    size_t sigsize)
{
	struct ek_sig *s = ctx;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (s->mdctx == NULL || s->key == NULL)
		return 0;
	if (sig == NULL)
		return ek_sig_sign(s, NULL, siglen, 0, NULL, 0);
	if (!EVP_DigestFinal_ex(s->mdctx, digest, &len))
		return 0;
	return ek_sig_sign(s, sig, siglen, sigsize, digest, len);
}

static int
ek_sig_digest_sign(void *ctx, unsigned char *sig, size_t *siglen,
    size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	struct ek_sig *s = ctx;

	if (sig == NULL)
		return ek_sig_sign(s, NULL, siglen, 0, NULL, 0);
	return ek_sig_digest_sign_update(s, tbs, tbslen) &&
	    ek_sig_digest_sign_final(s, sig, siglen, sigsize);
}

#define EK_FN(id, fn) \
	{ \
		id, (void (*)(void))(fn) \
	}
#define EK_SIG_COMMON \
	EK_FN(OSSL_FUNC_SIGNATURE_FREECTX, ek_sig_freectx), \
	    EK_FN(OSSL_FUNC_SIGNATURE_DUPCTX, ek_sig_dupctx), \
	    EK_FN(OSSL_FUNC_SIGNATURE_SIGN_INIT, ek_sig_sign_init), \
	    EK_FN(OSSL_FUNC_SIGNATURE_SIGN, ek_sig_sign), \
	    EK_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, \
		ek_sig_digest_sign_init), \
	    EK_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, \
		ek_sig_digest_sign_update), \
	    EK_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, \
		ek_sig_digest_sign_final), \
	    EK_FN(OSSL_FUNC_SIGNATURE_DIGEST_SIGN, ek_sig_digest_sign), \
	    EK_FN(OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, ek_sig_get_ctx_params), \
	    EK_FN(OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, \
		ek_sig_gettable_ctx_params), \
	    EK_FN(OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, ek_sig_set_ctx_params), \
	    EK_FN(OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, \
		ek_sig_settable_ctx_params)

const OSSL_DISPATCH ek_ecdsa_signature_functions[] = {
	EK_FN(OSSL_FUNC_SIGNATURE_NEWCTX, ek_ecdsa_newctx),
	EK_SIG_COMMON,
	{ 0, NULL },
};

const OSSL_DISPATCH ek_rsa_signature_functions[] = {
	EK_FN(OSSL_FUNC_SIGNATURE_NEWCTX, ek_rsa_newctx),
	EK_SIG_COMMON,
	{ 0, NULL },
};
