/* The device hub backend (see hub.h). */
#include "station/ca/hub.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "station/config/profile.h"
#include "station/x509/cert_check.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"
#include "station/ca/cred.h"
#include "station/ca/remote.h"

#define LOG_MODULE "hub"
#include "station/util/log.h"

struct hub_ca {
	struct ca_backend base; /* first: the pipeline sees only this */
	char *addr;
	struct http_opts http;
	char *bearer;	/* "Bearer <token>", or NULL */
	int validate;	/* [ca] validate_after_sign = yes */
	int use_broker; /* [ca] broker_from_reply = yes */
};

static const struct ca_backend_ops hub_ops;

void
hub_reply_clear(struct hub_reply *info)
{
	if (info == NULL)
		return;
	free(info->device_id);
	free(info->fingerprint);
	free(info->serial);
	free(info->valid_from);
	free(info->valid_to);
	free(info->broker_url);
	memset(info, 0, sizeof *info);
}

static char *
dup_str(json_t *obj, const char *key)
{
	const char *v = remote_json_str(obj, key);

	return v ? xstrdup(v) : NULL;
}

/* 1 if `fp` (hex, any case, ':' optional) is the SHA-256 or SHA-1 of the
 * certificate's DER; the seed does not say which digest the hub uses. */
static int
fingerprint_matches(X509 *cert, const char *fp)
{
	char hex[2 * EVP_MAX_MD_SIZE + 1], given[2 * EVP_MAX_MD_SIZE + 1];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t g = 0;

	for (; *fp && g + 1 < sizeof given; fp++) {
		if (*fp != ':')
			given[g++] = (char)tolower((unsigned char)*fp);
	}
	given[g] = '\0';
	const EVP_MD *mdt = g == 40 ? EVP_sha1() : EVP_sha256();
	if (!X509_digest(cert, mdt, md, &n))
		return 0;
	for (unsigned i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return strcmp(hex, given) == 0;
}

static st_err
check_reply(const struct ca_issued *out, const struct hub_reply *info,
    const char *device_id, char **cause)
{
	if (info->device_id && strcmp(info->device_id, device_id) != 0)
		return st_fail(cause, ST_E_CA,
		    "the hub's reply is for device "
		    "'%s', not '%s'",
		    info->device_id, device_id);
	if (info->serial && !remote_serial_equal(info->serial, out->serial_hex))
		return st_fail(cause, ST_E_CA,
		    "the hub's serialNumber %s is "
		    "not the certificate's serial %s",
		    info->serial, out->serial_hex);
	if (info->fingerprint &&
	    !fingerprint_matches(out->cert, info->fingerprint))
		return st_fail(cause, ST_E_CA,
		    "the hub's fingerprint %s is "
		    "not the certificate's",
		    info->fingerprint);
	return ST_OK;
}

st_err
hub_parse_reply(const char *body, size_t len, const char *device_id,
    struct ca_issued *out, struct hub_reply *info, char **cause)
{
	struct http_reply r = { 200, (char *)body, len };
	struct hub_reply tmp = { 0 };
	STACK_OF(X509) *chain = sk_X509_new_null();
	json_t *root = NULL;
	X509 *cert = NULL;
	st_err err;
	const char *ca_pem;
	const char *pem;

	memset(out, 0, sizeof *out);
	err = remote_json(&r, "the hub's reply", &root, cause);
	if (err)
		goto fail;
	pem = remote_json_str(root, "clientCert");
	ca_pem = remote_json_str(root, "caCert");
	if (pem == NULL) {
		err = st_fail(cause, ST_E_CA,
		    "the hub's reply has no "
		    "clientCert");
		goto fail;
	}
	err = remote_cert_from_pem(pem, "clientCert", &cert, cause);
	if (err)
		goto fail;
	if (ca_pem != NULL)
		err = remote_chain_add_pem(chain, ca_pem, "caCert", cause);
	if (err)
		goto fail;
	tmp.device_id = dup_str(root, "deviceId");
	tmp.fingerprint = dup_str(root, "fingerprint");
	tmp.serial = dup_str(root, "serialNumber");
	tmp.valid_from = dup_str(root, "validFrom");
	tmp.valid_to = dup_str(root, "validTo");
	tmp.broker_url = dup_str(root, "brokerUrl");
	tmp.mqtt_secure_port =
	    json_integer_value(json_object_get(root, "mqttSecurePort"));
	remote_issued_take(out, cert, chain);
	cert = NULL;
	chain = NULL;
	err = check_reply(out, &tmp, device_id, cause);
	if (err) {
		ca_issued_clear(out);
		goto fail;
	}
	if (info)
		*info = tmp;
	else
		hub_reply_clear(&tmp);
	json_decref(root);
	return ST_OK;
fail:
	hub_reply_clear(&tmp);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	json_decref(root);
	return err;
}

st_err
hub_broker_check(const char *url, long long port, char **host, char **cause)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
	const char *h = url;
	size_t n;

	*host = NULL;
	/* A bare host name, as the seed shows, or mqtts://host[/] */
	if (strncmp(h, "mqtts://", 8) == 0)
		h += 8;
	n = strcspn(h, "/");
	if (h[n] == '/' && h[n + 1] != '\0')
		n = 0;
	if (n == 0 || n > 253 || strspn(h, ok) < n || h[0] == '-' ||
	    h[0] == '.')
		return st_fail(cause, ST_E_CA,
		    "the hub's brokerUrl is not a host name (letters, digits, "
		    "'.', '-'; optionally after mqtts://)");
	if (port < 1 || port > 65535)
		return st_fail(cause, ST_E_CA,
		    "the hub's mqttSecurePort %lld is not a port (1..65535)",
		    port);
	*host = xstrndup(h, n);
	return ST_OK;
}

static size_t
hub_headers(struct hub_ca *ca, struct http_header h[1])
{
	if (ca->bearer == NULL)
		return 0;
	h[0] = (struct http_header){ "Authorization", ca->bearer };
	return 1;
}

static st_err
refused(struct hub_ca *ca, const char *what, const struct http_reply *r,
    char **cause)
{
	char *msg = remote_error_text(r);
	st_err err;

	cred_scrub(msg, ca->bearer ? ca->bearer + 7 : NULL);
	err = st_fail(cause, ST_E_CA, "%s: the hub refused (HTTP %ld): %s",
	    what, r->status, msg ? msg : "no reason given");
	free(msg);
	return err;
}

/* "AA:BB:..." (SHA-256 of the DER, upper case), as the hub's own
 * fingerprints look. */
static void
fingerprint_colons(X509 *cert, char out[3 * 32])
{
	unsigned char md[32];
	unsigned int n = 0;

	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &n))
		return;
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

/*
 * The optional check after issuance ([ca] validate_after_sign = yes):
 * GET {addr}/api/devices/certificates/validate/{fingerprint} must answer
 * 200 with "valid": true, so a certificate the hub would not accept
 * from the device is never written to it.
 */
static st_err
hub_validate(struct hub_ca *ca, X509 *cert, struct deadline dl, char **cause)
{
	struct http_header h[1];
	struct http_reply r = { 0 };
	char fp[3 * 32], *path, *url;
	json_t *root = NULL;
	st_err err;

	fingerprint_colons(cert, fp);
	path = xasprintf("api/devices/certificates/validate/%s", fp);
	url = remote_url(ca->addr, path);
	err = http_call(&ca->http, "GET", url, h, hub_headers(ca, h), NULL, dl,
	    &r, cause);
	if (err) {
		st_wrap(cause, err, "hub validate");
		goto out;
	}
	if (r.status != 200) {
		err = refused(ca, "hub validate", &r, cause);
		goto out;
	}
	err = remote_json(&r, "the hub's validate reply", &root, cause);
	if (err)
		goto out;
	if (!json_is_true(json_object_get(root, "valid")))
		err = st_fail(cause, ST_E_CA,
		    "hub validate: the hub does not hold the certificate it "
		    "just issued (fingerprint %s) as valid",
		    fp);
out:
	json_decref(root);
	free(path);
	free(url);
	http_reply_clear(&r);
	return err;
}

/* The broker the hub names (brokerUrl, mqttSecurePort), when both are
 * usable as an address: hostile input, kept only if hub_broker_check
 * accepts it. */
static void
broker_take(struct ca_issued *out, const struct hub_reply *info, const char *id)
{
	char *host = NULL;

	if (info->broker_url == NULL || info->mqtt_secure_port == 0)
		return;
	if (hub_broker_check(info->broker_url, info->mqtt_secure_port, &host,
		NULL) != ST_OK) {
		char *shown = text_escape(info->broker_url, 64);

		log_warn("device %s: the hub's broker '%s' port %lld is not "
			 "a usable address; ignored",
		    id, shown, info->mqtt_secure_port);
		free(shown);
		return;
	}
	out->broker_host = host;
	out->broker_port = (int)info->mqtt_secure_port;
}

static st_err
hub_sign(struct ca_backend *base, const struct ca_request *req,
    struct ca_issued *out, char **cause)
{
	struct hub_ca *ca = (struct hub_ca *)base;
	const char *id = req->device_serial;
	struct http_header h[1];
	struct http_reply r = { 0 };
	struct hub_reply info = { 0 };
	char *path = NULL, *url = NULL, *body = NULL, *pem = NULL;
	json_t *j = NULL;
	st_err err;

	memset(out, 0, sizeof *out);
	/* The id goes into the URL path as it is. */
	if (id == NULL || !serial_is_valid(id))
		return st_fail(cause, ST_E_ARG,
		    "the hub needs a device serial "
		    "of A-Z a-z 0-9 . _ - as its device id");
	pem = remote_csr_pem(req->csr);
	j = json_pack("{s:s}", "csrPem", pem);
	if (req->fw_version)
		json_object_set_new(j, "firmwareVersion",
		    json_string(req->fw_version));
	if (req->hw_version)
		json_object_set_new(j, "hardwareVersion",
		    json_string(req->hw_version));
	body = json_dumps(j, JSON_COMPACT);
	path = xasprintf("api/devices/certificates/%s/sign-csr", id);
	url = remote_url(ca->addr, path);
	err = http_call(&ca->http, "POST", url, h, hub_headers(ca, h), body,
	    req->deadline, &r, cause);
	if (err) {
		st_wrap(cause, err, "hub sign-csr");
		goto out;
	}
	if (r.status != 200 && r.status != 201) {
		err = refused(ca, "hub sign-csr", &r, cause);
		goto out;
	}
	err = hub_parse_reply(r.body, r.len, id, out, &info, cause);
	if (err) {
		st_wrap(cause, err, "hub sign-csr");
		goto out;
	}
	log_info("issued serial %s for device %s (valid %s to %s)",
	    out->serial_hex, id, info.valid_from ? info.valid_from : "?",
	    info.valid_to ? info.valid_to : "?");
	if (ca->validate)
		err = hub_validate(ca, out->cert, req->deadline, cause);
	if (err)
		ca_issued_clear(out);
	if (err == ST_OK && ca->use_broker)
		broker_take(out, &info, id);
out:
	hub_reply_clear(&info);
	json_decref(j);
	free(pem);
	free(body);
	free(path);
	free(url);
	http_reply_clear(&r);
	return err;
}

static st_err
hub_revoke(struct ca_backend *base, const char *serial_hex, const char *reason,
    char **cause)
{
	(void)base;
	(void)reason;
	return st_fail(cause, ST_E_UNSUPPORTED,
	    "the hub revokes by device "
	    "id, not by serial alone (%s): revoke it through the ledger "
	    "('station revoke'), which knows the device",
	    serial_hex);
}

/* GET {addr}/api/devices/certificates/{id}: the device's current
 * certificate at the hub (*out owned; NULL when the hub answers 404,
 * holding none). */
static st_err
hub_current(struct hub_ca *ca, const char *id, struct deadline dl, X509 **out,
    char **cause)
{
	struct http_header h[1];
	struct http_reply r = { 0 };
	struct ca_issued cur = { 0 };
	char *path = xasprintf("api/devices/certificates/%s", id);
	char *url = remote_url(ca->addr, path);
	st_err err;

	*out = NULL;
	err = http_call(&ca->http, "GET", url, h, hub_headers(ca, h), NULL, dl,
	    &r, cause);
	if (err) {
		st_wrap(cause, err, "hub certificate lookup");
		goto out;
	}
	if (r.status == 404)
		goto out;
	if (r.status != 200) {
		err = refused(ca, "hub certificate lookup", &r, cause);
		goto out;
	}
	err = hub_parse_reply(r.body, r.len, id, &cur, NULL, cause);
	if (err) {
		st_wrap(cause, err, "hub certificate lookup");
		goto out;
	}
	*out = cur.cert;
	cur.cert = NULL;
out:
	ca_issued_clear(&cur);
	free(path);
	free(url);
	http_reply_clear(&r);
	return err;
}

/*
 * The hub keeps one certificate per device and revokes "the device's
 * certificate": DELETE is sent only while the hub's current certificate
 * for the device is this one.  After a re-provisioning it is the new one,
 * and a DELETE would take the device's new identity: the old certificate
 * was replaced at the hub, which its API cannot revoke (ST_E_UNSUPPORTED,
 * saying so).  A hub holding none (404) has nothing left to revoke.
 */
static st_err
hub_revoke_cert(struct ca_backend *base, const struct ca_cert_ref *ref,
    const char *reason, char **cause)
{
	struct hub_ca *ca = (struct hub_ca *)base;
	struct deadline dl = deadline_in((uint64_t)ca->http.timeout_ms);
	const char *id = ref->device_serial;
	struct http_header h[1];
	struct http_reply r = { 0 };
	char *path = NULL, *url = NULL, *cur_serial = NULL;
	X509 *cur = NULL;
	st_err err;

	(void)reason; /* the hub's DELETE takes no reason */
	if (id == NULL || !serial_is_valid(id)) {
		err = st_fail(cause, ST_E_UNSUPPORTED,
		    "the hub revokes by device id and certificate %s names "
		    "no usable device",
		    ref->serial_hex);
		goto out;
	}
	err = hub_current(ca, id, dl, &cur, cause);
	if (err)
		goto out;
	if (cur == NULL) {
		log_info("the hub holds no certificate for device %s: %s is "
			 "not live there",
		    id, ref->serial_hex);
		goto out;
	}
	cur_serial = cert_serial_hex(cur);
	if (!remote_serial_equal(cur_serial, ref->serial_hex)) {
		err = st_fail(cause, ST_E_UNSUPPORTED,
		    "the hub's current certificate for device %s is %s: %s "
		    "was replaced there, and the hub's API revokes only a "
		    "device's current certificate; revoke %s in the hub's "
		    "administration",
		    id, cur_serial, ref->serial_hex, ref->serial_hex);
		goto out;
	}
	path = xasprintf("api/devices/certificates/%s", id);
	url = remote_url(ca->addr, path);
	err = http_call(&ca->http, "DELETE", url, h, hub_headers(ca, h), NULL,
	    dl, &r, cause);
	if (err)
		st_wrap(cause, err, "hub revoke");
	else if (r.status != 200 && r.status != 204 && r.status != 404)
		err = refused(ca, "hub revoke", &r, cause);
	else
		log_info("revoked certificate %s of device %s", ref->serial_hex,
		    id);
out:
	X509_free(cur);
	free(cur_serial);
	free(path);
	free(url);
	http_reply_clear(&r);
	return err;
}

/* Crash recovery: the hub cannot search by key, but it tells which
 * certificate a device holds. */
static st_err
hub_find_issued(struct ca_backend *base, const struct ca_lookup *q,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	struct hub_ca *ca = (struct hub_ca *)base;
	X509 *cur = NULL;
	char key[65];
	st_err err;

	if (q->device_serial == NULL || !serial_is_valid(q->device_serial))
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "the hub looks certificates up by device, and the run "
		    "names none");
	err = hub_current(ca, q->device_serial,
	    deadline_in((uint64_t)ca->http.timeout_ms), &cur, cause);
	if (err || cur == NULL)
		return err;
	cert_key_sha256(cur, key);
	if (strcmp(key, q->key_sha256) == 0)
		cb(cur, arg);
	X509_free(cur);
	return ST_OK;
}

static void
hub_free(struct ca_backend *base)
{
	struct hub_ca *ca = (struct hub_ca *)base;

	if (ca == NULL)
		return;
	free(ca->addr);
	http_opts_clear(&ca->http);
	cred_free(ca->bearer);
	free(ca->base.describe);
	free(ca);
}

static const struct ca_backend_ops hub_ops = {
	.sign = hub_sign,
	.revoke = hub_revoke,
	.revoke_cert = hub_revoke_cert,
	.find_issued = hub_find_issued,
	.free = hub_free,
};

/* A yes/no [ca] key (absent: no). */
static st_err
yes_no(const struct ca_settings *s, const char *key, int *out, char **cause)
{
	const char *v = ca_settings_get(s, key);

	*out = v != NULL && strcmp(v, "yes") == 0;
	if (v != NULL && strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] %s: expected yes or no", key);
	return ST_OK;
}

st_err
hub_ca_open(const struct ca_settings *s, struct ca_backend **out, char **cause)
{
	struct hub_ca *ca = xcalloc(1, sizeof *ca);
	const char *addr = NULL;
	char *token = NULL;
	st_err err;

	*out = NULL;
	ca->base.ops = &hub_ops;
	err = remote_http_setup(s, "hub", &addr, &ca->http, cause);
	if (err)
		goto out;
	err = cred_from_settings(s, "token_file", "token_env", &token, cause);
	if (err)
		goto out;
	if (token) {
		ca->bearer = xasprintf("Bearer %s", token);
		cred_free(token);
	}
	err = yes_no(s, "validate_after_sign", &ca->validate, cause);
	if (err)
		goto out;
	err = yes_no(s, "broker_from_reply", &ca->use_broker, cause);
	if (err)
		goto out;
	ca->addr = xstrdup(addr);
	ca->base.describe = xasprintf("device hub (%s%s%s)", addr,
	    ca->validate ? ", validate after sign" : "",
	    ca->use_broker ? ", its broker for the smoke test" : "");
	*out = &ca->base;
	ca = NULL;
out:
	hub_free(ca ? &ca->base : NULL);
	return err;
}
