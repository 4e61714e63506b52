/*
 * CFSSL (`cfssl serve`, or multirootca) as the CA.
 *
 *	sign      POST {addr}/api/v1/cfssl/sign
 *	          {"certificate_request": PEM, "profile": P}
 *	authsign  POST {addr}/api/v1/cfssl/authsign  (when auth_key_file is set)
 *	          {"token": base64(HMAC-SHA256(key, R)), "request": base64(R)}
 *	          where R is the sign request above and key the hex key of the
 *	          profile's auth_key in CFSSL's config
 *	reply     {"success": true, "result": {"certificate": PEM}}, or an
 *	          HTTP error with errors[].message
 *	revoke    POST {addr}/api/v1/cfssl/revoke
 *	          {"serial": DECIMAL, "authority_key_id": HEX, "reason": R}
 *	          (needs `cfssl serve -db-config`: its certificate database)
 *
 * Never sent: "subject" and "hosts", which would override the CSR's
 * subject and names; the certificate says what the device asked for, or
 * cert_check refuses it.  CFSSL returns only the leaf: the chain given to
 * the station comes from chain_file.  Revocation goes through CFSSL's
 * revoke API, which finds the certificate in CFSSL's database by serial
 * and the issuer's key id (the certificate's AKI, else chain_file's first
 * certificate's SKI); a CFSSL run without -db-config answers that it has
 * no database, which is ST_E_UNSUPPORTED (revoke on the CA host).
 *
 * Settings ([ca] keys): addr (required), profile, auth_key_file,
 * chain_file, ca_bundle, pin_sha256, timeout_ms, retries.
 */
#ifndef ST_CA_CFSSL_H
#define ST_CA_CFSSL_H

#include <stddef.h>

#include "station/ca/ca.h"

/*
 * Parse a 200 sign/authsign reply body (len bytes; need not be
 * NUL-terminated): out gets result.certificate and, as its chain, new
 * references to the certificates of `ca_chain` (borrowed; NULL for none).
 * ST_E_CA unless success is true and result.certificate is PEM; on
 * failure out is zeroed.
 */
st_err cfssl_parse_reply(const char *body, size_t len,
    STACK_OF(X509) * ca_chain, struct ca_issued *out, char **cause);

/* The JSON body of a revoke request (new string), or NULL when
 * `serial_hex` is not hex.  `reason` is an RFC 5280 name in any case. */
char *cfssl_revoke_body(const char *serial_hex, const char *aki,
    const char *reason);

st_err cfssl_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause);

#endif
