/*
 * Looking back at what Vault issued, for crash recovery (ca.h:
 * find_issued).  Vault's documented PKI API has no search by key, and
 * listing the mount ({mount}/certs) grows with every certificate it holds
 * (past the reply cap at a few thousand).  The run records the serial of
 * Vault's reply as soon as it arrives (ledger_run_ca_reply), so recovery
 * reads that one certificate:
 *
 *	GET {addr}/v1/{mount}/cert/{serial} -> data.certificate
 *
 * and takes it when it is for the run's key.  A station stopped before
 * the reply arrived recorded no serial: ST_E_UNSUPPORTED (recovery says
 * where to look).  Reading {mount}/cert/SERIAL needs no token policy.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"
#include "station/ca/cred.h"
#include "station/ca/remote.h"
#include "station/ca/vault.h"
#include "station/ca/vault_int.h"

#define LOG_MODULE "vault"
#include "station/util/log.h"

/* One GET or LIST with the token, bounded by timeout_ms.  ST_OK with any
 * HTTP status (the caller reads it). */
static st_err
vault_get(struct vault_ca *ca, const char *method, const char *path,
    struct http_reply *r, char **cause)
{
	struct deadline dl = deadline_in((uint64_t)ca->http.timeout_ms);
	struct http_header h[2];
	char *url = remote_url(ca->addr, path);
	char *token = NULL;
	st_err err;

	err = vault_get_token(ca, dl, 0, &token, cause);
	if (err == ST_OK)
		err = http_call(&ca->http, method, url, h,
		    vault_headers(ca, token, h), NULL, dl, r, cause);
	cred_free(token);
	free(url);
	return err;
}

/* GET {mount}/cert/{serial} (*out owned; NULL when Vault no longer has
 * it, e.g. tidied meanwhile). */
static st_err
read_cert(struct vault_ca *ca, const char *serial, X509 **out, char **cause)
{
	char *path = xasprintf("v1/%s/cert/%s", ca->mount, serial);
	struct http_reply r = { 0 };
	json_t *root = NULL;
	st_err err;
	const char *pem;

	*out = NULL;
	err = vault_get(ca, "GET", path, &r, cause);
	if (err) {
		st_wrap(cause, err, "Vault read of certificate %s", serial);
		goto out;
	}
	if (r.status == 404)
		goto out;
	if (r.status != 200) {
		err =
		    vault_refused(ca, "Vault read of a certificate", &r, cause);
		goto out;
	}
	err = remote_json(&r, "Vault read of a certificate", &root, cause);
	if (err)
		goto out;
	pem = remote_json_str(json_object_get(root, "data"), "certificate");
	if (pem == NULL) {
		err = st_fail(cause, ST_E_CA,
		    "Vault read of certificate %s: "
		    "the reply has no data.certificate",
		    serial);
		goto out;
	}
	err = remote_cert_from_pem(pem, "data.certificate", out, cause);
out:
	free(path);
	json_decref(root);
	http_reply_clear(&r);
	return err;
}

st_err
vault_find_issued(struct ca_backend *base, const struct ca_lookup *q,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	struct vault_ca *ca = (struct vault_ca *)base;
	X509 *cert = NULL;
	char *serial = NULL;
	char key[65];
	st_err err;

	if (q->serial_hex == NULL)
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "Vault cannot search by key, and the station stopped "
		    "before Vault's reply (with the serial) arrived");
	if (strspn(q->serial_hex, "0123456789abcdef") != strlen(q->serial_hex))
		return st_fail(cause, ST_E_ARG,
		    "the recorded serial is not lower-case hex");
	serial = vault_serial_colons(q->serial_hex);
	err = read_cert(ca, serial, &cert, cause);
	if (err == ST_OK && cert == NULL)
		log_warn("Vault no longer has certificate %s (tidied?)",
		    serial);
	if (err == ST_OK && cert != NULL) {
		cert_key_sha256(cert, key);
		/* The reply may have been another device's certificate:
		 * only one for the run's key is the run's. */
		if (strcmp(key, q->key_sha256) == 0)
			cb(cert, arg);
	}
	X509_free(cert);
	free(serial);
	return err;
}
