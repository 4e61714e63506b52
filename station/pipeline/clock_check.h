/*
 * Is the station's clock plausible?  Checked before a run makes a key or
 * asks for a certificate (the pipeline's clock step), because a station
 * whose clock is a month off issues certificates that are not yet valid or
 * already expired for every relying party, and records a ledger whose
 * times lie.  Three independent sources, each configured off, warn or
 * require ([station] clock_*, struct config, docs/admin.md):
 *
 *	clock_ca_date      a remote CA's HTTP Date header (a GET of its
 *	                   `addr`); the local CA has none
 *	clock_broker_cert  the broker's certificate (when a broker is
 *	                   configured): the station's time must lie inside its
 *	                   validity; only a certificate that chains to the
 *	                   broker CA counts (chain checked without times)
 *	clock_ntp_sync     the kernel's synchronised flag (adjtimex, read only:
 *	                   STA_UNSYNC clear), what timedatectl shows as
 *	                   NTPSynchronized, without starting a process
 *
 * A difference up to clock_skew_s seconds is accepted.  A source that
 * cannot be read (the CA or the broker unreachable, no Date header) proves
 * nothing either way: it is reported as a note and the run goes on (the CA
 * and smoke steps then fail on their own).
 */
#ifndef ST_CLOCK_CHECK_H
#define ST_CLOCK_CHECK_H

#include <stdint.h>

#include "station/config/config.h"
#include "station/pipeline/broker_cert.h"
#include "station/util/clock.h"
#include "station/util/err.h"

/* Called with each finding that does not fail the run (a warn-level check
 * that found the clock off, a source that could not be read); `text` is
 * borrowed for the call. */
typedef void (*clock_note_fn)(void *ctx, const char *text);

/*
 * Run the configured checks against `now` (unix seconds: the station's
 * clock; a parameter so the caller decides which reading is judged).
 * ST_E_POLICY for the first required check that finds the clock
 * implausible: the cause names the check, the station's time and the
 * source's time (or validity), and the next step.  Each remote source
 * gets at most half of what is left of `dl`, so the checks end before it
 * even when a source hangs.  The broker's certificate comes through
 * `memo` (broker_cert.h; NULL: a handshake every time).
 */
st_err clock_check_run(const struct config *cfg, struct broker_cert_memo *memo,
    int64_t now, struct deadline dl, clock_note_fn note, void *ctx,
    char **cause);

#endif
