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

/* The station-driven smoke test (v1): the station does the handshake as
 * the device, the chip signing it. */
st_err
v1_smoke(struct run *r, const struct config_broker *b, const char *topic,
    struct smoke_result *sr)
{
	struct extkey *key = NULL;
	st_err err;

	err = extkey_new(r->spki, r->spki_len, chip_sign, r, &key, &r->cause);
	if (err)
		return err;
	/* What the device read back, not what the CA sent: the broker sees
	 * what the device will present, so a device holding a broken chain
	 * cannot pass here. */
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
	err = smoke_run(&p, sr, &r->cause);
	extkey_free(key);
	return err;
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

st_err
step_smoke(struct run *r)
{
	const struct config_broker *b = &r->st->cfg->broker;
	struct config_broker named = { 0 };
	struct smoke_result sr = { .puback_reason = -1, .reason_code = -1 };
	char *cn = NULL, *topic = NULL, *broker = NULL;
	st_err err;

	if (b->host == NULL && r->issued.broker_host != NULL) {
		/* No broker of our own: the one the CA names for its devices
		 * (the hub's brokerUrl, checked as an address by the
		 * backend), its certificate checked against the pinned
		 * root. */
		named.host = r->issued.broker_host;
		named.port = r->issued.broker_port;
		named.ca_file = r->st->cfg->ca_root;
		named.server_name = r->issued.broker_host;
		b = &named;
		run_info(r, "smoke test against the broker the CA named, %s:%d",
		    b->host, b->port);
	}
	if (b->host == NULL) {
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
	broker = xasprintf("%s:%d", b->host, b->port);
	cn = cert_cn(r->issued.cert);
	struct template_vars vars = { .serial = r->info.serial,
		.model = r->info.model,
		.station = r->st->cfg->station_id,
		.cn = cn };
	/* Checked like at hello: no value can add a level or a wildcard. */
	err = identity_topic(r->profile, &vars, &topic, &r->cause);
	if (err)
		goto out;
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
	free(cn);
	free(broker);
	return err;
}
