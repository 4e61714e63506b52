/*
 * What crash recovery needs from the ledger: the intent recorded before a
 * CSR goes to the CA, and the list of runs a station left 'running'.
 * The recovery policy itself lives in station/recover.c.
 */
#include "db/ledger_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static int
is_sha256_hex(const char *s)
{
	return s != NULL && strlen(s) == LEDGER_HASH_HEX_LEN &&
	    strspn(s, "0123456789abcdef") == LEDGER_HASH_HEX_LEN;
}

st_err
ledger_run_ca_request(struct ledger *l, int64_t run_id,
    const char *key_sha256, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if (!is_sha256_hex(key_sha256))
		return st_fail(cause, ST_E_ARG,
		    "a CA request is recorded with the key's SHA-256 in "
		    "lower-case hex");
	err = ledger_lock_write(l, DB_WRITE_GROUP, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "UPDATE runs SET ca_key_sha256 = ? WHERE id = ? AND result = "
	    "'running'",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, key_sha256);
	sqlite3_bind_int64(st, 2, run_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = db_fail(l, cause, "recording the request to the CA");
	else if (sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
out:
	sqlite3_finalize(st);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

void
ledger_open_runs_free(struct open_run *runs, size_t n)
{
	if (runs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(runs[i].device_serial);
		free(runs[i].cert_serial);
		free(runs[i].ca_key_sha256);
		free(runs[i].last_ok_step);
	}
	free(runs);
}

st_err
ledger_open_runs(struct ledger *l, struct open_run **out, size_t *n,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	struct open_run *v = NULL;
	size_t len = 0, cap = 0;
	st_err err;
	int rc;

	*out = NULL;
	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "SELECT id, coalesce(owner_pid, 0), coalesce(owner_start, 0),"
	    " device_serial, cert_serial, ca_key_sha256,"
	    " (SELECT step FROM run_events e WHERE e.run_id = runs.id"
	    "  AND e.status = 'ok' ORDER BY e.id DESC LIMIT 1)"
	    " FROM runs WHERE result = 'running' ORDER BY id",
	    &st, cause);
	if (err)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 8;
			v = xrealloc(v, cap * sizeof *v);
		}
		struct open_run *r = &v[len++];

		r->id = sqlite3_column_int64(st, 0);
		r->owner_pid = sqlite3_column_int64(st, 1);
		r->owner_start = sqlite3_column_int64(st, 2);
		r->device_serial = db_col_dup(st, 3);
		r->cert_serial = db_col_dup(st, 4);
		r->ca_key_sha256 = db_col_dup(st, 5);
		r->last_ok_step = db_col_dup(st, 6);
	}
	if (rc != SQLITE_DONE)
		err = db_fail(l, cause, "listing unfinished runs");
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	if (err) {
		ledger_open_runs_free(v, len);
		return err;
	}
	*out = v;
	*n = len;
	return ST_OK;
}
