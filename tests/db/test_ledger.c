/* Ledger: schema, run lifecycle, certificates, queries on a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/db/ledger_fixture.h"
#include "station/util/xalloc.h"

/* A new file gets the schema, WAL mode and the current user_version. */
static void
test_open_creates_schema_in_wal_mode(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1, tables = 0;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
			     NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, LEDGER_SCHEMA_VERSION);
	assert_int_equal(
	    raw_int(f->path,
		"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
		"name IN"
		" ('devices','certificates','runs','run_events','chain_head')",
		&tables),
	    SQLITE_OK);
	assert_int_equal(tables, 5);
}

/* Opening an existing ledger again changes nothing and keeps the data. */
static void
test_reopen_is_idempotent(void **state)
{
	struct fixture *f = *state;
	int64_t id = start_run(f->l, 1, "SN1"), n = 0, v = 0;

	assert_true(id > 0);
	ledger_close(f->l);
	f->l = NULL;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
		if (i < 2) {
			ledger_close(f->l);
			f->l = NULL;
		}
	}
	assert_int_equal(ledger_count_runs(f->l, NULL, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, LEDGER_SCHEMA_VERSION);
}

/* A file written by a newer station is refused, not half-understood. */
static void
test_newer_schema_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ledger *l2 = NULL;
	char *cause = NULL;

	assert_int_equal(raw_sql(f->path, "PRAGMA user_version = 99"),
	    SQLITE_OK);
	assert_int_equal(ledger_open(f->path, &l2, &cause), ST_E_DB);
	assert_null(l2);
	char *want = xasprintf("ledger schema version 99 is newer than this "
			       "station (%d)",
	    LEDGER_SCHEMA_VERSION);
	assert_non_null(strstr(cause, want));
	free(want);
	free(cause);
}

/* Every column written during a run's life reads back as written. */
static void
test_run_lifecycle_round_trips_every_column(void **state)
{
	struct fixture *f = *state;
	struct run_start s = { .station_id = "st-01",
		.slot = 3,
		.operator_id = "op7",
		.batch = "B9",
		.device_uri = "uart:/dev/ttyUSB0",
		.scanned_serial = "SN-42",
		.profile = "ec-p256",
		.started_at_ms = 1763820000123 };
	struct device_record d = { .serial = "SN-42",
		.model = "M1",
		.hw_version = "rev B",
		.fw_version = "1.2.3",
		.chip = "sim" };
	struct cert_record c = fixture_cert("0A1B2C", NULL);
	struct run_record r;
	int64_t id = 0, n = 0;

	assert_int_equal(ledger_run_begin(f->l, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_device(f->l, id, &d, NULL), ST_OK);
	assert_int_equal(ledger_run_event(f->l, id, "keygen", LEDGER_EV_OK,
			     "P-256", NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_issued(f->l, id, &c, NULL), ST_OK);
	assert_int_equal(ledger_run_smoke(f->l, id, LEDGER_SMOKE_PASSED,
			     "127.0.0.1:8883", "TLSv1.3",
			     "TLS_AES_128_GCM_SHA256", "puback 0x10", NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, id, "FAIL", "commit", "device",
			     "lock refused: replace the board", NULL),
	    ST_OK);

	assert_int_equal(ledger_run_get(f->l, id, &r, NULL), ST_OK);
	assert_int_equal(r.id, id);
	assert_string_equal(r.station_id, "st-01");
	assert_int_equal(r.slot, 3);
	assert_string_equal(r.operator_id, "op7");
	assert_string_equal(r.batch, "B9");
	assert_string_equal(r.device_uri, "uart:/dev/ttyUSB0");
	assert_string_equal(r.scanned_serial, "SN-42");
	assert_string_equal(r.device_serial, "SN-42");
	assert_string_equal(r.profile, "ec-p256");
	assert_int_equal(r.started_at, 1763820000123);
	assert_true(r.ended_at > 0);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.failed_step, "commit");
	assert_string_equal(r.error_kind, "device");
	assert_string_equal(r.reason, "lock refused: replace the board");
	assert_string_equal(r.cert_serial, "0a1b2c");
	assert_string_equal(r.smoke_status, "passed");
	assert_string_equal(r.smoke_broker, "127.0.0.1:8883");
	assert_string_equal(r.smoke_tls_version, "TLSv1.3");
	assert_string_equal(r.smoke_cipher, "TLS_AES_128_GCM_SHA256");
	assert_string_equal(r.smoke_detail, "puback 0x10");
	assert_int_equal(r.chain_seq, 1);
	assert_string_equal(r.prev_hash,
	    "0000000000000000000000000000000000000000000000000000000000000000");
	assert_int_equal(strlen(r.row_hash), LEDGER_HASH_HEX_LEN);
	ledger_run_record_clear(&r);

	/* The certificate took the run's device serial. */
	assert_int_equal(ledger_cert_get(f->l, "0a1b2c", &c, NULL), ST_OK);
	assert_string_equal(c.device_serial, "SN-42");
	assert_string_equal(c.status, "issued");
	assert_int_equal(c.run_id, id);
	assert_string_equal(c.fingerprint_sha256, FP);
	assert_int_equal(c.not_after, 1800000000);
	ledger_cert_record_clear(&c);
	assert_int_equal(
	    raw_int(f->path,
		"SELECT count(*) FROM devices WHERE serial = 'SN-42' AND chip "
		"= 'sim'"
		" AND fw_version = '1.2.3' AND first_seen <= last_seen",
		&n),
	    SQLITE_OK);
	assert_int_equal(n, 1);
}

/* A finished run is sealed: no second finish, no late smoke result, and
 * plain SQL cannot change or delete it either. */
static void
test_finished_run_is_sealed(void **state)
{
	struct fixture *f = *state;
	int64_t id = start_run(f->l, 1, "SN1");
	struct device_record d = { .serial = "SN1" };
	struct cert_record c = fixture_cert("5151", "SN1");
	char sql[128];

	assert_int_equal(ledger_run_finish(f->l, id, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, id, "FAIL", NULL, NULL, NULL,
			     NULL),
	    ST_E_STATE);
	assert_int_equal(ledger_run_smoke(f->l, id, LEDGER_SMOKE_SKIPPED, NULL,
			     NULL, NULL, NULL, NULL),
	    ST_E_STATE);
	assert_int_equal(ledger_run_finish(f->l, id + 100, "PASS", NULL, NULL,
			     NULL, NULL),
	    ST_E_NOTFOUND);
	assert_int_equal(ledger_run_finish(f->l, id, "MAYBE", NULL, NULL, NULL,
			     NULL),
	    ST_E_ARG);
	assert_int_equal(ledger_run_device(f->l, id, &d, NULL), ST_E_STATE);
	assert_int_equal(ledger_run_device(f->l, id + 100, &d, NULL),
	    ST_E_NOTFOUND);
	assert_int_equal(ledger_cert_issued(f->l, id, &c, NULL), ST_E_STATE);
	snprintf(sql, sizeof sql,
	    "UPDATE runs SET reason = 'x' WHERE id = %lld", (long long)id);
	assert_int_not_equal(raw_sql(f->path, sql), SQLITE_OK);
	snprintf(sql, sizeof sql, "DELETE FROM runs WHERE id = %lld",
	    (long long)id);
	assert_int_not_equal(raw_sql(f->path, sql), SQLITE_OK);
}

static const char *const all_status[] = { "issued", "written", "verified",
	"revoked", "orphaned", "superseded", "revoking" };
#define N_STATUS (sizeof all_status / sizeof all_status[0])

/* Move a certificate to `status`: 'revoking' carries its reason. */
static st_err
move_to(struct ledger *l, const char *serial, const char *status, char **cause)
{
	if (strcmp(status, "revoking") == 0)
		return ledger_cert_revoke_intent(l, serial, "keyCompromise",
		    "why", cause);
	return ledger_cert_set_status(l, serial, status, "why", cause);
}

/* Bring a fresh certificate to `status` through allowed steps. */
static void
cert_at(struct ledger *l, int64_t run, const char *serial, const char *status)
{
	struct cert_record c = fixture_cert(serial, "SN-T");
	int live = strcmp(status, "issued") == 0 ||
	    strcmp(status, "written") == 0 || strcmp(status, "verified") == 0;

	assert_int_equal(ledger_cert_issued(l, run, &c, NULL), ST_OK);
	if (strcmp(status, "written") == 0 || strcmp(status, "verified") == 0)
		assert_int_equal(ledger_cert_set_status(l, serial, "written",
				     NULL, NULL),
		    ST_OK);
	if (strcmp(status, "verified") == 0)
		assert_int_equal(ledger_cert_set_status(l, serial, "verified",
				     NULL, NULL),
		    ST_OK);
	if (strcmp(status, "revoked") == 0)
		assert_int_equal(move_to(l, serial, "orphaned", NULL), ST_OK);
	if (!live)
		assert_int_equal(move_to(l, serial, status, NULL), ST_OK);
}

/* Exactly the documented transitions are allowed, from every status to
 * every status: a live certificate reaches 'revoked' only through an
 * intent recorded first (ledger first, then the CA). */
static void
test_cert_status_transitions(void **state)
{
	static const char *const allowed[] = { "issued>written",
		"issued>orphaned", "issued>superseded", "issued>revoking",
		"written>verified", "written>orphaned", "written>superseded",
		"written>revoking", "verified>superseded", "verified>revoking",
		"orphaned>revoking", "superseded>revoking", "orphaned>revoked",
		"superseded>revoked", "revoking>revoked" };
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-T");
	int k = 0;

	for (size_t i = 0; i < N_STATUS; i++) {
		for (size_t j = 0; j < N_STATUS; j++) {
			char serial[16], pair[32], *cause = NULL;
			struct cert_record c;
			int ok = 0;

			snprintf(serial, sizeof serial, "c0%02d", k++);
			snprintf(pair, sizeof pair, "%s>%s", all_status[i],
			    all_status[j]);
			for (size_t a = 0;
			     a < sizeof allowed / sizeof allowed[0]; a++)
				ok |= strcmp(allowed[a], pair) == 0;
			cert_at(f->l, run, serial, all_status[i]);
			assert_int_equal(move_to(f->l, serial, all_status[j],
					     &cause),
			    ok ? ST_OK : ST_E_STATE);
			assert_int_equal(ledger_cert_get(f->l, serial, &c,
					     NULL),
			    ST_OK);
			assert_string_equal(c.status,
			    ok ? all_status[j] : all_status[i]);
			ledger_cert_record_clear(&c);
			free(cause);
		}
	}
	assert_int_equal(ledger_cert_set_status(f->l, "ffff", "revoked", NULL,
			     NULL),
	    ST_E_NOTFOUND);
	/* 'revoking' names its reason: not through set_status. */
	cert_at(f->l, run, "d001", "verified");
	assert_int_equal(ledger_cert_set_status(f->l, "d001", "revoking", NULL,
			     NULL),
	    ST_E_ARG);
}

/* The intent carries the reason the CA is asked for, kept when the
 * revocation completes; the pending list holds exactly the intents of the
 * backend named, finished run or not. */
static void
test_revoke_intent_keeps_its_reason_and_is_listed(void **state)
{
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-T");
	struct cert_record c = { 0 }, other = fixture_cert("a4", "SN-T");
	char **pending = NULL;
	size_t n = 0;

	cert_at(f->l, run, "a1", "verified");
	cert_at(f->l, run, "a2", "written");
	cert_at(f->l, run, "a3", "verified");
	other.backend = "vault";
	assert_int_equal(ledger_cert_issued(f->l, run, &other, NULL), ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "a1", "superseded",
			     "key replaced", NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "a2", "orphaned", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "a4", "orphaned", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, run, "FAIL", "keygen", NULL,
			     NULL, NULL),
	    ST_OK);

	assert_int_equal(ledger_revoke_pending(f->l, "local", &pending, &n,
			     NULL),
	    ST_OK);
	assert_int_equal(n, 2);
	assert_string_equal(pending[0], "a1");
	assert_string_equal(pending[1], "a2");
	ledger_serials_free(pending, n);

	assert_int_equal(ledger_cert_get(f->l, "a1", &c, NULL), ST_OK);
	assert_string_equal(c.revoke_reason, "superseded");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_set_status(f->l, "a1", "revoked",
			     "key replaced", NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_get(f->l, "a1", &c, NULL), ST_OK);
	assert_string_equal(c.status, "revoked");
	assert_string_equal(c.revoke_reason, "superseded");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->l, "a2", &c, NULL), ST_OK);
	assert_string_equal(c.revoke_reason, "cessationOfOperation");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->l, "a3", &c, NULL), ST_OK);
	assert_null(c.revoke_reason);
	ledger_cert_record_clear(&c);

	assert_int_equal(ledger_revoke_pending(f->l, "local", &pending, &n,
			     NULL),
	    ST_OK);
	assert_int_equal(n, 1);
	assert_string_equal(pending[0], "a2");
	ledger_serials_free(pending, n);
}

/* The note of a certificate waiting on an intent can say why the CA has
 * not revoked it; a live or revoked certificate's note stays. */
static void
test_note_changes_only_while_an_intent_waits(void **state)
{
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-N");
	struct cert_record c = { 0 };

	cert_at(f->l, run, "c1", "verified");
	cert_at(f->l, run, "c2", "superseded");
	assert_int_equal(ledger_cert_set_note(f->l, "c1", "x", NULL),
	    ST_E_STATE);
	assert_int_equal(ledger_cert_set_note(f->l, "C2", "the CA cannot",
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_get(f->l, "c2", &c, NULL), ST_OK);
	assert_string_equal(c.status, "superseded");
	assert_string_equal(c.status_note, "the CA cannot");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_set_note(f->l, "zz", "x", NULL), ST_E_ARG);
}

/* Bad serials, fingerprints and duplicate serials are refused. */
static void
test_cert_input_checked(void **state)
{
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-T");
	struct cert_record c = fixture_cert("01:02", "SN-T");

	assert_int_equal(ledger_cert_issued(f->l, run, &c, NULL), ST_E_ARG);
	c = fixture_cert("0102", "SN-T");
	c.fingerprint_sha256 = "00:11";
	assert_int_equal(ledger_cert_issued(f->l, run, &c, NULL), ST_E_ARG);
	c = fixture_cert("0102", "SN-T");
	assert_int_equal(ledger_cert_issued(f->l, run, &c, NULL), ST_OK);
	assert_int_equal(ledger_cert_issued(f->l, run, &c, NULL), ST_E_EXISTS);
	assert_int_equal(ledger_cert_issued(f->l, run + 50, &c, NULL),
	    ST_E_STATE);
}

/* A failed write orphans exactly that run's still-issued certificates. */
static void
test_orphan_open_certs(void **state)
{
	struct fixture *f = *state;
	int64_t r1 = start_run(f->l, 1, "SN-A"),
		r2 = start_run(f->l, 2, "SN-B");
	struct cert_record c;
	int n = -1;

	cert_at(f->l, r1, "a1", "issued");
	cert_at(f->l, r1, "a2", "written");
	cert_at(f->l, r1, "a3", "issued");
	cert_at(f->l, r2, "b1", "issued");
	assert_int_equal(ledger_orphan_open_certs(f->l, r1, "write failed", &n,
			     NULL),
	    ST_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ledger_cert_get(f->l, "a1", &c, NULL), ST_OK);
	assert_string_equal(c.status, "orphaned");
	assert_string_equal(c.status_note, "write failed");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->l, "a2", &c, NULL), ST_OK);
	assert_string_equal(c.status, "written");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->l, "b1", &c, NULL), ST_OK);
	assert_string_equal(c.status, "issued");
	ledger_cert_record_clear(&c);
}

/* The live certificate is the newest issued/written/verified one; one
 * to be revoked (superseded, orphaned) does not count. */
static void
test_live_cert_ignores_revoked_and_orphaned(void **state)
{
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-L");
	struct cert_record c, in;
	int found = -1;

	assert_int_equal(ledger_device_live_cert(f->l, "SN-L", &c, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 0);
	in = fixture_cert("11", "SN-L");
	assert_int_equal(ledger_cert_issued(f->l, run, &in, NULL), ST_OK);
	in = fixture_cert("22", "SN-L");
	assert_int_equal(ledger_cert_issued(f->l, run, &in, NULL), ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "22", "written", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "22", "verified", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_device_live_cert(f->l, "SN-L", &c, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 1);
	assert_string_equal(c.serial_hex, "22");
	assert_string_equal(c.status, "verified");
	ledger_cert_record_clear(&c);

	assert_int_equal(ledger_cert_set_status(f->l, "22", "superseded", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_device_live_cert(f->l, "SN-L", &c, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 1);
	assert_string_equal(c.serial_hex, "11");
	ledger_cert_record_clear(&c);

	assert_int_equal(ledger_cert_set_status(f->l, "11", "orphaned", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_device_live_cert(f->l, "SN-L", &c, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 0);
	assert_null(c.serial_hex);
	assert_int_equal(ledger_device_live_cert(f->l, "SN-OTHER", &c, &found,
			     NULL),
	    ST_OK);
	assert_int_equal(found, 0);
}

/* A version 4 ledger (statuses without intents, no revoke_reason) opens
 * as version 5 with its certificates intact: an orphaned one carries the
 * reason it will be revoked for, a verified one none, and certificates
 * still cannot be deleted. */
static void
test_v4_certificates_survive_the_migration(void **state)
{
	struct fixture *f = *state;
	int64_t run = start_run(f->l, 1, "SN-M"), v = 0, n = 0;
	struct cert_record c = { 0 };

	cert_at(f->l, run, "b1", "verified");
	cert_at(f->l, run, "b2", "orphaned");
	ledger_close(f->l);
	f->l = NULL;
	/* Back to the version 4 table, as a station of that version left
	 * it (without the later migrations' indexes). */
	assert_int_equal(
	    raw_tamper(f->path,
		/* and without schema 12's tables */
		"DROP TABLE run_progress;"
		"DROP TABLE ledger_meta;"
		/* and without the keyed chain (schema 10) */
		"DROP VIEW certificate_status;"
		"DROP TABLE cert_events;"
		"DROP TABLE chain_log;"
		"CREATE TRIGGER runs_finished_immutable BEFORE UPDATE ON runs"
		" WHEN OLD.row_hash IS NOT NULL"
		" BEGIN SELECT RAISE(ABORT, 'no'); END;"
		"DROP INDEX runs_ca_key_sha256;"
		"DROP INDEX runs_started_at;"
		"CREATE TABLE c3 AS SELECT id, serial_hex, device_serial, run_id,"
		" fingerprint_sha256, subject, issuer, not_before, not_after,"
		" backend, pem, status, status_note, created_at, updated_at"
		" FROM certificates;"
		"DROP TABLE certificates;"
		"ALTER TABLE c3 RENAME TO certificates;"
		"CREATE TRIGGER certificates_no_delete BEFORE DELETE ON"
		" certificates BEGIN SELECT RAISE(ABORT, 'no'); END;"
		/* and without what later versions added to runs */
		"ALTER TABLE runs DROP COLUMN ca_serial;"
		"ALTER TABLE runs DROP COLUMN current_step;"
		"PRAGMA user_version = 4;"),
	    SQLITE_OK);

	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, LEDGER_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM certificates",
			     &n),
	    SQLITE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ledger_cert_get(f->l, "b1", &c, NULL), ST_OK);
	assert_string_equal(c.status, "verified");
	assert_null(c.revoke_reason);
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->l, "b2", &c, NULL), ST_OK);
	assert_string_equal(c.status, "orphaned");
	assert_string_equal(c.revoke_reason, "cessationOfOperation");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_set_status(f->l, "b1", "superseded", NULL,
			     NULL),
	    ST_OK);
	assert_int_not_equal(raw_sql(f->path, "DELETE FROM certificates"),
	    SQLITE_OK);
}

struct collect {
	int64_t ids[16];
	int n;
	int stop_after;
	struct ledger *l;
	st_err reentry;
};

static int
collect_run(const struct run_record *r, void *ctx)
{
	struct collect *c = ctx;
	int64_t n;

	if (c->l != NULL)
		c->reentry = ledger_count_runs(c->l, NULL, &n, NULL);
	c->ids[c->n++] = r->id;
	return c->stop_after && c->n >= c->stop_after;
}

static int
collect_cert(const struct cert_record *r, void *ctx)
{
	struct collect *c = ctx;

	c->ids[c->n++] = -r->id;
	return 0;
}

static int
collect_event(const struct run_event *e, void *ctx)
{
	struct collect *c = ctx;

	c->ids[c->n++] = strcmp(e->status, "fail") == 0 ? -e->id : e->id;
	return 0;
}

/* Lists come newest first and stop on request; history gathers a device's
 * runs (by scanned or reported serial) and certificates; a callback that
 * calls back into the ledger is refused instead of deadlocking. */
static void
test_queries(void **state)
{
	struct fixture *f = *state;
	int64_t a = start_run(f->l, 1, "SN-H"), b = start_run(f->l, 2, "X"),
		c3 = start_run(f->l, 3, "SN-OTHER");
	struct device_record d = { .serial = "SN-H" };
	struct cert_record in = fixture_cert("aa", NULL);
	struct collect col = { 0 };

	assert_int_equal(ledger_run_device(f->l, b, &d, NULL), ST_OK);
	assert_int_equal(ledger_cert_issued(f->l, b, &in, NULL), ST_OK);

	assert_int_equal(ledger_list_runs(f->l, 2, collect_run, &col, NULL),
	    ST_OK);
	assert_int_equal(col.n, 2);
	assert_int_equal(col.ids[0], c3);
	assert_int_equal(col.ids[1], b);

	memset(&col, 0, sizeof col);
	col.stop_after = 1;
	assert_int_equal(ledger_list_runs(f->l, 0, collect_run, &col, NULL),
	    ST_OK);
	assert_int_equal(col.n, 1);

	memset(&col, 0, sizeof col);
	assert_int_equal(ledger_device_history(f->l, "SN-H", collect_run,
			     collect_cert, &col, NULL),
	    ST_OK);
	assert_int_equal(col.n, 3);
	assert_int_equal(col.ids[0], a);
	assert_int_equal(col.ids[1], b);
	assert_true(col.ids[2] < 0);

	memset(&col, 0, sizeof col);
	assert_int_equal(ledger_run_event(f->l, a, "hello", LEDGER_EV_START,
			     NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_event(f->l, a, "hello", LEDGER_EV_FAIL,
			     "no answer", NULL),
	    ST_OK);
	assert_int_equal(ledger_run_event(f->l, a + 99, "hello", LEDGER_EV_OK,
			     NULL, NULL),
	    ST_E_NOTFOUND);
	assert_int_equal(ledger_run_events(f->l, a, collect_event, &col, NULL),
	    ST_OK);
	assert_int_equal(col.n, 2);
	assert_true(col.ids[0] > 0 && col.ids[1] < 0);

	memset(&col, 0, sizeof col);
	col.l = f->l;
	assert_int_equal(ledger_list_runs(f->l, 1, collect_run, &col, NULL),
	    ST_OK);
	assert_int_equal(col.reentry, ST_E_STATE);
}

/* Slots reaching durable points together share fdatasyncs (group commit):
 * every run must still be there, whole, for another connection. */
struct slot_writer {
	struct ledger *l;
	int slot;
	int ok;
};

static void *
slot_runs(void *arg)
{
	struct slot_writer *w = arg;
	const char *key = "00112233445566778899aabbccddeeff"
			  "00112233445566778899aabbccddeeff";

	for (int i = 0; i < 20; i++) {
		struct run_start s = { .station_id = "st1",
			.slot = w->slot,
			.device_uri = "tcp:127.0.0.1:1" };
		struct device_record d = { .serial = "SN-GROUP" };
		int64_t id = 0;

		if (ledger_run_begin(w->l, &s, &id, NULL) != ST_OK ||
		    ledger_run_device(w->l, id, &d, NULL) != ST_OK ||
		    ledger_run_ca_request(w->l, id, key, NULL) != ST_OK ||
		    ledger_run_finish(w->l, id, "FAIL", "ca-sign", "ca", "test",
			NULL) != ST_OK)
			return NULL;
		w->ok++;
	}
	return NULL;
}

static void
test_concurrent_durable_points_all_land(void **state)
{
	struct fixture *f = *state;
	struct slot_writer w[8];
	pthread_t th[8];
	struct ledger *other = NULL;
	struct ledger_verify_report rep;
	int64_t n = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct slot_writer){ f->l, i + 1, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, slot_runs, &w[i]),
		    0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 20);
	}
	assert_int_equal(ledger_open(f->path, &other, NULL), ST_OK);
	assert_int_equal(ledger_count_runs(other, "FAIL", &n, NULL), ST_OK);
	assert_int_equal(n, 160);
	assert_int_equal(ledger_count_runs(other, "running", &n, NULL), ST_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ledger_verify(other, &rep, NULL), ST_OK);
	assert_int_equal(rep.runs_checked, 160);
	ledger_close(other);
}

/* The WAL's directory fsync taken ahead, on another thread, while slots
 * reach durable points: none of them waits forever or loses its run,
 * and a second call (or one on no ledger) is harmless. */
static void *
sync_dir_ahead(void *arg)
{
	ledger_sync_log_dir(arg);
	return NULL;
}

static void
test_directory_sync_ahead_beside_durable_points(void **state)
{
	struct fixture *f = *state;
	struct slot_writer w[4];
	pthread_t th[4], dir;
	struct ledger *other = NULL;
	int64_t n = 0;

	assert_int_equal(pthread_create(&dir, NULL, sync_dir_ahead, f->l), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct slot_writer){ f->l, i + 1, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, slot_runs, &w[i]),
		    0);
	}
	pthread_join(dir, NULL);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].ok, 20);
	}
	ledger_sync_log_dir(f->l);
	ledger_sync_log_dir(NULL);
	assert_int_equal(ledger_open(f->path, &other, NULL), ST_OK);
	assert_int_equal(ledger_count_runs(other, "FAIL", &n, NULL), ST_OK);
	assert_int_equal(n, 80);
	ledger_close(other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_open_creates_schema_in_wal_mode),
		T(test_reopen_is_idempotent),
		T(test_newer_schema_is_refused),
		T(test_run_lifecycle_round_trips_every_column),
		T(test_finished_run_is_sealed),
		T(test_cert_status_transitions),
		T(test_revoke_intent_keeps_its_reason_and_is_listed),
		T(test_v4_certificates_survive_the_migration),
		T(test_cert_input_checked),
		T(test_note_changes_only_while_an_intent_waits),
		T(test_orphan_open_certs),
		T(test_live_cert_ignores_revoked_and_orphaned),
		T(test_queries),
		T(test_concurrent_durable_points_all_land),
		T(test_directory_sync_ahead_beside_durable_points),
#undef T
	};

	return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
