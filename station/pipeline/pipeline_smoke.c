/*
 * The smoke step: the device's new identity must be accepted by the test
 * broker.  The station does the TLS handshake with the device certificate;
 * the CertificateVerify signature is made by the chip over the device link
 * (protocol SIGN), through an external key.  The certificate and chain
 * presented are the ones the readback step got from the device.  The
 * outcome goes into the ledger whatever it is.
 */
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "drivers/proto/proto.h"
#include "station/config/config.h"
#include "station/tls/extkey.h"
#include "station/x509/identity.h"
#include "station/pipeline/pipeline_run.h"
#include "station/tls/smoke.h"
#include "station/util/xalloc.h"

/* extkey callback: the chip signs the handshake digest. */
static st_err
chip_sign(void *ctx, enum sig_scheme scheme, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	struct run *r = ctx;

	return r->dialect->sign(r, scheme, digest, digest_len, sig, sig_len,
	    cause);
}

/* The smoke test's parameters for the chip's key `key`: what the device
 * read back (cert, chain: NULL in an early test until the hand-over). */
static struct smoke_params
v1_smoke_params(struct run *r, const struct config_broker *b, const char *topic,
    struct extkey *key)
{
	struct smoke_params p = {
		.host = b->host,
		.port = b->port,
		.ca_file = b->ca_file,
		.server_name = b->server_name,
		.tls_version = r->profile->tls_min_version,
		.topic = topic,
		.client_id = r->info.serial,
		.cert = r->held_cert,
		.chain = r->held_chain,
		.key = key,
		.deadline = r->deadline,
	};

	return p;
}

/*
 * The station-driven smoke test (v1): the station does the handshake as
 * the device, the chip signing it.  What the device read back is
 * presented, not what the CA sent: the broker sees what the device will
 * present, so a device holding a broken chain cannot pass here.  An
 * early test (v1_smoke_begin) is handed that and finishes; one that
 * cannot take it (another broker or topic, a certificate not for the
 * key) is let go and the test runs here from the start.
 */
st_err
v1_smoke(struct run *r, const struct config_broker *b, const char *topic,
    struct smoke_result *sr)
{
	struct extkey *key = NULL;
	st_err err;

	if (r->early_smoke != NULL &&
	    smoke_hand(r->early_smoke, r->held_cert, r->held_chain, b->host,
		b->port, topic, r->deadline) == 0) {
		/* The broker checks the device now, a few milliseconds
		 * this thread only waits through: the run's events so far
		 * and the statements of its end are done here rather than
		 * after. */
		ledger_sink_flush(&r->ledger);
		ledger_warm_run_end(r->st->ledger);
		err = smoke_end(r->early_smoke, sr, &r->cause);
		r->early_smoke = NULL; /* ended: only its key is left */
		run_smoke_abandon(r);
		return err;
	}
	run_smoke_abandon(r);
	err = extkey_new(r->spki, r->spki_len, chip_sign, r, &key, &r->cause);
	if (err)
		return err;
	struct smoke_params p = v1_smoke_params(r, b, topic, key);
	err = smoke_run(&p, sr, &r->cause);
	extkey_free(key);
	return err;
}

void
v1_smoke_begin(struct run *r, const struct config_broker *b, struct deadline dl)
{
	struct extkey *key = NULL;
	char *why = NULL;

	if (extkey_new(r->spki, r->spki_len, chip_sign, r, &key, &why) !=
	    ST_OK) {
		free(why); /* the step makes it again and says why */
		return;
	}
	struct smoke_params p = v1_smoke_params(r, b, NULL, key);

	p.deadline = dl;
	r->early_smoke = smoke_begin(&p);
	if (r->early_smoke == NULL)
		extkey_free(key);
	else
		r->early_key = key;
}

void
run_smoke_abandon(struct run *r)
{
	smoke_abandon(r->early_smoke);
	r->early_smoke = NULL;
	extkey_free(r->early_key);
	r->early_key = NULL;
}

static char *
cert_cn(X509 *cert)
{
	char cn[256];

	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
		NID_commonName, cn, sizeof cn) <= 0)
		return xstrdup("");
	return xstrdup(cn);
}

static st_err
record(struct run *r, enum ledger_smoke_status status, const char *broker,
    const struct smoke_result *sr, const char *detail)
{
	char *why = NULL;
	st_err err = ledger_run_smoke(r->st->ledger, r->res->run_id, status,
	    broker, sr ? sr->tls_version : NULL, sr ? sr->cipher : NULL, detail,
	    &why);

	if (err) {
		free(r->cause);
		r->cause = why;
		return st_wrap(&r->cause, err, "recording the smoke result");
	}
	return ST_OK;
}

/* The broker of this run's smoke test: the configured one, else the one
 * the CA named for its devices (the hub's brokerUrl, checked as an
 * address by the backend; its certificate checked against the pinned
 * root), filled into `named`.  NULL: no broker. */
static const struct config_broker *
smoke_broker(struct run *r, struct config_broker *named)
{
	const struct config_broker *b = &r->st->cfg->broker;

	if (b->host == NULL && r->issued.broker_host != NULL) {
		named->host = r->issued.broker_host;
		named->port = r->issued.broker_port;
		named->ca_file = r->st->cfg->ca_root;
		named->server_name = r->issued.broker_host;
		b = named;
	}
	return b->host != NULL ? b : NULL;
}

/* The topic the device publishes on, checked like at hello: no value can
 * add a level or a wildcard. */
static st_err
smoke_topic(struct run *r, char **topic)
{
	char *cn = cert_cn(r->issued.cert);
	struct template_vars vars = { .serial = r->info.serial,
		.model = r->info.model,
		.station = r->st->cfg->station_id,
		.cn = cn };
	st_err err = identity_topic(r->profile, &vars, topic, &r->cause);

	free(cn);
	return err;
}

void
run_smoke_begin(struct run *r, struct deadline dl)
{
	struct config_broker named = { 0 };
	const struct config_broker *b;

	if (r->early_smoke != NULL || r->dialect->smoke_begin == NULL)
		return;
	b = smoke_broker(r, &named);
	if (b != NULL)
		r->dialect->smoke_begin(r, b, dl);
}

st_err
step_smoke(struct run *r)
{
	const struct config_broker *b;
	struct config_broker named = { 0 };
	struct smoke_result sr = { .puback_reason = -1, .reason_code = -1 };
	char *topic = NULL, *broker = NULL;
	st_err err;

	b = smoke_broker(r, &named);
	if (b == &named)
		run_info(r, "smoke test against the broker the CA named, %s:%d",
		    b->host, b->port);
	if (b == NULL) {
		if (r->profile->smoke_required)
			return st_fail(&r->cause, ST_E_CONFIG,
			    "profile '%s' requires the smoke test but no broker "
			    "is configured",
			    r->profile->name);
		r->res->smoke = "skipped";
		r->step_note = "skipped";
		r->res->smoke_detail = xstrdup("no broker configured");
		return record(r, LEDGER_SMOKE_SKIPPED, NULL, NULL,
		    "no broker configured");
	}
	err = smoke_topic(r, &topic);
	if (err)
		goto out;
	broker = xasprintf("%s:%d", b->host, b->port);
	err = r->dialect->smoke(r, b, topic, &sr);
	if (err) {
		r->res->smoke = "failed";
		r->res->smoke_detail =
		    xstrdup(sr.diagnosis ? sr.diagnosis : "");
		/* The MQTT reason code, when the broker sent one, is what a test
		 * engineer looks up first. */
		char *detail = sr.reason_code >= 0 ?
		    xasprintf("%s (reason code 0x%02x) on %s", r->cause,
			sr.reason_code & 0xFF, topic) :
		    xasprintf("%s on %s", r->cause, topic);
		record(r, LEDGER_SMOKE_FAILED, broker, &sr, detail);
		free(detail);
		goto out;
	}
	r->res->smoke = "passed";
	r->res->smoke_detail = xasprintf("%s %s, %s", broker,
	    sr.tls_version ? sr.tls_version : "?", sr.cipher ? sr.cipher : "?");
	run_info(r, "smoke test passed: %s on %s (PUBACK 0x%02x)",
	    r->res->smoke_detail, topic, sr.puback_reason & 0xFF);
	char *detail =
	    xasprintf("PUBACK 0x%02x on %s", sr.puback_reason & 0xFF, topic);
	err = record(r, LEDGER_SMOKE_PASSED, broker, &sr, detail);
	free(detail);
out:
	smoke_result_clear(&sr);
	free(topic);
	free(broker);
	return err;
}
