/* A CA key in a PKCS#11 token, served as an extkey (see pkcs11.h). */
#include "station/ca/pkcs11_int.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "station/tls/extkey.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "pkcs11"
#include "station/util/log.h"

/* DER OBJECT IDENTIFIER prime256v1 (1.2.840.10045.3.1.7): CKA_EC_PARAMS. */
static const unsigned char p256_params[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
	0x3d, 0x03, 0x01, 0x07 };

struct pkcs11_key {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	int initialized; /* we called C_Initialize (and so C_Finalize) */
	CK_SESSION_HANDLE session;
	int have_session, logged_in;
	CK_OBJECT_HANDLE priv;
	EVP_PKEY *pub;
	struct extkey *ext;
	char *where; /* "token T, object L" for messages */
};

/* "CKR_PIN_INCORRECT" for the codes an operator can act on. */
static const char *
rv_name(CK_RV rv)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
		return "wrong PIN (CKR_PIN_INCORRECT)";
	case CKR_PIN_LOCKED:
		return "PIN locked (CKR_PIN_LOCKED)";
	case CKR_PIN_LEN_RANGE:
		return "PIN length out of range";
	case CKR_TOKEN_NOT_PRESENT:
		return "token not present";
	case CKR_USER_PIN_NOT_INITIALIZED:
		return "user PIN not initialized";
	case CKR_KEY_HANDLE_INVALID:
		return "key handle invalid";
	case CKR_MECHANISM_INVALID:
		return "mechanism not supported";
	case CKR_DEVICE_ERROR:
		return "device error";
	case CKR_DEVICE_REMOVED:
		return "device removed";
	case CKR_SESSION_HANDLE_INVALID:
		return "session handle invalid";
	default:
		return "PKCS#11 error";
	}
}

static st_err
p11_fail(char **cause, const char *what, CK_RV rv)
{
	return st_fail(cause, ST_E_CA, "%s: %s (0x%lx)", what, rv_name(rv),
	    (unsigned long)rv);
}

static st_err
load_module(struct pkcs11_key *k, const char *path, char **cause)
{
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	k->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (k->dl == NULL)
		return st_fail(cause, ST_E_CA,
		    "cannot load the PKCS#11 module "
		    "%s: %s",
		    path, dlerror());
	*(void **)&get = dlsym(k->dl, "C_GetFunctionList");
	if (get == NULL)
		return st_fail(cause, ST_E_CA,
		    "%s is not a PKCS#11 module (no "
		    "C_GetFunctionList)",
		    path);
	rv = get(&k->f);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_GetFunctionList", rv);
	memset(&args, 0, sizeof args);
	args.flags = CKF_OS_LOCKING_OK;
	rv = k->f->C_Initialize(&args);
	if (rv == CKR_OK)
		k->initialized = 1;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return p11_fail(cause, "C_Initialize", rv);
	return ST_OK;
}

/* A token label is blank-padded to 32 bytes. */
static int
label_is(const CK_UTF8CHAR *label, size_t size, const char *want)
{
	size_t n = strlen(want);

	if (n > size || memcmp(label, want, n) != 0)
		return 0;
	for (size_t i = n; i < size; i++) {
		if (label[i] != ' ')
			return 0;
	}
	return 1;
}

static st_err
open_session(struct pkcs11_key *k, const char *token, char **cause)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	st_err err = ST_OK;

	rv = k->f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_GetSlotList", rv);
	slots = xcalloc(n ? n : 1, sizeof *slots);
	rv = k->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv != CKR_OK) {
		err = p11_fail(cause, "C_GetSlotList", rv);
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (k->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !label_is(ti.label, sizeof ti.label, token))
			continue;
		rv = k->f->C_OpenSession(slots[i],
		    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		    &k->session);
		if (rv != CKR_OK) {
			err = p11_fail(cause, "C_OpenSession", rv);
			goto out;
		}
		k->have_session = 1;
		goto out;
	}
	err = st_fail(cause, ST_E_CA,
	    "no token labelled '%s' (%lu token(s) "
	    "present; softhsm2-util --show-slots lists them)",
	    token, (unsigned long)n);
out:
	free(slots);
	return err;
}

static st_err
login(struct pkcs11_key *k, const struct pkcs11_opts *o, char **cause)
{
	char *pin = NULL;
	st_err err = pkcs11_read_pin(o, &pin, cause);
	CK_RV rv;

	if (err)
		return err;
	rv = k->f->C_Login(k->session, CKU_USER, (CK_UTF8CHAR_PTR)pin,
	    strlen(pin));
	pkcs11_pin_free(pin);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv != CKR_OK)
		/* The cause names the source of the PIN, never the PIN. */
		return st_fail(cause, ST_E_CA,
		    "logging in to the token with "
		    "the PIN from %s %s: %s (0x%lx)",
		    o->pin_file && o->pin_file[0] ? "file" : "variable",
		    o->pin_file && o->pin_file[0] ? o->pin_file : o->pin_env,
		    rv_name(rv), (unsigned long)rv);
	k->logged_in = 1;
	return ST_OK;
}

/* Handles of objects of `cls` labelled `label` (at most `max`). */
static st_err
find_objects(struct pkcs11_key *k, CK_OBJECT_CLASS cls, const char *label,
    CK_OBJECT_HANDLE *h, CK_ULONG max, CK_ULONG *n, char **cause)
{
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_RV rv = k->f->C_FindObjectsInit(k->session, tmpl, 2);

	*n = 0;
	if (rv != CKR_OK)
		return p11_fail(cause, "C_FindObjectsInit", rv);
	rv = k->f->C_FindObjects(k->session, h, max, n);
	k->f->C_FindObjectsFinal(k->session);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_FindObjects", rv);
	return ST_OK;
}

/* CKA_EC_POINT is a DER OCTET STRING around the point (some modules give
 * the bare point): build the public key from it. */
static st_err
read_public(struct pkcs11_key *k, CK_OBJECT_HANDLE h, char **cause)
{
	unsigned char params[32], point[160];
	CK_ATTRIBUTE a[] = {
		{ CKA_EC_PARAMS, params, sizeof params },
		{ CKA_EC_POINT, point, sizeof point },
	};
	const unsigned char *pt = point;
	size_t pt_len;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *op = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	st_err err = ST_OK;
	CK_RV rv = k->f->C_GetAttributeValue(k->session, h, a, 2);

	if (rv != CKR_OK)
		return p11_fail(cause, "reading the public key", rv);
	if (a[0].ulValueLen != sizeof p256_params ||
	    memcmp(params, p256_params, sizeof p256_params) != 0)
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "%s is not an EC P-256 "
		    "key",
		    k->where);
	pt_len = a[1].ulValueLen;
	if (pt_len == 67 && point[0] == 0x04 && point[1] == 65) {
		pt += 2;
		pt_len -= 2;
	}
	if (pt_len != 65 || pt[0] != 0x04)
		return st_fail(cause, ST_E_CA,
		    "%s: unexpected CKA_EC_POINT "
		    "encoding (%lu bytes)",
		    k->where, (unsigned long)a[1].ulValueLen);
	bld = OSSL_PARAM_BLD_new();
	if (bld != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		"prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
		pt_len))
		op = OSSL_PARAM_BLD_to_param(bld);
	if (op != NULL)
		pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &k->pub, EVP_PKEY_PUBLIC_KEY, op) <= 0)
		err = st_fail_ssl(cause, ST_E_CA,
		    "%s: the public key does not "
		    "decode",
		    k->where);
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(op);
	OSSL_PARAM_BLD_free(bld);
	return err;
}

/* extkey callback: C_Sign with CKM_ECDSA, raw r||s to DER. */
static st_err
sign_cb(void *ctx, enum sig_scheme sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	struct pkcs11_key *k = ctx;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	unsigned char raw[64];
	CK_ULONG raw_len = sizeof raw;
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int der_len;
	CK_RV rv;

	*sig = NULL;
	if (sig_alg != SIG_ECDSA_SHA256)
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "the token key signs "
		    "ECDSA only");
	rv = k->f->C_SignInit(k->session, &mech, k->priv);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_SignInit", rv);
	rv = k->f->C_Sign(k->session, (CK_BYTE_PTR)digest, digest_len, raw,
	    &raw_len);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_Sign", rv);
	if (raw_len != sizeof raw)
		return st_fail(cause, ST_E_CA,
		    "C_Sign returned %lu bytes, "
		    "expected 64",
		    (unsigned long)raw_len);
	es = ECDSA_SIG_new();
	r = BN_bin2bn(raw, 32, NULL);
	s = BN_bin2bn(raw + 32, 32, NULL);
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "encoding the signature");
	}
	der_len = i2d_ECDSA_SIG(es, &der);
	ECDSA_SIG_free(es);
	if (der_len <= 0)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "encoding the signature");
	/* The extkey frees with free(), OpenSSL's buffer with OPENSSL_free. */
	*sig = xmalloc((size_t)der_len);
	memcpy(*sig, der, (size_t)der_len);
	*sig_len = (size_t)der_len;
	OPENSSL_free(der);
	return ST_OK;
}

static st_err
make_extkey(struct pkcs11_key *k, char **cause)
{
	unsigned char *spki = NULL;
	int len = i2d_PUBKEY(k->pub, &spki);
	st_err err;

	if (len <= 0)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "encoding the public key");
	err = extkey_new(spki, (size_t)len, sign_cb, k, &k->ext, cause);
	OPENSSL_free(spki);
	return err;
}

/* Module, session, login: what open and generate share. */
static st_err
start(const struct pkcs11_opts *o, struct pkcs11_uri *u,
    struct pkcs11_key **out, char **cause)
{
	struct pkcs11_key *k = NULL;
	st_err err;

	*out = NULL;
	err = pkcs11_uri_parse(o->uri, u, cause);
	if (err)
		goto out;
	k = xcalloc(1, sizeof *k);
	k->where = xasprintf("token '%s' object '%s'", u->token, u->object);
	err = load_module(k,
	    o->module && o->module[0] ? o->module : PKCS11_DEFAULT_MODULE,
	    cause);
	if (err)
		goto out;
	err = open_session(k, u->token, cause);
	if (err)
		goto out;
	err = login(k, o, cause);
	if (err)
		goto out;
	*out = k;
	k = NULL;
out:
	pkcs11_key_free(k);
	return err;
}

static st_err
find_key(struct pkcs11_key *k, const char *label, char **cause)
{
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n;
	st_err err;

	err = find_objects(k, CKO_PRIVATE_KEY, label, h, 2, &n, cause);
	if (err)
		return err;
	if (n != 1)
		return st_fail(cause, ST_E_CA, "%s: %s private key", k->where,
		    n == 0 ? "no" : "more than one");
	k->priv = h[0];
	err = find_objects(k, CKO_PUBLIC_KEY, label, h, 2, &n, cause);
	if (err)
		return err;
	if (n != 1)
		return st_fail(cause, ST_E_CA, "%s: %s public key", k->where,
		    n == 0 ? "no" : "more than one");
	err = read_public(k, h[0], cause);
	if (err)
		return err;
	return make_extkey(k, cause);
}

st_err
pkcs11_key_open(const struct pkcs11_opts *o, struct pkcs11_key **out,
    char **cause)
{
	struct pkcs11_uri u;
	st_err err;

	err = start(o, &u, out, cause);
	if (err)
		goto out;
	err = find_key(*out, u.object, cause);
	if (err) {
		pkcs11_key_free(*out);
		*out = NULL;
	}
out:
	pkcs11_uri_clear(&u);
	return err;
}

static st_err
generate(struct pkcs11_key *k, const char *label, char **cause)
{
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_HANDLE h[1], pub, priv;
	unsigned char id[16];
	CK_ULONG n;
	CK_RV rv;
	st_err err;

	err = find_objects(k, CKO_PRIVATE_KEY, label, h, 1, &n, cause);
	if (err)
		return err;
	if (n != 0)
		return st_fail(cause, ST_E_EXISTS,
		    "%s already exists; choose "
		    "another object= label or delete it from the token",
		    k->where);
	if (RAND_bytes(id, sizeof id) != 1)
		return st_fail_ssl(cause, ST_E_CRYPTO, "RAND_bytes");
	CK_ATTRIBUTE pub_t[] = {
		{ CKA_EC_PARAMS, (void *)p256_params, sizeof p256_params },
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_VERIFY, &yes, sizeof yes },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, id, sizeof id },
	};
	/* Generated inside and never extractable: the whole point. */
	CK_ATTRIBUTE priv_t[] = {
		{ CKA_TOKEN, &yes, sizeof yes },
		{ CKA_PRIVATE, &yes, sizeof yes },
		{ CKA_SENSITIVE, &yes, sizeof yes },
		{ CKA_EXTRACTABLE, &no, sizeof no },
		{ CKA_SIGN, &yes, sizeof yes },
		{ CKA_DECRYPT, &no, sizeof no },
		{ CKA_UNWRAP, &no, sizeof no },
		{ CKA_DERIVE, &no, sizeof no },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, id, sizeof id },
	};
	rv = k->f->C_GenerateKeyPair(k->session, &mech, pub_t,
	    sizeof pub_t / sizeof pub_t[0], priv_t,
	    sizeof priv_t / sizeof priv_t[0], &pub, &priv);
	if (rv != CKR_OK)
		return p11_fail(cause, "C_GenerateKeyPair", rv);
	log_info("generated an EC P-256 key in %s", k->where);
	return ST_OK;
}

st_err
pkcs11_key_generate(const struct pkcs11_opts *o, struct pkcs11_key **out,
    char **cause)
{
	struct pkcs11_uri u;
	st_err err;

	err = start(o, &u, out, cause);
	if (err)
		goto out;
	err = generate(*out, u.object, cause);
	if (err == ST_OK)
		err = find_key(*out, u.object, cause);
	if (err) {
		pkcs11_key_free(*out);
		*out = NULL;
	}
out:
	pkcs11_uri_clear(&u);
	return err;
}

EVP_PKEY *
pkcs11_key_pkey(struct pkcs11_key *k)
{
	return extkey_pkey(k->ext);
}

EVP_PKEY *
pkcs11_key_public(struct pkcs11_key *k)
{
	return k->pub;
}

void
pkcs11_key_free(struct pkcs11_key *k)
{
	if (k == NULL)
		return;
	extkey_free(k->ext);
	EVP_PKEY_free(k->pub);
	if (k->logged_in)
		k->f->C_Logout(k->session);
	if (k->have_session)
		k->f->C_CloseSession(k->session);
	if (k->initialized)
		k->f->C_Finalize(NULL);
	if (k->dl != NULL)
		dlclose(k->dl);
	free(k->where);
	free(k);
}
