/* Run lifecycle: begin, device, events, smoke test, finish. */
#include "db/ledger_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/clock.h"

/* Why an update of a running run changed nothing: unknown or finished. */
static st_err
not_running(struct ledger *l, int64_t run_id, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_stmt(l, &st, cause,
	    "SELECT result FROM runs WHERE id = ?", DB_I64(run_id), DB_END);

	if (err)
		return err;
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

/* After an UPDATE (db_run's `err`) that must touch exactly the running
 * run. */
static st_err
updated_running(struct ledger *l, st_err err, int64_t run_id, char **cause)
{
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = not_running(l, run_id, cause);
	return err;
}

/*
 * A start earlier than the latest recorded start (one row of the
 * runs_started_at index) by more than the skew: the station's clock went
 * backwards (a dead RTC battery, a manual change).  Against the latest,
 * not the last inserted, so a clock creeping back run by run is caught
 * too.  Inside the begin's transaction.
 */
/* Statements of a run, by name for ledger_warm_run_start (runs.c). */
const char db_sql_run_begin[] =
    "INSERT INTO runs (station_id, slot, operator, batch, device_uri,"
    " scanned_serial, profile, started_at, result, owner_pid,"
    " owner_start, owner_token)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)";
const char db_sql_run_device[] =
    "UPDATE runs SET device_serial = ? WHERE id = ? AND result = "
    "'running'";
const char db_sql_device_seen[] =
    "INSERT INTO devices (serial, model, hw_version,"
    " fw_version, chip, first_seen, last_seen)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)"
    " ON CONFLICT(serial) DO UPDATE SET"
    " model = coalesce(excluded.model, model),"
    " hw_version = coalesce(excluded.hw_version, hw_version),"
    " fw_version = coalesce(excluded.fw_version, fw_version),"
    " chip = coalesce(excluded.chip, chip),"
    " last_seen = excluded.last_seen";
const char db_sql_run_event[] =
    "INSERT INTO run_events (run_id, at_ms, step, status, detail)"
    " VALUES (?, ?, ?, ?, ?)";
const char db_sql_latest_start[] =
    "SELECT started_at, id FROM runs ORDER BY started_at DESC LIMIT 1";

static st_err
check_start_time(struct ledger *l, const struct run_start *s, int64_t at,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	char when[21], latest[21];
	int64_t last, last_id;
	st_err err;

	if (s->max_skew_ms <= 0)
		return ST_OK;
	err = db_query(l, &st, cause, db_sql_latest_start, DB_END);
	if (err)
		return err;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		last = sqlite3_column_int64(st, 0);
		last_id = sqlite3_column_int64(st, 1);
		if (at >= last - s->max_skew_ms)
			break;
		clock_iso8601_utc(when, at / 1000);
		clock_iso8601_utc(latest, last / 1000);
		err = st_fail(cause, ST_E_STATE,
		    "the station's clock says %s, earlier than the start of "
		    "run %lld (%s) by more than the allowed skew of %lld s: "
		    "the clock went backwards; set it right (NTP) before "
		    "provisioning",
		    when, (long long)last_id, latest,
		    (long long)(s->max_skew_ms / 1000));
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, "reading the latest run's start");
	}
	db_cached_give(l, db_sql_latest_start, st);
	return err;
}

st_err
ledger_run_begin(struct ledger *l, const struct run_start *s, int64_t *run_id,
    char **cause)
{
	int64_t at = s->started_at_ms ? s->started_at_ms : ledger_now_ms();
	st_err err;

	*run_id = 0;
	if (s->station_id == NULL || s->device_uri == NULL)
		return st_fail(cause, ST_E_ARG,
		    "a run needs a station id and a device URI");
	err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);
	if (err)
		return err;
	err = check_start_time(l, s, at, cause);
	if (err)
		return db_write_end(l, err, cause);
	err = db_run(l, cause, "recording the start of a run", db_sql_run_begin,
	    DB_TEXT(s->station_id), DB_I64(s->slot), DB_TEXT(s->operator_id),
	    DB_TEXT(s->batch), DB_TEXT(s->device_uri),
	    DB_TEXT(s->scanned_serial), DB_TEXT(s->profile), DB_I64(at),
	    DB_I64_IF(s->owner_pid > 0, s->owner_pid),
	    DB_I64_IF(s->owner_pid > 0, s->owner_start),
	    DB_TEXT(s->owner_token), DB_END);
	if (err == ST_OK)
		*run_id = sqlite3_last_insert_rowid(l->db);
	return db_write_end(l, err, cause);
}

st_err
ledger_run_device(struct ledger *l, int64_t run_id,
    const struct device_record *d, char **cause)
{
	int64_t now = ledger_now_ms();
	st_err err;

	if (d->serial == NULL || *d->serial == '\0')
		return st_fail(cause, ST_E_ARG, "the device has no serial");
	err = db_write_begin(l, DB_WRITE_LAZY, 1, cause);
	if (err)
		return err;
	err = db_run(l, cause, "recording the run's device", db_sql_run_device,
	    DB_TEXT(d->serial), DB_I64(run_id), DB_END);
	err = updated_running(l, err, run_id, cause);
	/* A field the device did not report keeps its last known value. */
	if (err == ST_OK)
		err = db_run(l, cause, "recording the device",
		    db_sql_device_seen, DB_TEXT(d->serial), DB_TEXT(d->model),
		    DB_TEXT(d->hw_version), DB_TEXT(d->fw_version),
		    DB_TEXT(d->chip), DB_I64(now), DB_END);
	return db_write_end(l, err, cause);
}

static const char *const event_status_names[] = {
	[LEDGER_EV_START] = "start",
	[LEDGER_EV_OK] = "ok",
	[LEDGER_EV_FAIL] = "fail",
	[LEDGER_EV_INFO] = "info",
};

/* Insert one event of `run_id` (write section held). */
static st_err
insert_event(struct ledger *l, int64_t run_id, int64_t at_ms, const char *step,
    enum ledger_event_status status, const char *detail, const char *what,
    char **cause)
{
	st_err err = db_run(l, cause, what, db_sql_run_event, DB_I64(run_id),
	    DB_I64(at_ms), DB_TEXT(step), DB_TEXT(event_status_names[status]),
	    DB_TEXT(detail), DB_END);

	if (err == ST_E_DB &&
	    sqlite3_extended_errcode(l->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
		err = st_fail(cause, ST_E_NOTFOUND, "no run %lld in the ledger",
		    (long long)run_id);
	return err;
}

st_err
ledger_run_event(struct ledger *l, int64_t run_id, const char *step,
    enum ledger_event_status status, const char *detail, char **cause)
{
	st_err err;

	if (step == NULL || (unsigned)status > LEDGER_EV_INFO)
		return st_fail(cause, ST_E_ARG, "bad run event");
	err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);
	if (err)
		return err;
	err = insert_event(l, run_id, ledger_now_ms(), step, status, detail,
	    "recording a run event", cause);
	return db_write_end(l, err, cause);
}

st_err
ledger_run_event_batch(struct ledger *l, int64_t run_id,
    const struct ledger_event_in *ev, size_t n, char **cause)
{
	st_err err;

	if (n == 0)
		return ST_OK;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].step == NULL ||
		    (unsigned)ev[i].status > LEDGER_EV_INFO)
			return st_fail(cause, ST_E_ARG, "bad run event");
	}
	err = db_write_begin(l, DB_WRITE_LAZY, 1, cause);
	if (err)
		return err;
	for (size_t i = 0; err == ST_OK && i < n; i++)
		err = insert_event(l, run_id,
		    ev[i].at_ms ? ev[i].at_ms : ledger_now_ms(), ev[i].step,
		    ev[i].status, ev[i].detail, "recording run events", cause);
	return db_write_end(l, err, cause);
}

/* The statements of a run's end, named for ledger_warm_run_end. */
const char db_sql_run_smoke[] =
    "UPDATE runs SET smoke_status = ?, smoke_broker = ?,"
    " smoke_tls_version = ?, smoke_cipher = ?, smoke_detail = ?"
    " WHERE id = ? AND result = 'running'";
const char db_sql_run_result[] =
    "UPDATE runs SET ended_at = ?, result = ?, failed_step = ?,"
    " error_kind = ?, reason = ? WHERE id = ? AND result = 'running'";
const char db_sql_release_serial[] =
    "DELETE FROM reservations WHERE run_id = ?";
const char db_sql_clear_step[] = "DELETE FROM run_progress WHERE run_id = ?";

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
	st_err err;

	if ((unsigned)status > LEDGER_SMOKE_SKIPPED)
		return st_fail(cause, ST_E_ARG, "bad smoke test status");
	err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);
	if (err)
		return err;
	err = db_run(l, cause, "recording the smoke test", db_sql_run_smoke,
	    DB_TEXT(smoke_names[status]), DB_TEXT(broker), DB_TEXT(tls_version),
	    DB_TEXT(cipher), DB_TEXT(detail), DB_I64(run_id), DB_END);
	err = updated_running(l, err, run_id, cause);
	return db_write_end(l, err, cause);
}

st_err
ledger_run_finish(struct ledger *l, int64_t run_id, const char *result,
    const char *failed_step, const char *error_kind, const char *reason,
    char **cause)
{
	st_err err;

	if (result == NULL ||
	    (strcmp(result, "PASS") != 0 && strcmp(result, "FAIL") != 0))
		return st_fail(cause, ST_E_ARG,
		    "a run ends with PASS or FAIL, not '%s'",
		    result ? result : "(null)");
	/* One transaction: the result and the run's place in the chain are
	 * committed together, or not at all. */
	err = db_write_begin(l, DB_WRITE_GROUP, 1, cause);
	if (err)
		return err;
	err = db_run(l, cause, "recording the run's result", db_sql_run_result,
	    DB_I64(ledger_now_ms()), DB_TEXT(result), DB_TEXT(failed_step),
	    DB_TEXT(error_kind), DB_TEXT(reason), DB_I64(run_id), DB_END);
	err = updated_running(l, err, run_id, cause);
	/* The serial is free again exactly when the run's end is recorded:
	 * no moment where the run is over and the serial still held, or
	 * the other way round. */
	if (err == ST_OK)
		err = db_run(l, cause, "releasing the run's serial",
		    db_sql_release_serial, DB_I64(run_id), DB_END);
	/* The running step is of no use once the run has a result. */
	if (err == ST_OK)
		err = db_run(l, cause, "clearing the run's step",
		    db_sql_clear_step, DB_I64(run_id), DB_END);
	if (err == ST_OK)
		err = ledger_chain_append(l, run_id, cause);
	return db_write_end(l, err, cause);
}

/* Prepare and keep the `n` statements, in order, while `more` says so
 * (NULL: all of them), each in a lazy write section of its own without a
 * transaction: nothing is written, and another thread waits for the
 * ledger one statement at most. */
static void
warm(struct ledger *l, const char *const *sqls, size_t n, int (*more)(void *),
    void *arg)
{
	for (size_t i = 0; i < n && (more == NULL || more(arg)); i++) {
		sqlite3_stmt *st = NULL;
		char *why = NULL;

		if (db_write_begin(l, DB_WRITE_LAZY, 0, &why) == ST_OK) {
			if (db_cached_take(l, sqls[i], &st, NULL) == ST_OK)
				db_cached_give(l, sqls[i], st);
			(void)db_write_end(l, ST_OK, &why);
		}
		free(why);
	}
}

void
ledger_warm_run_start(struct ledger *l, int (*more)(void *), void *arg)
{
	static const char *const sqls[] = { db_sql_latest_start,
		db_sql_run_begin, db_sql_run_step, db_sql_run_event,
		db_sql_run_device, db_sql_device_seen, db_sql_reserve_holder,
		db_sql_serial_live, db_sql_reserve, db_sql_cert_by_key,
		db_sql_run_ca_request, db_sql_run_ca_reply, db_sql_run_cert,
		db_sql_cert_insert, db_sql_cert_status_of, db_sql_cert_status };

	warm(l, sqls, sizeof sqls / sizeof sqls[0], more, arg);
}

void
ledger_warm_run_end(struct ledger *l)
{
	static const char *const sqls[] = { db_sql_run_smoke, db_sql_run_result,
		db_sql_release_serial, db_sql_clear_step, db_sql_chain_head,
		db_sql_chain_place, db_sql_chain_row, db_sql_chain_seal,
		db_sql_chain_advance };

	warm(l, sqls, sizeof sqls / sizeof sqls[0], NULL, NULL);
}
