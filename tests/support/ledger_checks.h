/*
 * Test support: consistency checks between the ledger, the local CA and a
 * device (docs/reliability.md).  Each function returns the number of
 * inconsistencies found and prints one line per inconsistency on stderr;
 * 0 means consistent.
 */
#ifndef TEST_LEDGER_CHECKS_H
#define TEST_LEDGER_CHECKS_H

#include <stdint.h>

/* PRAGMA integrity_check and the hash chain (ledger_verify). */
int check_ledger_intact(const char *ledger_path);
/* Every serial in CA_DIR/issued.txt is in the certificates table. */
int check_ca_index_recorded(const char *ledger_path, const char *ca_dir);
/*
 * The local CA and the ledger agree on revocation: every serial in
 * CA_DIR/revoked.txt is listed once and is 'revoked' in the ledger, and
 * every certificate the ledger calls revoked is in revoked.txt.
 */
int check_ca_revoked_agrees(const char *ledger_path, const char *ca_dir);
/* No run is still 'running', and every run finished by recovery names
 * its step consistently (failed_step X, reason "station stopped during
 * step X"). */
int check_no_running(const char *ledger_path);
/*
 * The device `serial` at `uri`: at most one live (issued, written or
 * verified) certificate in the ledger; with `want_one_live` exactly one,
 * 'verified', and READ_CERT on the device returns it.  Every other
 * certificate of the device is revoked (a revocation recorded but not
 * done, orphaned, superseded or revoking, counts as a problem: the local
 * CA can revoke).  Every PASS run's certificate is verified, or revoked
 * later (superseded).
 */
int check_device(const char *ledger_path, const char *serial, const char *uri,
    int want_one_live);
/* The certificate of PASS run `run_id` is 'verified' and equals the
 * device's (READ_CERT through `tries` sessions). */
int check_pass_run(const char *ledger_path, int64_t run_id, const char *uri,
    int tries);

/* Newest run id (0 if none) and the step its last 'ok' event names
 * (caller frees; NULL if none), read without changing anything. */
int64_t ledger_newest_run(const char *ledger_path, char **result,
    char **last_ok_step);

/* Number of run events whose detail is LIKE `pattern`. */
long ledger_count_events(const char *ledger_path, const char *pattern);

#endif
