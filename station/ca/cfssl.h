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
 *
 * Never sent: "subject" and "hosts", which would override the CSR's
 * subject and names; the certificate says what the device asked for, or
 * cert_check refuses it.  CFSSL returns only the leaf: the chain given to
 * the station comes from chain_file.  Revocation needs CFSSL's certificate
 * database and the issuer's key id: revoke is ST_E_UNSUPPORTED (revoke with
 * `cfssl revoke` on the CA host).
 *
 * Settings ([ca] keys): addr (required), profile, auth_key_file,
 * chain_file, ca_bundle, pin_sha256, timeout_ms, retries.
 */
#ifndef ST_CA_CFSSL_H
#define ST_CA_CFSSL_H

#include "ca.h"

st_err cfssl_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause);

#endif
