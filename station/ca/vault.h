/*
 * HashiCorp Vault (or OpenBao) PKI secrets engine as the CA.
 *
 *	sign    POST {addr}/v1/{mount}/sign/{role}   X-Vault-Token
 *	        {"csr", "common_name", "format": "pem", "ttl": "<days*24>h",
 *	         "exclude_cn_from_sans": true}
 *	        -> data.certificate, data.ca_chain[] (or data.issuing_ca),
 *	           data.serial_number
 *	revoke  POST {addr}/v1/{mount}/revoke {"serial_number": "xx:xx:..."}
 *	find    GET {addr}/v1/{mount}/cert/{serial} -> data.certificate, the
 *	        serial the ledger recorded from the run's reply (crash
 *	        recovery: ca.h find_issued; vault_find.c).  Vault cannot
 *	        search by key and the mount's list is never read.
 *	login   POST {addr}/v1/auth/approle/login {"role_id", "secret_id"}
 *	        -> auth.client_token, auth.lease_duration (AppRole only; the
 *	           token is renewed by logging in again once two thirds of its
 *	           lease have passed, or after Vault refuses it)
 *	token   GET {addr}/v1/auth/token/lookup-self at open (a static token:
 *	        refused = the station does not start), POST
 *	        {addr}/v1/auth/token/renew-self at half its life when it is
 *	        renewable (vault_token.c)
 *
 * Settings ([ca] keys): addr, role (required); mount (default "pki"),
 * namespace; one of token_file, token_env, or approle_role_id_file +
 * approle_secret_id_file; ca_bundle, pin_sha256, timeout_ms, retries.
 */
#ifndef ST_CA_VAULT_H
#define ST_CA_VAULT_H

#include <stddef.h>

#include "station/ca/ca.h"

st_err vault_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause);

/*
 * The reply parsers, pure functions on a 200 reply's body (len bytes; it
 * need not be NUL-terminated).  ST_E_CA when the body is not what Vault
 * sends; the cause quotes no credential.
 *
 * sign: out gets data.certificate, the chain from data.ca_chain[] (else
 * data.issuing_ca) and the certificate's serial, which data.serial_number,
 * when present, must equal.  On failure out is zeroed.
 *
 * login (AppRole): *token (new string, free with cred_free) is
 * auth.client_token, *lease_s auth.lease_duration (0 = does not expire).
 */
st_err vault_parse_sign_reply(const char *body, size_t len,
    struct ca_issued *out, char **cause);
st_err vault_parse_login_reply(const char *body, size_t len, char **token,
    long long *lease_s, char **cause);

/* What lookup-self ("data") or renew-self ("auth") says of a token. */
struct vault_token_info {
	long long ttl_s;	  /* seconds left; 0 = does not expire */
	long long creation_ttl_s; /* its TTL when made (lookup only; 0 if
	                             not said) */
	int renewable;
};

/* Parse a 200 lookup-self (`member` "data": ttl) or renew-self ("auth":
 * lease_duration) reply.  ST_E_CA when the TTL is missing. */
st_err vault_parse_token_info(const char *body, size_t len, const char *member,
    struct vault_token_info *info, char **cause);

/* "1a2b3" -> "01:a2:b3" (Vault's serial_number form; new string). */
char *vault_serial_colons(const char *serial_hex);

#endif
