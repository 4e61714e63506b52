/* Reading the ledger back: one run, lists, a device's history, counts. */
#include "db/ledger_int.h"

#include <stdlib.h>
#include <string.h>

void
ledger_run_record_clear(struct run_record *r)
{
	if (r == NULL)
		return;
	free(r->station_id);
	free(r->operator_id);
	free(r->batch);
	free(r->device_uri);
	free(r->scanned_serial);
	free(r->device_serial);
	free(r->profile);
	free(r->result);
	free(r->failed_step);
	free(r->error_kind);
	free(r->reason);
	free(r->cert_serial);
	free(r->smoke_status);
	free(r->smoke_broker);
	free(r->smoke_tls_version);
	free(r->smoke_cipher);
	free(r->smoke_detail);
	free(r->prev_hash);
	free(r->row_hash);
	memset(r, 0, sizeof *r);
}

void
ledger_run_from_stmt(sqlite3_stmt *st, struct run_record *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->station_id = db_col_dup(st, 1);
	r->slot = sqlite3_column_int(st, 2);
	r->operator_id = db_col_dup(st, 3);
	r->batch = db_col_dup(st, 4);
	r->device_uri = db_col_dup(st, 5);
	r->scanned_serial = db_col_dup(st, 6);
	r->device_serial = db_col_dup(st, 7);
	r->profile = db_col_dup(st, 8);
	r->started_at = sqlite3_column_int64(st, 9);
	r->ended_at = sqlite3_column_int64(st, 10);
	r->result = db_col_dup(st, 11);
	r->failed_step = db_col_dup(st, 12);
	r->error_kind = db_col_dup(st, 13);
	r->reason = db_col_dup(st, 14);
	r->cert_serial = db_col_dup(st, 15);
	r->smoke_status = db_col_dup(st, 16);
	r->smoke_broker = db_col_dup(st, 17);
	r->smoke_tls_version = db_col_dup(st, 18);
	r->smoke_cipher = db_col_dup(st, 19);
	r->smoke_detail = db_col_dup(st, 20);
	r->chain_seq = sqlite3_column_int64(st, 21);
	r->prev_hash = db_col_dup(st, 22);
	r->row_hash = db_col_dup(st, 23);
}

st_err
ledger_run_get(
    struct ledger *l, int64_t run_id, struct run_record *out, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	memset(out, 0, sizeof *out);
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "SELECT " LEDGER_RUN_COLUMNS " FROM runs WHERE id = ?", &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		ledger_run_from_stmt(st, out);
		break;
	case SQLITE_DONE:
		err = st_fail(cause, ST_E_NOTFOUND, "no run %lld in the ledger",
		    (long long)run_id);
		break;
	default:
		err = db_fail(l, cause, "reading a run");
	}
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}

/* Feed every run row of a prepared statement to cb (lock held). */
static st_err
each_run(struct ledger *l, sqlite3_stmt *st, ledger_run_cb cb, void *ctx,
    char **cause)
{
	struct run_record r;
	int rc;

	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		int stop;

		memset(&r, 0, sizeof r);
		ledger_run_from_stmt(st, &r);
		stop = cb(&r, ctx);
		ledger_run_record_clear(&r);
		if (stop)
			return ST_OK;
	}
	if (rc != SQLITE_DONE)
		return db_fail(l, cause, "listing runs");
	return ST_OK;
}

st_err
ledger_list_runs(
    struct ledger *l, int limit, ledger_run_cb cb, void *ctx, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "SELECT " LEDGER_RUN_COLUMNS " FROM runs ORDER BY id DESC LIMIT ?",
	    &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, limit > 0 ? limit : -1);
	err = each_run(l, st, cb, ctx, cause);
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}

st_err
ledger_run_events(struct ledger *l, int64_t run_id, ledger_event_cb cb,
    void *ctx, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;
	int rc;

	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "SELECT id, run_id, at_ms, step, status, detail FROM run_events"
	    " WHERE run_id = ? ORDER BY id",
	    &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		struct run_event e = {
		    .id = sqlite3_column_int64(st, 0),
		    .run_id = sqlite3_column_int64(st, 1),
		    .at_ms = sqlite3_column_int64(st, 2),
		    .step = (const char *)sqlite3_column_text(st, 3),
		    .status = (const char *)sqlite3_column_text(st, 4),
		    .detail = (const char *)sqlite3_column_text(st, 5),
		};

		if (cb(&e, ctx))
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = db_fail(l, cause, "listing run events");
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}

st_err
ledger_device_history(struct ledger *l, const char *serial,
    ledger_run_cb run_cb, ledger_cert_cb cert_cb, void *ctx, char **cause)
{
	sqlite3_stmt *st = NULL;
	struct cert_record c;
	st_err err;
	int rc;

	if (serial == NULL)
		return st_fail(cause, ST_E_ARG, "no device serial given");
	err = ledger_lock(l, cause);
	if (err)
		return err;
	if (run_cb) {
		/* A UNION of two indexed lookups rather than an OR, which
		 * SQLite would answer with a full scan. */
		err = db_prepare(l,
		    "SELECT " LEDGER_RUN_COLUMNS " FROM runs WHERE id IN ("
		    " SELECT id FROM runs WHERE device_serial = ?1 UNION"
		    " SELECT id FROM runs WHERE scanned_serial = ?1)"
		    " ORDER BY id",
		    &st, cause);
		if (err)
			goto out;
		db_bind_text(st, 1, serial);
		err = each_run(l, st, run_cb, ctx, cause);
		sqlite3_finalize(st);
		st = NULL;
		if (err)
			goto out;
	}
	if (cert_cb == NULL)
		goto out;
	err = db_prepare(l,
	    "SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
	    " WHERE device_serial = ? ORDER BY id",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, serial);
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		int stop;

		memset(&c, 0, sizeof c);
		ledger_cert_from_stmt(st, &c);
		stop = cert_cb(&c, ctx);
		ledger_cert_record_clear(&c);
		if (stop)
			goto out;
	}
	if (rc != SQLITE_DONE)
		err = db_fail(l, cause, "listing certificates");
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}

st_err
ledger_count_runs(
    struct ledger *l, const char *result, int64_t *n, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "SELECT count(*) FROM runs WHERE ?1 IS NULL OR result = ?1", &st,
	    cause);
	if (err)
		goto out;
	db_bind_text(st, 1, result);
	if (sqlite3_step(st) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	else
		err = db_fail(l, cause, "counting runs");
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
}
