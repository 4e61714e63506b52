/*
 * The serial reservation (ledger_serial_reserve) on a real ledger file:
 * one holder at a time, released with the run's end, refused under a live
 * certificate, and atomic across threads and across connections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/db/ledger_fixture.h"
#include "station/util/xalloc.h"

/* Rows in the reservations table, read through a separate connection. */
static int64_t
reservations(const char *path)
{
	int64_t n = -1;

	assert_int_equal(raw_int(path, "SELECT count(*) FROM reservations", &n),
	    SQLITE_OK);
	return n;
}

/* A second run of a reserved serial is refused with the holder named;
 * once the holder ends, the serial is free again. */
static void
test_second_run_is_refused_until_the_holder_ends(void **state)
{
	struct fixture *f = *state;
	int64_t a = start_run(f->l, 1, "DUP-0002");
	int64_t b = start_run(f->l, 2, "DUP-0002");
	struct serial_claim c;
	char *cause = NULL;

	assert_int_equal(ledger_serial_reserve(f->l, a, "DUP-0002", 1, &c,
			     NULL),
	    ST_OK);
	assert_int_equal(c.holder_run, 0);
	assert_int_equal(reservations(f->path), 1);
	ledger_serial_claim_clear(&c);
	/* Again for the same run: still its own. */
	assert_int_equal(ledger_serial_reserve(f->l, a, "DUP-0002", 1, &c,
			     NULL),
	    ST_OK);
	ledger_serial_claim_clear(&c);

	assert_int_equal(ledger_serial_reserve(f->l, b, "DUP-0002", 0, &c,
			     &cause),
	    ST_E_STATE);
	assert_int_equal(c.holder_run, a);
	assert_int_equal(c.holder_slot, 1);
	assert_string_equal(c.holder_station, "st-01");
	char *want = xasprintf("serial DUP-0002 is being provisioned in slot 1 "
			       "by station st-01, run %lld",
	    (long long)a);
	assert_string_equal(cause, want);
	free(want);
	free(cause);
	cause = NULL;
	ledger_serial_claim_clear(&c);

	assert_int_equal(ledger_run_finish(f->l, a, "FAIL", "keygen", "device",
			     "chip fault", NULL),
	    ST_OK);
	assert_int_equal(ledger_serial_reserve(f->l, b, "DUP-0002", 1, &c,
			     NULL),
	    ST_OK);
	ledger_serial_claim_clear(&c);
	assert_int_equal(ledger_run_finish(f->l, b, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	/* Both runs over: nothing is held. */
	assert_int_equal(reservations(f->path), 0);
	struct ledger_verify_report rep;
	assert_int_equal(ledger_verify(f->l, &rep, NULL), ST_OK);
}

/* Under `refuse` a live certificate stops the run and reserves nothing;
 * without it the run reserves and learns of the live certificate. */
static void
test_live_certificate_refused_or_reported(void **state)
{
	struct fixture *f = *state;
	int64_t old = start_run(f->l, 1, "LIVE-1");
	int64_t again = start_run(f->l, 1, "LIVE-1");
	int64_t third = start_run(f->l, 2, "LIVE-1");
	struct serial_claim c;

	struct cert_record in = fixture_cert("0a1b", "LIVE-1");
	assert_int_equal(ledger_cert_issued(f->l, old, &in, NULL), ST_OK);
	assert_int_equal(ledger_run_finish(f->l, old, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);

	assert_int_equal(ledger_serial_reserve(f->l, again, "LIVE-1", 1, &c,
			     NULL),
	    ST_E_EXISTS);
	assert_true(c.live_found);
	assert_string_equal(c.live.serial_hex, "0a1b");
	ledger_serial_claim_clear(&c);
	/* Refused means not reserved: another run may still take it. */
	assert_int_equal(ledger_serial_reserve(f->l, third, "LIVE-1", 0, &c,
			     NULL),
	    ST_OK);
	assert_true(c.live_found);
	assert_string_equal(c.live.status, "issued");
	ledger_serial_claim_clear(&c);
	assert_int_equal(ledger_serial_reserve(f->l, again, "LIVE-1", 0, &c,
			     NULL),
	    ST_E_STATE);
	assert_int_equal(c.holder_run, third);
	ledger_serial_claim_clear(&c);
}

/* A reservation left behind by a run that is no longer running (written
 * by hand here) does not hold the serial. */
static void
test_stale_reservation_is_taken_over(void **state)
{
	struct fixture *f = *state;
	int64_t gone = start_run(f->l, 1, "STALE-1");
	int64_t next = start_run(f->l, 2, "STALE-1");
	struct serial_claim c;

	assert_int_equal(ledger_run_finish(f->l, gone, "FAIL", "hello",
			     "timeout", NULL, NULL),
	    ST_OK);
	char *sql = xasprintf("INSERT INTO reservations VALUES ('STALE-1', "
			      "%lld, 1)",
	    (long long)gone);
	assert_int_equal(raw_sql(f->path, sql), SQLITE_OK);
	free(sql);
	assert_int_equal(ledger_serial_reserve(f->l, next, "STALE-1", 1, &c,
			     NULL),
	    ST_OK);
	ledger_serial_claim_clear(&c);
	/* A finished run cannot reserve anything. */
	assert_int_equal(ledger_serial_reserve(f->l, gone, "OTHER-1", 1, &c,
			     NULL),
	    ST_E_STATE);
	ledger_serial_claim_clear(&c);
}

#define RACERS 8

struct racer {
	struct ledger *l;
	int64_t run;
	pthread_barrier_t *go;
	st_err got;
};

static void *
race(void *arg)
{
	struct racer *r = arg;
	struct serial_claim c;

	pthread_barrier_wait(r->go);
	r->got = ledger_serial_reserve(r->l, r->run, "RACE-1", 1, &c, NULL);
	ledger_serial_claim_clear(&c);
	return NULL;
}

/* Released together (a barrier), racers on one shared handle (threads)
 * and on their own handles (connections, as processes have): exactly one
 * reserves, every other one is told the serial is held. */
static void
test_racers_exactly_one_wins(void **state)
{
	struct fixture *f = *state;
	struct ledger *own[RACERS / 2] = { 0 };
	struct racer r[RACERS];
	pthread_t th[RACERS];
	pthread_barrier_t go;
	int won = 0, held = 0;

	pthread_barrier_init(&go, NULL, RACERS);
	for (int i = 0; i < RACERS; i++) {
		struct ledger *l = f->l;

		if (i % 2) {
			assert_int_equal(ledger_open(f->path, &own[i / 2],
					     NULL),
			    ST_OK);
			l = own[i / 2];
		}
		r[i] = (struct racer){ .l = l,
			.run = start_run(f->l, i + 1, "RACE-1"),
			.go = &go };
		assert_true(r[i].run > 0);
	}
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
	for (int i = 0; i < RACERS; i++) {
		pthread_join(th[i], NULL);
		won += r[i].got == ST_OK;
		held += r[i].got == ST_E_STATE;
	}
	assert_int_equal(won, 1);
	assert_int_equal(held, RACERS - 1);
	for (int i = 0; i < RACERS / 2; i++)
		ledger_close(own[i]);
	pthread_barrier_destroy(&go);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_second_run_is_refused_until_the_holder_ends,
		    fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_live_certificate_refused_or_reported, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_stale_reservation_is_taken_over, fixture_setup,
		    fixture_teardown),
		cmocka_unit_test_setup_teardown(test_racers_exactly_one_wins,
		    fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
