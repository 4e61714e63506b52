/*
 * The device-driven smoke test (docs/smoke.md): the key is in the modem
 * and the modem signs nothing of the station's, so the modem itself
 * connects to the broker over TLS with its own key and the certificate of
 * its sec_tag (the Serial LTE Modem's #XMQTTCFG, #XMQTTCON with the
 * sec_tag) and publishes a fresh nonce on its test topic (#XMQTTPUB),
 * while the station, subscribed on the same broker, waits for exactly that
 * message.  The broker's ACL lets only the identity whose certificate CN
 * is in the topic write it, so the message arriving proves that identity.
 *
 * The station's subscriber connects to [broker] observer_port: a TLS
 * listener of the same broker that checks no client certificate (the
 * station holds no private key) and lets a client read the test topics
 * only.
 */
#include <mosquitto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/pipeline/dialect_nrf91.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct observer {
	struct mosquitto *m;
	int connack; /* -1 until CONNACK */
	int subscribed;
	int got; /* the nonce arrived on the topic */
	const char *topic, *nonce;
};

static void
obs_connect(struct mosquitto *m, void *ctx, int rc)
{
	struct observer *o = ctx;

	(void)m;
	o->connack = rc;
}

static void
obs_subscribe(struct mosquitto *m, void *ctx, int mid, int n, const int *qos)
{
	struct observer *o = ctx;

	(void)m;
	(void)mid;
	o->subscribed = n == 1 && qos[0] <= 2 ? 1 : -1;
}

static void
obs_message(struct mosquitto *m, void *ctx, const struct mosquitto_message *msg)
{
	struct observer *o = ctx;

	(void)m;
	if (strcmp(msg->topic, o->topic) == 0 && msg->payloadlen >= 0 &&
	    (size_t)msg->payloadlen == strlen(o->nonce) &&
	    memcmp(msg->payload, o->nonce, strlen(o->nonce)) == 0)
		o->got = 1;
}

/* Run the subscriber's loop until *flag leaves `from` or `dl` passes. */
static void
obs_pump(struct observer *o, const int *flag, int from, struct deadline dl)
{
	while (*flag == from && !deadline_passed(dl)) {
		int left = deadline_left_ms(dl);

		if (mosquitto_loop(o->m, left < 100 ? left : 100, 1) !=
		    MOSQ_ERR_SUCCESS)
			break;
	}
}

static st_err
obs_start(struct run *r, const struct config_broker *b, struct observer *o,
    struct smoke_result *sr)
{
	int rc;

	mosquitto_lib_init();
	o->connack = -1;
	o->m = mosquitto_new(NULL, true, o);
	mosquitto_connect_callback_set(o->m, obs_connect);
	mosquitto_subscribe_callback_set(o->m, obs_subscribe);
	mosquitto_message_callback_set(o->m, obs_message);
	rc = mosquitto_tls_set(o->m, b->ca_file, NULL, NULL, NULL, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_connect(o->m, b->host, b->observer_port, 30);
	if (rc == MOSQ_ERR_SUCCESS)
		obs_pump(o, &o->connack, -1, r->deadline);
	if (rc != MOSQ_ERR_SUCCESS || o->connack != 0) {
		sr->diagnosis = "broker-unreachable";
		return st_fail(&r->cause, ST_E_HANGUP,
		    "the station's subscriber cannot reach the broker's "
		    "observer listener %s:%d (%s): check [broker] "
		    "observer_port and the broker",
		    b->host, b->observer_port,
		    rc != MOSQ_ERR_SUCCESS ?
			mosquitto_strerror(rc) :
			mosquitto_connack_string(o->connack));
	}
	rc = mosquitto_subscribe(o->m, NULL, o->topic, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		obs_pump(o, &o->subscribed, 0, r->deadline);
	if (o->subscribed != 1) {
		sr->diagnosis = "acl-denied";
		return st_fail(&r->cause, ST_E_POLICY,
		    "the station could not subscribe to %s on the observer "
		    "listener: the broker must let it read the test topics",
		    o->topic);
	}
	return ST_OK;
}

/* The next #XMQTTEVT of type `type`: its result. */
static st_err
mqtt_event(struct run *r, int type, long long *result)
{
	char *line = NULL, **f = NULL;
	long long t;
	st_err err;

	for (;;) {
		err = at_wait_urc(nrf91_of(r)->at, "#XMQTTEVT:", &line,
		    &r->cause);
		if (err)
			return err;
		if (at_fields(line, &f) == 2 && num_valid(f[0], 0, 99, &t) &&
		    num_valid(f[1], -100000, 100000, result) && t == type) {
			at_lines_free(f);
			free(line);
			return ST_OK;
		}
		at_lines_free(f);
		f = NULL;
		free(line);
		line = NULL;
	}
}

/* Registered (+CEREG stat 1 home or 5 roaming) after CFUN=1. */
static st_err
wait_registered(struct run *r)
{
	char *line = NULL, **f = NULL;
	long long stat = -1;
	st_err err;

	while (stat != 1 && stat != 5) {
		err = at_wait_urc(nrf91_of(r)->at, "+CEREG:", &line, &r->cause);
		if (err)
			return st_wrap(&r->cause, err,
			    "the modem did not register on the network");
		if (at_fields(line, &f) < 1 || !num_valid(f[0], 0, 99, &stat))
			stat = -1;
		at_lines_free(f);
		f = NULL;
		free(line);
		line = NULL;
	}
	return ST_OK;
}

static st_err
modem_publish(struct run *r, const struct config_broker *b, const char *topic,
    const char *nonce, struct smoke_result *sr)
{
	struct nrf91 *n = nrf91_of(r);
	long tag = r->profile->nrf91_sec_tag;
	long long result = 0;
	char *cmd = NULL;
	st_err err;

	err = at_cmd(n->at, "AT+CEREG=5", NULL, NULL, &r->cause);
	if (err == ST_OK)
		err = nrf91_cfun_set(r, 1);
	if (err == ST_OK)
		err = wait_registered(r);
	if (err) {
		sr->diagnosis = "broker-unreachable";
		return err;
	}
	cmd = xasprintf("AT#XMQTTCFG=\"%s\",60,1", r->info.serial);
	err = at_cmd(n->at, cmd, NULL, NULL, &r->cause);
	free(cmd);
	if (err)
		return err;
	cmd = xasprintf("AT#XMQTTCON=1,\"\",\"\",\"%s\",%d,%ld", b->host,
	    b->port, tag);
	err = at_cmd(n->at, cmd, NULL, NULL, &r->cause);
	free(cmd);
	if (err == ST_OK)
		err = mqtt_event(r, 0, &result);
	if (err == ST_OK && result != 0) {
		sr->reason_code = result > 0 ? (int)result : -1;
		sr->diagnosis = result > 0 ? "mqtt-refused" : "cert-refused";
		return st_fail(&r->cause, ST_E_POLICY,
		    "the broker refused the modem's MQTT connection "
		    "(#XMQTTEVT: 0,%lld: %s): check that the broker trusts "
		    "the device CA and that sec_tag %ld holds the client "
		    "certificate",
		    result,
		    result > 0 ? "CONNACK refusal" : "TLS or TCP failure", tag);
	}
	if (err) {
		sr->diagnosis = "broker-unreachable";
		return err;
	}
	n->mqtt_up = 1;
	sr->tls_version = xstrdup("TLSv1.2"); /* the modem's TLS stops there */
	cmd = xasprintf("AT#XMQTTPUB=\"%s\",\"%s\",1,0", topic, nonce);
	err = at_cmd(n->at, cmd, NULL, NULL, &r->cause);
	free(cmd);
	if (err == ST_OK)
		err = mqtt_event(r, 3, &result);
	if (err == ST_OK && result != 0) {
		sr->diagnosis = "acl-denied";
		return st_fail(&r->cause, ST_E_POLICY,
		    "the modem's publish on %s was not acknowledged "
		    "(#XMQTTEVT: 3,%lld)",
		    topic, result);
	}
	if (err == ST_OK)
		sr->puback_reason = 0;
	return err;
}

st_err
nrf91_smoke(struct run *r, const struct config_broker *b, const char *topic,
    struct smoke_result *sr)
{
	struct observer o = { .topic = topic };
	unsigned char rnd[16];
	char nonce[33];
	st_err err;

	if (b->observer_port == 0) {
		sr->diagnosis = "broker-unreachable";
		return st_fail(&r->cause, ST_E_CONFIG,
		    "the device-driven smoke test needs [broker] "
		    "observer_port (a listener where the station subscribes "
		    "without a certificate): see docs/smoke.md");
	}
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return st_fail_ssl(&r->cause, ST_E_CRYPTO, "drawing the nonce");
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
	o.nonce = nonce;
	err = obs_start(r, b, &o, sr);
	if (err)
		goto out;
	err = modem_publish(r, b, topic, nonce, sr);
	if (err)
		goto out;
	obs_pump(&o, &o.got, 0, r->deadline);
	if (!o.got) {
		sr->diagnosis = "timeout";
		err = st_fail(&r->cause, ST_E_TIMEOUT,
		    "the modem's message did not reach the station's "
		    "subscription on %s",
		    topic);
		goto out;
	}
	sr->diagnosis = "pass";
	run_info(r, "the modem's message arrived on %s from identity %s", topic,
	    r->info.serial);
out:
	if (sr->diagnosis == NULL)
		sr->diagnosis = "tls-failed";
	if (o.m != NULL) {
		mosquitto_disconnect(o.m);
		mosquitto_destroy(o.m);
	}
	return err;
}
