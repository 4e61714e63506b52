/*
 * A CA key held in a PKCS#11 token (SoftHSM2, a USB HSM...).
 *
 * The module is loaded with dlopen; one session is opened on the token and
 * logged in as the user.  The private key never leaves the token: it is
 * used through C_Sign (CKM_ECDSA on an EC P-256 key; the raw r||s the token
 * returns is re-encoded as a DER ECDSA-Sig-Value) behind an extkey (see
 * extkey.h), so X509_sign and X509_CRL_sign work unchanged.
 *
 * Keys are named with a subset of the PKCS#11 URI (RFC 7512):
 *
 *	pkcs11:token=NAME;object=LABEL
 *
 * Both attributes are required; the values may use %XX escapes; other
 * attributes (id, type, manufacturer...) are accepted and ignored; query
 * attributes (after '?') are refused, because the PIN never goes in a URI.
 *
 * The PIN comes from a file (first line; the file must not be readable by
 * group or others) or from an environment variable.  It is never logged
 * and never put in a cause string.
 *
 * Not thread-safe: a PKCS#11 session must not be used by two threads at
 * once.  The local CA serialises its signing with its own mutex.
 */
#ifndef ST_CA_PKCS11_H
#define ST_CA_PKCS11_H

#include <openssl/evp.h>

#include "station/util/err.h"

#define PKCS11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct pkcs11_uri {
	char *token;  /* CKA_LABEL of the token (owned) */
	char *object; /* CKA_LABEL of the key objects (owned) */
};

/* Parse `uri` into *out (clear with pkcs11_uri_clear).  ST_E_CONFIG names
 * what is wrong. */
st_err pkcs11_uri_parse(const char *uri, struct pkcs11_uri *out, char **cause);
void pkcs11_uri_clear(struct pkcs11_uri *u);

/* Where the token's key and PIN come from; all borrowed. */
struct pkcs11_opts {
	const char *uri;      /* "pkcs11:token=...;object=..." */
	const char *module;   /* NULL: PKCS11_DEFAULT_MODULE */
	const char *pin_file; /* one of pin_file and pin_env */
	const char *pin_env;  /* name of the environment variable */
};

struct pkcs11_key;

/*
 * Load the module, log in to the token and find the private key and its
 * public key labelled `object`.  *out is new (pkcs11_key_free).
 * ST_E_CONFIG: bad URI, no PIN source, PIN file readable by others;
 * ST_E_CA: module, token, login or key not usable (the cause says which).
 */
st_err pkcs11_key_open(const struct pkcs11_opts *o, struct pkcs11_key **out,
    char **cause);

/*
 * Generate an EC P-256 key pair inside the token, labelled `object`:
 * private key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, not CKA_EXTRACTABLE,
 * CKA_SIGN only (CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false).  ST_E_EXISTS if the token already holds a key with that
 * label.  Then opens it as pkcs11_key_open does.
 */
st_err pkcs11_key_generate(const struct pkcs11_opts *o, struct pkcs11_key **out,
    char **cause);

/*
 * The key as an EVP_PKEY whose private operation is C_Sign (borrowed; valid
 * until pkcs11_key_free).  Use it with X509_sign, X509_CRL_sign.
 */
EVP_PKEY *pkcs11_key_pkey(struct pkcs11_key *k);

/* The public key as an ordinary EVP_PKEY (borrowed), e.g. for
 * X509_set_pubkey or comparing with a certificate. */
EVP_PKEY *pkcs11_key_public(struct pkcs11_key *k);

/* Logs out, closes the session, unloads the module.  Accepts NULL. */
void pkcs11_key_free(struct pkcs11_key *k);

#endif
