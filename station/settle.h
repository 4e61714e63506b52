/*
 * Settling a certificate that must not stay live: one issued for a run
 * that then FAILed, or found by crash recovery.  Shared by the pipeline's
 * failure path and by recovery, so both leave the ledger in the same
 * state.
 */
#ifndef ST_SETTLE_H
#define ST_SETTLE_H

#include "station.h"
#include "util/err.h"

enum settle_outcome {
	SETTLE_REVOKED,         /* revoked at the CA and in the ledger */
	SETTLE_ALREADY_REVOKED, /* nothing to do */
	SETTLE_NOT_REVOKED,     /* the CA could not revoke: left orphaned (or
	                           verified, if it was proven on the device) */
};

/*
 * A certificate still 'issued' or 'written' becomes 'orphaned' (never
 * proven on a device); then it is revoked through the CA where the
 * backend can, and marked 'revoked' (a 'verified' one goes straight to
 * revoked: the ledger allows no other way).  `note` goes into the status
 * note.  *outcome says what happened; *why (may be NULL; caller frees) the
 * CA's reason when it could not revoke.  An error only for the ledger.
 */
st_err cert_settle(struct station *st, const char *serial, const char *note,
    enum settle_outcome *outcome, char **why, char **cause);

#endif
