/*
 * The serial reservation (ledger.h, "The serial reservation"): the check
 * for a holder, the check for a live certificate and the reservation are
 * one write transaction, so two runs of the same serial, in two threads
 * or two processes, cannot both pass the check.
 */
#include "db/ledger_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/text.h"

/* Statements of a run, by name for ledger_warm_run_start (runs.c). */
const char db_sql_reserve[] =
    "INSERT INTO reservations (serial, run_id, reserved_at)"
    " SELECT ?1, id, ?3 FROM runs WHERE id = ?2 AND result = 'running'"
    " ON CONFLICT(serial) DO UPDATE SET run_id = excluded.run_id,"
    " reserved_at = excluded.reserved_at";
const char db_sql_reserve_holder[] =
    "SELECT r.id, r.station_id, r.slot FROM reservations v"
    " JOIN runs r ON r.id = v.run_id"
    " WHERE v.serial = ? AND r.result = 'running' AND r.id != ?";

void
ledger_serial_claim_clear(struct serial_claim *c)
{
	if (c == NULL)
		return;
	free(c->holder_station);
	ledger_cert_record_clear(&c->live);
	memset(c, 0, sizeof *c);
}

/* Another running run holding `serial` (write section and transaction
 * held): fills the claim's holder, ST_E_STATE; ST_OK when there is none. */
static st_err
find_holder(struct ledger *l, int64_t run_id, const char *serial,
    struct serial_claim *out, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *shown_serial = NULL, *shown_station = NULL;
	st_err err = db_query(l, &st, cause, db_sql_reserve_holder,
	    DB_TEXT(serial), DB_I64(run_id), DB_END);

	if (err)
		return err;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		out->holder_run = sqlite3_column_int64(st, 0);
		out->holder_station = db_col_dup(st, 1);
		out->holder_slot = sqlite3_column_int(st, 2);
		/* The station id came from a config file: shown, not
		 * trusted. */
		shown_serial = text_escape(serial, 64);
		shown_station = text_escape(out->holder_station, 64);
		err = st_fail(cause, ST_E_STATE,
		    "serial %s is being provisioned in slot %d by station %s, "
		    "run %lld",
		    shown_serial, out->holder_slot, shown_station,
		    (long long)out->holder_run);
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, "looking up the serial's reservation");
	}
	db_cached_give(l, db_sql_reserve_holder, st);
	free(shown_serial);
	free(shown_station);
	return err;
}

/* The serial's newest live certificate into out->live (section held). */
static st_err
find_live(struct ledger *l, const char *serial, struct serial_claim *out,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_query(l, &st, cause, db_sql_serial_live,
	    DB_TEXT(serial), DB_END);

	if (err)
		return err;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		db_record_read(&db_cert_record, st, &out->live);
		out->live_found = 1;
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, "looking up the serial's certificate");
	}
	db_cached_give(l, db_sql_serial_live, st);
	return err;
}

st_err
ledger_serial_reserve(struct ledger *l, int64_t run_id, const char *serial,
    int refuse_live, struct serial_claim *out, char **cause)
{
	st_err err;

	memset(out, 0, sizeof *out);
	if (serial == NULL || *serial == '\0')
		return st_fail(cause, ST_E_ARG, "no device serial given");
	/* BEGIN IMMEDIATE takes SQLite's write lock before the first read:
	 * a second process's reservation waits (busy timeout) until this one
	 * committed, then sees it.  Committed, not fsynced (ledger.h,
	 * "Durability"): it is durable with the run's next durable point,
	 * the intent before the CA is asked, since the WAL is one file
	 * written in commit order.  A power cut before that point loses it
	 * together with everything after it: no CSR reached the CA, so there
	 * is no certificate a second board's run could collide with, and a
	 * run refused because of it is durable only after it (its FAIL is a
	 * later commit). */
	err = db_write_begin(l, DB_WRITE_LAZY, 1, cause);
	if (err)
		return err;
	err = find_holder(l, run_id, serial, out, cause);
	if (err)
		goto out;
	err = find_live(l, serial, out, cause);
	if (err)
		goto out;
	if (refuse_live && out->live_found) {
		err = st_fail(cause, ST_E_EXISTS,
		    "serial %s already holds certificate %s (%s)", serial,
		    out->live.serial_hex, out->live.status);
		goto out;
	}
	/* A row left by a run that is no longer running is stale. */
	err = db_run(l, cause, "reserving the serial", db_sql_reserve,
	    DB_TEXT(serial), DB_I64(run_id), DB_I64(ledger_now_ms()), DB_END);
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
out:
	return db_write_end(l, err, cause);
}
