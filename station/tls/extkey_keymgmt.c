/*
 * Key management for external keys (EC P-256, RSA).
 *
 * A key object holds the public key as an ordinary default-provider
 * EVP_PKEY and answers every parameter query by forwarding to it, so bits,
 * security bits, maximum signature size, group name, point format, the
 * encoded public key and the default digest are exactly what OpenSSL's own
 * keys report.  Export hands out the public part only: OpenSSL tries to
 * export a key to the default provider before it looks for a signature
 * implementation next to the key manager, and an exported key without its
 * private half would fail there with "missing private key".
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>

#include "station/tls/extkey_int.h"
#include "station/util/xalloc.h"

static void *
ek_new(enum ek_type type)
{
	struct ek_key *key = xcalloc(1, sizeof *key);

	key->type = type;
	return key;
}

static void *
ek_ec_new(void *provctx)
{
	(void)provctx;
	return ek_new(EK_EC);
}

static void *
ek_rsa_new(void *provctx)
{
	(void)provctx;
	return ek_new(EK_RSA);
}

static void
ek_free(void *keydata)
{
	struct ek_key *key = keydata;

	if (key == NULL)
		return;
	EVP_PKEY_free(key->pub);
	free(key);
}

static int
ek_has(const void *keydata, int selection)
{
	const struct ek_key *key = keydata;

	if (key == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0 && key->pub == NULL)
		return 0;
	/* The private half is "present" when a signer stands behind it. */
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 &&
	    key->owner == NULL)
		return 0;
	return 1;
}

static int
ek_match(const void *keydata1, const void *keydata2, int selection)
{
	const struct ek_key *a = keydata1, *b = keydata2;

	if (a->type != b->type || a->pub == NULL || b->pub == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
		return EVP_PKEY_eq(a->pub, b->pub) == 1;
	if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0)
		return EVP_PKEY_parameters_eq(a->pub, b->pub) == 1;
	return 1;
}

/*
 * Two sources: extkey_new passes its owner (EXTKEY_PARAM_REF); OpenSSL
 * passes public parameters when it compares a certificate's key with ours.
 * Private parameters, if any, are ignored: this provider never holds them.
 */
static int
ek_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct ek_key *key = keydata;
	const OSSL_PARAM *ref;
	EVP_PKEY_CTX *pctx = NULL;
	int ok = 0;

	if (key == NULL || key->pub != NULL)
		return 0;
	ref = OSSL_PARAM_locate_const(params, EXTKEY_PARAM_REF);
	if (ref != NULL) {
		struct extkey *owner;

		if (ref->data_type != OSSL_PARAM_OCTET_STRING ||
		    ref->data_size != sizeof owner)
			return 0;
		memcpy(&owner, ref->data, sizeof owner);
		key->pub = ek_owner_pub(owner);
		if (!EVP_PKEY_up_ref(key->pub)) {
			key->pub = NULL;
			return 0;
		}
		key->owner = owner;
		return 1;
	}
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0)
		return 0;
	pctx = EVP_PKEY_CTX_new_from_name(ek_libctx(),
	    key->type == EK_EC ? "EC" : "RSA", EXTKEY_DEFAULT_PROPQ);
	if (pctx != NULL && EVP_PKEY_fromdata_init(pctx) > 0 &&
	    EVP_PKEY_fromdata(pctx, &key->pub, EVP_PKEY_PUBLIC_KEY,
		(OSSL_PARAM *)params) > 0)
		ok = 1;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

static int
ek_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct ek_key *key = keydata;
	OSSL_PARAM *params = NULL;
	int what, ok;

	/* Refused on purpose: see the comment at the top of this file. */
	if (key == NULL || key->pub == NULL ||
	    (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
		what = EVP_PKEY_PUBLIC_KEY;
	else
		what = EVP_PKEY_KEY_PARAMETERS;
	if (EVP_PKEY_todata(key->pub, what, &params) <= 0)
		return 0;
	ok = cb(params, cbarg);
	OSSL_PARAM_free(params);
	return ok;
}

static const OSSL_PARAM ek_ec_public_types[] = {
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL,
	    0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM ek_rsa_public_types[] = {
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END
};

static const OSSL_PARAM *
ek_ec_types(int selection)
{
	(void)selection;
	return ek_ec_public_types;
}

static const OSSL_PARAM *
ek_rsa_types(int selection)
{
	(void)selection;
	return ek_rsa_public_types;
}

static int
ek_get_params(void *keydata, OSSL_PARAM params[])
{
	struct ek_key *key = keydata;

	if (key == NULL || key->pub == NULL)
		return 0;
	return EVP_PKEY_get_params(key->pub, params);
}

static const OSSL_PARAM ek_ec_gettable[] = {
	OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL,
	    0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
	OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
	OSSL_PARAM_END
};

static const OSSL_PARAM ek_rsa_gettable[] = {
	OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
	OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END
};

static const OSSL_PARAM *
ek_ec_gettable_params(void *provctx)
{
	(void)provctx;
	return ek_ec_gettable;
}

static const OSSL_PARAM *
ek_rsa_gettable_params(void *provctx)
{
	(void)provctx;
	return ek_rsa_gettable;
}

static const char *
ek_ec_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "ECDSA" : NULL;
}

static const char *
ek_rsa_operation_name(int operation_id)
{
	return operation_id == OSSL_OP_SIGNATURE ? "RSA" : NULL;
}

#define EK_FN(id, fn) \
	{ \
		id, (void (*)(void))(fn) \
	}

const OSSL_DISPATCH ek_ec_keymgmt_functions[] = {
	EK_FN(OSSL_FUNC_KEYMGMT_NEW, ek_ec_new),
	EK_FN(OSSL_FUNC_KEYMGMT_FREE, ek_free),
	EK_FN(OSSL_FUNC_KEYMGMT_HAS, ek_has),
	EK_FN(OSSL_FUNC_KEYMGMT_MATCH, ek_match),
	EK_FN(OSSL_FUNC_KEYMGMT_IMPORT, ek_import),
	EK_FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ek_ec_types),
	EK_FN(OSSL_FUNC_KEYMGMT_EXPORT, ek_export),
	EK_FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ek_ec_types),
	EK_FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, ek_get_params),
	EK_FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ek_ec_gettable_params),
	EK_FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ek_ec_operation_name),
	{ 0, NULL },
};

const OSSL_DISPATCH ek_rsa_keymgmt_functions[] = {
	EK_FN(OSSL_FUNC_KEYMGMT_NEW, ek_rsa_new),
	EK_FN(OSSL_FUNC_KEYMGMT_FREE, ek_free),
	EK_FN(OSSL_FUNC_KEYMGMT_HAS, ek_has),
	EK_FN(OSSL_FUNC_KEYMGMT_MATCH, ek_match),
	EK_FN(OSSL_FUNC_KEYMGMT_IMPORT, ek_import),
	EK_FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ek_rsa_types),
	EK_FN(OSSL_FUNC_KEYMGMT_EXPORT, ek_export),
	EK_FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ek_rsa_types),
	EK_FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, ek_get_params),
	EK_FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ek_rsa_gettable_params),
	EK_FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ek_rsa_operation_name),
	{ 0, NULL },
};
