/*
 * Clock and key sanity in the ledger (issue 15, item 7): a run may not
 * start earlier than the newest recorded start by more than the skew (the
 * start time is faked through run_start.started_at_ms, the ledger's own
 * seam), and a public key's certificates are found by the key's hash for
 * any device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/db/ledger_fixture.h"

#define T0 1800000000000LL /* 2027-01-15, unix ms */
#define SKEW 300000LL	   /* five minutes */

static st_err
begin_at(struct ledger *l, int64_t at, int64_t skew, int64_t *id, char **cause)
{
	struct run_start s = {
		.station_id = "st-01",
		.device_uri = "tcp:127.0.0.1:4000",
		.started_at_ms = at,
		.max_skew_ms = skew,
	};

	return ledger_run_begin(l, &s, id, cause);
}

/* Time going back by more than the skew is refused, naming both times and
 * the run it is compared with; within the skew, or later, is accepted;
 * without a skew (0) nothing is checked. */
static void
test_start_before_the_latest_run_is_refused(void **state)
{
	struct fixture *f = *state;
	int64_t first = 0, id = 0;
	char *cause = NULL, want[64];

	assert_int_equal(begin_at(f->l, T0, SKEW, &first, NULL), ST_OK);
	/* Within the skew: two slots' clocks read a moment apart. */
	assert_int_equal(begin_at(f->l, T0 - SKEW + 1000, SKEW, &id, NULL),
	    ST_OK);
	assert_int_equal(begin_at(f->l, T0 - SKEW - 1000, SKEW, &id, &cause),
	    ST_E_STATE);
	assert_int_equal(id, 0);
	assert_non_null(cause);
	snprintf(want, sizeof want, "run %lld (2027-01-15T08:00:00Z)",
	    (long long)first);
	assert_non_null(strstr(cause, want));
	assert_non_null(strstr(cause, "2027-01-15T07:54:59Z"));
	assert_non_null(strstr(cause, "went backwards"));
	free(cause);
	cause = NULL;
	/* Nothing was recorded by the refused start. */
	int64_t n = -1;
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM runs", &n),
	    SQLITE_OK);
	assert_int_equal(n, 2);
	/* Later is always fine; no skew given: no check. */
	assert_int_equal(begin_at(f->l, T0 + 1, SKEW, &id, NULL), ST_OK);
	assert_int_equal(begin_at(f->l, T0 - 86400000LL, 0, &id, NULL), ST_OK);
}

/* A key's certificates are found by the hash recorded with the intent,
 * whatever the device and the certificate's status; another key finds
 * nothing. */
static void
test_certificate_found_by_key_for_any_device(void **state)
{
	static const char key[] = "aa00000000000000000000000000000000000000"
				  "000000000000000000000000";
	static const char other[] = "bb0000000000000000000000000000000000000"
				    "0000000000000000000000000";
	struct fixture *f = *state;
	struct cert_record c = fixture_cert("0a01", "SN-FIRST"), got;
	int64_t run = start_run(f->l, 1, "SN-FIRST");
	int found = -1;

	assert_true(run > 0);
	assert_int_equal(ledger_run_ca_request(f->l, run, key, NULL), ST_OK);
	assert_int_equal(ledger_cert_by_key(f->l, key, &got, &found, NULL),
	    ST_OK);
	assert_int_equal(found, 0); /* asked, not issued: not certified */
	assert_int_equal(ledger_cert_issued(f->l, run, &c, NULL), ST_OK);
	assert_int_equal(ledger_cert_set_status(f->l, "0a01", "orphaned", NULL,
			     NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_by_key(f->l, key, &got, &found, NULL),
	    ST_OK);
	assert_int_equal(found, 1);
	assert_string_equal(got.serial_hex, "0a01");
	assert_string_equal(got.device_serial, "SN-FIRST");
	assert_int_equal(got.run_id, run);
	ledger_cert_record_clear(&got);
	assert_int_equal(ledger_cert_by_key(f->l, other, &got, &found, NULL),
	    ST_OK);
	assert_int_equal(found, 0);
	assert_null(got.serial_hex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) \
	cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
		T(test_start_before_the_latest_run_is_refused),
		T(test_certificate_found_by_key_for_any_device),
#undef T
	};

	return cmocka_run_group_tests_name("ledger sanity", tests, NULL, NULL);
}
