/*
 * Taking a certificate out of service, ledger first, then the CA: the
 * decision (an intent status and the reason) is durable in the ledger
 * before the CA is asked, and 'revoked' is recorded after the CA
 * answered.  A crash in between leaves the intent; crash recovery
 * (recover.h) finishes it with cert_revoke_finish, which is idempotent.
 * Shared by the pipeline (a failed run's certificate, a superseded one),
 * `station revoke` and recovery, so all leave the ledger the same way.
 */
#ifndef ST_SETTLE_H
#define ST_SETTLE_H

#include "station/pipeline/station.h"
#include "station/util/err.h"

/* In a certificate's status note, where the CA's word that it cannot
 * revoke this certificate starts (cert_revoke_finish writes it; crash
 * recovery does not ask that CA again: `station revoke` does). */
#define SETTLE_CANNOT_MARK "; the CA cannot revoke it: "

enum settle_outcome {
	SETTLE_REVOKED,		/* revoked at the CA and in the ledger */
	SETTLE_ALREADY_REVOKED, /* nothing to do */
	SETTLE_NOT_REVOKED,	/* the CA could not revoke: the intent stays
	                           for recovery to finish */
};

/*
 * A certificate of a run that FAILed (or was found by crash recovery):
 * 'issued' or 'written' becomes 'orphaned' (never proven on a device),
 * 'verified' becomes 'revoking' (reason cessationOfOperation); then
 * cert_revoke_finish.  `note` goes into the status note.  *outcome says
 * what happened; *why (may be NULL; caller frees) the CA's reason when it
 * could not revoke.  An error only for the ledger.
 */
st_err cert_settle(struct station *st, const char *serial, const char *note,
    enum settle_outcome *outcome, char **why, char **cause);

/*
 * The device's key for this certificate is about to be destroyed (KEYGEN
 * on its slot): record 'superseded' durably.  A certificate already on
 * its way out (an intent, or revoked) is left as it is.
 */
st_err cert_supersede(struct station *st, const char *serial, const char *note,
    char **cause);

/*
 * Finish a recorded intent (orphaned, superseded, revoking): revoke at
 * the CA with the recorded reason, then mark 'revoked' (the intent's note
 * kept).  The CA saying "already revoked" is success, and so is a
 * certificate another process marked revoked meanwhile.  When the CA
 * cannot revoke, *outcome is SETTLE_NOT_REVOKED, *ca_err (may be NULL)
 * the CA's error (ST_E_UNSUPPORTED when the backend cannot revoke at
 * all, whose reason then also goes into the certificate's status note)
 * and *why (may be NULL; caller frees) its reason.  ST_E_STATE for a
 * live certificate (no intent recorded); other errors are the ledger's.
 */
st_err cert_revoke_finish(struct station *st, const char *serial,
    enum settle_outcome *outcome, st_err *ca_err, char **why, char **cause);

#endif
