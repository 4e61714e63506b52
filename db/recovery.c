/*
 * What crash recovery needs from the ledger: the intent recorded before a
 * CSR goes to the CA, the list of runs a station left 'running', and the
 * certificates whose revocation was decided but not done.
 * The recovery policy itself lives in station/recover.c.
 */
#include "db/ledger_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static int
is_sha256_hex(const char *s)
{
	return s != NULL && strlen(s) == LEDGER_HASH_HEX_LEN &&
	    strspn(s, "0123456789abcdef") == LEDGER_HASH_HEX_LEN;
}

/* One column of a running run set to `value` (`sql`: "UPDATE runs SET
 * col = ? WHERE id = ? AND result = 'running'"), written `mode`;
 * ST_E_STATE when the run is unknown or finished. */
static st_err
set_running(struct ledger *l, enum db_write mode, const char *what,
    const char *sql, int64_t run_id, const char *value, char **cause)
{
	st_err err = db_write_begin(l, mode, 0, cause);

	if (err)
		return err;
	err =
	    db_run(l, cause, what, sql, DB_TEXT(value), DB_I64(run_id), DB_END);
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
	return db_write_end(l, err, cause);
}

/* Statements of a run, by name for ledger_warm_run_start (runs.c). */
const char db_sql_run_ca_request[] =
    "UPDATE runs SET ca_key_sha256 = ? WHERE id = ? AND result = "
    "'running'";
const char db_sql_run_ca_reply[] =
    "UPDATE runs SET ca_serial = ? WHERE id = ? AND result = "
    "'running'";
const char db_sql_run_step[] =
    "INSERT INTO run_progress (run_id, step, at_ms)"
    " SELECT id, ?, ? FROM runs WHERE id = ? AND result = 'running'"
    " ON CONFLICT (run_id) DO UPDATE SET step = excluded.step,"
    " at_ms = excluded.at_ms";

st_err
ledger_run_ca_request(struct ledger *l, int64_t run_id, const char *key_sha256,
    char **cause)
{
	if (!is_sha256_hex(key_sha256))
		return st_fail(cause, ST_E_ARG,
		    "a CA request is recorded with the key's SHA-256 in "
		    "lower-case hex");
	return set_running(l, DB_WRITE_GROUP, "recording the request to the CA",
	    db_sql_run_ca_request, run_id, key_sha256, cause);
}

st_err
ledger_run_ca_reply(struct ledger *l, int64_t run_id, const char *serial_hex,
    char **cause)
{
	size_t n = serial_hex ? strlen(serial_hex) : 0;

	if (n == 0 || n > 128 || strspn(serial_hex, "0123456789abcdef") != n)
		return st_fail(cause, ST_E_ARG,
		    "a CA reply is recorded with the certificate's serial in "
		    "lower-case hex");
	/* Lazy: in the WAL when this returns, so it outlives the station's
	 * process, and on disk with the issuance's fsync that follows; no
	 * fsync of its own on every run's path. */
	return set_running(l, DB_WRITE_LAZY, "recording the CA's reply",
	    db_sql_run_ca_reply, run_id, serial_hex, cause);
}

st_err
ledger_run_step(struct ledger *l, int64_t run_id, const char *step,
    char **cause)
{
	st_err err;

	/* Lazy, as ledger_run_ca_reply: one commit to the WAL at each
	 * step's start, never an fsync on the run's path.  In run_progress,
	 * outside the keyed chain: a step is working state, and a runs
	 * column would chain an entry per step. */
	err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);
	if (err)
		return err;
	err = db_run(l, cause, "recording the run's step", db_sql_run_step,
	    DB_TEXT(step), DB_I64(ledger_now_ms()), DB_I64(run_id), DB_END);
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
	return db_write_end(l, err, cause);
}

#define OPEN_COL(m, k) \
	{ \
		offsetof(struct open_run, m), k \
	}
static const struct db_col open_run_cols[] = {
	OPEN_COL(id, 'I'),
	OPEN_COL(owner_pid, 'I'),
	OPEN_COL(owner_start, 'I'),
	OPEN_COL(owner_token, 's'),
	OPEN_COL(device_serial, 's'),
	OPEN_COL(cert_serial, 's'),
	OPEN_COL(ca_key_sha256, 's'),
	OPEN_COL(ca_serial, 's'),
	OPEN_COL(last_ok_step, 's'),
	OPEN_COL(current_step, 's'),
};
static const struct db_record open_run_record = { sizeof(struct open_run),
	open_run_cols, sizeof open_run_cols / sizeof open_run_cols[0] };

void
ledger_open_runs_free(struct open_run *runs, size_t n)
{
	if (runs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		db_record_clear(&open_run_record, &runs[i]);
	free(runs);
}

struct open_runs {
	struct open_run *v;
	size_t len, cap;
};

static int
add_open_run(sqlite3_stmt *st, void *ctx)
{
	struct open_runs *o = ctx;

	if (o->len == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		o->v = xrealloc(o->v, o->cap * sizeof *o->v);
	}
	db_record_read(&open_run_record, st, &o->v[o->len++]);
	return 0;
}

st_err
ledger_open_runs(struct ledger *l, struct open_run **out, size_t *n,
    char **cause)
{
	struct open_runs o = { 0 };
	st_err err;

	*out = NULL;
	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_each_row(l, add_open_run, &o, "listing unfinished runs", cause,
	    "SELECT id, coalesce(owner_pid, 0), coalesce(owner_start, 0),"
	    " owner_token, device_serial, cert_serial, ca_key_sha256,"
	    " ca_serial, (SELECT step FROM run_events e WHERE e.run_id = runs.id"
	    "  AND e.status = 'ok' ORDER BY e.id DESC LIMIT 1),"
	    " (SELECT step FROM run_progress p WHERE p.run_id = runs.id)"
	    " FROM runs WHERE result = 'running' ORDER BY id",
	    DB_END);
	ledger_unlock(l);
	if (err) {
		ledger_open_runs_free(o.v, o.len);
		return err;
	}
	*out = o.v;
	*n = o.len;
	return ST_OK;
}

struct serials {
	char **v;
	size_t len, cap;
};

static int
add_serial(sqlite3_stmt *st, void *ctx)
{
	struct serials *s = ctx;

	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->len++] = db_col_dup(st, 0);
	return 0;
}

void
ledger_serials_free(char **serials, size_t n)
{
	for (size_t i = 0; serials && i < n; i++)
		free(serials[i]);
	free(serials);
}

st_err
ledger_revoke_pending(struct ledger *l, const char *backend, char ***out,
    size_t *n, char **cause)
{
	struct serials s = { 0 };
	st_err err;

	*out = NULL;
	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_each_row(l, add_serial, &s, "listing certificates to revoke",
	    cause,
	    "SELECT serial_hex FROM certificates"
	    " WHERE status IN ('orphaned','superseded','revoking')"
	    " AND backend IS ? ORDER BY id",
	    DB_TEXT(backend), DB_END);
	ledger_unlock(l);
	if (err) {
		ledger_serials_free(s.v, s.len);
		return err;
	}
	*out = s.v;
	*n = s.len;
	return ST_OK;
}
