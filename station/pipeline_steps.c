/*
 * Pipeline steps up to the durable record of the issuance: nothing in this
 * file writes to the device except the key generation on its own chip.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "../db/ledger.h"
#include "../drivers/proto.h"
#include "cert_check.h"
#include "config.h"
#include "csr_policy.h"
#include "dn.h"
#include "pipeline_run.h"
#include "util/xalloc.h"

st_err
step_connect(struct run *r)
{
	struct transport *t = NULL;
	st_err err = transport_open(r->req->device_uri, r->deadline, &t,
	    &r->cause);

	if (err)
		return err;
	r->client = client_new(t, NULL);
	client_set_deadline(r->client, r->deadline);
	return ST_OK;
}

st_err
step_hello(struct run *r)
{
	st_err err = dev_hello(r->client, &r->info, &r->cause);

	if (err)
		return err;
	/* The serial goes into DNs, SANs, topics and file names: only a
	 * serial that cannot change their structure is accepted. */
	if (!serial_is_valid(r->info.serial))
		return st_fail(&r->cause, ST_E_POLICY,
		    "device reports serial '%.64s', which is not 1..64 "
		    "characters of A-Z a-z 0-9 . _ -", r->info.serial);
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
	return ST_OK;
}

st_err
step_serial(struct run *r)
{
	const char *scanned = r->req->scanned_serial;

	if (scanned == NULL) {
		run_info(r, "no barcode scanned; serial %s taken from the device",
		    r->info.serial);
		return ST_OK;
	}
	if (strcmp(scanned, r->info.serial) != 0)
		return st_fail(&r->cause, ST_E_MISMATCH,
		    "scanned label '%.64s' but the device reports '%s'", scanned,
		    r->info.serial);
	return ST_OK;
}

st_err
step_ledger(struct run *r)
{
	struct cert_record live = { 0 };
	int found = 0;
	st_err err = ledger_device_live_cert(r->st->ledger, r->info.serial,
	    &live, &found, &r->cause);

	if (err)
		return err;
	if (!found)
		return ST_OK;
	if (r->profile->reprovision == REPROVISION_REFUSE) {
		err = st_fail(&r->cause, ST_E_EXISTS,
		    "device %s already holds certificate %s (%s); profile '%s' "
		    "refuses to re-provision", r->info.serial, live.serial_hex,
		    live.status, r->profile->name);
		ledger_cert_record_clear(&live);
		return err;
	}
	run_info(r, "re-provisioning: certificate %s will be revoked after "
	    "the new one is proven", live.serial_hex);
	r->previous_cert = xstrdup(live.serial_hex);
	ledger_cert_record_clear(&live);
	return ST_OK;
}

st_err
step_keygen(struct run *r)
{
	uint8_t *again = NULL;
	size_t again_len = 0;
	st_err err = dev_keygen(r->client, (uint8_t)r->profile->key_alg,
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

static st_err
expand_list(char *const *templates, const struct template_vars *vars,
    char ***out, char **cause)
{
	size_t n = 0;

	while (templates && templates[n])
		n++;
	*out = xcalloc(n + 1, sizeof **out);
	for (size_t i = 0; i < n; i++) {
		st_err err = profile_expand(templates[i], vars, &(*out)[i], cause);

		if (err)
			return err;
	}
	return ST_OK;
}

st_err
step_csr(struct run *r)
{
	struct template_vars vars = {
		.serial = r->info.serial,
		.model = r->info.model,
		.station = r->st->cfg->station_id,
	};
	st_err err;

	if ((err = profile_expand(r->profile->subject_template, &vars,
	    &r->subject, &r->cause)) ||
	    (err = expand_list(r->profile->san_dns_templates, &vars,
	    &r->san_dns, &r->cause)) ||
	    (err = expand_list(r->profile->san_uri_templates, &vars,
	    &r->san_uri, &r->cause)))
		return st_wrap(&r->cause, err, "expanding profile '%s'",
		    r->profile->name);
	return dev_csr(r->client, r->profile->key_slot, r->subject,
	    (const char *const *)r->san_dns, (const char *const *)r->san_uri,
	    &r->csr_der, &r->csr_der_len, &r->cause);
}

st_err
step_csr_policy(struct run *r)
{
	struct csr_expect exp = {
		.profile = r->profile,
		.subject = r->subject,
		.san_dns = (const char *const *)r->san_dns,
		.san_uri = (const char *const *)r->san_uri,
		.chip_spki = r->spki,
		.chip_spki_len = r->spki_len,
	};
	const char *rule = NULL;
	st_err err = csr_policy_check(r->csr_der, r->csr_der_len, &exp, &r->csr,
	    &rule, &r->cause);

	if (err)
		return st_wrap(&r->cause, err, "rule %s", rule ? rule : "?");
	return ST_OK;
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
		return st_wrap(&r->cause, err, "recording the request to the CA");
	err = r->st->ca->ops->sign(r->st->ca, &req, &r->issued, &r->cause);
	if (err)
		return err;
	return ST_OK;
}

st_err
step_cert_check(struct run *r)
{
	struct cert_expect exp = run_cert_expect(r);
	const char *rule = NULL;
	st_err err = cert_check(&r->issued, &exp, &rule, &r->cause);

	if (err)
		return st_wrap(&r->cause, err, "rule %s", rule ? rule : "?");
	return ST_OK;
}

st_err
step_record(struct run *r)
{
	char *pem = cert_to_pem(r->issued.cert);
	char *subject = dn_format(X509_get_subject_name(r->issued.cert));
	char *issuer = dn_format(X509_get_issuer_name(r->issued.cert));
	struct cert_record c = {
		.serial_hex = r->issued.serial_hex,
		.device_serial = r->info.serial,
		.fingerprint_sha256 = r->res->fingerprint,
		.subject = subject,
		.issuer = issuer,
		.not_before = cert_not_before(r->issued.cert),
		.not_after = cert_not_after(r->issued.cert),
		.backend = (char *)r->st->ca->ops->name,
		.pem = pem,
	};
	st_err err = ledger_cert_issued(r->st->ledger, r->res->run_id, &c,
	    &r->cause);

	free(pem);
	free(subject);
	free(issuer);
	if (err)
		return st_wrap(&r->cause, err, "recording certificate %s",
		    r->issued.serial_hex);
	r->cert_recorded = 1;
	return ST_OK;
}
