/* A test server following the device hub's documented certificate API
 * (see hub_api_server.h). */
#include "tests/support/hub_api_server.h"

#include <jansson.h>
#include <openssl/pem.h>
#include <stdio.h>
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

static void
sign(struct hub_api_server *h, const char *id, json_t *req,
    struct https_reply *reply)
{
	const char *pem_in = json_string_value(json_object_get(req, "csrPem"));
	BIO *b = pem_in ? BIO_new_mem_buf(pem_in, -1) : NULL;
	X509_REQ *csr = b ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
	char fp[100] = "", serial[80] = "";

	BIO_free(b);
	if (csr == NULL) {
		reply->status = 400;
		reply->body = refusal(400, "Invalid CSR", "Bad Request");
		return;
	}
	X509 *cert = pki_chain_sign(h->pki, csr, 365, NULL);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = BN_bn2hex(bn);
	snprintf(serial, sizeof serial, "%s", hex);
	fingerprint(h->mode == HUB_BAD_FINGERPRINT ? h->pki->inter : cert, fp);
	char *pem = pki_pem(cert), *ca = pki_pem(h->pki->inter);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, "
			      "s:s}",
	    "deviceId", id, "clientCert", pem, "caCert", ca, "brokerUrl",
	    "localhost", "mqttPort", 1883, "mqttSecurePort", 8883,
	    "fingerprint", fp, "serialNumber", serial, "validFrom",
	    "2025-06-15T10:00:00.000Z", "validTo", "2026-06-15T10:00:00.000Z");
	reply->status = 201;
	reply->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	OPENSSL_free(hex);
	BN_free(bn);
	free(pem);
	free(ca);
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
	if (strcmp(req->method, "DELETE") == 0 && slash == NULL) {
		h->n_delete++;
		reply->status = 200;
		reply->body = strdup("{\"revoked\":true}");
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
	pthread_mutex_init(&h->lock, NULL);
	h->srv = https_server_start(pki_chain_server_ctx(pki), handle, h);
	return h;
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
	free(h);
}
