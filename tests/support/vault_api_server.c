/* A test server following HashiCorp Vault's documented PKI API (see
 * vault_api_server.h). */
#include "tests/support/vault_api_server.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support/pki.h"
#include "tests/support/scratch.h"

static char *
errors(const char *msg)
{
	json_t *j = json_pack("{s:[s]}", "errors", msg);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static void
copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* "01:a2:..." as Vault writes serial numbers. */
static void
serial_colons(X509 *cert, char *out, size_t cap)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(cert);
	size_t o = 0;

	for (int i = 0; i < s->length && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%02x", i ? ":" : "",
		    s->data[i]);
}

/* Another device's certificate, as a CA that mixes up its replies
 * would return: that device's own key and name, signed by this CA. */
static X509 *
other_device(struct vault_api_server *v)
{
	EVP_PKEY *key = pki_key_ec("P-256");
	X509_REQ *csr = pki_make_csr(&(struct pki_csr_spec){ .key = key,
	    .subject = "CN=" VAULT_OTHER_CN });
	X509 *cert = pki_chain_sign(v->pki, csr, 30, NULL);

	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	return cert;
}

/* The CSR's key under another device's name. */
static X509 *
other_subject(struct vault_api_server *v, X509_REQ *csr)
{
	return pki_cert_new(&(struct pki_cert_spec){ .cn = VAULT_OTHER_CN,
	    .pub = X509_REQ_get0_pubkey(csr),
	    .issuer = v->pki->inter,
	    .issuer_key = v->pki->inter_key,
	    .not_before = -60,
	    .not_after = 30L * 86400 });
}

/* The leaf of the modes that shape the certificate itself (wide usages,
 * notBefore ahead, an issuer expiring first), signed by `issuer`. */
static X509 *
shaped_leaf(struct vault_api_server *v, X509_REQ *csr, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	static const char *const wide[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature,keyEncipherment,"
		"keyAgreement",
		"extendedKeyUsage=serverAuth,clientAuth", NULL
	};
	static const char *const usual[] = {
		"basicConstraints=critical,CA:FALSE",
		"keyUsage=critical,digitalSignature",
		"extendedKeyUsage=clientAuth", NULL
	};

	return pki_cert_new(
	    &(struct pki_cert_spec){ .subject = X509_REQ_get_subject_name(csr),
		.pub = X509_REQ_get0_pubkey(csr),
		.issuer = issuer,
		.issuer_key = issuer_key,
		.not_before = v->mode == VAULT_NOT_YET_VALID ? 3600 : -60,
		.not_after = 30 * 86400L,
		.exts = v->mode == VAULT_WIDE_USAGE ? wide : usual,
		.copy_san_from = csr });
}

/* The certificate and its ca_chain (PEM, caller frees) for the modes
 * that shape them; NULL for the others. */
static X509 *
shaped(struct vault_api_server *v, X509_REQ *csr, char **chain0, char **chain1)
{
	EVP_PKEY *key = NULL;
	X509 *inter = NULL, *cert = NULL;

	switch (v->mode) {
	case VAULT_ROOT_FIRST:
		cert = pki_chain_sign(v->pki, csr, 30, NULL);
		*chain0 = pki_pem(v->pki->root);
		*chain1 = pki_pem(v->pki->inter);
		break;
	case VAULT_WIDE_USAGE:
	case VAULT_NOT_YET_VALID:
		cert = shaped_leaf(v, csr, v->pki->inter, v->pki->inter_key);
		*chain0 = pki_pem(v->pki->inter);
		*chain1 = pki_pem(v->pki->root);
		break;
	case VAULT_SHORT_ISSUER:
		key = pki_key_ec("P-256");
		inter = pki_cert("Vault Short Intermediate", key, v->pki->root,
		    v->pki->root_key, 1, -1, 10);
		cert = shaped_leaf(v, csr, inter, key);
		*chain0 = pki_pem(inter);
		*chain1 = pki_pem(v->pki->root);
		break;
	default:
		break;
	}
	X509_free(inter);
	EVP_PKEY_free(key);
	return cert;
}

static void
sign(struct vault_api_server *v, json_t *req, struct https_reply *reply)
{
	const char *csr_pem = json_string_value(json_object_get(req, "csr"));
	BIO *b = csr_pem ? BIO_new_mem_buf(csr_pem, -1) : NULL;
	X509_REQ *csr = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *other = NULL;
	char serial[128] = "";

	BIO_free(b);
	if (csr == NULL) {
		reply->status = 400;
		reply->body = errors("csr contains no data");
		return;
	}
	if (v->mode == VAULT_OTHER_KEY)
		other = pki_key_ec("P-256");
	/* ca_chain's two entries, as the mode orders them */
	char *first = NULL, *second = NULL;
	X509 *cert = shaped(v, csr, &first, &second);
	if (cert == NULL)
		cert = v->mode == VAULT_OTHER_DEVICE ?
		    other_device(v) :
		    v->mode == VAULT_OTHER_SUBJECT ?
		    other_subject(v, csr) :
		    pki_chain_sign(v->pki, csr, 30, other);
	if (first == NULL) {
		first = pki_pem(v->pki->inter);
		second = pki_pem(v->pki->root);
	}
	char *pem = pki_pem(cert);
	serial_colons(cert, serial, sizeof serial);
	if (v->n_certs < VAULT_CERTS_MAX) {
		v->cert_serial[v->n_certs] = strdup(serial);
		v->cert_pem[v->n_certs] = strdup(pem);
		v->n_certs++;
	}
	json_t *j = json_pack("{s:{s:s, s:s, s:[s, s], s:s, s:i}}", "data",
	    "certificate", pem, "issuing_ca",
	    v->mode == VAULT_ROOT_FIRST ? second : first, "ca_chain", first,
	    second, "serial_number", serial, "expiration", 0);
	reply->status = 200;
	reply->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(pem);
	free(first);
	free(second);
	X509_free(cert);
	X509_REQ_free(csr);
	EVP_PKEY_free(other);
}

/* LIST {mount}/certs: Vault answers 404 with no errors for an empty
 * list. */
static void
list_certs(struct vault_api_server *v, struct https_reply *reply)
{
	json_t *keys = json_array();

	v->n_list++;
	for (int i = 0; i < v->n_certs; i++)
		json_array_append_new(keys, json_string(v->cert_serial[i]));
	for (int i = 0; i < v->n_held; i++) {
		char serial[64];

		snprintf(serial, sizeof serial,
		    "7f:%02x:%02x:%02x:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:"
		    "dd:ee:ff",
		    (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
		json_array_append_new(keys, json_string(serial));
	}
	if (v->n_certs + v->n_held == 0) {
		json_decref(keys);
		reply->status = 404;
		reply->body = strdup("{\"errors\":[]}");
		return;
	}
	json_t *j = json_pack("{s:{s:o}}", "data", "keys", keys);
	reply->status = 200;
	reply->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
}

static void
mark_revoked(struct vault_api_server *v, const char *serial)
{
	for (int i = 0; i < v->n_revoked; i++)
		if (strcmp(v->revoked_serial[i], serial) == 0)
			return;
	if (v->n_revoked < VAULT_CERTS_MAX)
		v->revoked_serial[v->n_revoked++] = strdup(serial);
}

void
vault_api_server_set_mode(struct vault_api_server *v, enum vault_mode mode)
{
	pthread_mutex_lock(&v->lock);
	v->mode = mode;
	pthread_mutex_unlock(&v->lock);
}

int
vault_api_server_revoked(struct vault_api_server *v, const char *serial_hex)
{
	int found = 0;

	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < v->n_revoked && !found; i++) {
		char hex[128];
		size_t n = 0;

		/* "0a:1b:..." as "0a1b...", and an odd serial's pad '0'. */
		for (const char *p = v->revoked_serial[i];
		     *p && n < sizeof hex - 1; p++)
			if (*p != ':')
				hex[n++] = *p;
		hex[n] = '\0';
		found = strcmp(hex, serial_hex) == 0 ||
		    (hex[0] == '0' && strcmp(hex + 1, serial_hex) == 0);
	}
	pthread_mutex_unlock(&v->lock);
	return found;
}

/* GET {mount}/cert/{serial}, the serial with ':' or '-'. */
static void
read_cert(struct vault_api_server *v, const char *serial,
    struct https_reply *reply)
{
	char want[128];

	v->n_get++;
	copy(want, sizeof want, serial);
	for (char *p = want; *p; p++)
		if (*p == '-')
			*p = ':';
	for (int i = 0; i < v->n_certs; i++) {
		if (strcmp(v->cert_serial[i], want) != 0)
			continue;
		json_t *j = json_pack("{s:{s:s, s:i}}", "data", "certificate",
		    v->cert_pem[i], "revocation_time", 0);
		reply->status = 200;
		reply->body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		return;
	}
	reply->status = 404;
	reply->body = errors("certificate not found");
}

/* lookup-self and renew-self, for the token `v->token` only. */
static int
token_endpoint(struct vault_api_server *v, const struct https_request *req,
    const char *token, struct https_reply *reply)
{
	int lookup = strcmp(req->method, "GET") == 0 &&
	    strcmp(req->path, "/v1/auth/token/lookup-self") == 0;
	int renew = strcmp(req->method, "POST") == 0 &&
	    strcmp(req->path, "/v1/auth/token/renew-self") == 0;
	json_t *j;

	if (!lookup && !renew)
		return 0;
	v->n_lookup += lookup;
	v->n_renew += renew;
	if (token == NULL || strcmp(token, v->token) != 0 || v->token_expired) {
		reply->status = 403;
		reply->body = errors("permission denied");
		return 1;
	}
	if (renew && !v->token_renewable) {
		reply->status = 400;
		reply->body = errors("lease is not renewable");
		return 1;
	}
	if (renew)
		v->token_ttl = v->token_creation_ttl;
	j = lookup ?
	    json_pack("{s:{s:I, s:I, s:b, s:[s]}}", "data", "ttl",
		(json_int_t)v->token_ttl, "creation_ttl",
		(json_int_t)v->token_creation_ttl, "renewable",
		v->token_renewable, "policies", "station") :
	    json_pack("{s:{s:s, s:I, s:b}}", "auth", "client_token", v->token,
		"lease_duration", (json_int_t)v->token_ttl, "renewable", 1);
	reply->status = 200;
	reply->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return 1;
}

void
vault_api_server_hold(struct vault_api_server *v, int n)
{
	pthread_mutex_lock(&v->lock);
	v->n_held = n;
	pthread_mutex_unlock(&v->lock);
}

static void
handle(void *arg, const struct https_request *req, struct https_reply *reply)
{
	struct vault_api_server *v = arg;
	json_t *body = json_loads(req->body, 0, NULL);
	char *token = https_request_header(req, "X-Vault-Token");
	char *ns = https_request_header(req, "X-Vault-Namespace");

	pthread_mutex_lock(&v->lock);
	if (token_endpoint(v, req, token, reply))
		goto out;
	v->n_requests++;
	copy(v->last_path, sizeof v->last_path, req->path);
	copy(v->last_namespace, sizeof v->last_namespace, ns);
	if (v->mode == VAULT_HANG) {
		reply->hang = 1;
		goto out;
	}
	if (v->mode == VAULT_503_ONCE && v->n_requests == 1) {
		reply->status = 503;
		reply->body = errors("Vault is sealed");
		goto out;
	}
	if (strcmp(req->path, "/v1/auth/approle/login") == 0) {
		const char *rid =
		    json_string_value(json_object_get(body, "role_id"));
		const char *sid =
		    json_string_value(json_object_get(body, "secret_id"));

		v->n_login++;
		if (rid == NULL || sid == NULL || strcmp(rid, v->role_id) ||
		    strcmp(sid, v->secret_id)) {
			reply->status = 400;
			reply->body = errors("invalid role or secret ID");
			goto out;
		}
		json_t *j =
		    json_pack("{s:{s:s, s:i, s:b}}", "auth", "client_token",
			v->token, "lease_duration", 3600, "renewable", 1);
		reply->status = 200;
		reply->body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		goto out;
	}
	if (token == NULL || strcmp(token, v->token) != 0) {
		reply->status = 403;
		reply->body = errors("permission denied");
		goto out;
	}
	if ((strcmp(req->method, "LIST") == 0 &&
		strcmp(req->path, "/v1/pki/certs") == 0) ||
	    (strcmp(req->method, "GET") == 0 &&
		strcmp(req->path, "/v1/pki/certs?list=true") == 0)) {
		list_certs(v, reply);
		goto out;
	}
	if (strcmp(req->method, "GET") == 0 &&
	    strncmp(req->path, "/v1/pki/cert/", 13) == 0) {
		read_cert(v, req->path + 13, reply);
		goto out;
	}
	if (strcmp(req->path, "/v1/pki/revoke") == 0) {
		copy(v->last_serial, sizeof v->last_serial,
		    json_string_value(json_object_get(body, "serial_number")));
		if (v->n_revoke < VAULT_CERTS_MAX)
			v->revoked[v->n_revoke] = strdup(v->last_serial);
		v->n_revoke++;
		if (v->mode != VAULT_REVOKE_HANG)
			mark_revoked(v, v->last_serial);
		/* Revoking again is not an error at Vault: 200 again. */
		reply->hang = v->mode == VAULT_REVOKE_HANG ||
		    v->mode == VAULT_REVOKED_HANG;
		reply->status = 200;
		reply->body = strdup("{\"data\":{\"revocation_time\":1}}");
		goto out;
	}
	if (strcmp(req->path, "/v1/pki/sign/device") != 0) {
		reply->status = 404;
		reply->body = errors("no handler for route");
		goto out;
	}
	v->n_sign++;
	copy(v->last_common_name, sizeof v->last_common_name,
	    json_string_value(json_object_get(body, "common_name")));
	copy(v->last_format, sizeof v->last_format,
	    json_string_value(json_object_get(body, "format")));
	copy(v->last_ttl, sizeof v->last_ttl,
	    json_string_value(json_object_get(body, "ttl")));
	v->last_exclude_cn =
	    json_is_true(json_object_get(body, "exclude_cn_from_sans"));
	if (v->mode == VAULT_POLICY_400) {
		reply->status = 400;
		reply->body = errors(VAULT_POLICY_MSG);
	} else if (v->mode == VAULT_MALFORMED) {
		reply->status = 200;
		reply->body = strdup("{\"data\": {\"certificate\": ");
	} else {
		sign(v, body, reply);
	}
out:
	pthread_mutex_unlock(&v->lock);
	free(token);
	free(ns);
	json_decref(body);
}

struct vault_api_server *
vault_api_server_start(const struct pki_chain *pki, const char *token)
{
	return vault_api_server_start_on(pki, token, 0);
}

struct vault_api_server *
vault_api_server_start_on(const struct pki_chain *pki, const char *token,
    int port)
{
	struct vault_api_server *v = calloc(1, sizeof *v);

	if (v == NULL)
		abort();
	v->pki = pki;
	copy(v->token, sizeof v->token, token);
	pthread_mutex_init(&v->lock, NULL);
	v->srv =
	    https_server_start_on(pki_chain_server_ctx(pki), handle, v, port);
	return v;
}

int
vault_api_server_port(struct vault_api_server *v)
{
	return https_server_port(v->srv);
}

const char *
vault_api_server_addr(struct vault_api_server *v)
{
	return https_server_addr(v->srv);
}

void
vault_api_server_stop(struct vault_api_server *v)
{
	if (v == NULL)
		return;
	https_server_stop(v->srv);
	for (int i = 0; i < v->n_certs; i++) {
		free(v->cert_serial[i]);
		free(v->cert_pem[i]);
	}
	for (int i = 0; i < v->n_revoked; i++)
		free(v->revoked_serial[i]);
	for (int i = 0; i < v->n_revoke && i < VAULT_CERTS_MAX; i++)
		free(v->revoked[i]);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

int
vault_api_server_revokes_of(struct vault_api_server *v, const char *serial)
{
	int n = 0;

	pthread_mutex_lock(&v->lock);
	for (int i = 0; i < v->n_revoke && i < VAULT_CERTS_MAX; i++)
		n += strcmp(v->revoked[i], serial) == 0;
	pthread_mutex_unlock(&v->lock);
	return n;
}
