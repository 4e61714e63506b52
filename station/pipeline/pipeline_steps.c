/*
 * Pipeline steps up to the durable record of the issuance: nothing in this
 * file writes to the device except the key generation on its own chip.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "drivers/proto/proto.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/x509/csr_policy.h"
#include "station/x509/dn.h"
#include "station/pipeline/pipeline_run.h"
#include "station/pipeline/settle.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

st_err
step_connect(struct run *r)
{
	struct transport *t = NULL;
	const char *turi = NULL;
	const struct dialect_ops *d = dialect_of(r->req->device_uri, &turi);
	st_err err = transport_open(turi, r->deadline, &t, &r->cause);

	if (err)
		return err;
	/* The abort key ends a step that waits on the device at once, not
	 * at the step's deadline (a device hung in KEYGEN: 30 s). */
	if (r->req->aborted != NULL)
		t = transport_cancellable(t, r->req->aborted,
		    r->req->aborted_ctx);
	r->dialect = d;
	err = d->connect(r, t);
	if (err)
		return err;
	d->set_deadline(r, r->deadline);
	return ST_OK;
}

/*
 * The device's subject, SANs and test topic from what it reported, before
 * anything is done to it: a value that cannot be used fails the run here
 * (identity.h says whose fault it is), not at the CSR or the broker.
 */
static st_err
hello_identity(struct run *r)
{
	struct template_vars vars = {
		.serial = r->info.serial,
		.model = r->info.model,
		.station = r->st->cfg->station_id,
	};
	char *topic = NULL;
	st_err err = identity_build(r->profile, &vars, &r->id, &r->cause);

	if (err)
		return err;
	/* The certificate's CN is the one built here (cert_check), so the
	 * smoke step's topic is known now. */
	vars.cn = r->id.cn ? r->id.cn : "";
	err = identity_topic(r->profile, &vars, &topic, &r->cause);
	free(topic);
	return err;
}

st_err
step_hello(struct run *r)
{
	st_err err = r->dialect->hello(r);

	if (err)
		return err;
	/* The serial goes into DNs, SANs, topics and file names: only a
	 * serial that cannot change their structure is accepted. */
	if (!serial_is_valid(r->info.serial)) {
		char *shown = text_escape(r->info.serial, 64);

		err = st_fail(&r->cause, ST_E_POLICY,
		    "device reports serial "
		    "'%s', which is not 1..64 characters of A-Z a-z 0-9 . _ -",
		    shown);
		free(shown);
		return err;
	}
	r->res->serial = xstrdup(r->info.serial);
	struct device_record d = {
		.serial = r->info.serial,
		.model = r->info.model,
		.hw_version = r->info.hw_version,
		.fw_version = r->info.fw_version,
		.chip = r->info.chip,
	};
	err = ledger_run_device(r->st->ledger, r->res->run_id, &d, &r->cause);
	if (err)
		return st_wrap(&r->cause, err, "recording the device");
	return hello_identity(r);
}

st_err
step_serial(struct run *r)
{
	const char *scanned = r->req->scanned_serial;

	if (scanned == NULL) {
		run_info(r,
		    "no barcode scanned; serial %s taken from the device",
		    r->info.serial);
		return ST_OK;
	}
	if (strcmp(scanned, r->info.serial) != 0)
		return st_fail(&r->cause, ST_E_MISMATCH,
		    "scanned label '%.64s' but the device reports '%s'",
		    scanned, r->info.serial);
	return ST_OK;
}

st_err
step_ledger(struct run *r)
{
	struct serial_claim claim = { 0 };
	int refuse = r->profile->reprovision == REPROVISION_REFUSE;
	st_err err;

	/* Check and reserve in one transaction: a second board reporting
	 * the same serial, in another slot or another station process,
	 * FAILs here before anything is done to it. */
	err = ledger_serial_reserve(r->st->ledger, r->res->run_id,
	    r->info.serial, refuse, &claim, &r->cause);
	if (err == ST_E_EXISTS && run_already_passed(r, &claim.live)) {
		err = ST_OK;
		goto out;
	}
	if (err == ST_E_EXISTS)
		st_fail(&r->cause, err,
		    "device %s already holds certificate "
		    "%s (%s); profile '%s' refuses to re-provision",
		    r->info.serial, claim.live.serial_hex, claim.live.status,
		    r->profile->name);
	if (err == ST_OK && claim.live_found) {
		run_info(r,
		    "re-provisioning: certificate %s will be revoked "
		    "(superseded) once KEYGEN replaces its key",
		    claim.live.serial_hex);
		r->previous_cert = xstrdup(claim.live.serial_hex);
	}
	/* Then fleet-wide, still before anything is done to the board. */
	if (err == ST_OK)
		err = run_fleet_reserve(r);
out:
	ledger_serial_claim_clear(&claim);
	return err;
}

/*
 * Re-provisioning: the old certificate's key is about to go.  Recorded
 * before KEYGEN is sent, not after it answers: a KEYGEN that was sent may
 * have destroyed the key even if no answer (or this process) survives, and
 * a live certificate whose key is gone is what must not happen.  The
 * price: a KEYGEN the device refused without touching its key still
 * costs the old certificate (the device is re-provisioned anyway).  The
 * CA revokes it when the run has ended (pipeline.c), whatever the result.
 */
static st_err
supersede_previous(struct run *r)
{
	char *note = xasprintf("superseded: KEYGEN in run %lld",
	    (long long)r->res->run_id);
	st_err err = cert_supersede(r->st, r->previous_cert, note, &r->cause);

	free(note);
	if (err)
		return st_wrap(&r->cause, err,
		    "recording that certificate %s "
		    "is superseded",
		    r->previous_cert);
	r->superseding = 1;
	return ST_OK;
}

st_err
step_keygen(struct run *r)
{
	st_err err;

	if (r->previous_cert != NULL) {
		err = supersede_previous(r);
		if (err)
			return err;
	}
	return r->dialect->keygen(r);
}

st_err
v1_keygen(struct run *r)
{
	uint8_t *again = NULL;
	size_t again_len = 0;
	st_err err;

	err = dev_keygen(r->client, (uint8_t)r->profile->key_alg,
	    r->profile->key_slot, &r->spki, &r->spki_len, &r->cause);
	if (err)
		return err;
	/* PUBKEY must report the key KEYGEN announced: a chip that cannot
	 * say which key it holds cannot be trusted with a certificate. */
	err = dev_pubkey(r->client, r->profile->key_slot, &again, &again_len,
	    &r->cause);
	if (err)
		return err;
	if (again_len != r->spki_len || memcmp(again, r->spki, again_len) != 0)
		err = st_fail(&r->cause, ST_E_MISMATCH,
		    "PUBKEY differs from the key KEYGEN returned");
	free(again);
	return err;
}

st_err
step_csr(struct run *r)
{
	return r->dialect->csr(r);
}

st_err
v1_csr(struct run *r)
{
	return dev_csr(r->client, r->profile->key_slot, r->id.subject_text,
	    (const char *const *)r->id.san_dns,
	    (const char *const *)r->id.san_uri, &r->csr_der, &r->csr_der_len,
	    &r->cause);
}

st_err
step_csr_policy(struct run *r)
{
	struct csr_expect exp = {
		.profile = r->profile,
		.subject = r->id.subject_text,
		.subject_name = r->id.subject,
		.san_dns = (const char *const *)r->id.san_dns,
		.san_uri = (const char *const *)r->id.san_uri,
		.chip_spki = r->spki,
		.chip_spki_len = r->spki_len,
		.allow_ecdsa_null_param = r->dialect->csr_ecdsa_null_param,
	};
	const char *rule = NULL;
	st_err err = csr_policy_check(r->csr_der, r->csr_der_len, &exp, &r->csr,
	    &rule, &r->cause);

	if (err)
		return st_wrap(&r->cause, err, "rule %s", rule ? rule : "?");
	return run_key_unique(r);
}

st_err
step_ca_sign(struct run *r)
{
	struct ca_request req = {
		.csr = r->csr,
		.profile = r->profile,
		.device_serial = r->info.serial,
		.hw_version = r->info.hw_version,
		.fw_version = r->info.fw_version,
		.deadline = r->deadline,
	};
	char key[65];

	/* The intent, durable before the CA is asked: if this process dies
	 * after the CA issued but before step_record, recovery finds the
	 * certificate by this key (recover.h).  The CSR policy proved the
	 * CSR's key equals the chip's. */
	spki_sha256_hex(r->spki, r->spki_len, key);
	st_err err = ledger_run_ca_request(r->st->ledger, r->res->run_id, key,
	    &r->cause);
	if (err)
		return st_wrap(&r->cause, err,
		    "recording the request to the CA");
	err = ca_sign(r->st->ca, &req, &r->issued, &r->cause);
	if (err)
		return err;
	/* Recorded before anything is checked (it outlives this process):
	 * a CA that cannot search by key finds this certificate again by
	 * its serial (recover.h). */
	err = ledger_run_ca_reply(r->st->ledger, r->res->run_id,
	    r->issued.serial_hex, &r->cause);
	if (err)
		return st_wrap(&r->cause, err, "recording the CA's reply");
	if (r->issued.note != NULL)
		run_info(r, "%s", r->issued.note);
	return ST_OK;
}

st_err
step_cert_check(struct run *r)
{
	struct cert_expect exp = run_cert_expect(r);
	const char *rule = NULL;
	STACK_OF(X509) *path = NULL;
	st_err err = cert_check_path(&r->issued, &exp, &path, &rule, &r->cause);

	if (err)
		return st_wrap(&r->cause, err, "rule %s", rule ? rule : "?");
	/* From here on the chain is the verified path, issuer first: what
	 * the device gets is ordered and checked whatever the backend sent
	 * (Vault's ca_chain may be root first). */
	sk_X509_pop_free(r->issued.chain, X509_free);
	r->issued.chain = path;
	return ST_OK;
}

st_err
step_record(struct run *r)
{
	char *pem = cert_to_pem(r->issued.cert);
	char *subject = dn_format(X509_get_subject_name(r->issued.cert));
	char *issuer = dn_format(X509_get_issuer_name(r->issued.cert));
	char *issuer_key_id = cert_issuer_key_id_hex(r->issued.cert);
	struct cert_record c = {
		.serial_hex = r->issued.serial_hex,
		.device_serial = r->info.serial,
		.fingerprint_sha256 = r->res->fingerprint,
		.subject = subject,
		.issuer = issuer,
		.not_before = cert_not_before(r->issued.cert),
		.not_after = cert_not_after(r->issued.cert),
		.backend = (char *)ca_name(r->st->ca),
		.pem = pem,
		.issuer_key_id = issuer_key_id,
	};
	st_err err =
	    ledger_cert_issued(r->st->ledger, r->res->run_id, &c, &r->cause);

	free(pem);
	free(subject);
	free(issuer);
	free(issuer_key_id);
	if (err)
		return st_wrap(&r->cause, err, "recording certificate %s",
		    r->issued.serial_hex);
	r->cert_recorded = 1;
	return ST_OK;
}
