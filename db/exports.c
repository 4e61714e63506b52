/*
 * The exports table: claiming a chain_seq range, completing or failing an
 * export, the watermark.  Callers hold the ledger lock.
 */
#include "db/export_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

void
export_row_clear(struct export_row *r)
{
	if (r == NULL)
		return;
	free(r->file);
	free(r->manifest);
	memset(r, 0, sizeof *r);
}

st_err
exports_db_fail(struct ledger *l, int *busy, char **cause, const char *what)
{
	if ((sqlite3_extended_errcode(l->db) & 0xff) == SQLITE_BUSY) {
		if (busy)
			*busy = 1;
		return st_fail(cause, ST_E_DB,
		    "%s: the ledger %s stayed locked by another process "
		    "beyond the busy timeout",
		    what, l->path);
	}
	return db_fail(l, cause, what);
}

/* One integer from a one-row query with up to two int64 parameters; *out
 * keeps its value when the row's column is NULL or there is no row. */
static st_err
query_int(struct ledger *l, const char *sql, int nparam, int64_t a, int64_t b,
    int64_t *out, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_stmt(l, &st, cause, sql, DB_I64_IF(nparam > 0, a),
	    DB_I64_IF(nparam > 1, b), DB_END);
	int rc;

	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*out = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		err = exports_db_fail(l, NULL, cause, "reading the exports");
	}
	sqlite3_finalize(st);
	return err;
}

st_err
exports_watermark(struct ledger *l, int64_t *seq, char **cause)
{
	*seq = 0;
	return query_int(l,
	    "SELECT max(to_chain_seq) FROM exports"
	    " WHERE kind = 'since-last' AND status = 'done'",
	    0, 0, 0, seq, cause);
}

st_err
exports_chain_head(struct ledger *l, int64_t *seq, char **cause)
{
	*seq = 0;
	return query_int(l, "SELECT seq FROM chain_head WHERE id = 1", 0, 0, 0,
	    seq, cause);
}

st_err
exports_run_hash(struct ledger *l, int64_t seq, char hex[65], char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	memset(hex, '0', 64);
	hex[64] = '\0';
	if (seq <= 0)
		return ST_OK;
	err = db_stmt(l, &st, cause,
	    "SELECT row_hash FROM runs WHERE chain_seq = ?", DB_I64(seq),
	    DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 64)
		memcpy(hex, sqlite3_column_text(st, 0), 64);
	else
		err = st_fail(cause, ST_E_DB,
		    "the ledger has no chained run %lld", (long long)seq);
	sqlite3_finalize(st);
	return err;
}

st_err
exports_next_from_time(struct ledger *l, int64_t seq, int64_t fallback,
    int64_t *out, char **cause)
{
	int64_t t = -1;
	st_err err;

	err = query_int(l,
	    "SELECT to_time FROM exports WHERE kind = 'since-last'"
	    " AND status = 'done' ORDER BY to_chain_seq DESC, id DESC LIMIT 1",
	    0, 0, 0, &t, cause);
	if (err == ST_OK && t < 0)
		err = query_int(l,
		    "SELECT ended_at FROM runs WHERE chain_seq = ?", 1, seq + 1,
		    0, &t, cause);
	*out = t < 0 ? fallback : t;
	return err;
}

st_err
exports_seq_span(struct ledger *l, int64_t from_ms, int64_t to_ms, int64_t *lo,
    int64_t *hi, char **cause)
{
	st_err err;

	*lo = 0;
	*hi = -1;
	err = query_int(l,
	    "SELECT min(chain_seq) FROM runs WHERE ended_at >= ? AND"
	    " ended_at < ? AND chain_seq IS NOT NULL",
	    2, from_ms, to_ms, lo, cause);
	if (err == ST_OK)
		err = query_int(l,
		    "SELECT max(chain_seq) FROM runs WHERE ended_at >= ? AND"
		    " ended_at < ? AND chain_seq IS NOT NULL",
		    2, from_ms, to_ms, hi, cause);
	return err;
}

/* Run one prepared write statement to completion (lock held, autocommit:
 * each is its own durable transaction). */
static st_err
step_write(struct ledger *l, sqlite3_stmt *st, char **cause, const char *what)
{
	st_err err = ST_OK;

	if (sqlite3_step(st) != SQLITE_DONE)
		err = exports_db_fail(l, NULL, cause, what);
	sqlite3_finalize(st);
	return err;
}

st_err
exports_claim(struct ledger *l, struct export_row *r, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	err = db_stmt(l, &st, cause,
	    "INSERT INTO exports (kind, started_at, from_time, to_time,"
	    " from_chain_seq, to_chain_seq, format, file, manifest)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, '', '')",
	    DB_TEXT(r->since_last ? "since-last" : "range"),
	    DB_I64(ledger_now_ms()), DB_I64(r->from_time), DB_I64(r->to_time),
	    DB_I64(r->from_seq), DB_I64(r->to_seq),
	    DB_TEXT(export_format_name(r->format)), DB_END);
	if (err)
		return err;
	err = step_write(l, st, cause, "recording the export");
	if (err == ST_OK)
		r->id = sqlite3_last_insert_rowid(l->db);
	return err;
}

st_err
exports_set_names(struct ledger *l, const struct export_row *r, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	err = db_stmt(l, &st, cause,
	    "UPDATE exports SET file = ?, manifest = ? WHERE id = ?",
	    DB_TEXT(r->file), DB_TEXT(r->manifest), DB_I64(r->id), DB_END);
	if (err)
		return err;
	return step_write(l, st, cause, "naming the export's files");
}

st_err
exports_mark_done(struct ledger *l, int64_t id, int64_t rows,
    const char *sha256, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	err = db_stmt(l, &st, cause,
	    "UPDATE exports SET status = 'done', finished_at = ?,"
	    " row_count = ?, sha256 = ? WHERE id = ? AND status = 'started'",
	    DB_I64(ledger_now_ms()), DB_I64(rows), DB_TEXT(sha256), DB_I64(id),
	    DB_END);
	if (err)
		return err;
	return step_write(l, st, cause, "moving the export watermark");
}

st_err
exports_mark_failed(struct ledger *l, int64_t id, const char *note,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	err = db_stmt(l, &st, cause,
	    "UPDATE exports SET status = 'failed', finished_at = ?, note = ?"
	    " WHERE id = ? AND status = 'started'",
	    DB_I64(ledger_now_ms()), DB_TEXT(note), DB_I64(id), DB_END);
	if (err)
		return err;
	return step_write(l, st, cause, "recording a failed export");
}

st_err
exports_list_started(struct ledger *l, struct export_row **rows, size_t *n,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;
	size_t cap = 0;
	int rc;

	*rows = NULL;
	*n = 0;
	err = db_prepare(l,
	    "SELECT id, kind, from_time, to_time, from_chain_seq,"
	    " to_chain_seq, format, file, manifest FROM exports"
	    " WHERE status = 'started' ORDER BY id",
	    &st, cause);
	if (err)
		return err;
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		struct export_row *r;

		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			*rows = xrealloc(*rows, cap * sizeof **rows);
		}
		r = &(*rows)[(*n)++];
		memset(r, 0, sizeof *r);
		r->id = sqlite3_column_int64(st, 0);
		r->since_last = strcmp((const char *)sqlite3_column_text(st, 1),
				    "since-last") == 0;
		r->from_time = sqlite3_column_int64(st, 2);
		r->to_time = sqlite3_column_int64(st, 3);
		r->from_seq = sqlite3_column_int64(st, 4);
		r->to_seq = sqlite3_column_int64(st, 5);
		export_format_parse((const char *)sqlite3_column_text(st, 6),
		    &r->format);
		r->file = db_col_dup(st, 7);
		r->manifest = db_col_dup(st, 8);
	}
	if (rc != SQLITE_DONE)
		err =
		    exports_db_fail(l, NULL, cause, "listing started exports");
	sqlite3_finalize(st);
	return err;
}
