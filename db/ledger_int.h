/*
 * Inside the ledger: the handle and the small SQLite helpers its files
 * share.  Not for use outside db/.
 */
#ifndef ST_DB_LEDGER_INT_H
#define ST_DB_LEDGER_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>

#include "db/ledger.h"

/* How many prepared statements a ledger keeps (stmt_cache.c): every
 * statement a run's writes use, with room to spare. */
#define DB_STMT_CACHE 48

struct db_cached {
	char *sql;	  /* the statement's text (owned), its key */
	sqlite3_stmt *st; /* NULL: a free slot */
	int busy;	  /* taken by a caller, under cache_mu */
};

struct ledger {
	sqlite3 *db;
	/* One connection, one mutex: error-checking, so that a callback that
	 * calls back into the ledger fails instead of deadlocking. */
	pthread_mutex_t mu;
	char *path;

	/* Group commit (see "Durability" in ledger.h).  wal_fd is a second
	 * descriptor of the WAL file, -1 if it could not be opened (then
	 * every write commits with synchronous=FULL under mu, as before).
	 * `written` counts group-committed writes, bumped under mu after
	 * their COMMIT returned; sync_mu guards the rest. */
	int wal_fd;
	int dir_fd;	/* the WAL's directory, synced at the first sync */
	int dir_synced; /* under sync_mu's "syncing" role */
	_Atomic uint64_t written;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	uint64_t synced; /* every write up to this count is on disk */
	int syncing;	 /* a thread is in fdatasync for the others */
	int sync_errno;	 /* a failed fdatasync: sticky, nothing is durable */
	int write_mode;	 /* enum db_write of the locked section */
	/* The connection's synchronous level as last set: 1 NORMAL (left
	 * by a lazy or group section), 0 FULL.  Set only under mu. */
	int sync_normal;

	/* The ledger key (keyed_key.c): loaded at open, never written out.
	 * mac_base holds it, initialised once (HMAC-SHA256); each MAC
	 * works on a copy.  sha256 is fetched once for the digests. */
	unsigned char key[32];
	int keyed;
	/* ledger_open_ro: nothing may write; why the key could not be
	 * loaded (NULL if it was), for ledger_verify. */
	int readonly;
	char *key_error;
	struct evp_mac_ctx_st *mac_base;
	struct evp_md_st *sha256;

	/* Prepared statements kept for reuse (stmt_cache.c); cache_mu guards
	 * the table, not the statements: a taken one is its caller's. */
	pthread_mutex_t cache_mu;
	struct db_cached cache[DB_STMT_CACHE];
	size_t cache_next; /* the next slot to evict when all are full */
};

/*
 * How a locked section's commits reach the disk.
 *   DB_WRITE_FULL   synchronous=FULL: durable when COMMIT returns (the
 *                   mutex is held across the fsync).
 *   DB_WRITE_LAZY   synchronous=NORMAL: in the WAL, durable with the next
 *                   durable commit of any thread (the WAL is one file
 *                   written in order: a later fsync covers it).
 *   DB_WRITE_GROUP  synchronous=NORMAL, then, after the mutex is released,
 *                   wait until one fdatasync of the WAL covers it; threads
 *                   that commit at the same time share that fdatasync.
 */
enum db_write { DB_WRITE_FULL, DB_WRITE_LAZY, DB_WRITE_GROUP };

/* The runs columns in chain order (see ledger.h), then row_hash. */
#define LEDGER_RUN_COLUMNS \
	"id, station_id, slot, operator, batch, device_uri, scanned_serial, " \
	"device_serial, profile, started_at, ended_at, result, failed_step, " \
	"error_kind, reason, cert_serial, smoke_status, smoke_broker, " \
	"smoke_tls_version, smoke_cipher, smoke_detail, chain_seq, " \
	"prev_hash, row_hash"
/* How many of LEDGER_RUN_COLUMNS the row hash covers (all but row_hash). */
#define LEDGER_RUN_HASHED_COLUMNS 23

#define LEDGER_CERT_COLUMNS \
	"id, run_id, serial_hex, device_serial, fingerprint_sha256, " \
	"subject, issuer, not_before, not_after, backend, pem, status, " \
	"status_note, created_at, updated_at, revoke_reason, issuer_key_id"

/* The statements of a run (runs.c, recovery.c, reserve.c, certs.c,
 * chain.c), by name so that ledger_warm_run_start and ledger_warm_run_end
 * prepare the very texts db_run will look up. */
extern const char db_sql_run_begin[];
extern const char db_sql_run_device[];
extern const char db_sql_device_seen[];
extern const char db_sql_run_event[];
extern const char db_sql_run_step[];
extern const char db_sql_reserve[];
extern const char db_sql_run_ca_request[];
extern const char db_sql_run_ca_reply[];
extern const char db_sql_run_cert[];
extern const char db_sql_cert_insert[];
extern const char db_sql_cert_status[];
extern const char db_sql_run_smoke[];
extern const char db_sql_run_result[];
extern const char db_sql_release_serial[];
extern const char db_sql_clear_step[];
extern const char db_sql_chain_place[];
extern const char db_sql_chain_seal[];
extern const char db_sql_chain_advance[];
extern const char db_sql_latest_start[];
extern const char db_sql_reserve_holder[];
extern const char db_sql_serial_live[];
extern const char db_sql_cert_by_key[];
extern const char db_sql_cert_status_of[];
extern const char db_sql_chain_head[];
extern const char db_sql_chain_row[];

/* Current wall-clock time in unix milliseconds. */
int64_t ledger_now_ms(void);

/* Take / release the handle's mutex.  ledger_lock fails with ST_E_STATE
 * when the calling thread already holds it (re-entry from a callback).
 * Its section runs with synchronous=FULL, as every section but a lazy or
 * group write expects: ledger_lock sets it back when the last section
 * left NORMAL (and fails, unlocked, if it cannot). */
st_err ledger_lock(struct ledger *l, char **cause);
void ledger_unlock(struct ledger *l);
/* The same for a section that writes: ledger_lock_write sets the mode's
 * synchronous level (NORMAL for DB_WRITE_LAZY and DB_WRITE_GROUP, FULL
 * for DB_WRITE_FULL) unless the connection has it already, so that a
 * run's consecutive lazy writes do not switch it back and forth;
 * ledger_unlock_write releases the mutex and, for DB_WRITE_GROUP when
 * `err` is ST_OK, returns only once the section's commit is durable.
 * Returns `err`, or the error that made the commit not durable. */
st_err ledger_lock_write(struct ledger *l, enum db_write mode, char **cause);
st_err ledger_unlock_write(struct ledger *l, st_err err, char **cause);

/* ST_E_DB with "<what>: <sqlite message>". */
st_err db_fail(struct ledger *l, char **cause, const char *what);
st_err db_exec(struct ledger *l, const char *sql, char **cause);
st_err db_prepare(struct ledger *l, const char *sql, sqlite3_stmt **st,
    char **cause);
/*
 * The statement cache (stmt_cache.c), for statements run again and again
 * with parameters.  db_cached_take hands out the kept statement for `sql`
 * (same text) or prepares a new one; db_cached_give resets it, clears its
 * bindings and keeps it (or finalizes it when the table is full of
 * statements in use); NULL is ignored.  db_cached_clear finalizes them
 * all (before the connection closes).  db_exec_cached runs one statement
 * that returns no row through the cache.
 */
st_err db_cached_take(struct ledger *l, const char *sql, sqlite3_stmt **st,
    char **cause);
void db_cached_give(struct ledger *l, const char *sql, sqlite3_stmt *st);
void db_cached_clear(struct ledger *l);
st_err db_exec_cached(struct ledger *l, const char *sql, char **cause);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback ignores errors). */
st_err db_begin(struct ledger *l, char **cause);
st_err db_commit(struct ledger *l, char **cause);
void db_rollback(struct ledger *l);

/* Bind text, or NULL when s is NULL.  Returns the sqlite3 result code. */
int db_bind_text(sqlite3_stmt *st, int idx, const char *s);
/* Owned copy of a text column, NULL for SQL NULL. */
char *db_col_dup(sqlite3_stmt *st, int col);

/*
 * Statement arguments for db_stmt and db_run: a list of tagged values bound
 * to parameters 1, 2, ... in order and ended by DB_END.  Always spell them
 * with these macros, which give every value the type va_arg reads back.
 */
enum db_arg { DB_T_END, DB_T_I64, DB_T_I64_IF, DB_T_TEXT };
#define DB_END DB_T_END
#define DB_I64(v) DB_T_I64, (int64_t)(v)
/* The value when cond holds; otherwise the parameter stays unbound (NULL)
 * and may even be absent from the query. */
#define DB_I64_IF(cond, v) DB_T_I64_IF, (int)!!(cond), (int64_t)(v)
/* Text, SQL NULL for a NULL pointer. */
#define DB_TEXT(s) DB_T_TEXT, (const char *)(s)

/* Prepare `sql` and bind the arguments.  *st is NULL on failure. */
st_err db_stmt(struct ledger *l, sqlite3_stmt **st, char **cause,
    const char *sql, ...);
/* The same through the statement cache, for a query every run makes:
 * give it back with db_cached_give(l, sql, *st) instead of finalizing
 * it.  *st is NULL on failure. */
st_err db_query(struct ledger *l, sqlite3_stmt **st, char **cause,
    const char *sql, ...);
/* Step a statement that returns no row: ST_E_DB "<what>: <message>" unless
 * it ends in SQLITE_DONE.  The statement stays prepared. */
st_err db_step_done(struct ledger *l, sqlite3_stmt *st, const char *what,
    char **cause);
/* One write: a cached statement (db_cached_take), its arguments,
 * db_step_done, db_cached_give.  Afterwards sqlite3_changes,
 * sqlite3_last_insert_rowid and, on failure, sqlite3_extended_errcode of
 * l->db describe the statement. */
st_err db_run(struct ledger *l, char **cause, const char *what, const char *sql,
    ...);

/*
 * A write section: ledger_lock_write in `mode`, then BEGIN IMMEDIATE when
 * `txn` is set.  db_write_end commits an open transaction when `err` is
 * ST_OK (rolls it back otherwise) and ends with ledger_unlock_write, whose
 * error it returns.
 */
st_err db_write_begin(struct ledger *l, enum db_write mode, int txn,
    char **cause);
st_err db_write_end(struct ledger *l, st_err err, char **cause);

/* Which member of a record a column fills (see db_record). */
struct db_col {
	size_t off;
	char kind; /* 'i' int, 'I' int64_t, 's' owned char * */
};
struct db_record {
	size_t size;
	const struct db_col *cols; /* in the order they are selected */
	size_t ncols;
};
/* The runs and certificates records, for LEDGER_RUN_COLUMNS and
 * LEDGER_CERT_COLUMNS. */
extern const struct db_record db_run_record, db_cert_record;
/* Fill a record from the current row / free its strings and zero it. */
void db_record_read(const struct db_record *t, sqlite3_stmt *st, void *rec);
void db_record_clear(const struct db_record *t, void *rec);

/*
 * Under the ledger lock, run a query selecting t's columns and read its
 * first row into rec (zeroed first); *found says whether there was one.
 * ST_E_DB "<what>: <message>" when the step fails.
 */
st_err db_get_record(struct ledger *l, const struct db_record *t, void *rec,
    int *found, const char *what, char **cause, const char *sql, ...);

/*
 * Run a query (lock held) and call row(st, ctx) for each of its rows until
 * one returns nonzero.  ST_E_DB "<what>: <message>" when a step fails.
 */
st_err db_each_row(struct ledger *l, int (*row)(sqlite3_stmt *st, void *ctx),
    void *ctx, const char *what, char **cause, const char *sql, ...);

/* Schema: load the key; when ledger_keyed_current says all is current,
 * nothing more.  Else apply migrations up to LEDGER_SCHEMA_VERSION, then
 * ledger_keyed_setup with `key_path`, in one write transaction. */
st_err ledger_migrate(struct ledger *l, const char *key_path, char **cause);

/* The schema version of a ledger opened read-only: ST_OK when it is
 * LEDGER_SCHEMA_VERSION; ST_E_CONFIG for an older one (naming the path
 * and the fix: a read-only open never migrates), ST_E_DB for a newer one
 * or when it cannot be read. */
st_err ledger_schema_check(struct ledger *l, char **cause);

/* Chain the run `run_id`, whose finish columns are already set and whose
 * row_hash is NULL; called inside the finishing transaction. */
st_err ledger_chain_append(struct ledger *l, int64_t run_id, char **cause);

/* The run chain alone (lock held, inside a read transaction): the
 * report is filled on the first problem. */
st_err ledger_verify_runs(struct ledger *l, struct ledger_verify_report *r,
    char **cause);

/* keyed*.c (keyed_int.h).  Register ledger_digest and ledger_mac on the
 * connection (before anything writes: the chain triggers call them). */
st_err ledger_keyed_functions(struct ledger *l, char **cause);
/* Load the key if it can be read, before the migrations (a migration
 * that writes to a chained table fires the chain's triggers); any
 * problem is reported by ledger_keyed_setup afterwards. */
void ledger_keyed_preload(struct ledger *l, const char *key_path);
/* Drop the key (a key that is not this ledger's), keeping the digest. */
void ledger_keyed_forget(struct ledger *l);
/* Release the key and the crypto contexts (ledger_close). */
void ledger_keyed_free(struct ledger *l);
/* For a read-only open: load the key and check it is this ledger's
 * (not beside the ledger, readable, the sealing key); the cause says
 * what is wrong and what to do, for ledger_verify to report. */
st_err ledger_keyed_check_ro(struct ledger *l, const char *key_path,
    char **cause);
/* Before the migration: *current = 1 when the ledger is at this schema
 * version, sealed, its chain triggers are those ledger_keyed_setup last
 * made (their stamp in ledger_meta), and the loaded key is the sealing
 * key; then the open needs nothing else.  One read, no write; ST_E_CONFIG
 * for a key beside the ledger or not the sealing key. */
st_err ledger_keyed_current(struct ledger *l, const char *key_path,
    int *current, char **cause);
/* Inside the migration's transaction: load (or, for a ledger not yet
 * sealed, create) the key, (re)create the chain triggers, seal a ledger
 * that has no keyed chain, record the triggers' stamp. */
st_err ledger_keyed_setup(struct ledger *l, const char *key_path, char **cause);
/* The keyed chain's entries and rows (lock held, read transaction). */
st_err ledger_verify_keyed(struct ledger *l, struct ledger_verify_report *r,
    char **cause);
/* The newest keyed entry (lock held). */
st_err ledger_keyed_head(struct ledger *l, struct ledger_checkpoint *cp,
    char **cause);
/* After a clean verify (lock held): does the ledger extend `cp`? */
st_err ledger_check_extends(struct ledger *l,
    const struct ledger_checkpoint *cp, struct ledger_verify_report *r,
    char **cause);

#endif
