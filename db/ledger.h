/*
 * The ledger: one SQLite file per station recording devices, certificates,
 * provisioning runs and their events.
 *
 * The ledger stores what the pipeline tells it and never prints.  There is
 * no column for a private key or a CA credential, and none may be added.
 *
 * Durability: the file is in WAL mode.  Writes are of two kinds.
 *
 *  - Durable points: ledger_run_ca_request, ledger_cert_issued,
 *    ledger_run_finish, ledger_cert_set_status to an intent ('orphaned',
 *    'superseded') or 'revoked', ledger_cert_revoke_intent,
 *    ledger_orphan_open_certs, and everything not listed below.  When they
 *    return ST_OK their transaction is on disk: the pipeline relies on
 *    "recorded before the next step" (the intent before the CA is asked,
 *    the issued certificate before it is written to the device).
 *  - Progress between durable points: ledger_run_begin, ledger_run_device,
 *    ledger_serial_reserve, ledger_run_event(_batch), ledger_run_smoke,
 *    ledger_run_ca_reply, ledger_run_step (in run_progress, outside the
 *    keyed chain), ledger_cert_set_status to 'written' or 'verified'.
 *    They are committed (visible to every reader, and kept if the
 *    process dies) but not fsynced: the next durable point
 *    of any thread makes them durable with it, since the WAL is one file
 *    written in commit order.  A power loss before that point loses them;
 *    SQLite's WAL recovery then keeps a prefix of the commits, never a
 *    later commit without an earlier one.
 *
 * Group commit: a durable point commits without fsync under the mutex,
 * releases it, then waits for an fdatasync of the WAL that started after
 * its commit.  Slots reaching durable points at the same time share one
 * fdatasync, and no slot holds the mutex while the disk works.  A failed
 * fdatasync fails that call and every later durable point (ST_E_DB).
 *
 * Threads: one `struct ledger` may be shared by all slot threads; every call
 * takes an internal mutex around the single connection (never held across
 * a group commit's fdatasync).  Callbacks passed to
 * the list/history functions run with that mutex held: they must not call
 * back into the same ledger (such a call fails with ST_E_STATE).
 *
 * Times: runs and events in unix milliseconds; certificate validity in unix
 * seconds; certificate created_at/updated_at in unix milliseconds.
 *
 * Append-only in spirit: a finished run (row_hash set) cannot be updated or
 * deleted through SQL (triggers refuse it), certificates cannot be deleted.
 *
 * ---------------------------------------------------------------------------
 * Hash chain (so an ERP or auditor can recompute it)
 *
 * Every finished run gets chain_seq (1, 2, 3... in the order runs finished),
 * prev_hash (the row_hash of the run with chain_seq - 1, or 64 '0's for the
 * first) and
 *
 *	row_hash = lower-case hex SHA-256 of S
 *
 * where S is the ASCII tag "station-ledger-run-v1" followed by these 23
 * columns of the runs row, in this order:
 *
 *	id, station_id, slot, operator, batch, device_uri, scanned_serial,
 *	device_serial, profile, started_at, ended_at, result, failed_step,
 *	error_kind, reason, cert_serial, smoke_status, smoke_broker,
 *	smoke_tls_version, smoke_cipher, smoke_detail, chain_seq, prev_hash
 *
 * each encoded as
 *
 *	NULL     "N"
 *	integer  "I" <decimal, optional leading '-'> ";"
 *	text     "T" <decimal byte length> ":" <UTF-8 bytes, as stored>
 *
 * with no separators.  Example: id 7 and station_id "st1" start as
 * "station-ledger-run-v1I7;T3:st1...".  prev_hash is part of S, which links
 * each row to the one before.  The newest (seq, hash) is also kept in the
 * one-row table chain_head so that deleting the newest runs is detected.
 *
 * That chain is public: anyone can recompute it.  What makes the ledger
 * evidence is the keyed chain.
 * ---------------------------------------------------------------------------
 * Keyed chain (docs/reliability.md, "Tamper evidence")
 *
 * Every INSERT and UPDATE of runs, run_events, certificates, cert_events,
 * devices and exports appends an entry to chain_log (triggers, generated
 * from the tables' columns whenever a migration ran or their stamp in
 * ledger_meta says they are not the ones last made, so a new column is
 * covered too):
 *
 *	seq      1, 2, 3... in write order
 *	tbl      the table
 *	row_key  the row: its id as decimal text (devices: the serial)
 *	digest   lower-case hex SHA-256 of "station-ledger-row-v2", the table
 *	         name encoded as text, then for every column of the row in
 *	         table order whose value is not NULL: its name as text and
 *	         its value (integer "I<dec>;", text "T<len>:<bytes>", real
 *	         "R<%.17g>;", blob "B<len>:<bytes>")
 *	mac      lower-case hex HMAC-SHA256, under the ledger key, of
 *	         "station-ledger-mac-v2" T(previous entry's mac, 64 '0's for
 *	         entry 1) I(seq) T(tbl) T(row_key) T(digest)
 *
 * Entry 1 is tbl 'genesis': row_key the chain_seq and digest the hash of
 * the run chain's head when the ledger was sealed; a ledger sealed when
 * migrated is followed by one entry per row it already held.  A
 * certificate's status changes are appended to cert_events (by trigger:
 * the certificate's row keeps its current status, which must equal its
 * newest event's; the view certificate_status shows it).
 * ---------------------------------------------------------------------------
 */
#ifndef ST_DB_LEDGER_H
#define ST_DB_LEDGER_H

#include <stdint.h>

#include "station/util/err.h"

struct ledger;

/* The schema version this code creates and understands. */
#define LEDGER_SCHEMA_VERSION 12
#define LEDGER_HASH_HEX_LEN 64

/*
 * Open (creating if needed) the ledger at `path`; the parent directory must
 * exist.  Applies pending migrations in one transaction.  Refuses a file
 * whose schema is newer than LEDGER_SCHEMA_VERSION (ST_E_DB).  On success
 * *out is owned by the caller (ledger_close).
 *
 * The ledger key (see "Keyed chain" below) is read from `key_path` (NULL:
 * ledger_key_default_path).  A ledger not yet sealed with a key (a new
 * file, or one from before the keyed chain) gets one: the key file is
 * created 0600 if missing, the run chain is verified and the keyed chain
 * starts.  A sealed ledger whose key is missing, readable by others, in
 * the ledger's own directory or not the sealing key is refused
 * (ST_E_CONFIG, naming the key file); a ledger whose run chain does not
 * verify is not sealed (ST_E_MISMATCH).
 */
st_err ledger_open_key(const char *path, const char *key_path,
    struct ledger **out, char **cause);
/* ledger_open_key with the default key. */
st_err ledger_open(const char *path, struct ledger **out, char **cause);

/*
 * Open the ledger at `path` read-only (SQLite's SQLITE_OPEN_READONLY, the
 * URI's mode=ro), for commands that only read it: for a user who may
 * read the file but not write it or its directory.  Nothing is created
 * or written: no migration, no switch to WAL, no trigger check, no
 * recovery, no key made.  ST_E_NOTFOUND when there is no file at `path`;
 * ST_E_CONFIG when its schema is older than LEDGER_SCHEMA_VERSION (the
 * cause names the path and the fix: one writing command as the station
 * user); ST_E_DB when it is newer, or cannot be read (a WAL-mode ledger
 * whose -wal and -shm are missing in a directory this user may not
 * write: the cause says so).  The key (`key_path`, NULL: the default) is
 * loaded if this user may read it; ledger_verify needs it and otherwise
 * fails naming why.  Every write on the handle fails (ST_E_STATE).
 */
st_err ledger_open_ro(const char *path, const char *key_path,
    struct ledger **out, char **cause);

/*
 * Where the key of the ledger at `ledger_path` is kept unless configured:
 * $STATION_LEDGER_KEY when set, else ledger.key in a directory beside the
 * ledger's, named after it: /var/lib/station/ledger.db ->
 * /var/lib/station-key/ledger.key (outside the ledger's directory, so a
 * copy of it holds no key; created 0700 when missing).  Caller frees.
 */
char *ledger_key_default_path(const char *ledger_path);

/*
 * Create a new ledger key at `key_path` (mode 0600, 32 random bytes as 64
 * hex digits and a newline; its directory made 0700 if missing).  ST_E_EXISTS when one is there already (a new
 * key would disown the ledger it seals); ST_E_CONFIG when `ledger_path`
 * (may be NULL) is in the same directory.
 */
st_err ledger_key_init(const char *key_path, const char *ledger_path,
    char **cause);
/* Close and free; NULL is accepted. */
void ledger_close(struct ledger *l);

/*
 * The fsync of the WAL's directory entry that the first durable point
 * would otherwise run (once per handle), now: for a process about to
 * record runs, on a thread that is not the run's.  Safe beside any other
 * call on `l`; a durable point reached meanwhile waits for it.  A failure
 * is left for that durable point to meet and report.  NULL is accepted.
 */
void ledger_sync_log_dir(struct ledger *l);

/* ---- runs ---------------------------------------------------------------*/

/* All strings borrowed for the duration of the call; NULL = not known. */
struct run_start {
	const char *station_id; /* required */
	int slot;
	const char *operator_id;
	const char *batch;
	const char *device_uri; /* required */
	const char *scanned_serial;
	const char *profile;
	int64_t started_at_ms;	 /* 0 = now */
	int64_t max_skew_ms;	 /* refuse a start earlier than the latest
	                            recorded start by more than this (the
	                            clock went back); 0: no check */
	int64_t owner_pid;	 /* the process running it (0 = not recorded) */
	int64_t owner_start;	 /* that process's start time (see recover.h) */
	const char *owner_token; /* that process's owner lock (owner.h);
	                            NULL = not recorded */
};

/*
 * Insert a run with result 'running'; *run_id receives its id.  ST_E_STATE
 * when its start is earlier than the latest recorded start by more
 * than s->max_skew_ms: the station's clock went backwards, and times in
 * the ledger (and the certificates' validity) would not be in order.
 */
st_err ledger_run_begin(struct ledger *l, const struct run_start *s,
    int64_t *run_id, char **cause);

struct device_record {
	const char *serial; /* required */
	const char *model;
	const char *hw_version;
	const char *fw_version;
	const char *chip;
};

/* Set runs.device_serial and insert or refresh the device (first_seen kept,
 * last_seen = now, known fields updated).  The run must be running. */
st_err ledger_run_device(struct ledger *l, int64_t run_id,
    const struct device_record *d, char **cause);

enum ledger_event_status {
	LEDGER_EV_START,
	LEDGER_EV_OK,
	LEDGER_EV_FAIL,
	LEDGER_EV_INFO,
};

/* Append an event (at = now) to an existing run; detail may be NULL. */
st_err ledger_run_event(struct ledger *l, int64_t run_id, const char *step,
    enum ledger_event_status status, const char *detail, char **cause);

/* One event of a batch: `at_ms` is when it happened (0 = now). */
struct ledger_event_in {
	const char *step;
	enum ledger_event_status status;
	const char *detail; /* may be NULL */
	int64_t at_ms;
};

/*
 * Append `n` events to a run in one transaction (one fsync instead of
 * n): for callers that collect a run's events between its durable points.
 * All or none are recorded.
 */
st_err ledger_run_event_batch(struct ledger *l, int64_t run_id,
    const struct ledger_event_in *ev, size_t n, char **cause);

enum ledger_smoke_status {
	LEDGER_SMOKE_PASSED,
	LEDGER_SMOKE_FAILED,
	LEDGER_SMOKE_SKIPPED,
};

/*
 * Prepare, and keep, the statements that record a run up to its
 * certificate's status (ledger_run_begin .. ledger_cert_set_status, in
 * the order a run uses them, for as long as more(arg) returns nonzero),
 * or its smoke result and its end (ledger_run_smoke, ledger_run_finish),
 * writing nothing: a caller that waits on something else (the start
 * check; the broker's check of the device in the smoke test) pays
 * SQLite's compilation of them and of the keyed chain's triggers there,
 * not on the run's path.  Best effort: a failure only leaves the work to
 * those calls.
 */
void ledger_warm_run_start(struct ledger *l, int (*more)(void *), void *arg);
void ledger_warm_run_end(struct ledger *l);

/* Record the smoke test outcome of a running run (strings may be NULL). */
st_err ledger_run_smoke(struct ledger *l, int64_t run_id,
    enum ledger_smoke_status status, const char *broker,
    const char *tls_version, const char *cipher, const char *detail,
    char **cause);

/*
 * End a running run: result "PASS" or "FAIL" (failed_step, error_kind and
 * reason may be NULL), ended_at = now, release its serial reservation
 * and append it to the hash chain.
 * ST_E_STATE if the run is already finished, ST_E_NOTFOUND if unknown.
 */
st_err ledger_run_finish(struct ledger *l, int64_t run_id, const char *result,
    const char *failed_step, const char *error_kind, const char *reason,
    char **cause);

/*
 * The intent to issue: durably record, BEFORE the CSR goes to the CA, the
 * SHA-256 (lower-case hex) of the CSR's public key (DER SPKI).  A station
 * killed between the CA's issuance and ledger_cert_issued leaves this
 * behind, so recovery can find the certificate the CA made for that key.
 */
st_err ledger_run_ca_request(struct ledger *l, int64_t run_id,
    const char *key_sha256, char **cause);

/*
 * The CA answered: record the serial of the certificate it returned
 * (lower-case hex), before that certificate is checked and recorded.  A
 * station killed in between leaves it, so recovery can read that
 * certificate back by serial (ca_find_issued) rather than search.  In the
 * WAL when it returns (it outlives the process), on disk with the next
 * durable point (a power cut before it loses only this shortcut).
 */
st_err ledger_run_ca_reply(struct ledger *l, int64_t run_id,
    const char *serial_hex, char **cause);

/*
 * The running run `run_id` enters `step` (a step name): recorded lazily
 * like ledger_run_ca_reply (in the WAL when it returns, so it outlives
 * the process; on disk with the next durable point), so crash recovery
 * names the step a station died in.  ST_E_STATE if the run is unknown or
 * finished.
 */
st_err ledger_run_step(struct ledger *l, int64_t run_id, const char *step,
    char **cause);

/* A run still 'running', as crash recovery sees it (strings owned). */
struct open_run {
	int64_t id;
	int64_t owner_pid; /* 0 if not recorded */
	int64_t owner_start;
	char *owner_token;   /* NULL for runs from before schema 4 */
	char *device_serial; /* NULL if HELLO never completed */
	char *cert_serial;   /* NULL if no certificate was recorded */
	char *ca_key_sha256; /* NULL if no CSR was sent to the CA */
	char *ca_serial;     /* NULL if no reply of the CA was recorded */
	char *last_ok_step;  /* step of the newest 'ok' event, or NULL */
	char *current_step;  /* the step it entered last (ledger_run_step,
	                        kept in run_progress), or NULL */
};

/*
 * Every run whose result is still 'running', oldest first.  *out is a new
 * array of *n entries (free with ledger_open_runs_free; NULL when *n = 0).
 */
st_err ledger_open_runs(struct ledger *l, struct open_run **out, size_t *n,
    char **cause);
void ledger_open_runs_free(struct open_run *runs, size_t n);

/* ---- certificates -------------------------------------------------------*/

/*
 * A certificate row.  As input to ledger_cert_issued the strings are
 * borrowed and id/status/created_at/updated_at are ignored.  When filled by
 * the ledger every string is owned: release with ledger_cert_record_clear.
 */
struct cert_record {
	int64_t id;
	int64_t run_id;
	char *serial_hex; /* hex, stored lower-case */
	char *device_serial;
	char *fingerprint_sha256; /* 64 lower-case hex digits, no colons */
	char *subject;
	char *issuer;
	int64_t not_before; /* unix seconds */
	int64_t not_after;  /* unix seconds */
	char *backend;
	char *pem;
	char *status; /* issued, written, verified (live); orphaned,
	                 superseded, revoking (to be revoked); revoked */
	char *status_note;
	int64_t created_at;  /* unix ms */
	int64_t updated_at;  /* unix ms */
	char *revoke_reason; /* RFC 5280 reason asked of the CA, recorded
	                        with the intent; NULL while live */
	char *issuer_key_id; /* the issuer's key: the leaf's authority key
	                        identifier, lower-case hex; may be NULL */
};

void ledger_cert_record_clear(struct cert_record *c);

/*
 * Record a freshly issued certificate (status 'issued') and set the run's
 * cert_serial, in one durable transaction.  ST_E_EXISTS if the serial is
 * already recorded, ST_E_ARG for a malformed serial or fingerprint.
 */
st_err ledger_cert_issued(struct ledger *l, int64_t run_id,
    const struct cert_record *c, char **cause);

/*
 * Move a certificate to `status`.  Ledger first, then the CA: a live
 * certificate (issued, written, verified) is never revoked directly; an
 * intent is recorded first, durably, and 'revoked' follows once the CA
 * has revoked it:
 *
 *	orphaned    never proven on a device     reason cessationOfOperation
 *	superseded  the device's key is gone     reason superseded
 *	revoking    any other decision           reason given
 *
 * Allowed: issued -> written; written -> verified; issued | written ->
 * orphaned; issued | written | verified -> superseded | revoking
 * (ledger_cert_revoke_intent); orphaned | superseded -> revoking (a
 * stronger reason); orphaned | superseded | revoking -> revoked.  Anything
 * else is ST_E_STATE.  Moving to 'orphaned' or 'superseded' records its
 * reason in revoke_reason; 'revoking' needs ledger_cert_revoke_intent
 * (ST_E_ARG here).  `note` may be NULL.
 */
st_err ledger_cert_set_status(struct ledger *l, const char *serial_hex,
    const char *status, const char *note, char **cause);

/* Replace the status note of a certificate waiting on an intent
 * (orphaned, superseded, revoking), its status unchanged: why the CA has
 * not revoked it.  ST_E_STATE for any other status. */
st_err ledger_cert_set_note(struct ledger *l, const char *serial_hex,
    const char *note, char **cause);

/* Record, durably, the decision to revoke a certificate for `reason` (an
 * RFC 5280 reason name): status 'revoking'.  Transitions as above. */
st_err ledger_cert_revoke_intent(struct ledger *l, const char *serial_hex,
    const char *reason, const char *note, char **cause);

/*
 * Serials of every certificate issued by `backend` whose revocation is
 * recorded as intended but not done (orphaned, superseded, revoking),
 * oldest first, whatever their run's state.  *out is a new array of *n
 * strings (free with ledger_serials_free; NULL when *n = 0).
 */
st_err ledger_revoke_pending(struct ledger *l, const char *backend, char ***out,
    size_t *n, char **cause);
void ledger_serials_free(char **serials, size_t n);

/* Mark every certificate of `run_id` still 'issued' as 'orphaned' (a write
 * to the device failed); *count (may be NULL) receives how many. */
st_err ledger_orphan_open_certs(struct ledger *l, int64_t run_id,
    const char *note, int *count, char **cause);

/* Newest certificate of the device with status issued, written or
 * verified.  *found = 0 and *out zeroed when there is none. */
st_err ledger_device_live_cert(struct ledger *l, const char *device_serial,
    struct cert_record *out, int *found, char **cause);

/*
 * Newest certificate, in any status and for any device, whose run asked
 * the CA for the public key with SHA-256 `key_sha256` (lower-case hex of
 * the DER SPKI, as ledger_run_ca_request recorded it): a key must not be
 * certified twice.  *found = 0 and *out zeroed when there is none.
 */
st_err ledger_cert_by_key(struct ledger *l, const char *key_sha256,
    struct cert_record *out, int *found, char **cause);

/* Look up one certificate by serial (ST_E_NOTFOUND if none). */
st_err ledger_cert_get(struct ledger *l, const char *serial_hex,
    struct cert_record *out, char **cause);

/*
 * The serial reservation: at most one running run provisions a device
 * serial at a time, across the threads and processes sharing the ledger.
 *
 * ledger_serial_reserve reserves `serial` for the running run `run_id` in
 * one BEGIN IMMEDIATE transaction together with its checks, so that
 * check-and-reserve is one atomic act:
 *  - another running run holds the serial: ST_E_STATE, out->holder_*
 *    name it, nothing is reserved;
 *  - `refuse_live` and the serial has a live certificate (issued, written
 *    or verified): ST_E_EXISTS, out->live is it, nothing is reserved;
 *  - otherwise ST_OK: reserved; out->live_found says whether a live
 *    certificate exists (then out->live is the newest).
 * Reserving again for the same run is ST_OK.  A reservation whose run is
 * no longer running (left by a file written before release on finish
 * existed) is taken over.  The reservation ends in ledger_run_finish of
 * its run, in the same transaction as the result, whichever process
 * finishes it (the pipeline, or crash recovery for a dead owner).
 * Committed at once for every process, durable with the run's intent
 * (ledger_run_ca_request): a power cut before the intent loses the
 * reservation with the rest of the run's progress, when no CSR has
 * reached the CA yet.
 */
struct serial_claim {
	int64_t holder_run;   /* the run holding it (ST_E_STATE), else 0 */
	char *holder_station; /* that run's station id (owned) */
	int holder_slot;
	int live_found;
	struct cert_record live; /* owned when live_found */
};

st_err ledger_serial_reserve(struct ledger *l, int64_t run_id,
    const char *serial, int refuse_live, struct serial_claim *out,
    char **cause);
/* Free the claim's strings and zero it; NULL is accepted. */
void ledger_serial_claim_clear(struct serial_claim *c);

/* ---- queries ------------------------------------------------------------*/

/* A runs row as read back; every string owned (ledger_run_record_clear). */
struct run_record {
	int64_t id;
	char *station_id;
	int slot;
	char *operator_id;
	char *batch;
	char *device_uri;
	char *scanned_serial;
	char *device_serial;
	char *profile;
	int64_t started_at; /* unix ms */
	int64_t ended_at;   /* unix ms, 0 while running */
	char *result;	    /* running, PASS, FAIL */
	char *failed_step;
	char *error_kind;
	char *reason;
	char *cert_serial;
	char *smoke_status; /* passed, failed, skipped or NULL */
	char *smoke_broker;
	char *smoke_tls_version;
	char *smoke_cipher;
	char *smoke_detail;
	int64_t chain_seq; /* 0 while running */
	char *prev_hash;
	char *row_hash;
};

void ledger_run_record_clear(struct run_record *r);

struct run_event {
	int64_t id;
	int64_t run_id;
	int64_t at_ms;
	const char *step;   /* borrowed for the callback's duration */
	const char *status; /* start, ok, fail, info */
	const char *detail; /* may be NULL */
};

/* Callbacks return 0 to continue, non-zero to stop early (not an error).
 * Records are borrowed for the duration of the call. */
typedef int (*ledger_run_cb)(const struct run_record *r, void *ctx);
typedef int (*ledger_cert_cb)(const struct cert_record *c, void *ctx);
typedef int (*ledger_event_cb)(const struct run_event *e, void *ctx);

st_err ledger_run_get(struct ledger *l, int64_t run_id, struct run_record *out,
    char **cause);
/* The newest `limit` runs (by id), newest first; limit <= 0 means all. */
st_err ledger_list_runs(struct ledger *l, int limit, ledger_run_cb cb,
    void *ctx, char **cause);
/* Events of one run in the order they were recorded. */
st_err ledger_run_events(struct ledger *l, int64_t run_id, ledger_event_cb cb,
    void *ctx, char **cause);
/* Everything known about one device serial, oldest first: runs whose device
 * or scanned serial matches, then its certificates.  Either callback may be
 * NULL. */
st_err ledger_device_history(struct ledger *l, const char *serial,
    ledger_run_cb run_cb, ledger_cert_cb cert_cb, void *ctx, char **cause);
/* Number of runs; result NULL counts all, else "running"/"PASS"/"FAIL". */
st_err ledger_count_runs(struct ledger *l, const char *result, int64_t *n,
    char **cause);

/* ---- integrity ----------------------------------------------------------*/

enum ledger_problem {
	LEDGER_OK = 0,
	LEDGER_CORRUPT,	  /* PRAGMA integrity_check failed */
	LEDGER_EDITED,	  /* a run's content no longer matches its row_hash */
	LEDGER_DELETED,	  /* a gap in chain_seq, or newest runs missing */
	LEDGER_REORDERED, /* prev_hash does not link to the previous run */
	LEDGER_UNCHAINED, /* a finished run outside the chain, or a row
	                     without a keyed chain entry */
	LEDGER_FORGED,	  /* a keyed chain entry without the key's MAC */
	LEDGER_REWOUND,	  /* the ledger does not extend a checkpoint */
};

/* Stable lower-case name: "ok", "corrupt", "edited"... */
const char *ledger_problem_name(enum ledger_problem p);

struct ledger_verify_report {
	enum ledger_problem problem;
	int64_t runs_checked;	 /* chained runs walked */
	int64_t bad_run_id;	 /* first bad run (0 if none can be named) */
	int64_t bad_chain_seq;	 /* chain position of the problem */
	int64_t entries_checked; /* keyed chain entries walked */
	char bad_table[24];	 /* the table of the problem, "" if none */
	char bad_row[80];	 /* its row (id or device serial), "" if none */
	char detail[256];	 /* a sentence; "" when all is well */
};

/*
 * PRAGMA integrity_check, then recompute the whole run chain in chain_seq
 * order, then every keyed chain entry's MAC and every evidence row's
 * digest against its newest entry, stopping at the first problem (the
 * report names its table and row).  ST_OK only if all is well;
 * ST_E_MISMATCH for tampering (report filled), ST_E_DB for corruption or
 * errors.
 */
st_err ledger_verify(struct ledger *l, struct ledger_verify_report *r,
    char **cause);

/* A chain head, as an export's manifest carries it (docs/export.md). */
struct ledger_checkpoint {
	int64_t seq;			      /* keyed chain entry */
	char digest[LEDGER_HASH_HEX_LEN + 1]; /* its digest */
	char mac[LEDGER_HASH_HEX_LEN + 1];    /* its MAC */
	int64_t run_seq;		      /* run chain position (0: none) */
	char run_hash[LEDGER_HASH_HEX_LEN + 1]; /* that run's row_hash */
};

/* The newest keyed chain entry (run_seq left 0). */
st_err ledger_checkpoint_now(struct ledger *l, struct ledger_checkpoint *cp,
    char **cause);

/*
 * Read the checkpoint of an export manifest (its keyed_head and
 * chain_head).  ST_E_IO when it cannot be read, ST_E_ARG when it holds no
 * well-formed checkpoint (the cause says which field).
 */
st_err ledger_checkpoint_load(const char *manifest,
    struct ledger_checkpoint *cp, char **cause);

/*
 * ledger_verify, then: does the ledger still extend `cp`?  Its keyed
 * entry cp->seq must be there with the same digest and MAC, and the run
 * at cp->run_seq with the same row_hash; otherwise LEDGER_REWOUND
 * (ST_E_MISMATCH): the newest records were removed, or an older copy put
 * back and written again.
 */
st_err ledger_verify_checkpoint(struct ledger *l,
    const struct ledger_checkpoint *cp, struct ledger_verify_report *r,
    char **cause);

#endif
