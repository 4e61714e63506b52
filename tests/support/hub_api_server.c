/* A test server following the device hub's documented certificate API
 * (see hub_api_server.h). */
#include "tests/support/hub_api_server.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

static void
copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strnlen(src, cap - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static char *
refusal(int status, const char *msg, const char *error)
{
	json_t *j = json_pack("{s:i, s:s, s:s}", "statusCode", status,
	    "message", msg, "error", error);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	return s;
}

static void
fingerprint(X509 *cert, char *out)
{
	unsigned char md[32];
	unsigned n = 0;

	X509_digest(cert, EVP_sha256(), md, &n);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

/* The slot of device `id` (created when `make`), or -1. */
static int
device_slot(struct hub_api_server *h, const char *id, int make)
{
	for (int i = 0; i < h->n_devices; i++)
		if (strcmp(h->device[i], id) == 0)
			return i;
	if (!make || h->n_devices == HUB_DEVICES_MAX)
		return -1;
	copy(h->device[h->n_devices], sizeof h->device[0], id);
	return h->n_devices++;
}

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	return x;
}

static void
serial_of(X509 *cert, char *out, size_t cap)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = BN_bn2hex(bn);

	snprintf(out, cap, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* The reply for `cert` of device `id`, as sign-csr gives it. */
static char *
cert_reply(struct hub_api_server *h, const char *id, X509 *cert)
{
	char fp[100] = "", serial[80] = "";
	char *pem = pki_pem(cert), *ca = pki_pem(h->pki->inter), *out;
	json_t *j;

	serial_of(cert, serial, sizeof serial);
	fingerprint(h->mode == HUB_BAD_FINGERPRINT ? h->pki->inter : cert, fp);
	j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "deviceId",
	    id, "clientCert", pem, "caCert", ca, "mqttPort", 1883,
	    "fingerprint", fp, "serialNumber", serial, "validFrom",
	    "2025-06-15T10:00:00.000Z", "validTo", "2026-06-15T10:00:00.000Z");
	if (h->broker_url[0]) {
		json_object_set_new(j, "brokerUrl", json_string(h->broker_url));
		json_object_set_new(j, "mqttSecurePort",
		    json_integer(h->broker_port));
	}
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(pem);
	free(ca);
	return out;
}

static void
get_current(struct hub_api_server *h, const char *id, struct https_reply *reply)
{
	int i = device_slot(h, id, 0);
	X509 *cert =
	    i >= 0 && h->current_pem[i] ? pem_cert(h->current_pem[i]) : NULL;

	h->n_get++;
	if (cert == NULL) {
		reply->status = 404;
		reply->body =
		    refusal(404, "Certificate not found", "Not Found");
		return;
	}
	reply->status = 200;
	reply->body = cert_reply(h, id, cert);
	X509_free(cert);
}

static void
delete_current(struct hub_api_server *h, const char *id,
    struct https_reply *reply)
{
	int i = device_slot(h, id, 0);
	X509 *cert =
	    i >= 0 && h->current_pem[i] ? pem_cert(h->current_pem[i]) : NULL;

	h->n_delete++;
	if (cert == NULL) {
		reply->status = 404;
		reply->body =
		    refusal(404, "Certificate not found", "Not Found");
		return;
	}
	if (h->n_revoked < HUB_DEVICES_MAX)
		serial_of(cert, h->revoked[h->n_revoked++],
		    sizeof h->revoked[0]);
	free(h->current_pem[i]);
	h->current_pem[i] = NULL;
	X509_free(cert);
	reply->status = 200;
	reply->body = strdup("{\"revoked\":true}");
}

static void
validate(struct hub_api_server *h, const char *fp, struct https_reply *reply)
{
	const char *owner = NULL;

	h->n_validate++;
	for (int i = 0; h->mode != HUB_VALIDATE_FALSE && i < h->n_devices;
	     i++) {
		X509 *cert =
		    h->current_pem[i] ? pem_cert(h->current_pem[i]) : NULL;
		char mine[100] = "";

		if (cert != NULL)
			fingerprint(cert, mine);
		if (cert != NULL && strcasecmp(mine, fp) == 0)
			owner = h->device[i];
		X509_free(cert);
	}
	json_t *j = json_pack("{s:b}", "valid", owner != NULL);
	if (owner)
		json_object_set_new(j, "deviceId", json_string(owner));
	reply->status = 200;
	reply->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
}

static void
sign(struct hub_api_server *h, const char *id, json_t *req,
    struct https_reply *reply)
{
	const char *pem_in = json_string_value(json_object_get(req, "csrPem"));
	BIO *b = pem_in ? BIO_new_mem_buf(pem_in, -1) : NULL;
	X509_REQ *csr = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (csr == NULL) {
		reply->status = 400;
		reply->body = refusal(400, "Invalid CSR", "Bad Request");
		return;
	}
	X509 *cert = pki_chain_sign(h->pki, csr, 365, NULL);
	int i = device_slot(h, id, 1);

	/* The device's new certificate replaces its current one. */
	if (i >= 0) {
		free(h->current_pem[i]);
		h->current_pem[i] = pki_pem(cert);
	}
	reply->status = 201;
	reply->body = cert_reply(h, id, cert);
	X509_free(cert);
	X509_REQ_free(csr);
}

static void
handle(void *arg, const struct https_request *req, struct https_reply *reply)
{
	struct hub_api_server *h = arg;
	static const char prefix[] = "/api/devices/certificates/";
	json_t *body = json_loads(req->body, 0, NULL);
	char *auth = https_request_header(req, "Authorization");
	char id[128] = "";
	const char *rest = req->path + strlen(prefix);
	const char *slash;

	pthread_mutex_lock(&h->lock);
	copy(h->last_method, sizeof h->last_method, req->method);
	copy(h->last_path, sizeof h->last_path, req->path);
	if (strncmp(req->path, prefix, strlen(prefix)) != 0) {
		reply->status = 404;
		reply->body = refusal(404, "Cannot find route", "Not Found");
		goto out;
	}
	if (h->bearer[0] && (auth == NULL || strcmp(auth, h->bearer) != 0)) {
		reply->status = 401;
		reply->body = refusal(401, "Unauthorized", "Unauthorized");
		goto out;
	}
	slash = strchr(rest, '/');
	copy(id, sizeof id, rest);
	if (slash)
		id[slash - rest < (long)sizeof id ? slash - rest : 0] = '\0';
	if (h->mode == HUB_UNKNOWN_DEVICE) {
		reply->status = 404;
		reply->body = refusal(404, HUB_REFUSAL_MSG, "Not Found");
		goto out;
	}
	if (strcmp(req->method, "GET") == 0 && slash &&
	    strncmp(rest, "validate/", 9) == 0) {
		validate(h, rest + 9, reply);
	} else if (strcmp(req->method, "GET") == 0 && slash == NULL) {
		get_current(h, id, reply);
	} else if (strcmp(req->method, "DELETE") == 0 && slash == NULL) {
		delete_current(h, id, reply);
	} else if (strcmp(req->method, "POST") == 0 && slash &&
	    strcmp(slash, "/sign-csr") == 0) {
		h->n_sign++;
		copy(h->last_fw, sizeof h->last_fw,
		    json_string_value(
			json_object_get(body, "firmwareVersion")));
		copy(h->last_hw, sizeof h->last_hw,
		    json_string_value(
			json_object_get(body, "hardwareVersion")));
		sign(h, id, body, reply);
	} else {
		reply->status = 404;
		reply->body = refusal(404, "Cannot find route", "Not Found");
	}
out:
	pthread_mutex_unlock(&h->lock);
	free(auth);
	json_decref(body);
}

struct hub_api_server *
hub_api_server_start(const struct pki_chain *pki)
{
	struct hub_api_server *h = calloc(1, sizeof *h);

	if (h == NULL)
		abort();
	h->pki = pki;
	snprintf(h->broker_url, sizeof h->broker_url, "localhost");
	h->broker_port = 8883;
	pthread_mutex_init(&h->lock, NULL);
	h->srv = https_server_start(pki_chain_server_ctx(pki), handle, h);
	return h;
}

int
hub_api_server_revoked(struct hub_api_server *h, const char *serial_hex)
{
	int found = 0;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < h->n_revoked; i++) {
		const char *a = h->revoked[i], *b = serial_hex;

		/* leading zeros aside, any case */
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		if (strcasecmp(a, b) == 0)
			found = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

const char *
hub_api_server_addr(struct hub_api_server *h)
{
	return https_server_addr(h->srv);
}

void
hub_api_server_stop(struct hub_api_server *h)
{
	if (h == NULL)
		return;
	https_server_stop(h->srv);
	pthread_mutex_destroy(&h->lock);
	for (int i = 0; i < h->n_devices; i++)
		free(h->current_pem[i]);
	free(h);
}
