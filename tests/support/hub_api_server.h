/*
 * A test server following the device hub's documented certificate API
 * (seed 000, "mTLS with CSR"), over HTTPS with the test PKI:
 *
 *	POST   /api/devices/certificates/{deviceId}/sign-csr
 *	       {"csrPem", "firmwareVersion", "hardwareVersion"} -> {"deviceId",
 *	       "clientCert", "caCert", "brokerUrl", "mqttPort",
 *	       "mqttSecurePort", "fingerprint", "serialNumber", "validFrom",
 *	       "validTo"}
 *	DELETE /api/devices/certificates/{deviceId}
 *
 * Errors in the hub framework's shape: {"statusCode", "message", "error"}.
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
};

#define HUB_REFUSAL_MSG "Device SN0001 is not registered"

struct hub_api_server {
	struct https_server *srv;
	const struct pki_chain *pki; /* borrowed */
	enum hub_mode mode;
	char bearer[128]; /* required Authorization value; "" = none */
	pthread_mutex_t lock;
	int n_sign, n_delete;
	char last_method[16], last_path[512];
	char last_fw[32], last_hw[32];
};

struct hub_api_server *hub_api_server_start(const struct pki_chain *pki);
const char *hub_api_server_addr(struct hub_api_server *h);
void hub_api_server_stop(struct hub_api_server *h);

#endif
