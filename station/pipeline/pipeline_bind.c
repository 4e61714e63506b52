/*
 * The ca-bind step: the CA's reply must be a certificate for this CSR's
 * public key, subject and subjectAltNames before the ledger records it as
 * this device's.  A CA that answers with another device's certificate (a
 * misrouted reply, a mix-up behind a load balancer, a tampered CA) must
 * not have it recorded under this device, and this run's failure path
 * must not revoke it: it is another device's live identity.
 *
 * Such a reply is a CA fault for the PKI administrator, not a device
 * fault: it is logged as an error, its issuer, serial, fingerprint and
 * what differed go into the run's reason and its ca-bind event, and the
 * run FAILs with ST_E_CA (advice: call the PKI administrator; the device
 * is fine).  The rest of the checks (chain, validity, usage) stay in the
 * cert-check step, after the record.
 */
#include <inttypes.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "station/config/config.h"
#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "pipeline"
#include "station/util/log.h"

/* The start of the operator's reason for each binding rule. */
static const char *
what_differs(const char *rule)
{
	if (rule != NULL && strcmp(rule, "cert.key") == 0)
		return "a different key";
	if (rule != NULL && strcmp(rule, "cert.subject") == 0)
		return "a different subject";
	if (rule != NULL && strcmp(rule, "cert.san") == 0)
		return "different subjectAltNames";
	return "a different request";
}

/* "certificate SERIAL from issuer 'DN', sha256 FP: WHY", every part that
 * came from the CA escaped (caller frees). */
static char *
fault_detail(X509 *cert, const char *why)
{
	char *issuer = dn_format(X509_get_issuer_name(cert));
	char *issuer_shown = text_escape(issuer, 256);
	char *why_shown = text_escape(why, 512);
	char *serial = cert_serial_hex(cert);
	char fp[65];

	cert_fingerprint_sha256(cert, fp);
	char *s = xasprintf("certificate %s from issuer '%s', sha256 %s: %s",
	    serial, issuer_shown, fp, why_shown);
	free(serial);
	free(why_shown);
	free(issuer_shown);
	free(issuer);
	return s;
}

struct cert_expect
run_cert_expect(const struct run *r)
{
	return (struct cert_expect){
		.csr = r->csr,
		.profile = r->profile,
		.subject = r->id.subject_text,
		.subject_name = r->id.subject,
		.root = r->st->root,
		.skew = r->st->cfg->clock_skew_s,
	};
}

st_err
step_ca_bind(struct run *r)
{
	struct cert_expect exp = run_cert_expect(r);
	const char *rule = NULL;
	char *why = NULL, *detail = NULL;
	st_err err = cert_bind_check(&r->issued, &exp, &rule, &why);

	if (err == ST_OK) {
		/* Only a bound certificate is named as the run's. */
		r->res->cert_serial = xstrdup(r->issued.serial_hex);
		cert_fingerprint_sha256(r->issued.cert, r->res->fingerprint);
		goto out;
	}
	if (err != ST_E_POLICY || r->issued.cert == NULL) {
		/* The station's own expectation is unusable, or there is no
		 * certificate to describe. */
		err = st_fail(&r->cause, err == ST_E_POLICY ? ST_E_CA : err,
		    "%s", why);
		goto out;
	}
	detail = fault_detail(r->issued.cert, why);
	log_error("run %" PRId64 ": CA fault: the CA returned a certificate "
		  "for %s: %s",
	    r->res->run_id, what_differs(rule), detail);
	err = st_fail(&r->cause, ST_E_CA,
	    "the CA returned a certificate for "
	    "%s (CA fault, not recorded, not revoked: %s)",
	    what_differs(rule), detail);
out:
	free(detail);
	free(why);
	return err;
}
