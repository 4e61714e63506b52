/*
 * Smoke-test diagnosis: from alerts, verification errors and MQTT reason
 * codes to a stable id and a sentence an operator can act on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "station/tls/smoke_int.h"
#include "station/util/xalloc.h"

static const struct {
	const char *id;
	const char *advice;
} advice_table[] = {
	{ SMOKE_PASS, "" },
	{ SMOKE_UNREACHABLE,
	    "Check that the test broker runs and that the "
	    "station reaches it (address, port, network); then retry." },
	{ SMOKE_UNTRUSTED,
	    "Check the station's broker trust file: it must "
	    "hold the CA that issued the broker certificate." },
	{ SMOKE_WRONG_HOST,
	    "Check the configured broker name: it must match "
	    "the broker certificate's DNS or IP names." },
	{ SMOKE_CERT_REFUSED,
	    "Check that the device certificate is current "
	    "and issued under the CA the broker trusts (and the intermediate "
	    "is sent); then re-provision the device." },
	{ SMOKE_SIG_REFUSED,
	    "The chip signed with a key that does not match "
	    "the certificate: re-key and re-provision the device." },
	{ SMOKE_MQTT_REFUSED,
	    "Check the broker's rules for this device (user "
	    "name = certificate CN, client id); then retry." },
	{ SMOKE_ACL_DENIED,
	    "Check the smoke topic template and the broker ACL "
	    "for the device's own topic." },
	{ SMOKE_KEY_MISMATCH,
	    "The certificate is not for the chip's key: "
	    "re-provision the device." },
	{ SMOKE_SIGN_FAILED, "The device did not sign: reseat it and retry." },
	{ SMOKE_TLS_FAILED,
	    "Check the TLS settings (version, trust file); the "
	    "log holds OpenSSL's reasons." },
	{ SMOKE_TIMEOUT,
	    "Check the broker's load and the device link; then "
	    "retry." },
};

const char *
smoke_advice(const char *diagnosis)
{
	if (diagnosis == NULL)
		return "";
	for (size_t i = 0; i < sizeof advice_table / sizeof advice_table[0];
	     i++)
		if (strcmp(advice_table[i].id, diagnosis) == 0)
			return advice_table[i].advice;
	return "";
}

st_err
smoke_fail(struct smoke_result *r, char **cause, st_err err, const char *id,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	r->diagnosis = id;
	if (cause == NULL)
		return err;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	st_fail(cause, err, "%s [%s] %s", msg, id, smoke_advice(id));
	free(msg);
	return err;
}

static bool
is_cert_alert(int alert)
{
	switch (alert) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

static st_err
diagnose_tls(const struct smoke_state *s, struct smoke_result *r, char **cause)
{
	const char *log = s->log[0] ? s->log : "no detail";

	if (s->verify_err == X509_V_ERR_HOSTNAME_MISMATCH ||
	    s->verify_err == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_WRONG_HOST,
		    "The broker certificate is not valid for %s.",
		    s->p->server_name ? s->p->server_name : s->p->host);
	if (s->verify_err != 0)
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_UNTRUSTED,
		    "The broker certificate is not trusted by %s (%s, depth "
		    "%d).",
		    s->p->ca_file, X509_verify_cert_error_string(s->verify_err),
		    s->verify_depth);
	if (s->alert_recv == SSL_AD_DECRYPT_ERROR)
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_SIG_REFUSED,
		    "The broker refused the handshake signature (TLS alert "
		    "decrypt_error).");
	if (is_cert_alert(s->alert_recv))
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_CERT_REFUSED,
		    "The broker refused the device certificate (TLS alert "
		    "%s).",
		    SSL_alert_desc_string_long(s->alert_recv));
	if (s->alert_recv >= 0)
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_TLS_FAILED,
		    "The broker ended the handshake (TLS alert %s).",
		    SSL_alert_desc_string_long(s->alert_recv));
	if (extkey_sign_count(s->p->key) > s->signs_before &&
	    extkey_last_error(s->p->key) != NULL)
		return smoke_fail(r, cause, ST_E_DEVICE, SMOKE_SIGN_FAILED,
		    "The chip did not sign the handshake (%s).",
		    extkey_last_error(s->p->key));
	return smoke_fail(r, cause, ST_E_CRYPTO, SMOKE_TLS_FAILED,
	    "The TLS handshake with the broker failed (%s).", log);
}

/*
 * Dropped after our TLS 1.3 handshake finished but before CONNACK: the
 * broker refused our certificate flight, and its alert was lost because
 * our CONNECT crossed its close (the reset discards the alert).  Our own
 * check of the chip's signature tells which half it refused.
 */
static st_err
diagnose_dropped(const struct smoke_state *s, struct smoke_result *r,
    char **cause)
{
	if (extkey_bad_signatures(s->p->key) > s->bad_before)
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_SIG_REFUSED,
		    "The broker dropped the connection after the handshake, "
		    "and the chip's signature does not match the certificate's "
		    "key.");
	return smoke_fail(r, cause, ST_E_POLICY, SMOKE_CERT_REFUSED,
	    "The broker dropped the connection right after the TLS handshake "
	    "(before CONNACK): it refused the device certificate (%s).",
	    s->log[0] ? s->log : "its alert was lost");
}

st_err
smoke_diagnose(const struct smoke_state *s, struct smoke_result *r, int loop_rc,
    int loop_errno, bool timed_out, char **cause)
{
	const struct smoke_params *p = s->p;

	r->reason_code = -1;
	if (s->puback_seen) {
		r->reason_code = s->puback_rc;
		if (s->puback_rc == MQTT_RC_SUCCESS ||
		    s->puback_rc == MQTT_RC_NO_MATCHING_SUBSCRIBERS) {
			r->diagnosis = SMOKE_PASS;
			return ST_OK;
		}
		if (s->puback_rc == MQTT_RC_NOT_AUTHORIZED)
			return smoke_fail(r, cause, ST_E_POLICY,
			    SMOKE_ACL_DENIED,
			    "The broker denied publishing to "
			    "%s (PUBACK 0x87 not authorised).",
			    p->topic);
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_MQTT_REFUSED,
		    "The broker refused the publish to %s (PUBACK 0x%02x "
		    "%s).",
		    p->topic, s->puback_rc,
		    mosquitto_reason_string(s->puback_rc));
	}
	if (s->connack_seen && s->connack_rc != 0) {
		r->reason_code = s->connack_rc;
		return smoke_fail(r, cause, ST_E_POLICY, SMOKE_MQTT_REFUSED,
		    "The broker refused the MQTT connection (CONNACK 0x%02x "
		    "%s).",
		    s->connack_rc, mosquitto_reason_string(s->connack_rc));
	}
	/* TLS trouble explains a timeout or a lost connection best. */
	if (s->verify_err != 0 || s->alert_recv >= 0 || s->alert_sent >= 0 ||
	    loop_rc == MOSQ_ERR_TLS ||
	    (!s->handshake_done && !timed_out && loop_rc != MOSQ_ERR_ERRNO))
		return diagnose_tls(s, r, cause);
	if (!s->handshake_done && loop_rc == MOSQ_ERR_ERRNO &&
	    (loop_errno == ECONNREFUSED || loop_errno == EHOSTUNREACH ||
		loop_errno == ENETUNREACH || loop_errno == ECONNRESET))
		return smoke_fail(r, cause, ST_E_HANGUP, SMOKE_UNREACHABLE,
		    "No connection to the broker at %s:%d (%s).", p->host,
		    p->port, strerror(loop_errno));
	if (timed_out)
		return smoke_fail(r, cause, ST_E_TIMEOUT, SMOKE_TIMEOUT,
		    "The broker at %s:%d did not %s in time.", p->host, p->port,
		    !s->handshake_done	 ? "finish the TLS handshake" :
			!s->connack_seen ? "answer CONNECT" :
					   "answer PUBLISH");
	if (!s->handshake_done)
		return diagnose_tls(s, r, cause);
	if (!s->connack_seen)
		return diagnose_dropped(s, r, cause);
	return smoke_fail(r, cause, ST_E_HANGUP, SMOKE_UNREACHABLE,
	    "The broker at %s:%d closed the connection (%s; %s).", p->host,
	    p->port, mosquitto_strerror(loop_rc),
	    s->log[0] ? s->log : "no detail");
}
