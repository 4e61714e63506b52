/*
 * The device hub's certificate API as the CA (seed 000, "mTLS with CSR").
 *
 *	sign    POST {addr}/api/devices/certificates/{deviceId}/sign-csr
 *	        {"csrPem", "firmwareVersion", "hardwareVersion"}
 *	        -> clientCert, caCert, serialNumber, fingerprint, validFrom,
 *	           validTo, deviceId, brokerUrl, mqttSecurePort
 *	lookup  GET {addr}/api/devices/certificates/{deviceId}
 *	        -> the device's current certificate, as sign-csr's reply
 *	revoke  DELETE {addr}/api/devices/certificates/{deviceId}
 *	check   GET {addr}/api/devices/certificates/validate/{fingerprint}
 *	        -> {"valid": true, ...}   (validate_after_sign = yes)
 *
 * {deviceId} is the serial the device reported.  The hub keeps one
 * certificate per device and revokes by device: ops->revoke_cert (with
 * the device the ledger recorded) looks the device's current certificate
 * up and sends DELETE only when it is the certificate to revoke; one the
 * hub already replaced cannot be revoked through its API
 * (ST_E_UNSUPPORTED, saying so).  ops->revoke (a serial alone) answers
 * ST_E_UNSUPPORTED.  Crash recovery (ops->find_issued) reads the device's
 * current certificate.  A bearer token (token_file or token_env) is sent
 * as "Authorization: Bearer" when configured.  With broker_from_reply =
 * yes, the reply's brokerUrl and mqttSecurePort, when they pass
 * hub_broker_check, become the issued certificate's broker_host and
 * broker_port (the smoke test's broker when none is configured).
 *
 * Settings ([ca] keys): addr (required), token_file, token_env, ca_bundle,
 * pin_sha256, timeout_ms, retries, validate_after_sign and
 * broker_from_reply (yes | no, default no).
 */
#ifndef ST_CA_HUB_H
#define ST_CA_HUB_H

#include <stddef.h>

#include "station/ca/ca.h"

/* What the hub says besides the certificates. */
struct hub_reply {
	char *device_id, *fingerprint, *serial, *valid_from, *valid_to;
	char *broker_url;	    /* unchecked: see hub_broker_check */
	long long mqtt_secure_port; /* 0 when absent */
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

/*
 * The hub's brokerUrl and mqttSecurePort as an address the smoke test may
 * use: a host name or address of letters, digits, '.' and '-' (bare, as
 * the hub shows it, or after "mqtts://"), a port in 1..65535.  *host is
 * new.  ST_E_CA saying what is wrong (never quoting the value).
 */
st_err hub_broker_check(const char *url, long long port, char **host,
    char **cause);

#endif
