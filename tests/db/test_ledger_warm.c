/*
 * Preparing a run's statements ahead (db/ledger.h, ledger_warm_run_start
 * and ledger_warm_run_end), on a real SQLite file: every statement the
 * run's writes look up is in the ledger's statement cache afterwards,
 * in order and only for as long as the caller's `more` says, nothing is
 * written, and runs record and verify as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "db/ledger_int.h"
#include "tests/db/ledger_fixture.h"

static int
cached(struct ledger *l, const char *sql)
{
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		if (l->cache[i].st != NULL && strcmp(l->cache[i].sql, sql) == 0)
			return 1;
	}
	return 0;
}

static const char *const run_start[] = { db_sql_latest_start, db_sql_run_begin,
	db_sql_run_step, db_sql_run_event, db_sql_run_device,
	db_sql_device_seen, db_sql_reserve_holder, db_sql_serial_live,
	db_sql_reserve, db_sql_cert_by_key, db_sql_run_ca_request,
	db_sql_run_ca_reply, db_sql_run_cert, db_sql_cert_insert,
	db_sql_cert_status_of, db_sql_cert_status };
static const char *const run_end[] = { db_sql_run_smoke, db_sql_run_result,
	db_sql_release_serial, db_sql_clear_step, db_sql_chain_head,
	db_sql_chain_place, db_sql_chain_row, db_sql_chain_seal,
	db_sql_chain_advance };

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Rows of `table` in the file, through a connection of its own. */
static long long
rows(const struct fixture *f, const char *table)
{
	char sql[128];
	int64_t n = -1;

	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	assert_int_equal(raw_int(f->path, sql, &n), SQLITE_OK);
	return (long long)n;
}

static void
test_every_statement_is_prepared_and_nothing_written(void **state)
{
	struct fixture *f = *state;
	long long runs = rows(f, "runs"), chain = rows(f, "chain_log");

	for (size_t i = 0; i < N_OF(run_start); i++)
		assert_false(cached(f->l, run_start[i]));
	ledger_warm_run_start(f->l, NULL, NULL);
	ledger_warm_run_end(f->l);
	for (size_t i = 0; i < N_OF(run_start); i++)
		assert_true(cached(f->l, run_start[i]));
	for (size_t i = 0; i < N_OF(run_end); i++)
		assert_true(cached(f->l, run_end[i]));
	assert_int_equal(rows(f, "runs"), runs);
	assert_int_equal(rows(f, "chain_log"), chain);
}

/* `more` allows this many statements, then says stop. */
static int
allow(void *arg)
{
	int *left = arg;

	return (*left)-- > 0;
}

static void
test_more_says_how_far(void **state)
{
	struct fixture *f = *state;
	int left = 0;

	ledger_warm_run_start(f->l, allow, &left);
	assert_false(cached(f->l, run_start[0]));
	left = 2;
	ledger_warm_run_start(f->l, allow, &left);
	assert_true(cached(f->l, run_start[0]));
	assert_true(cached(f->l, run_start[1]));
	assert_false(cached(f->l, run_start[2]));
}

static void
test_runs_record_and_verify_after_it(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	int64_t id;

	ledger_warm_run_start(f->l, NULL, NULL);
	ledger_warm_run_end(f->l);
	id = start_run(f->l, 1, "SN-WARM-1");
	assert_true(id > 0);
	assert_int_equal(ledger_run_smoke(f->l, id, LEDGER_SMOKE_SKIPPED, NULL,
			     NULL, NULL, "no broker configured", NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->l, id, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	memset(&r, 0, sizeof r);
	assert_int_equal(ledger_verify(f->l, &r, NULL), ST_OK);
	assert_int_equal(r.problem, LEDGER_OK);
	assert_int_equal(rows(f, "runs"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_every_statement_is_prepared_and_nothing_written,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_more_says_how_far,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_runs_record_and_verify_after_it, fixture_setup,
		    fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
