/* The CFSSL backend (see cfssl.h). */
#include "station/ca/cfssl.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "station/ca/cred.h"
#include "station/ca/remote.h"

#define LOG_MODULE "cfssl"
#include "station/util/log.h"

struct cfssl_ca {
	struct ca_backend base; /* first: the pipeline sees only this */
	char *addr, *profile;
	struct http_opts http;
	unsigned char *key; /* authsign HMAC key (raw bytes), or NULL */
	size_t key_len;
	STACK_OF(X509) * chain; /* from chain_file, or NULL */
};

static char *
b64(const unsigned char *in, size_t len)
{
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

/* The JSON body: the plain sign request, or its authenticated wrapper. */
static char *
request_body(struct cfssl_ca *ca, X509_REQ *csr)
{
	char *pem = remote_csr_pem(csr);
	json_t *j = json_pack("{s:s}", "certificate_request", pem);
	char *req, *body;

	if (ca->profile != NULL)
		json_object_set_new(j, "profile", json_string(ca->profile));
	req = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(pem);
	if (ca->key == NULL)
		return req;

	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	HMAC(EVP_sha256(), ca->key, (int)ca->key_len, (unsigned char *)req,
	    strlen(req), mac, &mac_len);
	char *token = b64(mac, mac_len);
	char *request = b64((unsigned char *)req, strlen(req));
	j = json_pack("{s:s, s:s}", "token", token, "request", request);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	OPENSSL_cleanse(mac, sizeof mac);
	free(token);
	free(request);
	free(req);
	return body;
}

st_err
cfssl_parse_reply(const char *body, size_t len, STACK_OF(X509) * ca_chain,
    struct ca_issued *out, char **cause)
{
	struct http_reply reply = { 200, (char *)body, len }, *r = &reply;
	json_t *root = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *chain = NULL;
	st_err err;
	const char *pem;

	memset(out, 0, sizeof *out);
	err = remote_json(r, "CFSSL's reply", &root, cause);
	if (err)
		goto out;
	pem = remote_json_str(json_object_get(root, "result"), "certificate");
	if (!json_is_true(json_object_get(root, "success")) || pem == NULL) {
		err = st_fail(cause, ST_E_CA,
		    "CFSSL's reply has no "
		    "result.certificate");
		goto out;
	}
	err = remote_cert_from_pem(pem, "result.certificate", &cert, cause);
	if (err)
		goto out;
	chain = sk_X509_new_null();
	for (int i = 0; ca_chain && i < sk_X509_num(ca_chain); i++) {
		X509 *x = sk_X509_value(ca_chain, i);

		X509_up_ref(x);
		sk_X509_push(chain, x);
	}
	remote_issued_take(out, cert, chain);
out:
	json_decref(root);
	return err;
}

static st_err
cfssl_sign(struct ca_backend *base, const struct ca_request *req,
    struct ca_issued *out, char **cause)
{
	struct cfssl_ca *ca = (struct cfssl_ca *)base;
	const char *what = ca->key ? "CFSSL authsign" : "CFSSL sign";
	char *url = remote_url(ca->addr,
	    ca->key ? "api/v1/cfssl/authsign" : "api/v1/cfssl/sign");
	char *body = request_body(ca, req->csr);
	struct http_reply r = { 0 };
	char *msg = NULL;
	st_err err;

	memset(out, 0, sizeof *out);
	err = http_call(&ca->http, "POST", url, NULL, 0, body, req->deadline,
	    &r, cause);
	if (err) {
		st_wrap(cause, err, "%s", what);
		goto out;
	}
	if (r.status != 200) {
		msg = remote_error_text(&r);
		err = st_fail(cause, ST_E_CA,
		    "%s: CFSSL refused the request "
		    "(HTTP %ld): %s",
		    what, r.status, msg ? msg : "no reason given");
		goto out;
	}
	err = cfssl_parse_reply(r.body, r.len, ca->chain, out, cause);
	if (err) {
		st_wrap(cause, err, "%s", what);
		goto out;
	}
	log_info("issued serial %s for device %s", out->serial_hex,
	    req->device_serial ? req->device_serial : "?");
out:
	free(msg);
	free(url);
	free(body);
	http_reply_clear(&r);
	return err;
}

static st_err cfssl_revoke_cert(struct ca_backend *base,
    const struct ca_cert_ref *ref, const char *reason, char **cause);

static st_err
cfssl_revoke(struct ca_backend *base, const char *serial_hex,
    const char *reason, char **cause)
{
	struct ca_cert_ref ref = { .serial_hex = serial_hex };

	return cfssl_revoke_cert(base, &ref, reason, cause);
}

/* Lower-case hex of a key identifier (new string). */
static char *
key_id_hex(const ASN1_OCTET_STRING *id)
{
	const unsigned char *p = ASN1_STRING_get0_data(id);
	int n = ASN1_STRING_length(id);
	char *out = xmalloc((size_t)n * 2 + 1);

	for (int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * n] = '\0';
	return out;
}

/* The authority key id CFSSL filed the certificate under: the
 * certificate's own AKI, else the subject key id of the issuer in
 * chain_file.  NULL when neither is known. */
static char *
revoke_aki(struct cfssl_ca *ca, X509 *cert)
{
	const ASN1_OCTET_STRING *id = NULL;

	if (cert != NULL)
		id = X509_get0_authority_key_id(cert);
	if (id == NULL && ca->chain != NULL && sk_X509_num(ca->chain) > 0)
		id = X509_get0_subject_key_id(sk_X509_value(ca->chain, 0));
	return id ? key_id_hex(id) : NULL;
}

/* CFSSL's certificate database keys a certificate by its serial in
 * decimal (Go's big.Int String) and the issuer's key id in hex. */
char *
cfssl_revoke_body(const char *serial_hex, const char *aki, const char *reason)
{
	BIGNUM *bn = NULL;
	char *dec, *body, *low;
	json_t *j;

	if (BN_hex2bn(&bn, serial_hex) == 0)
		return NULL;
	dec = BN_bn2dec(bn);
	BN_free(bn);
	if (dec == NULL)
		return NULL;
	/* CFSSL matches RFC 5280 reason names without regard to case. */
	low = xstrdup(reason ? reason : "unspecified");
	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	j = json_pack("{s:s, s:s, s:s}", "serial", dec, "authority_key_id", aki,
	    "reason", low);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	OPENSSL_free(dec);
	free(low);
	return body;
}

/* One revoke request naming issuer key id `aki`; ST_OK with any HTTP
 * status in *r. */
static st_err
revoke_once(struct cfssl_ca *ca, const struct ca_cert_ref *ref, const char *aki,
    const char *reason, struct deadline dl, struct http_reply *r, char **cause)
{
	char *url = remote_url(ca->addr, "api/v1/cfssl/revoke");
	char *body = cfssl_revoke_body(ref->serial_hex, aki, reason);
	st_err err;

	http_reply_clear(r);
	if (body == NULL)
		err = st_fail(cause, ST_E_ARG, "'%s' is not a hex serial",
		    ref->serial_hex);
	else
		err = http_call(&ca->http, "POST", url, NULL, 0, body, dl, r,
		    cause);
	free(url);
	free(body);
	return err;
}

static st_err
cfssl_revoke_cert(struct ca_backend *base, const struct ca_cert_ref *ref,
    const char *reason, char **cause)
{
	struct cfssl_ca *ca = (struct cfssl_ca *)base;
	struct deadline dl = deadline_in((uint64_t)ca->http.timeout_ms);
	char *aki = revoke_aki(ca, ref->cert);
	char *msg = NULL;
	struct http_reply r = { 0 };
	st_err err;

	err = revoke_once(ca, ref, aki ? aki : "", reason, dl, &r, cause);
	/* CFSSL releases before 1.3 file every certificate under an empty
	 * authority key id: a serial not found under the issuer's key id
	 * is asked for once more under the empty one.  Serials are random
	 * and the database is this CA's, so the match is still this
	 * certificate. */
	if (err == ST_OK && r.status == 400 && aki != NULL) {
		msg = remote_error_text(&r);
		if (msg && strstr(msg, "not found"))
			err = revoke_once(ca, ref, "", reason, dl, &r, cause);
		free(msg);
		msg = NULL;
	}
	if (err) {
		st_wrap(cause, err, "CFSSL revoke");
		goto out;
	}
	if (r.status == 200) {
		log_info("revoked serial %s (reason %s)", ref->serial_hex,
		    reason ? reason : "unspecified");
		goto out;
	}
	msg = remote_error_text(&r);
	/* Without -db-config CFSSL keeps no record to revoke in and serves
	 * no revoke endpoint (404): no retry can help, as with a backend
	 * that cannot revoke at all. */
	err = r.status == 404 || (msg && strstr(msg, "db not configured")) ?
	    ST_E_UNSUPPORTED :
	    ST_E_CA;
	st_fail(cause, err,
	    "CFSSL revoke of serial %s: CFSSL refused (HTTP %ld): %s%s",
	    ref->serial_hex, r.status, msg ? msg : "no reason given",
	    err == ST_E_UNSUPPORTED ? " (run 'cfssl serve' with -db-config)" :
				      "");
out:
	free(msg);
	free(aki);
	http_reply_clear(&r);
	return err;
}

static void
cfssl_free(struct ca_backend *base)
{
	struct cfssl_ca *ca = (struct cfssl_ca *)base;

	if (ca == NULL)
		return;
	free(ca->addr);
	free(ca->profile);
	http_opts_clear(&ca->http);
	if (ca->key)
		OPENSSL_clear_free(ca->key, ca->key_len);
	sk_X509_pop_free(ca->chain, X509_free);
	free(ca->base.describe);
	free(ca);
}

static const struct ca_backend_ops cfssl_ops = {
	.sign = cfssl_sign,
	.revoke = cfssl_revoke,
	.revoke_cert = cfssl_revoke_cert,
	.free = cfssl_free,
};

/* CFSSL's "standard" auth keys are hex in its config file; so here. */
static st_err
load_key(struct cfssl_ca *ca, const struct ca_settings *s, char **cause)
{
	char *hex = NULL;
	long len = 0;
	st_err err = cred_from_settings(s, "auth_key_file", NULL, &hex, cause);

	if (err || hex == NULL)
		return err;
	if (strspn(hex, "0123456789abcdefABCDEF") == strlen(hex) &&
	    strlen(hex) % 2 == 0)
		ca->key = OPENSSL_hexstr2buf(hex, &len);
	if (ca->key == NULL || len < 16) {
		err = st_fail(cause, ST_E_CONFIG,
		    "[ca] auth_key_file %s: "
		    "expected the key in hex, as in CFSSL's auth_keys (at "
		    "least 16 bytes)",
		    ca_settings_get(s, "auth_key_file"));
		if (ca->key)
			OPENSSL_clear_free(ca->key, (size_t)len);
		ca->key = NULL;
	} else {
		ca->key_len = (size_t)len;
	}
	cred_free(hex);
	return err;
}

st_err
cfssl_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause)
{
	struct cfssl_ca *ca = xcalloc(1, sizeof *ca);
	const char *addr = NULL;
	const char *profile = ca_settings_get(s, "profile");
	const char *chain = ca_settings_get(s, "chain_file");
	st_err err;

	*out = NULL;
	ca->base.ops = &cfssl_ops;
	err = remote_http_setup(s, "cfssl", &addr, &ca->http, cause);
	if (err)
		goto out;
	err = load_key(ca, s, cause);
	if (err)
		goto out;
	if (chain != NULL)
		err = remote_chain_file(chain, &ca->chain, cause);
	if (err)
		goto out;
	if (chain == NULL)
		log_warn("no [ca] chain_file: CFSSL returns only the device "
			 "certificate, so the chain check needs the leaf to be "
			 "signed by the pinned root itself");
	ca->addr = xstrdup(addr);
	ca->profile = profile ? xstrdup(profile) : NULL;
	ca->base.describe =
	    xasprintf("CFSSL (%s, %s%s%s)", addr, ca->key ? "authsign" : "sign",
		profile ? ", profile " : "", profile ? profile : "");
	*out = &ca->base;
	ca = NULL;
out:
	cfssl_free(ca ? &ca->base : NULL);
	return err;
}
