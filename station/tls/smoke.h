/*
 * The mTLS smoke test: prove that a freshly provisioned device can reach
 * the broker as itself.  A TLS handshake with the device certificate, whose
 * CertificateVerify is signed by the chip (through an extkey), then MQTT v5
 * CONNECT and a QoS 1 PUBLISH of a random nonce on the device's own topic,
 * answered by PUBACK 0x00 or 0x10 (no subscriber).
 *
 * Every failure gets a stable diagnosis id (smoke_result.diagnosis) and a
 * cause sentence ending with the next step (smoke_advice gives the step
 * alone):
 *
 *	broker-unreachable  connection refused / no route      ST_E_HANGUP
 *	broker-untrusted    broker certificate not trusted     ST_E_POLICY
 *	broker-wrong-host   broker certificate for another name ST_E_POLICY
 *	cert-refused        broker refused the device certificate ST_E_POLICY
 *	signature-refused   broker refused the chip's signature ST_E_POLICY
 *	mqtt-refused        CONNACK or PUBACK refusal           ST_E_POLICY
 *	acl-denied          PUBACK 0x87 (topic not allowed)     ST_E_POLICY
 *	cert-key-mismatch   certificate is not for the chip's key ST_E_MISMATCH
 *	chip-sign-failed    the chip did not sign               ST_E_DEVICE
 *	tls-failed          any other TLS failure               ST_E_CRYPTO
 *	timeout             the deadline passed                 ST_E_TIMEOUT
 *	pass                success
 */
#ifndef ST_SMOKE_H
#define ST_SMOKE_H

#include <openssl/x509.h>

#include "station/tls/extkey.h"
#include "station/util/clock.h"
#include "station/util/err.h"

struct smoke_params {
	const char *host; /* broker host name or address */
	int port;
	const char *ca_file; /* PEM file that trusts the broker */
	const char
	    *server_name;  /* name checked in the broker cert (NULL = host) */
	int tls_version;   /* 12 or 13: both minimum and maximum */
	const char *topic; /* already expanded */
	const char *client_id; /* NULL: libmosquitto picks one */
	X509 *cert;	       /* device certificate (borrowed) */
	STACK_OF(X509) *
	    chain; /* intermediate(s) to send (borrowed, may be NULL) */
	struct extkey *key;	  /* the chip's key (borrowed) */
	struct deadline deadline; /* for the whole step */
};

struct smoke_result {
	char *tls_version; /* "TLSv1.3" once the handshake finished (owned) */
	char *cipher;	   /* negotiated cipher (owned) */
	int puback_reason; /* -1 until a PUBACK arrived */
	int reason_code;   /* CONNACK or PUBACK reason code, -1 if none */
	const char *diagnosis; /* stable id (static string), see above */
};

/*
 * Run the smoke test.  Returns ST_OK with diagnosis "pass", or an error
 * whose kind is listed above; `r` is filled in either way (clear it with
 * smoke_result_clear).  Never waits past p->deadline.
 */
st_err smoke_run(const struct smoke_params *p, struct smoke_result *r,
    char **cause);

void smoke_result_clear(struct smoke_result *r);

/*
 * An early smoke test: smoke_run on a thread of its own, begun before the
 * device holds its certificate, so that the broker's part of the
 * handshake (TCP, ClientHello, the broker's flight and the check of its
 * chain) is done while the device is written and read back.  The thread
 * stops where the handshake needs the device's identity (the broker's
 * CertificateRequest) and waits for smoke_hand; nothing of the device
 * goes to the broker, and no MQTT packet leaves, before it.
 *
 * smoke_begin: `p` as for smoke_run, its cert, chain and topic ignored
 * (copied; the key is borrowed and must outlive smoke_end or
 * smoke_abandon); until smoke_hand, p->deadline bounds the wait.  NULL if
 * no thread could start (then run smoke_run in the step).
 */
struct smoke_early;
struct smoke_early *smoke_begin(const struct smoke_params *p);

/*
 * The identity to present (borrowed until smoke_end), the topic to
 * publish on and the smoke step's deadline; then the test's verdict as
 * smoke_run gives it.  -1 without handing anything when the early test
 * cannot take it: `cert` is not for the key (smoke_run then says so as
 * always), or the broker differs from the one it began with.  smoke_end
 * frees `e`.
 */
int smoke_hand(struct smoke_early *e, X509 *cert, STACK_OF(X509) * chain,
    const char *host, int port, const char *topic, struct deadline dl);
st_err smoke_end(struct smoke_early *e, struct smoke_result *r, char **cause);

/* The run ends without it: the thread drops the handshake (within 50 ms
 * of a wait for the broker) and is joined; `e` is freed.  NULL: nothing. */
void smoke_abandon(struct smoke_early *e);

/* 1 while the thread waits for the hand-over (it has the broker's part
 * of the handshake done), else 0. */
int smoke_early_waiting(struct smoke_early *e);

/* The operator's next step for a diagnosis id ("" for unknown ids). */
const char *smoke_advice(const char *diagnosis);

#endif
