/*
 * Internals shared by extkey.c (provider, library context, key objects'
 * owner), extkey_keymgmt.c (key management) and extkey_sig.c (signature).
 */
#ifndef ST_EXTKEY_INT_H
#define ST_EXTKEY_INT_H

#include <stdint.h>

#include <openssl/core_dispatch.h>
#include <openssl/evp.h>

#include "station/tls/extkey.h"

/* The provider's name; its algorithms are fetched with EXTKEY_PROPQ. */
#define EXTKEY_PROV_NAME "station-extkey"
#define EXTKEY_PROPQ "provider=" EXTKEY_PROV_NAME
#define EXTKEY_DEFAULT_PROPQ "provider=default"
/* Octet-string parameter carrying a `struct extkey *` to the key import. */
#define EXTKEY_PARAM_REF "station-extkey-ref"

enum ek_type {
	EK_EC = 1,
	EK_RSA = 2,
};

/* Provider-side key object (the keymgmt's keydata). */
struct ek_key {
	enum ek_type type;
	EVP_PKEY *pub;	      /* public key in the default provider (owned) */
	struct extkey *owner; /* NULL: public only (imported from elsewhere) */
};

/* The process-wide library context (created on first use). */
OSSL_LIB_CTX *ek_libctx(void);

/* Runs the owner's callback; on failure raises an OpenSSL error. */
int ek_owner_sign(struct extkey *owner, enum sig_scheme sig_alg,
    const uint8_t *digest, size_t digest_len, uint8_t **sig, size_t *sig_len);
/* The owner's public key (borrowed). */
EVP_PKEY *ek_owner_pub(struct extkey *owner);

extern const OSSL_DISPATCH ek_ec_keymgmt_functions[];
extern const OSSL_DISPATCH ek_rsa_keymgmt_functions[];
extern const OSSL_DISPATCH ek_ecdsa_signature_functions[];
extern const OSSL_DISPATCH ek_rsa_signature_functions[];

#endif
