/*
 * Looking back at what Vault issued, for crash recovery (ca.h:
 * find_by_key).  Vault's documented PKI API has no search by key, so this
 * lists every serial the mount holds and reads each certificate:
 *
 *	LIST {addr}/v1/{mount}/certs         -> data.keys[] ("xx:xx:...")
 *	GET  {addr}/v1/{mount}/cert/{serial} -> data.certificate
 *
 * One request per certificate the mount stores: recovery is rare (a
 * station died inside ca-sign), and Vault's `tidy` keeps the list to the
 * certificates still valid.  The token needs `list` on {mount}/certs.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"
#include "station/ca/cred.h"
#include "station/ca/remote.h"
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

/* data.keys of LIST {mount}/certs (*keys new; an empty array when Vault
 * answers 404 without errors, its way of saying "none"). */
static st_err
list_serials(struct vault_ca *ca, json_t **keys, char **cause)
{
	char *path = xasprintf("v1/%s/certs", ca->mount);
	struct http_reply r = { 0 };
	json_t *root = NULL;
	char *msg = NULL;
	st_err err;
	json_t *k;

	*keys = NULL;
	err = vault_get(ca, "LIST", path, &r, cause);
	if (err) {
		st_wrap(cause, err, "Vault list of certificates");
		goto out;
	}
	/* Vault answers an empty mount with a bare 404; a 404 with errors
	 * is a refusal like any other. */
	if (r.status == 404)
		msg = remote_error_text(&r);
	if (r.status == 404 && msg == NULL) {
		*keys = json_array();
		goto out;
	}
	if (r.status != 200) {
		err =
		    vault_refused(ca, "Vault list of certificates", &r, cause);
		goto out;
	}
	err = remote_json(&r, "Vault list of certificates", &root, cause);
	if (err)
		goto out;
	k = json_object_get(json_object_get(root, "data"), "keys");
	if (!json_is_array(k)) {
		err = st_fail(cause, ST_E_CA,
		    "Vault list of certificates: "
		    "the reply has no data.keys");
		goto out;
	}
	*keys = json_incref(k);
out:
	free(msg);
	free(path);
	json_decref(root);
	http_reply_clear(&r);
	return err;
}

/* A serial as Vault lists it goes into a URL: hex and separators only. */
static int
serial_is_plain(const char *s)
{
	return s[0] != '\0' &&
	    strspn(s, "0123456789abcdefABCDEF:-") == strlen(s);
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
vault_find_by_key(struct ca_backend *base, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	struct vault_ca *ca = (struct vault_ca *)base;
	json_t *keys = NULL, *e;
	size_t i, n_read = 0;
	int stop = 0;
	st_err err;

	err = list_serials(ca, &keys, cause);
	if (err)
		return err;
	json_array_foreach(keys, i, e)
	{
		const char *serial = json_string_value(e);
		X509 *cert = NULL;
		char key[65];

		if (stop)
			break;
		if (serial == NULL || !serial_is_plain(serial)) {
			log_warn("skipping a listed serial that is not hex");
			continue;
		}
		err = read_cert(ca, serial, &cert, cause);
		if (err)
			break;
		if (cert == NULL)
			continue;
		n_read++;
		cert_key_sha256(cert, key);
		if (strcmp(key, key_sha256) == 0)
			stop = cb(cert, arg);
		X509_free(cert);
	}
	log_debug("looked through %zu certificates of %s/certs", n_read,
	    ca->mount);
	json_decref(keys);
	return err;
}
