/*
 * External key: the provider, its library context and the key objects'
 * owner (see extkey.h).  Key management is in extkey_keymgmt.c, the
 * signature operations in extkey_sig.c.
 */
#include "station/tls/extkey.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/proverr.h>
#include <openssl/x509.h>

#include "station/x509/chip_sig.h"
#include "station/tls/extkey_int.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "extkey"
#include "station/util/log.h"

struct extkey {
	EVP_PKEY *pub;	/* the public key, default provider (owned) */
	EVP_PKEY *pkey; /* the same key served by the provider (owned) */
	extkey_sign_fn fn;
	void *ctx;
	pthread_mutex_t lock; /* guards the fields below */
	unsigned long sign_count;
	unsigned long bad_signatures;
	char *last_error;
	/* The last signature, not yet checked against the public key (see
	 * put_aside): sig NULL when there is none. */
	struct {
		enum sig_scheme scheme;
		uint8_t digest[64];
		size_t digest_len;
		uint8_t *sig;
		size_t sig_len;
	} unchecked;
};

static OSSL_LIB_CTX *ek_global_libctx;
static pthread_once_t ek_once = PTHREAD_ONCE_INIT;

/* Names must carry the aliases libssl and libcrypto look keys up by. */
static const OSSL_ALGORITHM ek_keymgmt[] = {
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", EXTKEY_PROPQ,
	    ek_ec_keymgmt_functions, "station external EC key" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", EXTKEY_PROPQ,
	    ek_rsa_keymgmt_functions, "station external RSA key" },
	{ NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM ek_signature[] = {
	{ "ECDSA", EXTKEY_PROPQ, ek_ecdsa_signature_functions,
	    "ECDSA through the external key" },
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", EXTKEY_PROPQ,
	    ek_rsa_signature_functions, "RSA through the external key" },
	{ NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM *
ek_query(void *provctx, int operation_id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	switch (operation_id) {
	case OSSL_OP_KEYMGMT:
		return ek_keymgmt;
	case OSSL_OP_SIGNATURE:
		return ek_signature;
	default:
		return NULL;
	}
}

static const OSSL_DISPATCH ek_provider_functions[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))ek_query },
	{ 0, NULL },
};

static int
ek_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*out = ek_provider_functions;
	*provctx = NULL;
	return 1;
}

static void
ek_libctx_init(void)
{
	OSSL_LIB_CTX *lc = OSSL_LIB_CTX_new();

	if (lc == NULL)
		return;
	/* Loading any provider turns off the automatic "default": load it,
	 * and prefer it for every fetch that does not ask for us by name. */
	if (!OSSL_PROVIDER_add_builtin(lc, EXTKEY_PROV_NAME,
		ek_provider_init) ||
	    OSSL_PROVIDER_load(lc, "default") == NULL ||
	    OSSL_PROVIDER_load(lc, EXTKEY_PROV_NAME) == NULL ||
	    !EVP_set_default_properties(lc, "?provider=default")) {
		log_error("cannot set up the external-key library context");
		OSSL_LIB_CTX_free(lc);
		return;
	}
	ek_global_libctx = lc;
}

OSSL_LIB_CTX *
ek_libctx(void)
{
	pthread_once(&ek_once, ek_libctx_init);
	return ek_global_libctx;
}

/*
 * Whether `sig` verifies with the public key.  The signature is handed on
 * either way (the broker's own check is the real test); this only lets a
 * diagnosis say "the chip holds another key" when the broker's alert is
 * lost (TLS 1.3 clients finish before the server has checked them).
 */
static int
signature_verifies(struct extkey *owner, enum sig_scheme sig_alg,
    const uint8_t *digest, size_t digest_len, const uint8_t *sig,
    size_t sig_len)
{
	return chip_sig_verify(ek_libctx(), EXTKEY_DEFAULT_PROPQ, owner->pub,
	    sig_alg, digest, digest_len, sig, sig_len);
}

/* Counts `sig` if it does not verify. */
static void
tally(struct extkey *k, enum sig_scheme scheme, const uint8_t *digest,
    size_t digest_len, const uint8_t *sig, size_t sig_len)
{
	if (signature_verifies(k, scheme, digest, digest_len, sig, sig_len))
		return;
	log_warn("the external key's signature does not verify with its "
		 "public key");
	pthread_mutex_lock(&k->lock);
	k->bad_signatures++;
	pthread_mutex_unlock(&k->lock);
}

/* Checks the signature put aside, if any. */
static void
check_unchecked(struct extkey *k)
{
	enum sig_scheme scheme;
	uint8_t digest[sizeof k->unchecked.digest], *sig;
	size_t digest_len, sig_len;

	pthread_mutex_lock(&k->lock);
	scheme = k->unchecked.scheme;
	digest_len = k->unchecked.digest_len;
	memcpy(digest, k->unchecked.digest, digest_len);
	sig = k->unchecked.sig;
	sig_len = k->unchecked.sig_len;
	k->unchecked.sig = NULL;
	pthread_mutex_unlock(&k->lock);
	if (sig == NULL)
		return;
	tally(k, scheme, digest, digest_len, sig, sig_len);
	free(sig);
}

/*
 * Keeps a copy of the signature just handed on, to be checked when the
 * count of bad ones is asked for (extkey_bad_signatures) or the next
 * signature comes.  The check only serves a diagnosis after a failed
 * handshake, and made here it would delay the TLS flight the broker waits
 * for (an ECDSA verification on every device's path).  A digest longer
 * than the slot is checked at once.
 */
static void
put_aside(struct extkey *k, enum sig_scheme scheme, const uint8_t *digest,
    size_t digest_len, const uint8_t *sig, size_t sig_len)
{
	uint8_t *copy;

	check_unchecked(k);
	if (digest_len > sizeof k->unchecked.digest) {
		tally(k, scheme, digest, digest_len, sig, sig_len);
		return;
	}
	copy = xmalloc(sig_len);
	memcpy(copy, sig, sig_len);
	pthread_mutex_lock(&k->lock);
	free(k->unchecked.sig);
	k->unchecked.scheme = scheme;
	memcpy(k->unchecked.digest, digest, digest_len);
	k->unchecked.digest_len = digest_len;
	k->unchecked.sig = copy;
	k->unchecked.sig_len = sig_len;
	pthread_mutex_unlock(&k->lock);
}

int
ek_owner_sign(struct extkey *owner, enum sig_scheme sig_alg,
    const uint8_t *digest, size_t digest_len, uint8_t **sig, size_t *sig_len)
{
	char *cause = NULL;
	st_err err;
	int ok = 0;

	*sig = NULL;
	*sig_len = 0;
	err = owner->fn(owner->ctx, sig_alg, digest, digest_len, sig, sig_len,
	    &cause);
	pthread_mutex_lock(&owner->lock);
	owner->sign_count++;
	free(owner->last_error);
	owner->last_error = NULL;
	if (err)
		owner->last_error = xstrdup(cause ? cause : st_strerror(err));
	pthread_mutex_unlock(&owner->lock);
	if (err) {
		ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_TO_SIGN,
		    "external key: %s", cause ? cause : st_strerror(err));
		goto out;
	}
	if (*sig == NULL || *sig_len == 0) {
		ERR_raise_data(ERR_LIB_PROV, PROV_R_FAILED_TO_SIGN,
		    "external key returned an empty signature");
		goto out;
	}
	put_aside(owner, sig_alg, digest, digest_len, *sig, *sig_len);
	ok = 1;
out:
	free(cause);
	if (!ok) {
		free(*sig);
		*sig = NULL;
	}
	return ok;
}

EVP_PKEY *
ek_owner_pub(struct extkey *owner)
{
	return owner->pub;
}

/* Only the shapes a chip offers: EC P-256 and RSA 2048..4096. */
static st_err
check_public_key(EVP_PKEY *pub, const char **type, char **cause)
{
	char group[64];
	int bits = EVP_PKEY_get_bits(pub);

	if (EVP_PKEY_is_a(pub, "EC")) {
		if (!EVP_PKEY_get_group_name(pub, group, sizeof group, NULL) ||
		    strcmp(group, "prime256v1") != 0)
			return st_fail(cause, ST_E_UNSUPPORTED,
			    "external EC key is not on P-256");
		*type = "EC";
		return ST_OK;
	}
	if (EVP_PKEY_is_a(pub, "RSA")) {
		if (bits < 2048 || bits > 4096)
			return st_fail(cause, ST_E_UNSUPPORTED,
			    "external RSA key has %d bits (2048..4096 expected)",
			    bits);
		*type = "RSA";
		return ST_OK;
	}
	return st_fail(cause, ST_E_UNSUPPORTED,
	    "external key type %s is not supported",
	    EVP_PKEY_get0_type_name(pub));
}

st_err
extkey_new(const uint8_t *spki_der, size_t spki_len, extkey_sign_fn fn,
    void *ctx, struct extkey **out, char **cause)
{
	OSSL_LIB_CTX *lc = ek_libctx();
	EVP_PKEY_CTX *pctx = NULL;
	struct extkey *k = NULL;
	const unsigned char *p = spki_der;
	const char *type = NULL;
	OSSL_PARAM params[2];
	st_err err = ST_OK;

	*out = NULL;
	if (spki_der == NULL || spki_len == 0 || fn == NULL ||
	    spki_len > 0x10000)
		return st_fail(cause, ST_E_ARG,
		    "external key: no public key "
		    "or no sign function");
	if (lc == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "cannot load the external-key provider");
	k = xcalloc(1, sizeof *k);
	pthread_mutex_init(&k->lock, NULL);
	k->fn = fn;
	k->ctx = ctx;
	k->pub =
	    d2i_PUBKEY_ex(NULL, &p, (long)spki_len, lc, EXTKEY_DEFAULT_PROPQ);
	if (k->pub == NULL || p != spki_der + spki_len) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "external key: the public key is not a valid DER "
		    "SubjectPublicKeyInfo");
		goto out;
	}
	err = check_public_key(k->pub, &type, cause);
	if (err)
		goto out;

	/* The provider's import takes the owner from this parameter. */
	params[0] =
	    OSSL_PARAM_construct_octet_string(EXTKEY_PARAM_REF, &k, sizeof k);
	params[1] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(lc, type, EXTKEY_PROPQ);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &k->pkey, EVP_PKEY_KEYPAIR, params) <= 0) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "external key: the provider refused the key");
		goto out;
	}
	*out = k;
	k = NULL;
out:
	EVP_PKEY_CTX_free(pctx);
	extkey_free(k);
	return err;
}

EVP_PKEY *
extkey_pkey(struct extkey *k)
{
	return k->pkey;
}

OSSL_LIB_CTX *
extkey_libctx(struct extkey *k)
{
	(void)k;
	return ek_libctx();
}

unsigned long
extkey_sign_count(struct extkey *k)
{
	unsigned long n;

	pthread_mutex_lock(&k->lock);
	n = k->sign_count;
	pthread_mutex_unlock(&k->lock);
	return n;
}

unsigned long
extkey_bad_signatures(struct extkey *k)
{
	unsigned long n;

	check_unchecked(k);
	pthread_mutex_lock(&k->lock);
	n = k->bad_signatures;
	pthread_mutex_unlock(&k->lock);
	return n;
}

const char *
extkey_last_error(struct extkey *k)
{
	return k->last_error;
}

void
extkey_free(struct extkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	EVP_PKEY_free(k->pub);
	free(k->last_error);
	free(k->unchecked.sig);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
