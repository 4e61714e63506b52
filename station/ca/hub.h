/*
 * The device hub's certificate API as the CA (seed 000, "mTLS with CSR").
 *
 *	sign    POST {addr}/api/devices/certificates/{deviceId}/sign-csr
 *	        {"csrPem", "firmwareVersion", "hardwareVersion"}
 *	        -> clientCert, caCert, serialNumber, fingerprint, validFrom,
 *	           validTo, deviceId, brokerUrl, mqttSecurePort
 *	revoke  DELETE {addr}/api/devices/certificates/{deviceId}
 *
 * {deviceId} is the serial the device reported.  The hub revokes by
 * device, not by certificate serial: ops->revoke (by serial) answers
 * ST_E_UNSUPPORTED, and hub_ca_revoke_device() revokes a device's
 * certificate.  A bearer token (token_file or token_env) is sent as
 * "Authorization: Bearer" when configured.
 *
 * Settings ([ca] keys): addr (required), token_file, token_env, ca_bundle,
 * pin_sha256, timeout_ms, retries.
 */
#ifndef ST_CA_HUB_H
#define ST_CA_HUB_H

#include <stddef.h>

#include "station/ca/ca.h"

/* What the hub says besides the certificates; kept for callers that want
 * it (the broker address), unused by the pipeline. */
struct hub_reply {
	char *device_id, *fingerprint, *serial, *valid_from, *valid_to;
	char *broker_url;
	int mqtt_secure_port; /* 0 when absent */
};

void hub_reply_clear(struct hub_reply *info);

/*
 * Parse a sign-csr reply body for `device_id`: out gets the certificate
 * and caCert as the chain, info the rest (info may be NULL).  ST_E_CA when
 * clientCert is missing or not PEM, or when deviceId, serialNumber or
 * fingerprint (SHA-256 or SHA-1 of the DER, any case, ':' optional)
 * contradict the certificate.
 */
st_err hub_parse_reply(const char *body, size_t len, const char *device_id,
    struct ca_issued *out, struct hub_reply *info, char **cause);

st_err hub_ca_open(const struct ca_settings *s, struct ca_backend **out,
    char **cause);

/* Revoke the certificate of `device_id` (ca must be a hub backend:
 * ST_E_ARG otherwise). */
st_err hub_ca_revoke_device(struct ca_backend *ca, const char *device_id,
    char **cause);

#endif
