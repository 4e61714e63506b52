/* Ledger hash chain: the documented serialization, concurrency, and
 * ledger_verify against a tamperer with raw SQL access to the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "station/util/xalloc.h"
#include "tests/db/ledger_fixture.h"

/* ---- an independent implementation of the serialization in ledger.h ---- */

static void
put_text(EVP_MD_CTX *md, const char *s)
{
	char buf[32];

	if (s == NULL) {
		EVP_DigestUpdate(md, "N", 1);
		return;
	}
	snprintf(buf, sizeof buf, "T%zu:", strlen(s));
	EVP_DigestUpdate(md, buf, strlen(buf));
	EVP_DigestUpdate(md, s, strlen(s));
}

static void
put_int(EVP_MD_CTX *md, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "I%lld;", (long long)v);
	EVP_DigestUpdate(md, buf, strlen(buf));
}

static void
expected_hash(const struct run_record *r, char hex[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char bin[32];
	unsigned int n = 0;

	assert_non_null(md);
	assert_true(EVP_DigestInit_ex(md, EVP_sha256(), NULL));
	EVP_DigestUpdate(md, "station-ledger-run-v1", 21);
	put_int(md, r->id);
	put_text(md, r->station_id);
	put_int(md, r->slot);
	put_text(md, r->operator_id);
	put_text(md, r->batch);
	put_text(md, r->device_uri);
	put_text(md, r->scanned_serial);
	put_text(md, r->device_serial);
	put_text(md, r->profile);
	put_int(md, r->started_at);
	put_int(md, r->ended_at);
	put_text(md, r->result);
	put_text(md, r->failed_step);
	put_text(md, r->error_kind);
	put_text(md, r->reason);
	put_text(md, r->cert_serial);
	put_text(md, r->smoke_status);
	put_text(md, r->smoke_broker);
	put_text(md, r->smoke_tls_version);
	put_text(md, r->smoke_cipher);
	put_text(md, r->smoke_detail);
	put_int(md, r->chain_seq);
	put_text(md, r->prev_hash);
	assert_true(EVP_DigestFinal_ex(md, bin, &n));
	assert_int_equal(n, 32);
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
	EVP_MD_CTX_free(md);
}

/* Begin and finish `n` runs; returns the id of the first. */
static int64_t
finished_runs(struct ledger *l, int n)
{
	int64_t first = 0;

	for (int i = 0; i < n; i++) {
		char serial[16];
		int64_t id;

		snprintf(serial, sizeof serial, "SN%04d", i);
		id = start_run(l, i % 4, serial);
		assert_true(id > 0);
		if (first == 0)
			first = id;
		assert_int_equal(
		    ledger_run_finish(l, id, i % 3 ? "PASS" : "FAIL",
			i % 3 ? NULL : "csr", i % 3 ? NULL : "policy",
			i % 3 ? NULL : "CSR subject differs: check the profile",
			NULL),
		    ST_OK);
	}
	return first;
}

static void
expect_clean(struct ledger *l, int64_t runs)
{
	struct ledger_verify_report r;
	char *cause = NULL;

	assert_int_equal(ledger_verify(l, &r, &cause), ST_OK);
	assert_null(cause);
	assert_int_equal(r.problem, LEDGER_OK);
	assert_int_equal(r.runs_checked, runs);
	assert_string_equal(r.detail, "");
}

/* Tamper with the closed file through raw SQL, reopen, verify: the
 * expected problem is found and the cause names the run. */
static void
expect_tamper(struct fixture *f, const char *sql, enum ledger_problem p,
    int64_t run_a, int64_t run_b)
{
	struct ledger_verify_report r;
	char *cause = NULL, name[32];

	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(raw_tamper(f->path, sql), SQLITE_OK);
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(ledger_verify(f->l, &r, &cause), ST_E_MISMATCH);
	assert_int_equal(r.problem, p);
	assert_true(r.bad_run_id == run_a || r.bad_run_id == run_b);
	assert_non_null(cause);
	if (r.bad_run_id != 0) {
		snprintf(name, sizeof name, "run %lld",
		    (long long)r.bad_run_id);
		assert_non_null(strstr(cause, name));
	}
	assert_string_equal(cause, r.detail);
	free(cause);
}

/* row_hash is exactly the SHA-256 of the serialization documented in
 * ledger.h, and each run links to the one finished before it. */
static void
test_row_hash_follows_documented_serialization(void **state)
{
	struct fixture *f = *state;
	int64_t a = start_run(f->l, 0, "SN-A"), b = start_run(f->l, 1, NULL);
	struct run_record ra, rb;
	char hex[65];

	/* b finishes first: chain order is finish order, not id order. */
	assert_int_equal(ledger_run_smoke(f->l, b, LEDGER_SMOKE_FAILED,
			     "broker", NULL, NULL, "handshake: unknown ca",
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, b, "FAIL", "smoke", "tls",
			     "broker refused the certificate", NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, a, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_run_get(f->l, a, &ra, NULL), ST_OK);
	assert_int_equal(ledger_run_get(f->l, b, &rb, NULL), ST_OK);
	assert_int_equal(rb.chain_seq, 1);
	assert_int_equal(ra.chain_seq, 2);
	expected_hash(&rb, hex);
	assert_string_equal(rb.row_hash, hex);
	expected_hash(&ra, hex);
	assert_string_equal(ra.row_hash, hex);
	assert_string_equal(ra.prev_hash, rb.row_hash);
	ledger_run_record_clear(&ra);
	ledger_run_record_clear(&rb);
}

/* A ledger written only through the API verifies; running runs are not
 * part of the chain and do not disturb it. */
static void
test_verify_passes_on_clean_ledger(void **state)
{
	struct fixture *f = *state;

	expect_clean(f->l, 0);
	finished_runs(f->l, 12);
	assert_true(start_run(f->l, 1, "SN-RUNNING") > 0);
	expect_clean(f->l, 12);
}

struct worker {
	struct ledger *l;
	int slot;
	int failures;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 50; i++) {
		char serial[32];
		int64_t id;

		snprintf(serial, sizeof serial, "SN-%d-%d", w->slot, i);
		id = start_run(w->l, w->slot, serial);
		if (id <= 0 ||
		    ledger_run_event(w->l, id, "hello", LEDGER_EV_OK, NULL,
			NULL) != ST_OK ||
		    ledger_run_finish(w->l, id, "PASS", NULL, NULL, NULL,
			NULL) != ST_OK)
			w->failures++;
	}
	return NULL;
}

/* 8 slot threads sharing one ledger leave one consistent chain. */
static void
test_concurrent_runs_from_8_threads_chain_cleanly(void **state)
{
	struct fixture *f = *state;
	struct worker w[8];
	pthread_t t[8];
	int64_t n = 0, events = 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ .l = f->l, .slot = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_main,
				     &w[i]),
		    0);
	}
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(ledger_count_runs(f->l, "PASS", &n, NULL), ST_OK);
	assert_int_equal(n, 400);
	expect_clean(f->l, 400);

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT min(chain_seq), max(chain_seq), "
			     "count(DISTINCT chain_seq),"
			     " (SELECT count(*) FROM run_events) FROM runs",
			     -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(st, 0), 1);
	assert_int_equal(sqlite3_column_int64(st, 1), 400);
	assert_int_equal(sqlite3_column_int64(st, 2), 400);
	events = sqlite3_column_int64(st, 3);
	assert_int_equal(events, 400);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Changing one reason after the fact is caught and the run named. */
static void
test_verify_catches_edited_run(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6);
	char sql[256];

	snprintf(sql, sizeof sql,
	    "DROP TRIGGER IF EXISTS runs_finished_immutable;"
	    "UPDATE runs SET reason = 'all fine' WHERE id = %lld;",
	    (long long)first + 3);
	expect_tamper(f, sql, LEDGER_EDITED, first + 3, -1);
}

/* Deleting a run in the middle leaves a gap that is caught. */
static void
test_verify_catches_deleted_run(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6);
	char sql[256];

	snprintf(sql, sizeof sql,
	    "DROP TRIGGER IF EXISTS runs_no_delete;"
	    "DELETE FROM runs WHERE id = %lld;",
	    (long long)first + 2);
	/* Named by the run that follows the gap. */
	expect_tamper(f, sql, LEDGER_DELETED, first + 3, -1);
}

/* Deleting the newest runs (no gap left behind) is caught by the head. */
static void
test_verify_catches_deleted_newest_runs(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6);
	char sql[256];

	snprintf(sql, sizeof sql,
	    "DROP TRIGGER IF EXISTS runs_no_delete;"
	    "DELETE FROM runs WHERE id >= %lld;",
	    (long long)first + 4);
	expect_tamper(f, sql, LEDGER_DELETED, 0, -1);
}

#define SWAP_COLS \
	"station_id, slot, operator, batch, device_uri, scanned_serial, " \
	"device_serial, profile, started_at, ended_at, result, failed_step, " \
	"error_kind, reason, cert_serial, smoke_status, smoke_broker, " \
	"smoke_tls_version, smoke_cipher, smoke_detail"

/* Two runs exchanging their contents (hashes and all) is caught. */
static void
test_verify_catches_swapped_rows(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6), a = first + 1, b = first + 4;
	char sql[1024];

	/* chain_seq is UNIQUE: park the pair at negative positions first. */
	snprintf(sql, sizeof sql,
	    "DROP TRIGGER IF EXISTS runs_finished_immutable;"
	    "CREATE TEMP TABLE t AS SELECT * FROM runs WHERE id IN (%lld, "
	    "%lld);"
	    "UPDATE runs SET chain_seq = -chain_seq WHERE id IN (%lld, %lld);"
	    "UPDATE runs SET (" SWAP_COLS ", chain_seq, prev_hash, row_hash) ="
	    " (SELECT " SWAP_COLS ", chain_seq, prev_hash, row_hash FROM t"
	    "  WHERE t.id = (%lld + %lld - runs.id))"
	    " WHERE id IN (%lld, %lld);",
	    (long long)a, (long long)b, (long long)a, (long long)b,
	    (long long)a, (long long)b, (long long)a, (long long)b);
	expect_tamper(f, sql, LEDGER_EDITED, a, b);
}

/* Moving a run to another place in the chain breaks the links. */
static void
test_verify_catches_reordered_runs(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6), a = first + 1, b = first + 4;
	char sql[512];

	snprintf(sql, sizeof sql,
	    "DROP TRIGGER IF EXISTS runs_finished_immutable;"
	    "UPDATE runs SET chain_seq = -chain_seq WHERE id IN (%lld, %lld);"
	    "UPDATE runs SET chain_seq = (SELECT -chain_seq FROM runs r2"
	    "  WHERE r2.id = (%lld + %lld - runs.id)) WHERE id IN (%lld, "
	    "%lld);",
	    (long long)a, (long long)b, (long long)a, (long long)b,
	    (long long)a, (long long)b);
	expect_tamper(f, sql, LEDGER_REORDERED, a, b);
}

/* A finished run slipped in beside the chain is reported. */
static void
test_verify_catches_unchained_run(void **state)
{
	struct fixture *f = *state;

	finished_runs(f->l, 3);
	expect_tamper(f,
	    "INSERT INTO runs (id, station_id, slot, device_uri, started_at,"
	    " ended_at, result) VALUES (77, 'st-01', 0, 'tcp:x:1', 1, 2, "
	    "'PASS');",
	    LEDGER_UNCHAINED, 77, -1);
}

/*
 * The attack the run chain alone cannot catch: a run changed, then every
 * row_hash, prev_hash and the head recomputed with the documented
 * (unkeyed) encoding.  The run chain then verifies in full; the keyed
 * chain names the run, since its MAC needs the key.
 */
static void
test_recomputed_run_chain_is_caught_by_the_key(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 6);
	struct ledger_verify_report r;
	char prev[65], hash[65], *sql, *cause = NULL, row[24];

	ledger_close(f->l);
	f->l = NULL;
	sql = xasprintf("UPDATE runs SET reason = 'all fine' WHERE id = %lld",
	    (long long)first + 3);
	assert_int_equal(raw_tamper(f->path, sql), SQLITE_OK);
	free(sql);
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (int64_t id = first; id < first + 6; id++) {
		struct run_record rec;

		assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
		assert_int_equal(ledger_run_get(f->l, id, &rec, NULL), ST_OK);
		ledger_close(f->l);
		f->l = NULL;
		free(rec.prev_hash);
		rec.prev_hash = strdup(prev);
		expected_hash(&rec, hash);
		sql = xasprintf("UPDATE runs SET prev_hash = '%s', row_hash ="
				" '%s' WHERE id = %lld;"
				"UPDATE chain_head SET hash = '%s';",
		    prev, hash, (long long)id, hash);
		assert_int_equal(raw_tamper(f->path, sql), SQLITE_OK);
		free(sql);
		memcpy(prev, hash, sizeof prev);
		ledger_run_record_clear(&rec);
	}
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(ledger_verify(f->l, &r, &cause), ST_E_MISMATCH);
	assert_int_equal(r.runs_checked, 6); /* the run chain fooled */
	assert_int_equal(r.problem, LEDGER_EDITED);
	assert_string_equal(r.bad_table, "runs");
	snprintf(row, sizeof row, "%lld", (long long)first + 3);
	assert_string_equal(r.bad_row, row);
	assert_int_equal(r.bad_run_id, first + 3);
	assert_non_null(strstr(cause, "keyed chain entry"));
	free(cause);
}

/* Back to a ledger of schema 9 (before the keyed chain), as a station of
 * that version left it: no chain_log, no cert_events, its triggers. */
#define BEFORE_KEYED_CHAIN \
	"DROP TABLE run_progress; DROP TABLE ledger_meta;" \
	"DROP VIEW certificate_status; DROP TABLE cert_events;" \
	"DROP TABLE chain_log;" \
	"CREATE TRIGGER runs_finished_immutable BEFORE UPDATE ON runs" \
	" WHEN OLD.row_hash IS NOT NULL" \
	" BEGIN SELECT RAISE(ABORT, 'no'); END;" \
	"PRAGMA user_version = 9;"

/* An older ledger is sealed at its first open: its run chain verified,
 * its head recorded as keyed entry 1, then one entry per row. */
static void
test_older_ledger_is_sealed_from_its_run_chain_head(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	int64_t n = 0, rows = 0, head_seq = 0, genesis = 0;

	finished_runs(f->l, 5);
	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(raw_tamper(f->path, BEFORE_KEYED_CHAIN), SQLITE_OK);
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(ledger_verify(f->l, &r, NULL), ST_OK);
	assert_int_equal(raw_int(f->path,
			     "SELECT count(*) FROM chain_log c, chain_head h"
			     " WHERE c.seq = 1 AND c.tbl = 'genesis' AND"
			     " c.row_key = CAST(h.seq AS TEXT) AND"
			     " c.digest = h.hash",
			     &genesis),
	    SQLITE_OK);
	assert_int_equal(genesis, 1);
	assert_int_equal(raw_int(f->path, "SELECT seq FROM chain_head",
			     &head_seq),
	    SQLITE_OK);
	assert_int_equal(head_seq, 5);
	/* 5 runs, their devices: one entry per row, none yet for writes. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM chain_log", &n),
	    SQLITE_OK);
	assert_int_equal(raw_int(f->path,
			     "SELECT (SELECT count(*) FROM runs) +"
			     " (SELECT count(*) FROM run_events) +"
			     " (SELECT count(*) FROM devices)",
			     &rows),
	    SQLITE_OK);
	assert_int_equal(n, rows + 1);
}

/* An older ledger whose run chain does not verify is not sealed: the
 * station stops, naming the run, and the file stays as it was. */
static void
test_tampered_older_ledger_is_not_sealed(void **state)
{
	struct fixture *f = *state;
	int64_t first = finished_runs(f->l, 4), v = 0;
	char *sql = xasprintf(
	    "UPDATE runs SET reason = 'fine' WHERE id = %lld;" BEFORE_KEYED_CHAIN,
	    (long long)first + 1);
	char *cause = NULL, name[32];

	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(raw_tamper(f->path, sql), SQLITE_OK);
	free(sql);
	assert_int_equal(ledger_open(f->path, &f->l, &cause), ST_E_MISMATCH);
	assert_null(f->l);
	snprintf(name, sizeof name, "run %lld", (long long)first + 1);
	assert_non_null(strstr(cause, name));
	assert_non_null(strstr(cause, "not sealed"));
	free(cause);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, 9);
}

/* The chain survives close/reopen and keeps growing from where it was. */
static void
test_chain_intact_after_reopen(void **state)
{
	struct fixture *f = *state;
	struct run_record r;
	int64_t id;

	finished_runs(f->l, 20);
	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	expect_clean(f->l, 20);
	id = finished_runs(f->l, 5) + 4;
	expect_clean(f->l, 25);
	assert_int_equal(ledger_run_get(f->l, id, &r, NULL), ST_OK);
	assert_int_equal(r.chain_seq, 25);
	ledger_run_record_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_row_hash_follows_documented_serialization),
		T(test_verify_passes_on_clean_ledger),
		T(test_concurrent_runs_from_8_threads_chain_cleanly),
		T(test_verify_catches_edited_run),
		T(test_verify_catches_deleted_run),
		T(test_verify_catches_deleted_newest_runs),
		T(test_verify_catches_swapped_rows),
		T(test_verify_catches_reordered_runs),
		T(test_verify_catches_unchained_run),
		T(test_chain_intact_after_reopen),
		T(test_recomputed_run_chain_is_caught_by_the_key),
		T(test_older_ledger_is_sealed_from_its_run_chain_head),
		T(test_tampered_older_ledger_is_not_sealed),
#undef T
	};

	return cmocka_run_group_tests_name("ledger chain", tests, NULL, NULL);
}
