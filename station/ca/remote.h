/*
 * What the remote CA backends (vault.c, cfssl.c, hub.c) share: settings
 * checks, PEM and JSON handling of replies, and the errors a server
 * returns.  Parsers here work on buffers and are tested directly.
 */
#ifndef ST_CA_REMOTE_H
#define ST_CA_REMOTE_H

#include <jansson.h>
#include <openssl/x509.h>

#include "station/util/err.h"
#include "station/ca/ca.h"
#include "station/ca/http.h"

#define REMOTE_MSG_MAX 400 /* characters of a server's message quoted */

/* The setting `key`, or ST_E_CONFIG "[ca] key: missing (backend ...)". */
st_err remote_require(const struct ca_settings *s, const char *backend,
    const char *key, const char **out, char **cause);

/* What every HTTPS backend reads first: the required `addr` (*addr
 * borrowed from s), checked, and the transfer options ([ca] timeout_ms,
 * retries, ca_bundle, pin_sha256) into *http.  ST_E_CONFIG naming the
 * key. */
st_err remote_http_setup(const struct ca_settings *s, const char *backend,
    const char **addr, struct http_opts *http, char **cause);

/* "<addr><path>" with one '/' between them (new string). */
char *remote_url(const char *addr, const char *path);

/* PEM text of a CSR (new string). */
char *remote_csr_pem(X509_REQ *csr);

/* The first certificate in `pem` (*out owned).  ST_E_CA naming `what`
 * when there is none or its serial number is not positive (RFC 5280):
 * the serial must be recordable as hex (ca_issued.serial_hex). */
st_err remote_cert_from_pem(const char *pem, const char *what, X509 **out,
    char **cause);

/* Append every certificate in `pem` to `chain`.  ST_E_CA if none. */
st_err remote_chain_add_pem(STACK_OF(X509) * chain, const char *pem,
    const char *what, char **cause);

/* Every certificate of the PEM file `path` (new stack).  ST_E_CONFIG. */
st_err remote_chain_file(const char *path, STACK_OF(X509) * *out, char **cause);

/* Parse a JSON reply body.  ST_E_CA "<what>: the reply is not JSON ...". */
st_err remote_json(const struct http_reply *r, const char *what, json_t **out,
    char **cause);

/*
 * The server's own words from an error reply, one line, printable
 * characters only, at most REMOTE_MSG_MAX: the strings of an "errors"
 * array (Vault: strings; CFSSL: objects with "message"), else "message"
 * (string or array of strings), else "error".  NULL when there are none
 * or the body is not JSON.  New string.
 */
char *remote_error_text(const struct http_reply *r);

/* 1 if two serial numbers are equal: hex, with or without ':' separators,
 * any case, leading zeros ignored. */
int remote_serial_equal(const char *a, const char *b);

/* Move cert and chain into *out and set its serial (cert and chain are
 * taken; chain may be NULL). */
void remote_issued_take(struct ca_issued *out, X509 *cert,
    STACK_OF(X509) * chain);

/* JSON string member `key` of `obj`, or NULL. */
const char *remote_json_str(json_t *obj, const char *key);

#endif
