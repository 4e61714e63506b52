/*
 * Opening the ledger, on real SQLite files: an open of a ledger whose
 * chain triggers are current writes nothing (the file's bytes, its mtime
 * and the empty WAL prove it) while a trigger dropped by hand is made
 * again; the running step lives in run_progress, outside the keyed
 * chain, and survives the migration from schema 11; the read-only open
 * (ledger_open_ro) reads and verifies without writing, refuses every
 * write, an older schema and a missing file, and says why verify cannot
 * check the keyed chain without the key.  (The same as another uid,
 * through the `station` program: tests/station/cli/test_ledger_ro.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "station/util/xalloc.h"
#include "tests/db/ledger_fixture.h"
#include "tests/support/file_state.h"

static off_t
file_size(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) != 0)
		return -1;
	return sb.st_size;
}

static int64_t
finished_run(struct ledger *l, const char *serial)
{
	int64_t id = start_run(l, 1, serial);

	assert_true(id > 0);
	assert_int_equal(ledger_run_finish(l, id, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	return id;
}

/* A ledger last closed by a station: its WAL stays beside it, empty; the
 * next open of a current ledger reads the stamp, takes no write lock and
 * writes nothing. */
static void
test_current_ledger_opens_without_writing(void **state)
{
	struct fixture *f = *state;
	struct file_state before, after;
	sqlite3 *writer = NULL;
	char wal[160];
	int64_t n = 0;

	finished_run(f->l, "SN-1");
	ledger_close(f->l);
	f->l = NULL;
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	/* Kept (and emptied) on close: a read-only reader needs it. */
	assert_int_equal(file_size(wal), 0);
	assert_int_equal(raw_int(f->path,
			     "SELECT count(*) FROM ledger_meta"
			     " WHERE name = 'keyed_triggers'",
			     &n),
	    SQLITE_OK);
	assert_int_equal(n, 1);
	/* raw_int's connection was the last: it took the WAL with it. */
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	ledger_close(f->l);
	f->l = NULL;

	file_state(f->path, &before);
	/* Another station holds the write lock (BEGIN IMMEDIATE): an open
	 * that took it (the migration's path) would wait and fail BUSY. */
	assert_int_equal(sqlite3_open(f->path, &writer), SQLITE_OK);
	assert_int_equal(sqlite3_exec(writer, "BEGIN IMMEDIATE", NULL, NULL,
			     NULL),
	    SQLITE_OK);
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(sqlite3_exec(writer, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(writer);
	/* Nothing committed: the WAL holds no frame, not even a header. */
	assert_int_equal(file_size(wal), 0);
	ledger_close(f->l);
	f->l = NULL;
	file_state(f->path, &after);
	assert_same_file(&before, &after);
	assert_int_equal(file_size(wal), 0);
}

/* A chain trigger dropped by hand changes the triggers' stamp: the next
 * open makes it again, and new rows are chained. */
static void
test_a_dropped_chain_trigger_is_made_again(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	int64_t n = -1;

	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(raw_sql(f->path, "DROP TRIGGER chain_runs_ins"),
	    SQLITE_OK);
	assert_int_equal(raw_int(f->path,
			     "SELECT count(*) FROM sqlite_master"
			     " WHERE name = 'chain_runs_ins'",
			     &n),
	    SQLITE_OK);
	assert_int_equal(n, 0);
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(raw_int(f->path,
			     "SELECT count(*) FROM sqlite_master"
			     " WHERE name = 'chain_runs_ins'",
			     &n),
	    SQLITE_OK);
	assert_int_equal(n, 1);
	finished_run(f->l, "SN-2");
	assert_int_equal(ledger_verify(f->l, &r, NULL), ST_OK);
}

/* Each step's start is recorded in run_progress: recovery reads it, the
 * keyed chain gains no entry, and the row goes when the run ends. */
static void
test_step_is_recorded_outside_the_keyed_chain(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	struct open_run *runs = NULL;
	size_t nruns = 0;
	int64_t id = start_run(f->l, 1, "SN-3"), before = 0, after = 0, rows;

	assert_true(id > 0);
	assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM chain_log",
			     &before),
	    SQLITE_OK);
	assert_int_equal(ledger_run_step(f->l, id, "connect", NULL), ST_OK);
	assert_int_equal(ledger_run_step(f->l, id, "hello", NULL), ST_OK);
	assert_int_equal(ledger_run_step(f->l, id, "keygen", NULL), ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT max(seq) FROM chain_log",
			     &after),
	    SQLITE_OK);
	assert_int_equal(after, before);
	assert_int_equal(ledger_open_runs(f->l, &runs, &nruns, NULL), ST_OK);
	assert_int_equal(nruns, 1);
	assert_string_equal(runs[0].current_step, "keygen");
	ledger_open_runs_free(runs, nruns);

	assert_int_equal(ledger_run_finish(f->l, id, "FAIL", "keygen",
			     "timeout", "no answer", NULL),
	    ST_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM run_progress",
			     &rows),
	    SQLITE_OK);
	assert_int_equal(rows, 0);
	assert_int_equal(ledger_run_step(f->l, id, "sign", NULL), ST_E_STATE);
	assert_int_equal(ledger_verify(f->l, &r, NULL), ST_OK);
}

/* A schema 11 ledger left by a station killed mid-run: the migration
 * carries the run's step from runs.current_step to run_progress. */
static void
test_migration_keeps_a_running_runs_step(void **state)
{
	struct fixture *f = *state;
	struct open_run *runs = NULL;
	size_t nruns = 0;
	int64_t id = start_run(f->l, 2, "SN-4"), v = 0;
	char *sql;

	assert_true(id > 0);
	ledger_close(f->l);
	f->l = NULL;
	sql = xasprintf("DROP TABLE run_progress; DROP TABLE ledger_meta;"
			"DROP TRIGGER chain_runs_upd;"
			"UPDATE runs SET current_step = 'sign'"
			" WHERE id = %lld;"
			"PRAGMA user_version = 11;",
	    (long long)id);
	assert_int_equal(raw_sql(f->path, sql), SQLITE_OK);
	free(sql);
	assert_int_equal(ledger_open(f->path, &f->l, NULL), ST_OK);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, LEDGER_SCHEMA_VERSION);
	assert_int_equal(ledger_open_runs(f->l, &runs, &nruns, NULL), ST_OK);
	assert_int_equal(nruns, 1);
	assert_string_equal(runs[0].current_step, "sign");
	ledger_open_runs_free(runs, nruns);
}

static int
count_run(const struct run_record *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

/* Read-only: lists, verifies with the key, refuses every write, and the
 * file is as it was (bytes and mtime). */
static void
test_read_only_open_reads_and_never_writes(void **state)
{
	struct fixture *f = *state;
	struct file_state before, after;
	struct ledger_verify_report r;
	struct ledger *ro = NULL;
	char *cause = NULL;
	int n = 0;
	int64_t id;

	finished_run(f->l, "SN-5");
	id = start_run(f->l, 1, "SN-6");
	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(chmod(f->path, 0400), 0);
	file_state(f->path, &before);

	assert_int_equal(ledger_open_ro(f->path, NULL, &ro, &cause), ST_OK);
	assert_int_equal(ledger_list_runs(ro, 0, count_run, &n, NULL), ST_OK);
	assert_int_equal(n, 2);
	assert_int_equal(ledger_verify(ro, &r, NULL), ST_OK);
	assert_int_equal(r.runs_checked, 1);
	assert_int_equal(ledger_run_step(ro, id, "hello", &cause), ST_E_STATE);
	assert_non_null(strstr(cause, "read-only"));
	free(cause);
	cause = NULL;
	assert_int_equal(ledger_run_finish(ro, id, "FAIL", NULL, NULL, NULL,
			     NULL),
	    ST_E_STATE);
	ledger_close(ro);
	file_state(f->path, &after);
	assert_same_file(&before, &after);
	assert_int_equal(chmod(f->path, 0600), 0);
}

/* An older schema is not migrated by a reader: refused, naming the file
 * and the fix, and left at its version. */
static void
test_read_only_open_refuses_an_older_schema(void **state)
{
	struct fixture *f = *state;
	struct ledger *ro = NULL;
	char *cause = NULL;
	int64_t v = 0;

	ledger_close(f->l);
	f->l = NULL;
	assert_int_equal(raw_sql(f->path, "PRAGMA user_version = 11"),
	    SQLITE_OK);
	assert_int_equal(ledger_open_ro(f->path, NULL, &ro, &cause),
	    ST_E_CONFIG);
	assert_null(ro);
	assert_non_null(strstr(cause, f->path));
	assert_non_null(strstr(cause, "schema version 11"));
	assert_non_null(strstr(cause, "station recover"));
	free(cause);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version", &v),
	    SQLITE_OK);
	assert_int_equal(v, 11);
}

/* No file: nothing is created. */
static void
test_read_only_open_creates_nothing(void **state)
{
	struct fixture *f = *state;
	struct ledger *ro = NULL;
	char *cause = NULL, *path = xasprintf("%s/none.db", f->dir);

	assert_int_equal(ledger_open_ro(path, NULL, &ro, &cause),
	    ST_E_NOTFOUND);
	assert_non_null(strstr(cause, path));
	assert_int_equal(access(path, F_OK), -1);
	free(cause);
	free(path);
}

/* Without the key the runs can be read; verify says why it cannot check
 * the keyed chain. */
static void
test_read_only_verify_without_the_key_says_why(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	struct ledger *ro = NULL;
	char *cause = NULL, *key = xasprintf("%s-none/ledger.key", f->dir);
	int n = 0;

	finished_run(f->l, "SN-7");
	assert_int_equal(ledger_open_ro(f->path, key, &ro, NULL), ST_OK);
	assert_int_equal(ledger_list_runs(ro, 0, count_run, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ledger_verify(ro, &r, &cause), ST_E_CONFIG);
	assert_non_null(strstr(cause, "keyed chain cannot be checked"));
	assert_non_null(strstr(cause, key));
	assert_non_null(strstr(cause, "restore the key file"));
	free(cause);
	free(key);
	ledger_close(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_current_ledger_opens_without_writing, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_dropped_chain_trigger_is_made_again, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_step_is_recorded_outside_the_keyed_chain,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_migration_keeps_a_running_runs_step, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_only_open_reads_and_never_writes, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_only_open_refuses_an_older_schema, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_only_open_creates_nothing, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_only_verify_without_the_key_says_why,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests_name("ledger open", tests, NULL, NULL);
}
