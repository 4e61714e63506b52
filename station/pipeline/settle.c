/* Taking a certificate out of service, ledger first (see settle.h). */
#include "station/pipeline/settle.h"

#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/util/xalloc.h"

/* A CA that cannot revoke this certificate at all: the ledger's note
 * says why, beside the intent's own words.  Best effort: the intent
 * stands either way. */
static void
note_cannot(struct station *st, const struct cert_record *c, const char *why)
{
	const char *old = c->status_note ? c->status_note : "";
	const char *mark = strstr(old, SETTLE_CANNOT_MARK);
	int keep = (int)(mark ? (size_t)(mark - old) : strlen(old));
	char *note = xasprintf("%.*s%s%s", keep, old, SETTLE_CANNOT_MARK,
	    why ? why : "unsupported");

	if (strcmp(note, old) != 0)
		ledger_cert_set_note(st->ledger, c->serial_hex, note, NULL);
	free(note);
}

static int
is_live(const char *status)
{
	return strcmp(status, "issued") == 0 ||
	    strcmp(status, "written") == 0 || strcmp(status, "verified") == 0;
}

st_err
cert_revoke_finish(struct station *st, const char *serial,
    enum settle_outcome *outcome, st_err *ca_err, char **why, char **cause)
{
	struct cert_record c = { 0 };
	struct ca_cert_ref ref = { 0 };
	char *ca_why = NULL;
	BIO *pem = NULL;
	st_err err, cerr = ST_OK;

	*outcome = SETTLE_NOT_REVOKED;
	err = ledger_cert_get(st->ledger, serial, &c, cause);
	if (err)
		goto out;
	if (strcmp(c.status, "revoked") == 0) {
		*outcome = SETTLE_ALREADY_REVOKED;
		goto out;
	}
	if (is_live(c.status)) {
		err = st_fail(cause, ST_E_STATE,
		    "certificate %s is %s: no "
		    "revocation was recorded",
		    serial, c.status);
		goto out;
	}
	/* The backends that revoke by device (hub) or by issuer key id
	 * (CFSSL) take them from the recorded certificate. */
	ref.serial_hex = c.serial_hex;
	ref.device_serial = c.device_serial;
	pem = c.pem ? BIO_new_mem_buf(c.pem, -1) : NULL;
	ref.cert = pem ? PEM_read_bio_X509(pem, NULL, NULL, NULL) : NULL;
	cerr = ca_revoke_cert(st->ca, &ref,
	    c.revoke_reason ? c.revoke_reason : "unspecified", &ca_why);
	if (cerr == ST_E_UNSUPPORTED)
		note_cannot(st, &c, ca_why);
	if (cerr)
		goto out;
	err = ledger_cert_set_status(st->ledger, serial, "revoked",
	    c.status_note, cause);
	if (err == ST_E_STATE) {
		/* Another process (a recovery, another slot) finished it
		 * between our read and our write: the CA and the ledger
		 * agree all the same. */
		ledger_cert_record_clear(&c);
		if (ledger_cert_get(st->ledger, serial, &c, NULL) == ST_OK &&
		    strcmp(c.status, "revoked") == 0)
			err = ST_OK;
	}
	if (err == ST_OK)
		*outcome = SETTLE_REVOKED;
out:
	if (ca_err)
		*ca_err = cerr;
	if (why)
		*why = ca_why;
	else
		free(ca_why);
	X509_free(ref.cert);
	BIO_free(pem);
	ledger_cert_record_clear(&c);
	return err;
}

st_err
cert_supersede(struct station *st, const char *serial, const char *note,
    char **cause)
{
	struct cert_record c = { 0 };
	st_err err = ledger_cert_get(st->ledger, serial, &c, cause);

	if (err)
		goto out;
	if (is_live(c.status))
		err = ledger_cert_set_status(st->ledger, serial, "superseded",
		    note, cause);
out:
	ledger_cert_record_clear(&c);
	return err;
}

st_err
cert_settle(struct station *st, const char *serial, const char *note,
    enum settle_outcome *outcome, char **why, char **cause)
{
	struct cert_record c = { 0 };
	st_err err;

	*outcome = SETTLE_NOT_REVOKED;
	if (why)
		*why = NULL;
	err = ledger_cert_get(st->ledger, serial, &c, cause);
	if (err)
		goto out;
	if (strcmp(c.status, "issued") == 0 || strcmp(c.status, "written") == 0)
		err = ledger_cert_set_status(st->ledger, serial, "orphaned",
		    note, cause);
	else if (strcmp(c.status, "verified") == 0)
		err = ledger_cert_revoke_intent(st->ledger, serial,
		    "cessationOfOperation", note, cause);
	if (err)
		goto out;
	err = cert_revoke_finish(st, serial, outcome, NULL, why, cause);
out:
	ledger_cert_record_clear(&c);
	return err;
}
