/* The Vault PKI backend (see vault.h). */
#include "station/ca/vault.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "station/ca/cred.h"
#include "station/ca/remote.h"
#include "station/ca/vault_int.h"

#define LOG_MODULE "vault"
#include "station/util/log.h"

/* Remove every credential from a message quoted from the server. */
static void
scrub(struct vault_ca *ca, char *text)
{
	cred_scrub(text, ca->token);
	cred_scrub(text, ca->role_id);
	cred_scrub(text, ca->secret_id);
}

st_err
vault_refused(struct vault_ca *ca, const char *what, const struct http_reply *r,
    char **cause)
{
	char *msg = remote_error_text(r);
	st_err err;

	scrub(ca, msg);
	if (r->status == 403)
		err = st_fail(cause, ST_E_CA,
		    "%s: Vault refused the token "
		    "(403)%s%s",
		    what, msg ? ": " : "", msg ? msg : "");
	else if (r->status == 400)
		err = st_fail(cause, ST_E_CA,
		    "%s: Vault refused the request "
		    "(400): %s",
		    what, msg ? msg : "no reason given");
	else
		err = st_fail(cause, ST_E_CA, "%s: Vault answered HTTP %ld%s%s",
		    what, r->status, msg ? ": " : "", msg ? msg : "");
	free(msg);
	return err;
}

size_t
vault_headers(struct vault_ca *ca, const char *token, struct http_header h[2])
{
	size_t n = 0;

	if (token != NULL)
		h[n++] = (struct http_header){ "X-Vault-Token", token };
	if (ca->ns != NULL)
		h[n++] = (struct http_header){ "X-Vault-Namespace", ca->ns };
	return n;
}

st_err
vault_parse_login_reply(const char *body, size_t len, char **token,
    long long *lease_s, char **cause)
{
	struct http_reply r = { 200, (char *)body, len };
	json_t *reply = NULL;
	st_err err;
	const char *tok;
	json_t *auth;
	json_int_t lease;

	*token = NULL;
	*lease_s = 0;
	err = remote_json(&r, "Vault AppRole login", &reply, cause);
	if (err)
		return err;
	auth = json_object_get(reply, "auth");
	tok = remote_json_str(auth, "client_token");
	lease = json_integer_value(json_object_get(auth, "lease_duration"));
	if (tok == NULL || tok[0] == '\0' || lease < 0) {
		err = st_fail(cause, ST_E_CA,
		    "Vault AppRole login: the reply "
		    "has no auth.client_token");
	} else {
		*token = xstrdup(tok);
		*lease_s = lease;
	}
	json_decref(reply);
	return err;
}

/* AppRole login; called with the lock held. */
static st_err
approle_login(struct vault_ca *ca, struct deadline dl, char **cause)
{
	struct http_header h[2];
	struct http_reply r = { 0 };
	json_t *req = json_pack("{s:s, s:s}", "role_id", ca->role_id,
	    "secret_id", ca->secret_id);
	char *body = json_dumps(req, JSON_COMPACT);
	char *url = remote_url(ca->addr, "v1/auth/approle/login");
	char *token = NULL;
	long long lease = 0;
	st_err err;

	err = http_call(&ca->http, "POST", url, h, vault_headers(ca, NULL, h),
	    body, dl, &r, cause);
	if (err) {
		st_wrap(cause, err, "Vault AppRole login");
		goto out;
	}
	if (r.status != 200) {
		err = vault_refused(ca, "Vault AppRole login", &r, cause);
		goto out;
	}
	err = vault_parse_login_reply(r.body, r.len, &token, &lease, cause);
	if (err)
		goto out;
	cred_free(ca->token);
	ca->token = token;
	ca->renew_at_ms =
	    lease > 0 ? clock_now_ms() + (uint64_t)lease * 1000 * 2 / 3 : 0;
	log_info("logged in with AppRole (lease %lld s)", lease);
out:
	if (body)
		OPENSSL_cleanse(body, strlen(body));
	free(body);
	free(url);
	json_decref(req);
	http_reply_clear(&r);
	return err;
}

st_err
vault_get_token(struct vault_ca *ca, struct deadline dl, int force, char **out,
    char **cause)
{
	st_err err = ST_OK;

	*out = NULL;
	pthread_mutex_lock(&ca->lock);
	if (ca->role_id != NULL &&
	    (force || ca->token == NULL ||
		(ca->renew_at_ms != 0 && clock_now_ms() >= ca->renew_at_ms)))
		err = approle_login(ca, dl, cause);
	vault_token_maybe_renew(ca, dl);
	if (err == ST_OK && ca->role_id == NULL && ca->expire_at_ms != 0 &&
	    clock_now_ms() >= ca->expire_at_ms)
		err = st_fail(cause, ST_E_CA,
		    "the Vault token has expired (it cannot be renewed): give "
		    "the station a new token ([ca] token_file or token_env)");
	if (err == ST_OK)
		*out = xstrdup(ca->token);
	pthread_mutex_unlock(&ca->lock);
	return err;
}

/* The CSR subject's common name (UTF-8, new string), or NULL. */
static char *
csr_common_name(X509_REQ *csr)
{
	X509_NAME *name = X509_REQ_get_subject_name(csr);
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	char *cn;
	int n;

	if (idx < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0)
		return NULL;
	cn = xstrndup((char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return cn;
}

st_err
vault_parse_sign_reply(const char *body, size_t len, struct ca_issued *out,
    char **cause)
{
	struct http_reply reply = { 200, (char *)body, len }, *r = &reply;
	json_t *root = NULL, *chain_json, *data, *e;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *cert = NULL;
	const char *what = "Vault's reply";
	const char *pem, *serial;
	size_t i;
	st_err err;

	memset(out, 0, sizeof *out);
	err = remote_json(r, what, &root, cause);
	if (err)
		goto out;
	data = json_object_get(root, "data");
	pem = remote_json_str(data, "certificate");
	serial = remote_json_str(data, "serial_number");
	if (pem == NULL) {
		err =
		    st_fail(cause, ST_E_CA, "%s has no data.certificate", what);
		goto out;
	}
	err = remote_cert_from_pem(pem, "data.certificate", &cert, cause);
	if (err)
		goto out;
	chain_json = json_object_get(data, "ca_chain");
	if (json_array_size(chain_json) > 0) {
		json_array_foreach(chain_json, i, e)
		{
			err = ST_E_CA;
			if (json_is_string(e))
				err = remote_chain_add_pem(chain,
				    json_string_value(e), "data.ca_chain[]",
				    cause);
			if (err) {
				err = st_fail(cause, ST_E_CA,
				    "%s: "
				    "data.ca_chain holds something that is "
				    "not a PEM certificate",
				    what);
				goto out;
			}
		}
	} else if (remote_json_str(data, "issuing_ca") != NULL) {
		err = remote_chain_add_pem(chain,
		    remote_json_str(data, "issuing_ca"), "data.issuing_ca",
		    cause);
		if (err)
			goto out;
	}
	remote_issued_take(out, cert, chain);
	cert = NULL;
	chain = NULL;
	if (serial != NULL && !remote_serial_equal(serial, out->serial_hex)) {
		err = st_fail(cause, ST_E_CA,
		    "%s: data.serial_number %s is "
		    "not the certificate's serial %s",
		    what, serial, out->serial_hex);
		ca_issued_clear(out);
	}
out:
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	json_decref(root);
	return err;
}

static char *
sign_body(const struct ca_request *req, const char *cn)
{
	char *pem = remote_csr_pem(req->csr);
	char ttl[32];
	json_t *j;
	char *body;

	snprintf(ttl, sizeof ttl, "%dh", req->profile->validity_days * 24);
	/* exclude_cn_from_sans: the certificate's names are the CSR's, not
	 * the CN copied into a DNS name (cert_check compares them). */
	j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "csr", pem, "common_name",
	    cn, "format", "pem", "ttl", ttl, "exclude_cn_from_sans", 1);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(pem);
	return body;
}

static st_err
vault_sign(struct ca_backend *base, const struct ca_request *req,
    struct ca_issued *out, char **cause)
{
	struct vault_ca *ca = (struct vault_ca *)base;
	struct http_header h[2];
	struct http_reply r = { 0 };
	char *cn = csr_common_name(req->csr);
	char *path = xasprintf("v1/%s/sign/%s", ca->mount, ca->role);
	char *url = remote_url(ca->addr, path);
	char *body = NULL, *token = NULL;
	st_err err;

	memset(out, 0, sizeof *out);
	if (cn == NULL) {
		err = st_fail(cause, ST_E_CA,
		    "the CSR has no common name, "
		    "which Vault's sign endpoint requires");
		goto out;
	}
	body = sign_body(req, cn);
	for (int attempt = 0; attempt < 2; attempt++) {
		err = vault_get_token(ca, req->deadline, attempt > 0, &token,
		    cause);
		if (err)
			goto out;
		http_reply_clear(&r);
		err = http_call(&ca->http, "POST", url, h,
		    vault_headers(ca, token, h), body, req->deadline, &r,
		    cause);
		cred_free(token);
		token = NULL;
		/* An AppRole token may have been revoked early: one fresh
		 * login, then Vault's answer stands. */
		if (err || r.status != 403 || ca->role_id == NULL)
			break;
	}
	if (err) {
		st_wrap(cause, err, "Vault sign");
		goto out;
	}
	if (r.status != 200) {
		err = vault_refused(ca, "Vault sign", &r, cause);
		goto out;
	}
	err = vault_parse_sign_reply(r.body, r.len, out, cause);
	if (err) {
		st_wrap(cause, err, "Vault sign");
		goto out;
	}
	log_info("issued serial %s for device %s", out->serial_hex,
	    req->device_serial ? req->device_serial : "?");
out:
	free(cn);
	free(path);
	free(url);
	free(body);
	http_reply_clear(&r);
	return err;
}

char *
vault_serial_colons(const char *hex)
{
	size_t n = strlen(hex), odd = n % 2;
	char *s = xmalloc(n + odd + (n + odd) / 2 + 1);
	size_t o = 0;

	for (size_t i = 0; i < n + odd; i++) {
		if (i > 0 && i % 2 == 0)
			s[o++] = ':';
		s[o++] = odd && i == 0 ? '0' : hex[i - odd];
	}
	s[o] = '\0';
	return s;
}

static st_err
vault_revoke(struct ca_backend *base, const char *serial_hex,
    const char *reason, char **cause)
{
	struct vault_ca *ca = (struct vault_ca *)base;
	struct deadline dl = deadline_in((uint64_t)ca->http.timeout_ms);
	struct http_header h[2];
	struct http_reply r = { 0 };
	char *serial = NULL, *token = NULL, *body = NULL;
	char *path = xasprintf("v1/%s/revoke", ca->mount);
	char *url = remote_url(ca->addr, path);
	json_t *j = NULL;
	st_err err;

	(void)reason; /* Vault's revoke takes no reason */
	if (serial_hex[0] == '\0' ||
	    strspn(serial_hex, "0123456789abcdef") != strlen(serial_hex)) {
		err = st_fail(cause, ST_E_ARG,
		    "'%s' is not a lower-case hex "
		    "serial",
		    serial_hex);
		goto out;
	}
	serial = vault_serial_colons(serial_hex);
	j = json_pack("{s:s}", "serial_number", serial);
	body = json_dumps(j, JSON_COMPACT);
	err = vault_get_token(ca, dl, 0, &token, cause);
	if (err)
		goto out;
	err = http_call(&ca->http, "POST", url, h, vault_headers(ca, token, h),
	    body, dl, &r, cause);
	if (err) {
		st_wrap(cause, err, "Vault revoke");
		goto out;
	}
	if (r.status != 200 && r.status != 204) {
		err = vault_refused(ca, "Vault revoke", &r, cause);
		goto out;
	}
	log_info("revoked serial %s", serial);
out:
	cred_free(token);
	json_decref(j);
	free(body);
	free(serial);
	free(path);
	free(url);
	http_reply_clear(&r);
	return err;
}

static void
vault_free(struct ca_backend *base)
{
	struct vault_ca *ca = (struct vault_ca *)base;

	if (ca == NULL)
		return;
	pthread_mutex_destroy(&ca->lock);
	free(ca->addr);
	free(ca->mount);
	free(ca->role);
	free(ca->ns);
	http_opts_clear(&ca->http);
	cred_free(ca->token);
	cred_free(ca->role_id);
	cred_free(ca->secret_id);
	free(ca->base.describe);
	free(ca);
}

static const struct ca_backend_ops vault_ops = {
	.sign = vault_sign,
	.revoke = vault_revoke,
	.find_issued = vault_find_issued,
	.free = vault_free,
};

/* Exactly one way to authenticate: a token, or AppRole's two files. */
static st_err
load_auth(struct vault_ca *ca, const struct ca_settings *s, char **cause)
{
	st_err err;

	err =
	    cred_from_settings(s, "token_file", "token_env", &ca->token, cause);
	if (err)
		return err;
	err = cred_from_settings(s, "approle_role_id_file", NULL, &ca->role_id,
	    cause);
	if (err)
		return err;
	err = cred_from_settings(s, "approle_secret_id_file", NULL,
	    &ca->secret_id, cause);
	if (err)
		return err;
	if ((ca->role_id == NULL) != (ca->secret_id == NULL))
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] AppRole needs both "
		    "approle_role_id_file and approle_secret_id_file");
	if (ca->token != NULL && ca->role_id != NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] set either a token "
		    "(token_file, token_env) or AppRole, not both");
	if (ca->token == NULL && ca->role_id == NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] the vault backend "
		    "needs token_file, token_env or AppRole "
		    "(approle_role_id_file + approle_secret_id_file)");
	return ST_OK;
}

/* Path segments go into URLs as they are: keep them plain. */
static st_err
check_segment(const char *key, const char *v, char **cause)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/";

	if (strspn(v, ok) != strlen(v) || strstr(v, "..") != NULL ||
	    v[0] == '/')
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] %s = '%s': expected "
		    "letters, digits, '.', '_', '-' and '/'",
		    key, v);
	return ST_OK;
}

st_err
vault_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause)
{
	struct vault_ca *ca = xcalloc(1, sizeof *ca);
	const char *addr = NULL, *role = NULL;
	const char *mount = ca_settings_get(s, "mount");
	const char *ns = ca_settings_get(s, "namespace");
	st_err err;

	*out = NULL;
	ca->base.ops = &vault_ops;
	pthread_mutex_init(&ca->lock, NULL);
	err = remote_require(s, "vault", "addr", &addr, cause);
	if (err)
		goto out;
	err = remote_require(s, "vault", "role", &role, cause);
	if (err)
		goto out;
	err = http_check_addr("addr", addr, cause);
	if (err)
		goto out;
	err = check_segment("role", role, cause);
	if (err)
		goto out;
	err = check_segment("mount", mount ? mount : "pki", cause);
	if (err)
		goto out;
	err = http_opts_load(s, &ca->http, cause);
	if (err)
		goto out;
	err = load_auth(ca, s, cause);
	if (err)
		goto out;
	ca->addr = xstrdup(addr);
	ca->role = xstrdup(role);
	ca->mount = xstrdup(mount ? mount : "pki");
	ca->ns = ns ? xstrdup(ns) : NULL;
	ca->base.describe =
	    xasprintf("Vault PKI (%s, %s/sign/%s)", addr, ca->mount, role);
	if (ca->token != NULL) {
		err = vault_token_check(ca, cause);
		if (err)
			goto out;
	}
	*out = &ca->base;
	ca = NULL;
out:
	vault_free(ca ? &ca->base : NULL);
	return err;
}
