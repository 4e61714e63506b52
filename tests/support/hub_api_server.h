/*
 * A test server following the device hub's documented certificate API
 * (seed 000, "mTLS with CSR"), over HTTPS with the test PKI:
 *
 *	POST   /api/devices/certificates/{deviceId}/sign-csr
 *	       {"csrPem", "firmwareVersion", "hardwareVersion"} -> {"deviceId",
 *	       "clientCert", "caCert", "brokerUrl", "mqttPort",
 *	       "mqttSecurePort", "fingerprint", "serialNumber", "validFrom",
 *	       "validTo"}
 *	GET    /api/devices/certificates/{deviceId}
 *	       the device's current certificate, in sign-csr's reply shape
 *	       (the seed shows the call, not the reply: this server assumes
 *	       the shape the hub gives for the same certificate); 404 when
 *	       the device holds none
 *	DELETE /api/devices/certificates/{deviceId}
 *	       revokes the device's current certificate (it is no longer
 *	       current: a GET then answers 404)
 *	GET    /api/devices/certificates/validate/{fingerprint}
 *	       {"valid": true|false, "deviceId"}: valid while the
 *	       certificate of that SHA-256 fingerprint ("AA:BB:...") is a
 *	       device's current one
 *
 * A device has one current certificate: sign-csr replaces it.  Errors in
 * the hub framework's shape: {"statusCode", "message", "error"}.
 */
#ifndef TEST_HUB_API_SERVER_H
#define TEST_HUB_API_SERVER_H

#include <pthread.h>

#include "tests/support/https_server.h"
#include "tests/support/pki.h"

enum hub_mode {
	HUB_OK,
	HUB_UNKNOWN_DEVICE,  /* 404: the device is not registered */
	HUB_BAD_FINGERPRINT, /* 200, but the fingerprint is another cert's */
	HUB_VALIDATE_FALSE,  /* validate answers {"valid": false} */
};

#define HUB_DEVICES_MAX 16

#define HUB_REFUSAL_MSG "Device SN0001 is not registered"

struct hub_api_server {
	struct https_server *srv;
	const struct pki_chain *pki; /* borrowed */
	enum hub_mode mode;
	char bearer[128]; /* required Authorization value; "" = none */
	pthread_mutex_t lock;
	int n_sign, n_delete, n_get, n_validate;
	char last_method[16], last_path[512];
	char last_fw[32], last_hw[32];
	/* What sign-csr's reply names as the broker ("localhost" and 8883
	 * unless a test sets them; "" leaves brokerUrl out). */
	char broker_url[128];
	int broker_port;
	/* Each device's current certificate (PEM; NULL when revoked or
	 * never signed), and every serial DELETE revoked (upper-case hex,
	 * as serialNumber shows it). */
	int n_devices;
	char device[HUB_DEVICES_MAX][64];
	char *current_pem[HUB_DEVICES_MAX];
	int n_revoked;
	char revoked[HUB_DEVICES_MAX][80];
};

/* 1 if DELETE revoked the certificate of serial `serial_hex` (any case). */
int hub_api_server_revoked(struct hub_api_server *h, const char *serial_hex);

struct hub_api_server *hub_api_server_start(const struct pki_chain *pki);
const char *hub_api_server_addr(struct hub_api_server *h);
void hub_api_server_stop(struct hub_api_server *h);

#endif
