/*
 * ALREADY PASS (pipeline_run.h, run_already_passed): a board rescanned
 * after it PASSed (a screen restart, a board back from the tray) is not
 * sent to rework and gets no second certificate.  The ledger alone is not
 * enough to say so: the board in the slot must be the one that PASSed.
 * HELLO has given its serial (and serial-check matched the label), the
 * ledger says its live certificate was verified on it in a PASSed run,
 * and the chip now signs a fresh challenge that verifies with that
 * certificate's key, as the proof step does.  Anything short of that
 * leaves the run to FAIL at ledger-check as before ("Device already
 * provisioned"), with the reason saying what was missing.
 */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/xalloc.h"

/* The PASSed run `live` was verified in, or 0 (no such run, or the
 * ledger cannot say). */
static int
passed_in(struct run *r, const struct cert_record *live, struct run_record *run)
{
	if (live->status == NULL || strcmp(live->status, "verified") != 0)
		return 0;
	if (live->run_id <= 0 || live->pem == NULL)
		return 0;
	if (ledger_run_get(r->st->ledger, live->run_id, run, NULL) != ST_OK)
		return 0;
	return run->result != NULL && strcmp(run->result, "PASS") == 0 &&
	    run->device_serial != NULL &&
	    strcmp(run->device_serial, r->info.serial) == 0;
}

static X509 *
cert_of(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return cert;
}

int
run_already_passed(struct run *r, const struct cert_record *live)
{
	struct run_record run = { 0 };
	X509 *cert = NULL;
	char *why = NULL;
	int already = 0;
	st_err err;

	if (!passed_in(r, live, &run))
		goto out;
	cert = cert_of(live->pem);
	if (cert == NULL)
		goto out;
	/* the cause of a failed proof is the run's until the FAIL is
	 * written; keep it for the note only */
	why = r->cause;
	r->cause = NULL;
	err = run_prove_key(r, cert, live->serial_hex);
	if (err) {
		run_info(r,
		    "not ALREADY PASS: the chip did not prove the key of "
		    "certificate %s: %s",
		    live->serial_hex, r->cause ? r->cause : st_strerror(err));
		free(r->cause);
		r->cause = why;
		why = NULL;
		goto out;
	}
	already = 1;
	r->finished_early = 1;
	r->step_note = "already PASSed";
	r->res->already_run_id = run.id;
	r->res->already_at = run.ended_at;
	free(r->res->cert_serial);
	r->res->cert_serial = xstrdup(live->serial_hex);
	if (live->fingerprint_sha256 != NULL)
		snprintf(r->res->fingerprint, sizeof r->res->fingerprint, "%s",
		    live->fingerprint_sha256);
	run_info(r,
	    "ALREADY PASS: certificate %s verified in run %lld, and the "
	    "chip proves its key; no new certificate",
	    live->serial_hex, (long long)run.id);
out:
	free(why);
	X509_free(cert);
	ledger_run_record_clear(&run);
	return already;
}
