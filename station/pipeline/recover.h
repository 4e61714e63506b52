/*
 * Crash recovery (docs/reliability.md, "Crash consistency").
 *
 * A station process can die at any instant (SIGKILL, power loss).  Every
 * run row names the process that owns it by the token of its owner lock
 * (owner.h: the kernel releases the lock when the process dies, whatever
 * PID namespace the looker is in), and before a CSR goes to the CA the
 * run records the SHA-256 of the CSR's key.  station_recover(), called by
 * station_open(), finishes every run still 'running' whose owner is gone
 * (its lock can be taken; for a row from before schema 4, which has only
 * pid + start time, its pid is not in /proc), holding the dead owner's
 * lock meanwhile:
 *
 *  1. if the CSR reached the CA but no certificate is in the ledger, the
 *     certificates the CA issued for that key (find_by_key) are recorded;
 *  2. the run's certificate is settled (settle.h): the intent recorded
 *     (orphaned, or revoking for a 'verified' one), then revoked where
 *     the backend can;
 *  3. the run ends FAIL, reason "station stopped during step X", X being
 *     the step after the run's last completed one, and its serial
 *     reservation is released with it (ledger_run_finish).
 *
 * Then every revocation recorded as intended but not done (orphaned,
 * superseded, revoking; of any run, finished or not) is finished at the
 * CA and in the ledger (cert_revoke_finish): ledger first, then the CA,
 * leaves exactly this to do after a stop between the two.
 *
 * Runs of live processes, this one included, are never touched; two
 * stations recovering at once serialise on an flock of <home>/recover.lock.
 * Each action is idempotent, so a crash during recovery is recovered too.
 */
#ifndef ST_RECOVER_H
#define ST_RECOVER_H

#include <stdint.h>
#include <sys/types.h>

#include "station/pipeline/station.h"

/* Start time of process `pid` (clock ticks after boot, /proc/PID/stat
 * field 22); 0 if there is no such process or it is a zombie. */
int64_t proc_start_time(pid_t pid);

/* 1 if the process that recorded (pid, start) still runs, as far as
 * this PID namespace's /proc can tell: only for runs without a token. */
int proc_is_alive(int64_t pid, int64_t start);

/*
 * Finish the runs left 'running' by dead station processes (see above).
 * *recovered (may be NULL) receives how many runs were finished.  An
 * error means some run could not be settled; the others still were.
 */
st_err station_recover(struct station *st, int *recovered, char **cause);

#endif
