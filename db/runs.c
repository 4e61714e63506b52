/* Run lifecycle: begin, device, events, smoke test, finish. */
#include "db/ledger_int.h"

#include <string.h>

/* Why an update of a running run changed nothing: unknown or finished. */
static st_err
not_running(struct ledger *l, int64_t run_id, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err =
	    db_prepare(l, "SELECT result FROM runs WHERE id = ?", &st, cause);

	if (err)
		return err;
	sqlite3_bind_int64(st, 1, run_id);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is already finished (%s)", (long long)run_id,
		    (const char *)sqlite3_column_text(st, 0));
		break;
	case SQLITE_DONE:
		err = st_fail(cause, ST_E_NOTFOUND, "no run %lld in the ledger",
		    (long long)run_id);
		break;
	default:
		err = db_fail(l, cause, "looking up a run");
	}
	sqlite3_finalize(st);
	return err;
}

/* Step a prepared UPDATE that must touch exactly the running run. */
static st_err
step_running_update(struct ledger *l, sqlite3_stmt *st, int64_t run_id,
    const char *what, char **cause)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(l, cause, what);
	if (sqlite3_changes(l->db) != 1)
		return not_running(l, run_id, cause);
	return ST_OK;
}

st_err
ledger_run_begin(
    struct ledger *l, const struct run_start *s, int64_t *run_id, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	*run_id = 0;
	if (s->station_id == NULL || s->device_uri == NULL)
		return st_fail(cause, ST_E_ARG,
		    "a run needs a station id and a device URI");
	err = ledger_lock_write(l, DB_WRITE_LAZY, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "INSERT INTO runs (station_id, slot, operator, batch, device_uri,"
	    " scanned_serial, profile, started_at, result, owner_pid,"
	    " owner_start)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, s->station_id);
	sqlite3_bind_int(st, 2, s->slot);
	db_bind_text(st, 3, s->operator_id);
	db_bind_text(st, 4, s->batch);
	db_bind_text(st, 5, s->device_uri);
	db_bind_text(st, 6, s->scanned_serial);
	db_bind_text(st, 7, s->profile);
	sqlite3_bind_int64(
	    st, 8, s->started_at_ms ? s->started_at_ms : ledger_now_ms());
	if (s->owner_pid > 0) {
		sqlite3_bind_int64(st, 9, s->owner_pid);
		sqlite3_bind_int64(st, 10, s->owner_start);
	}
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_fail(l, cause, "recording the start of a run");
		goto out;
	}
	*run_id = sqlite3_last_insert_rowid(l->db);
out:
	sqlite3_finalize(st);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

st_err
ledger_run_device(struct ledger *l, int64_t run_id,
    const struct device_record *d, char **cause)
{
	sqlite3_stmt *st = NULL;
	int64_t now = ledger_now_ms();
	st_err err;

	if (d->serial == NULL || *d->serial == '\0')
		return st_fail(cause, ST_E_ARG, "the device has no serial");
	err = ledger_lock_write(l, DB_WRITE_LAZY, cause);
	if (err)
		return err;
	err = db_begin(l, cause);
	if (err)
		goto out;
	err = db_prepare(l,
	    "UPDATE runs SET device_serial = ? WHERE id = ? AND result = "
	    "'running'",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, d->serial);
	sqlite3_bind_int64(st, 2, run_id);
	err = step_running_update(
	    l, st, run_id, "recording the run's device", cause);
	if (err)
		goto out;
	sqlite3_finalize(st);
	/* A field the device did not report keeps its last known value. */
	err = db_prepare(l,
	    "INSERT INTO devices (serial, model, hw_version, fw_version, chip,"
	    " first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
	    " ON CONFLICT(serial) DO UPDATE SET"
	    " model = coalesce(excluded.model, model),"
	    " hw_version = coalesce(excluded.hw_version, hw_version),"
	    " fw_version = coalesce(excluded.fw_version, fw_version),"
	    " chip = coalesce(excluded.chip, chip),"
	    " last_seen = excluded.last_seen",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, d->serial);
	db_bind_text(st, 2, d->model);
	db_bind_text(st, 3, d->hw_version);
	db_bind_text(st, 4, d->fw_version);
	db_bind_text(st, 5, d->chip);
	sqlite3_bind_int64(st, 6, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_fail(l, cause, "recording the device");
		goto out;
	}
	err = db_commit(l, cause);
out:
	sqlite3_finalize(st);
	if (err)
		db_rollback(l);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

static const char *const event_status_names[] = {
    [LEDGER_EV_START] = "start",
    [LEDGER_EV_OK] = "ok",
    [LEDGER_EV_FAIL] = "fail",
    [LEDGER_EV_INFO] = "info",
};

st_err
ledger_run_event(struct ledger *l, int64_t run_id, const char *step,
    enum ledger_event_status status, const char *detail, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if (step == NULL || (unsigned)status > LEDGER_EV_INFO)
		return st_fail(cause, ST_E_ARG, "bad run event");
	err = ledger_lock_write(l, DB_WRITE_LAZY, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "INSERT INTO run_events (run_id, at_ms, step, status, detail)"
	    " VALUES (?, ?, ?, ?, ?)",
	    &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, run_id);
	sqlite3_bind_int64(st, 2, ledger_now_ms());
	db_bind_text(st, 3, step);
	db_bind_text(st, 4, event_status_names[status]);
	db_bind_text(st, 5, detail);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(l->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			err = st_fail(cause, ST_E_NOTFOUND,
			    "no run %lld in the ledger", (long long)run_id);
		else
			err = db_fail(l, cause, "recording a run event");
	}
out:
	sqlite3_finalize(st);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

st_err
ledger_run_event_batch(struct ledger *l, int64_t run_id,
    const struct ledger_event_in *ev, size_t n, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if (n == 0)
		return ST_OK;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].step == NULL ||
		    (unsigned)ev[i].status > LEDGER_EV_INFO)
			return st_fail(cause, ST_E_ARG, "bad run event");
	}
	err = ledger_lock_write(l, DB_WRITE_LAZY, cause);
	if (err)
		return err;
	err = db_begin(l, cause);
	if (err)
		goto out;
	err = db_prepare(l,
	    "INSERT INTO run_events (run_id, at_ms, step, status, detail)"
	    " VALUES (?, ?, ?, ?, ?)",
	    &st, cause);
	for (size_t i = 0; err == ST_OK && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, run_id);
		sqlite3_bind_int64(st, 2, ev[i].at_ms ? ev[i].at_ms :
		    ledger_now_ms());
		db_bind_text(st, 3, ev[i].step);
		db_bind_text(st, 4, event_status_names[ev[i].status]);
		db_bind_text(st, 5, ev[i].detail);
		if (sqlite3_step(st) == SQLITE_DONE)
			continue;
		if (sqlite3_extended_errcode(l->db) ==
		    SQLITE_CONSTRAINT_FOREIGNKEY)
			err = st_fail(cause, ST_E_NOTFOUND,
			    "no run %lld in the ledger", (long long)run_id);
		else
			err = db_fail(l, cause, "recording run events");
	}
	sqlite3_finalize(st);
	if (err == ST_OK)
		err = db_commit(l, cause);
	else
		db_rollback(l);
out:
	err = ledger_unlock_write(l, err, cause);
	return err;
}

static const char *const smoke_names[] = {
    [LEDGER_SMOKE_PASSED] = "passed",
    [LEDGER_SMOKE_FAILED] = "failed",
    [LEDGER_SMOKE_SKIPPED] = "skipped",
};

st_err
ledger_run_smoke(struct ledger *l, int64_t run_id,
    enum ledger_smoke_status status, const char *broker,
    const char *tls_version, const char *cipher, const char *detail,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if ((unsigned)status > LEDGER_SMOKE_SKIPPED)
		return st_fail(cause, ST_E_ARG, "bad smoke test status");
	err = ledger_lock_write(l, DB_WRITE_LAZY, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "UPDATE runs SET smoke_status = ?, smoke_broker = ?,"
	    " smoke_tls_version = ?, smoke_cipher = ?, smoke_detail = ?"
	    " WHERE id = ? AND result = 'running'",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, smoke_names[status]);
	db_bind_text(st, 2, broker);
	db_bind_text(st, 3, tls_version);
	db_bind_text(st, 4, cipher);
	db_bind_text(st, 5, detail);
	sqlite3_bind_int64(st, 6, run_id);
	err = step_running_update(
	    l, st, run_id, "recording the smoke test", cause);
out:
	sqlite3_finalize(st);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

st_err
ledger_run_finish(struct ledger *l, int64_t run_id, const char *result,
    const char *failed_step, const char *error_kind, const char *reason,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if (result == NULL ||
	    (strcmp(result, "PASS") != 0 && strcmp(result, "FAIL") != 0))
		return st_fail(cause, ST_E_ARG,
		    "a run ends with PASS or FAIL, not '%s'",
		    result ? result : "(null)");
	err = ledger_lock_write(l, DB_WRITE_GROUP, cause);
	if (err)
		return err;
	/* One transaction: the result and the run's place in the chain are
	 * committed together, or not at all. */
	err = db_begin(l, cause);
	if (err)
		goto out;
	err = db_prepare(l,
	    "UPDATE runs SET ended_at = ?, result = ?, failed_step = ?,"
	    " error_kind = ?, reason = ? WHERE id = ? AND result = 'running'",
	    &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, ledger_now_ms());
	db_bind_text(st, 2, result);
	db_bind_text(st, 3, failed_step);
	db_bind_text(st, 4, error_kind);
	db_bind_text(st, 5, reason);
	sqlite3_bind_int64(st, 6, run_id);
	err = step_running_update(
	    l, st, run_id, "recording the run's result", cause);
	if (err)
		goto out;
	err = ledger_chain_append(l, run_id, cause);
	if (err)
		goto out;
	err = db_commit(l, cause);
out:
	sqlite3_finalize(st);
	if (err)
		db_rollback(l);
	err = ledger_unlock_write(l, err, cause);
	return err;
}
