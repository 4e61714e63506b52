/* Reading the ledger back: one run, lists, a device's history, counts. */
#include "db/ledger_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define RUN_COL(m, k) \
	{ \
		offsetof(struct run_record, m), k \
	}
static const struct db_col run_cols[] = {
	RUN_COL(id, 'I'),
	RUN_COL(station_id, 's'),
	RUN_COL(slot, 'i'),
	RUN_COL(operator_id, 's'),
	RUN_COL(batch, 's'),
	RUN_COL(device_uri, 's'),
	RUN_COL(scanned_serial, 's'),
	RUN_COL(device_serial, 's'),
	RUN_COL(profile, 's'),
	RUN_COL(started_at, 'I'),
	RUN_COL(ended_at, 'I'),
	RUN_COL(result, 's'),
	RUN_COL(failed_step, 's'),
	RUN_COL(error_kind, 's'),
	RUN_COL(reason, 's'),
	RUN_COL(cert_serial, 's'),
	RUN_COL(smoke_status, 's'),
	RUN_COL(smoke_broker, 's'),
	RUN_COL(smoke_tls_version, 's'),
	RUN_COL(smoke_cipher, 's'),
	RUN_COL(smoke_detail, 's'),
	RUN_COL(chain_seq, 'I'),
	RUN_COL(prev_hash, 's'),
	RUN_COL(row_hash, 's'),
};
/* In the order of LEDGER_RUN_COLUMNS. */
const struct db_record db_run_record = { sizeof(struct run_record), run_cols,
	sizeof run_cols / sizeof run_cols[0] };

void
ledger_run_record_clear(struct run_record *r)
{
	db_record_clear(&db_run_record, r);
}

st_err
ledger_run_get(struct ledger *l, int64_t run_id, struct run_record *out,
    char **cause)
{
	int found = 0;
	st_err err =
	    db_get_record(l, &db_run_record, out, &found, "reading a run",
		cause, "SELECT " LEDGER_RUN_COLUMNS " FROM runs WHERE id = ?",
		DB_I64(run_id), DB_END);

	if (err == ST_OK && !found)
		err = st_fail(cause, ST_E_NOTFOUND, "no run %lld in the ledger",
		    (long long)run_id);
	return err;
}

/* A run or certificate callback and its context, for db_each_row. */
struct record_feed {
	ledger_run_cb run_cb;
	ledger_cert_cb cert_cb;
	ledger_event_cb event_cb;
	void *ctx;
};

static int
feed_run(sqlite3_stmt *st, void *ctx)
{
	struct record_feed *f = ctx;
	struct run_record r = { 0 };
	int stop;

	db_record_read(&db_run_record, st, &r);
	stop = f->run_cb(&r, f->ctx);
	ledger_run_record_clear(&r);
	return stop;
}

static int
feed_cert(sqlite3_stmt *st, void *ctx)
{
	struct record_feed *f = ctx;
	struct cert_record c = { 0 };
	int stop;

	db_record_read(&db_cert_record, st, &c);
	stop = f->cert_cb(&c, f->ctx);
	ledger_cert_record_clear(&c);
	return stop;
}

static int
feed_event(sqlite3_stmt *st, void *ctx)
{
	struct record_feed *f = ctx;
	struct run_event e = {
		.id = sqlite3_column_int64(st, 0),
		.run_id = sqlite3_column_int64(st, 1),
		.at_ms = sqlite3_column_int64(st, 2),
		.step = (const char *)sqlite3_column_text(st, 3),
		.status = (const char *)sqlite3_column_text(st, 4),
		.detail = (const char *)sqlite3_column_text(st, 5),
	};

	return f->event_cb(&e, f->ctx);
}

st_err
ledger_list_runs(struct ledger *l, int limit, ledger_run_cb cb, void *ctx,
    char **cause)
{
	struct record_feed f = { .run_cb = cb, .ctx = ctx };
	st_err err = ledger_lock(l, cause);

	if (err)
		return err;
	err = db_each_row(l, feed_run, &f, "listing runs", cause,
	    "SELECT " LEDGER_RUN_COLUMNS " FROM runs ORDER BY id DESC LIMIT ?",
	    DB_I64(limit > 0 ? limit : -1), DB_END);
	ledger_unlock(l);
	return err;
}

st_err
ledger_run_events(struct ledger *l, int64_t run_id, ledger_event_cb cb,
    void *ctx, char **cause)
{
	struct record_feed f = { .event_cb = cb, .ctx = ctx };
	st_err err = ledger_lock(l, cause);

	if (err)
		return err;
	err = db_each_row(l, feed_event, &f, "listing run events", cause,
	    "SELECT id, run_id, at_ms, step, status, detail FROM run_events"
	    " WHERE run_id = ? ORDER BY id",
	    DB_I64(run_id), DB_END);
	ledger_unlock(l);
	return err;
}

st_err
ledger_device_history(struct ledger *l, const char *serial,
    ledger_run_cb run_cb, ledger_cert_cb cert_cb, void *ctx, char **cause)
{
	struct record_feed f = { .run_cb = run_cb,
		.cert_cb = cert_cb,
		.ctx = ctx };
	st_err err;

	if (serial == NULL)
		return st_fail(cause, ST_E_ARG, "no device serial given");
	err = ledger_lock(l, cause);
	if (err)
		return err;
	/* A UNION of two indexed lookups rather than an OR, which SQLite
	 * would answer with a full scan. */
	if (run_cb)
		err = db_each_row(l, feed_run, &f, "listing runs", cause,
		    "SELECT " LEDGER_RUN_COLUMNS " FROM runs WHERE id IN ("
		    " SELECT id FROM runs WHERE device_serial = ?1 UNION"
		    " SELECT id FROM runs WHERE scanned_serial = ?1)"
		    " ORDER BY id",
		    DB_TEXT(serial), DB_END);
	if (err == ST_OK && cert_cb)
		err =
		    db_each_row(l, feed_cert, &f, "listing certificates", cause,
			"SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
			" WHERE device_serial = ? ORDER BY id",
			DB_TEXT(serial), DB_END);
	ledger_unlock(l);
	return err;
}

st_err
ledger_count_runs(struct ledger *l, const char *result, int64_t *n,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_stmt(l, &st, cause,
	    "SELECT count(*) FROM runs WHERE ?1 IS NULL OR result = ?1",
	    DB_TEXT(result), DB_END);
	if (err)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		err = db_fail(l, cause, "counting runs");
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}
