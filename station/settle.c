/* Settling a certificate that must not stay live (see settle.h). */
#include "settle.h"

#include <stdlib.h>
#include <string.h>

#include "../db/ledger.h"
#include "ca/ca.h"
#include "util/xalloc.h"

st_err
cert_settle(struct station *st, const char *serial, const char *note,
    enum settle_outcome *outcome, char **why, char **cause)
{
	struct cert_record c = { 0 };
	char *ca_why = NULL;
	st_err err = ledger_cert_get(st->ledger, serial, &c, cause);

	*outcome = SETTLE_NOT_REVOKED;
	if (why)
		*why = NULL;
	if (err)
		return err;
	if (strcmp(c.status, "revoked") == 0) {
		*outcome = SETTLE_ALREADY_REVOKED;
		goto out;
	}
	if (strcmp(c.status, "issued") == 0 || strcmp(c.status, "written") == 0)
		err = ledger_cert_set_status(st->ledger, serial, "orphaned",
		    note, cause);
	if (err)
		goto out;
	if (st->ca->ops->revoke == NULL) {
		ca_why = xstrdup("the backend cannot revoke");
		goto out;
	}
	if (st->ca->ops->revoke(st->ca, serial, "cessationOfOperation",
	    &ca_why) != ST_OK)
		goto out;
	err = ledger_cert_set_status(st->ledger, serial, "revoked", note, cause);
	if (err == ST_OK)
		*outcome = SETTLE_REVOKED;
out:
	if (why)
		*why = ca_why;
	else
		free(ca_why);
	ledger_cert_record_clear(&c);
	return err;
}
