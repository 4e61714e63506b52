/*
 * The ledger schema as an ordered list of migrations.  Migration i (from 0)
 * brings a file from user_version i to i + 1; a file is never downgraded.
 * Append new migrations; never edit one that has shipped.
 *
 * The keyed chain (keyed.c) covers every column of runs, run_events,
 * certificates, cert_events, devices and exports by name, leaving NULLs
 * out: a column added to one of them must default to NULL, or every
 * existing row would stop matching its chain entry.  A migration that
 * writes to those tables fires the chain's triggers (the key is loaded
 * first), and a table rebuilt gets its triggers back at the end of the
 * migration.
 */
#include "db/ledger_int.h"

#include <stddef.h>
#include <stdio.h>

/* Migration 9's certificate triggers: the certificate's new state, with
 * the chain head (the newest sealed run) at that moment. */
#define FLEET_CERT_TO_OUTBOX \
	"  BEGIN INSERT INTO fleet_outbox (kind, run_id, serial, state," \
	"    cert_serial, chain_seq, chain_hash, at_ms)" \
	"    SELECT 'cert', NEW.run_id, NEW.device_serial, NEW.status," \
	"    NEW.serial_hex, h.chain_seq, h.row_hash, NEW.updated_at" \
	"    FROM (SELECT NULL) LEFT JOIN (SELECT chain_seq, row_hash FROM runs" \
	"    WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1) h;" \
	"  END;"

static const char *const migrations[] = {
	/* 1: devices, certificates, runs (hash-chained), run events. */
	"CREATE TABLE devices ("
	"  serial      TEXT PRIMARY KEY NOT NULL,"
	"  model       TEXT,"
	"  hw_version  TEXT,"
	"  fw_version  TEXT,"
	"  chip        TEXT,"
	"  first_seen  INTEGER NOT NULL,"
	"  last_seen   INTEGER NOT NULL"
	") STRICT;"

	"CREATE TABLE runs ("
	"  id                INTEGER PRIMARY KEY,"
	"  station_id        TEXT NOT NULL,"
	"  slot              INTEGER NOT NULL,"
	"  operator          TEXT,"
	"  batch             TEXT,"
	"  device_uri        TEXT NOT NULL,"
	"  scanned_serial    TEXT,"
	"  device_serial     TEXT,"
	"  profile           TEXT,"
	"  started_at        INTEGER NOT NULL,"
	"  ended_at          INTEGER,"
	"  result            TEXT NOT NULL DEFAULT 'running'"
	"                    CHECK (result IN ('running','PASS','FAIL')),"
	"  failed_step       TEXT,"
	"  error_kind        TEXT,"
	"  reason            TEXT,"
	"  cert_serial       TEXT,"
	"  smoke_status      TEXT"
	"                    CHECK (smoke_status IN ('passed','failed','skipped')),"
	"  smoke_broker      TEXT,"
	"  smoke_tls_version TEXT,"
	"  smoke_cipher      TEXT,"
	"  smoke_detail      TEXT,"
	"  chain_seq         INTEGER UNIQUE,"
	"  prev_hash         TEXT,"
	"  row_hash          TEXT"
	") STRICT;"
	"CREATE INDEX runs_device_serial ON runs(device_serial);"
	"CREATE INDEX runs_scanned_serial ON runs(scanned_serial);"
	"CREATE INDEX runs_ended_at ON runs(ended_at);"

	"CREATE TABLE certificates ("
	"  id                 INTEGER PRIMARY KEY,"
	"  serial_hex         TEXT NOT NULL UNIQUE,"
	"  device_serial      TEXT,"
	"  run_id             INTEGER REFERENCES runs(id),"
	"  fingerprint_sha256 TEXT NOT NULL,"
	"  subject            TEXT NOT NULL,"
	"  issuer             TEXT NOT NULL,"
	"  not_before         INTEGER NOT NULL,"
	"  not_after          INTEGER NOT NULL,"
	"  backend            TEXT,"
	"  pem                TEXT NOT NULL,"
	"  status             TEXT NOT NULL CHECK (status IN"
	"                     "
	"('issued','written','verified','revoked','orphaned')),"
	"  status_note        TEXT,"
	"  created_at         INTEGER NOT NULL,"
	"  updated_at         INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX certificates_device_serial"
	"  ON certificates(device_serial, id);"
	"CREATE INDEX certificates_run_id ON certificates(run_id);"

	"CREATE TABLE run_events ("
	"  id      INTEGER PRIMARY KEY,"
	"  run_id  INTEGER NOT NULL REFERENCES runs(id),"
	"  at_ms   INTEGER NOT NULL,"
	"  step    TEXT NOT NULL,"
	"  status  TEXT NOT NULL CHECK (status IN ('start','ok','fail','info')),"
	"  detail  TEXT"
	") STRICT;"
	"CREATE INDEX run_events_run_id ON run_events(run_id, id);"

	/* The newest chained run, so that deleting the tail is noticed. */
	"CREATE TABLE chain_head ("
	"  id    INTEGER PRIMARY KEY CHECK (id = 1),"
	"  seq   INTEGER NOT NULL,"
	"  hash  TEXT NOT NULL"
	") STRICT;"
	"INSERT INTO chain_head (id, seq, hash) VALUES (1, 0,"
	"  '0000000000000000000000000000000000000000000000000000000000000000');"

	/* Append-only: accidents through SQL are refused outright; deliberate
     * tampering (dropping these) is what ledger_verify catches. */
	"CREATE TRIGGER runs_finished_immutable BEFORE UPDATE ON runs"
	"  WHEN OLD.row_hash IS NOT NULL"
	"  BEGIN SELECT RAISE(ABORT, 'finished runs cannot be changed'); END;"
	"CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs"
	"  BEGIN SELECT RAISE(ABORT, 'runs cannot be deleted'); END;"
	"CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates"
	"  BEGIN SELECT RAISE(ABORT, 'certificates cannot be deleted'); END;"
	"CREATE TRIGGER run_events_no_update BEFORE UPDATE ON run_events"
	"  BEGIN SELECT RAISE(ABORT, 'run events cannot be changed'); END;"
	"CREATE TRIGGER run_events_no_delete BEFORE DELETE ON run_events"
	"  BEGIN SELECT RAISE(ABORT, 'run events cannot be deleted'); END;",

	/* 2: ERP exports.  The watermark is the highest to_chain_seq of a
     * 'done' since-last export; a 'started' row is an export in flight
     * or one that was killed (recovered by the next export). */
	"CREATE TABLE exports ("
	"  id              INTEGER PRIMARY KEY,"
	"  kind            TEXT NOT NULL CHECK (kind IN ('since-last','range')),"
	"  started_at      INTEGER NOT NULL,"
	"  finished_at     INTEGER,"
	"  from_time       INTEGER NOT NULL,"
	"  to_time         INTEGER NOT NULL,"
	"  from_chain_seq  INTEGER NOT NULL,"
	"  to_chain_seq    INTEGER NOT NULL,"
	"  format          TEXT NOT NULL CHECK (format IN ('csv','jsonl')),"
	"  file            TEXT NOT NULL,"
	"  manifest        TEXT NOT NULL,"
	"  row_count       INTEGER,"
	"  sha256          TEXT,"
	"  status          TEXT NOT NULL DEFAULT 'started'"
	"                  CHECK (status IN ('started','done','failed')),"
	"  note            TEXT"
	") STRICT;"
	"CREATE INDEX exports_watermark ON exports(kind, status, to_chain_seq);",
	/* 3: crash recovery (docs/reliability.md).  The process that owns a
     * running run (pid + start time, so a reused pid is not mistaken for
     * it), and the intent recorded before a CSR goes to the CA: the
     * SHA-256 of the CSR's public key (DER SubjectPublicKeyInfo).  None of
     * these is part of the row hash. */
	"ALTER TABLE runs ADD COLUMN owner_pid INTEGER;"
	"ALTER TABLE runs ADD COLUMN owner_start INTEGER;"
	"ALTER TABLE runs ADD COLUMN ca_key_sha256 TEXT;"
	"CREATE INDEX runs_running ON runs(result) WHERE result = 'running';",
	/* 4: identity integrity (docs/reliability.md).  A device serial is
     * reserved by the one running run provisioning it (the row goes when
     * that run ends), and a run names its owner by a token: the process
     * holds a lock on <home>/owners/<token>.lock while it lives.  Neither
     * is part of the row hash; reservations are working state, not
     * evidence, and are not chained. */
	"ALTER TABLE runs ADD COLUMN owner_token TEXT;"
	"CREATE TABLE reservations ("
	"  serial       TEXT PRIMARY KEY NOT NULL,"
	"  run_id       INTEGER NOT NULL REFERENCES runs(id),"
	"  reserved_at  INTEGER NOT NULL"
	") STRICT;"
	"CREATE INDEX reservations_run_id ON reservations(run_id);",
	/* 5: ledger first, then the CA (docs/reliability.md).  Two intent
     * statuses beside 'orphaned': 'superseded' (the device's key was
     * destroyed or replaced) and 'revoking' (any other decision to
     * revoke), and revoke_reason, the RFC 5280 reason the CA is or was
     * asked for, recorded with the intent.  SQLite cannot widen a CHECK
     * in place: the table is rebuilt (rows, index, trigger). */
	"DROP TRIGGER certificates_no_delete;"
	"CREATE TABLE certificates_v5 ("
	"  id                 INTEGER PRIMARY KEY,"
	"  serial_hex         TEXT NOT NULL UNIQUE,"
	"  device_serial      TEXT,"
	"  run_id             INTEGER REFERENCES runs(id),"
	"  fingerprint_sha256 TEXT NOT NULL,"
	"  subject            TEXT NOT NULL,"
	"  issuer             TEXT NOT NULL,"
	"  not_before         INTEGER NOT NULL,"
	"  not_after          INTEGER NOT NULL,"
	"  backend            TEXT,"
	"  pem                TEXT NOT NULL,"
	"  status             TEXT NOT NULL CHECK (status IN"
	"                     ('issued','written','verified','revoked',"
	"                      'orphaned','superseded','revoking')),"
	"  status_note        TEXT,"
	"  created_at         INTEGER NOT NULL,"
	"  updated_at         INTEGER NOT NULL,"
	"  revoke_reason      TEXT"
	") STRICT;"
	"INSERT INTO certificates_v5 SELECT *,"
	"  CASE status WHEN 'orphaned' THEN 'cessationOfOperation' END"
	"  FROM certificates;"
	"DROP TABLE certificates;"
	"ALTER TABLE certificates_v5 RENAME TO certificates;"
	"CREATE INDEX certificates_device_serial"
	"  ON certificates(device_serial, id);"
	"CREATE INDEX certificates_run_id ON certificates(run_id);"
	"CREATE INDEX certificates_intent ON certificates(status)"
	"  WHERE status IN ('orphaned','superseded','revoking');"
	"CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates"
	"  BEGIN SELECT RAISE(ABORT, 'certificates cannot be deleted'); END;",
	/* 6: clock and key sanity (issue 15).  A key is certified once: before the
	 * CA is asked, the pipeline looks up the certificates of runs that
	 * asked for the same public key (ledger_cert_by_key), by the
	 * intent's key hash.  A run may not start before the latest start
	 * beyond the skew (ledger_run_begin), read from its index. */
	"CREATE INDEX runs_ca_key_sha256 ON runs(ca_key_sha256)"
	"  WHERE ca_key_sha256 IS NOT NULL;"
	"CREATE INDEX runs_started_at ON runs(started_at);",
	/* 7: which CA key issued each certificate (docs/admin.md, the
	 * rollover): the leaf's authority key identifier in lower-case hex.
	 * The issuer's name may stay the same when its key changes; the key
	 * identifier does not.  NULL for older rows and for a leaf without
	 * one. */
	"ALTER TABLE certificates ADD COLUMN issuer_key_id TEXT;",
	/* 8: the serial of the CA's reply, recorded as soon as the reply
	 * arrives (before the checks and the ledger's issuance; lazily, see
	 * ledger_run_ca_reply): crash recovery reads that one certificate
	 * back from a CA that cannot search by key (Vault) instead of
	 * listing all it holds.  Not part of the row hash. */
	"ALTER TABLE runs ADD COLUMN ca_serial TEXT;",
	/* 9: the step a running run is in, written at each step's start
	 * (ledger_run_step; lazily, no fsync of its own): crash recovery
	 * names the step a station died in, not only the last one that
	 * completed (the events are written in batches).  Not part of the
	 * row hash. */
	"ALTER TABLE runs ADD COLUMN current_step TEXT;",
	/* 10: the fleet outbox
	 * (docs/fleet.md).  Triggers queue each finished run (once it is
	 * sealed in the chain, with its place and hash) and each certificate
	 * state change, in the transaction that made it, so nothing can be
	 * recorded and never shipped; seq is the order of shipping and, with
	 * the station id and run id, the key that makes a resend harmless.
	 * fleet_runs says how each run's serial was reserved: 'fleet'
	 * (fleet-wide) or 'local' (best-effort, the fleet database was
	 * away), and the conflict the late reservation found.  Working state,
	 * not evidence: none of it is chained.  IF NOT EXISTS: a ledger
	 * rebuilt to an older version by hand keeps these. */
	"CREATE TABLE IF NOT EXISTS fleet_outbox ("
	"  seq         INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  kind        TEXT NOT NULL CHECK (kind IN ('run','cert')),"
	"  run_id      INTEGER,"
	"  serial      TEXT,"
	"  state       TEXT NOT NULL,"
	"  cert_serial TEXT,"
	"  chain_seq   INTEGER,"
	"  chain_hash  TEXT,"
	"  at_ms       INTEGER NOT NULL,"
	"  shipped_at  INTEGER"
	") STRICT;"
	"CREATE INDEX IF NOT EXISTS fleet_outbox_pending ON fleet_outbox(seq)"
	"  WHERE shipped_at IS NULL;"
	"CREATE TABLE IF NOT EXISTS fleet_runs ("
	"  run_id      INTEGER PRIMARY KEY REFERENCES runs(id),"
	"  serial      TEXT NOT NULL,"
	"  reserved    TEXT NOT NULL CHECK (reserved IN ('fleet','local')),"
	"  conflict    TEXT"
	") STRICT;"
	"CREATE TRIGGER IF NOT EXISTS fleet_outbox_run"
	"  AFTER UPDATE OF row_hash ON runs"
	"  WHEN OLD.row_hash IS NULL AND NEW.row_hash IS NOT NULL"
	"  BEGIN INSERT INTO fleet_outbox (kind, run_id, serial, state,"
	"    cert_serial, chain_seq, chain_hash, at_ms)"
	"    VALUES ('run', NEW.id, NEW.device_serial, NEW.result,"
	"    NEW.cert_serial, NEW.chain_seq, NEW.row_hash,"
	"    coalesce(NEW.ended_at, 0)); END;"
	"CREATE TRIGGER IF NOT EXISTS fleet_outbox_cert_new"
	"  AFTER INSERT ON certificates" FLEET_CERT_TO_OUTBOX
	"CREATE TRIGGER IF NOT EXISTS fleet_outbox_cert_state"
	"  AFTER UPDATE OF status ON certificates"
	"  WHEN OLD.status IS NOT NEW.status" FLEET_CERT_TO_OUTBOX,
	/* 11: the keyed chain (keyed.c, ledger.h).  chain_log holds one
	 * MAC'd entry per write to a table that carries evidence; its
	 * triggers are made at open from the tables' columns.  A
	 * certificate's status changes are appended to cert_events (the
	 * current statuses become each certificate's first event); the
	 * certificate row keeps its status as the newest event's, and its
	 * identity columns may no longer change.  Devices and exports rows
	 * cannot be deleted. */
	"CREATE TABLE chain_log ("
	"  seq      INTEGER PRIMARY KEY,"
	"  tbl      TEXT NOT NULL,"
	"  row_key  TEXT NOT NULL,"
	"  digest   TEXT NOT NULL,"
	"  mac      TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX chain_log_row ON chain_log(tbl, row_key, seq);"
	"CREATE TRIGGER chain_log_no_update BEFORE UPDATE ON chain_log"
	"  BEGIN SELECT RAISE(ABORT, 'the keyed chain cannot be changed'); END;"
	"CREATE TRIGGER chain_log_no_delete BEFORE DELETE ON chain_log"
	"  BEGIN SELECT RAISE(ABORT, 'the keyed chain cannot be changed'); END;"
	"CREATE TABLE cert_events ("
	"  id             INTEGER PRIMARY KEY,"
	"  cert_id        INTEGER NOT NULL REFERENCES certificates(id),"
	"  at_ms          INTEGER NOT NULL,"
	"  status         TEXT NOT NULL,"
	"  note           TEXT,"
	"  revoke_reason  TEXT"
	") STRICT;"
	"CREATE INDEX cert_events_cert ON cert_events(cert_id, id);"
	"INSERT INTO cert_events (cert_id, at_ms, status, note, revoke_reason)"
	"  SELECT id, updated_at, status, status_note, revoke_reason"
	"  FROM certificates ORDER BY id;"
	"CREATE TRIGGER cert_events_first AFTER INSERT ON certificates"
	"  BEGIN INSERT INTO cert_events (cert_id, at_ms, status, note,"
	"  revoke_reason) VALUES (NEW.id, NEW.updated_at, NEW.status,"
	"  NEW.status_note, NEW.revoke_reason); END;"
	"CREATE TRIGGER cert_events_next AFTER UPDATE ON certificates"
	"  WHEN NEW.status IS NOT OLD.status"
	"  OR NEW.status_note IS NOT OLD.status_note"
	"  OR NEW.revoke_reason IS NOT OLD.revoke_reason"
	"  BEGIN INSERT INTO cert_events (cert_id, at_ms, status, note,"
	"  revoke_reason) VALUES (NEW.id, NEW.updated_at, NEW.status,"
	"  NEW.status_note, NEW.revoke_reason); END;"
	"CREATE TRIGGER cert_events_no_update BEFORE UPDATE ON cert_events"
	"  BEGIN SELECT RAISE(ABORT, 'certificate events cannot be changed');"
	"  END;"
	"CREATE TRIGGER cert_events_no_delete BEFORE DELETE ON cert_events"
	"  BEGIN SELECT RAISE(ABORT, 'certificate events cannot be deleted');"
	"  END;"
	"CREATE TRIGGER certificates_identity BEFORE UPDATE OF serial_hex,"
	"  run_id, fingerprint_sha256, subject, issuer, not_before,"
	"  not_after, pem, created_at ON certificates"
	"  BEGIN SELECT RAISE(ABORT, 'a certificate cannot be changed'); END;"
	"CREATE TRIGGER devices_no_delete BEFORE DELETE ON devices"
	"  BEGIN SELECT RAISE(ABORT, 'devices cannot be deleted'); END;"
	"CREATE TRIGGER exports_no_delete BEFORE DELETE ON exports"
	"  BEGIN SELECT RAISE(ABORT, 'exports cannot be deleted'); END;"
	"CREATE VIEW certificate_status AS"
	"  SELECT c.id AS cert_id, c.serial_hex, e.status, e.at_ms, e.note,"
	"  e.revoke_reason FROM certificates c JOIN cert_events e"
	"  ON e.id = (SELECT max(id) FROM cert_events WHERE cert_id = c.id);",
	/* 12: working state outside the keyed chain.  run_progress holds
	 * the step a running run is in (ledger_run_step, written lazily at
	 * each step's start; the row goes when the run finishes): as a runs
	 * column (9) every step added a keyed chain entry.  runs.current_step
	 * stays, NULL from now on, for older rows.  ledger_meta keeps what
	 * opening the ledger needs to know cheaply: 'keyed_triggers', the
	 * stamp of the chain triggers last made (keyed_triggers.c), so an
	 * open whose triggers are current reads one row and writes nothing.
	 * Neither table is evidence; neither is chained. */
	"CREATE TABLE run_progress ("
	"  run_id  INTEGER PRIMARY KEY NOT NULL REFERENCES runs(id),"
	"  step    TEXT NOT NULL,"
	"  at_ms   INTEGER NOT NULL"
	") STRICT;"
	"INSERT INTO run_progress (run_id, step, at_ms)"
	"  SELECT id, current_step, started_at FROM runs"
	"  WHERE result = 'running' AND current_step IS NOT NULL;"
	"CREATE TABLE ledger_meta ("
	"  name   TEXT PRIMARY KEY NOT NULL,"
	"  value  TEXT NOT NULL"
	") STRICT;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] ==
	LEDGER_SCHEMA_VERSION,
    "one migration per schema version");

static st_err
read_version(struct ledger *l, int *version, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_prepare(l, "PRAGMA user_version", &st, cause);

	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW) {
		err = db_fail(l, cause, "reading the ledger schema version");
	} else {
		*version = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return err;
}

st_err
ledger_migrate(struct ledger *l, const char *key_path, char **cause)
{
	int version = 0, current = 0;
	st_err err;

	/* The key is a file: loaded before anything else (a migration
	 * that writes to a chained table fires the chain's triggers). */
	ledger_keyed_preload(l, key_path);
	/* A ledger at this version whose triggers are current: one read,
	 * nothing written (a station's start-up is on the line's clock). */
	err = ledger_keyed_current(l, key_path, &current, cause);
	if (err || current)
		return err;
	/* Inside one write transaction, so two processes opening a new file
	 * at once do not both create the schema. */
	err = db_begin(l, cause);
	if (err)
		return err;
	err = read_version(l, &version, cause);
	if (err)
		goto out;
	if (version > LEDGER_SCHEMA_VERSION) {
		err = st_fail(cause, ST_E_DB,
		    "ledger schema version %d is newer than this station (%d)",
		    version, LEDGER_SCHEMA_VERSION);
		goto out;
	}
	for (int i = version; i < LEDGER_SCHEMA_VERSION; i++) {
		err = db_exec(l, migrations[i], cause);
		if (err) {
			st_wrap(cause, err,
			    "migrating the ledger to version %d", i + 1);
			goto out;
		}
	}
	if (version < LEDGER_SCHEMA_VERSION) {
		char sql[64];

		snprintf(sql, sizeof sql, "PRAGMA user_version=%d",
		    LEDGER_SCHEMA_VERSION);
		err = db_exec(l, sql, cause);
		if (err)
			goto out;
	}
	err = ledger_keyed_setup(l, key_path, cause);
	if (err)
		goto out;
	err = db_commit(l, cause);
out:
	if (err)
		db_rollback(l);
	return err;
}

st_err
ledger_schema_check(struct ledger *l, char **cause)
{
	int version = 0;
	st_err err;

	err = read_version(l, &version, cause);
	if (err)
		return err;
	if (version > LEDGER_SCHEMA_VERSION)
		return st_fail(cause, ST_E_DB,
		    "ledger schema version %d is newer than this station (%d)",
		    version, LEDGER_SCHEMA_VERSION);
	if (version < LEDGER_SCHEMA_VERSION)
		return st_fail(cause, ST_E_CONFIG,
		    "the ledger %s has schema version %d, older than this "
		    "station's %d, and a command that only reads the ledger "
		    "does not migrate it: run 'station recover' (or any "
		    "command that writes the ledger) once as the station user, "
		    "then try again",
		    l->path, version, LEDGER_SCHEMA_VERSION);
	return ST_OK;
}
