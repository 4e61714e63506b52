/*
 * Inside the ERP export: the parts db/export*.c and db/exports.c share.
 * Not for use outside db/.
 */
#ifndef ST_DB_EXPORT_INT_H
#define ST_DB_EXPORT_INT_H

#include <openssl/evp.h>
#include <stdio.h>

#include "db/export.h"
#include "db/ledger_int.h"

#define EXPORT_MANIFEST_VERSION 1

/* ---- the exports table (db/exports.c); lock held by the caller --------*/

/* A row of the exports table. */
struct export_row {
	int64_t id;
	int since_last;
	int64_t from_time, to_time;
	int64_t from_seq, to_seq;
	enum export_format format;
	char *file, *manifest; /* owned */
};

void export_row_clear(struct export_row *r);

/* Highest to_chain_seq of the done since-last exports (0 if none). */
st_err exports_watermark(struct ledger *l, int64_t *seq, char **cause);
/* Newest chain_seq in the ledger (0 if no finished run). */
st_err exports_chain_head(struct ledger *l, int64_t *seq, char **cause);
/* row_hash of the run at chain position seq into hex (64 '0's for 0). */
st_err exports_run_hash(struct ledger *l, int64_t seq, char hex[65],
    char **cause);
/* to_time of the newest done since-last export, else the ended_at of the
 * first run after `seq`, else `fallback`. */
st_err exports_next_from_time(struct ledger *l, int64_t seq, int64_t fallback,
    int64_t *out, char **cause);
/* The lowest and highest chain_seq with from <= ended_at < to (0, -1 when
 * none). */
st_err exports_seq_span(struct ledger *l, int64_t from_ms, int64_t to_ms,
    int64_t *lo, int64_t *hi, char **cause);

/* Insert a 'started' row (r->id is set); file/manifest names filled in
 * later by exports_set_names once the id is known. */
st_err exports_claim(struct ledger *l, struct export_row *r, char **cause);
st_err exports_set_names(struct ledger *l, const struct export_row *r,
    char **cause);
/* 'started' -> 'done' with count and checksum, or -> 'failed' + note. */
st_err exports_mark_done(struct ledger *l, int64_t id, int64_t rows,
    const char *sha256, char **cause);
st_err exports_mark_failed(struct ledger *l, int64_t id, const char *note,
    char **cause);
/* Every 'started' row, oldest first: *rows (owned array), *n. */
st_err exports_list_started(struct ledger *l, struct export_row **rows,
    size_t *n, char **cause);

/* ST_E_DB with an "ledger locked" message when the connection's last
 * error is SQLITE_BUSY, else db_fail; sets *busy accordingly. */
st_err exports_db_fail(struct ledger *l, int *busy, char **cause,
    const char *what);

/* ---- writing rows (db/export_rows.c) -----------------------------------*/

/* A data or manifest file being written: everything that goes to fp also
 * goes into the SHA-256. */
struct export_out {
	FILE *fp;
	EVP_MD_CTX *md;
	int64_t bytes;
	int err; /* first errno seen, 0 if none */
};

void export_out_write(struct export_out *o, const void *p, size_t n);
/* Write the header (CSV) and then every run with from <= chain_seq <= to
 * (range exports: ended_at in [from_ms, to_ms) as well), in chain order.
 * *rows receives the count; *busy is set when the ledger stayed locked. */
st_err export_write_rows(struct ledger *l, struct export_out *o,
    enum export_format fmt, const struct export_row *span, int64_t *rows,
    int *busy, char **cause);

/* ISO-8601 UTC "2026-11-22T14:05:25.123Z" (buf >= 25) from unix ms. */
void export_iso_ms(char buf[static 25], int64_t ms);
/* Compact "20261122T140525Z" (buf >= 17) for file names. */
void export_compact_time(char buf[static 17], int64_t ms);

/* ---- files (db/export_file.c) ------------------------------------------*/

/* Check that `dir` exists, is a directory and is writable; open it
 * (*dfd) and resolve it (*abs, owned).  *p says what is wrong. */
st_err export_dir_open(const char *dir, int *dfd, char **abs,
    enum export_problem *p, char **cause);
/* Take the per-ledger export lock (*fd, close to release). */
st_err export_lock(const char *ledger_path, int *fd, enum export_problem *p,
    char **cause);
/* Remove ".<station_id>_*.tmp" files a killed export left in dfd. */
void export_clean_temps(int dfd, const char *station_id);
/* The problem an errno from writing or creating a file stands for. */
enum export_problem export_errno_problem(int e);

/* Create ".<name>.tmp" in dfd and start hashing. */
st_err export_file_begin(int dfd, const char *dir, const char *name,
    struct export_out *o, enum export_problem *p, char **cause);
/* fflush, fsync, close, rename to `name`, fsync the directory; hex
 * receives the SHA-256.  `crash_written` / `crash_renamed` name the test
 * hook points passed on the way (NULL for none). */
st_err export_file_commit(int dfd, const char *dir, const char *name,
    struct export_out *o, char hex[65], const char *crash_written,
    const char *crash_renamed, enum export_problem *p, char **cause);
/* Close and remove an unfinished temp file (any state; NULL fp ok). */
void export_file_abort(int dfd, const char *name, struct export_out *o);

/* The test hook: _exit(86) if STATION_EXPORT_CRASH_AT equals point. */
void export_crash_point(const char *point);

/* SHA-256 of the file `name` in dfd into hex; ST_E_IO if unreadable. */
st_err export_file_sha256(int dfd, const char *name, char hex[65],
    char **cause);

#endif
