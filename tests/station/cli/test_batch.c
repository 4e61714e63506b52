/*
 * `station batch`: the real program against devsim processes, its JSON
 * lines checked against the ledger it wrote.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/sim_line.h"

#define MAX_LINES 32

struct out {
	json_t *lines[MAX_LINES];
	size_t n;
	json_t *summary;
	size_t n_rejected;
};

static void
out_clear(struct out *o)
{
	for (size_t i = 0; i < o->n; i++)
		json_decref(o->lines[i]);
	memset(o, 0, sizeof *o);
}

/* Run the batch on `scans`; parse every stdout line as JSON. */
static int
run_batch(struct sim_line *sl, const char *config, int with_fixture,
    const char *scans, struct out *o)
{
	char *input = sim_line_write(sl, "scans.txt", scans);
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--config", config, "batch", "--input", input, "--batch",
		"LOT-9", "--operator", "op-3",
		with_fixture ? "--fixture" : NULL, sl->fixture_path, NULL };
	char *text = NULL;
	int rc = proc_run_capture(argv, &text);

	memset(o, 0, sizeof *o);
	for (char *line = text, *nl; line && *line; line = nl + 1) {
		json_error_t jerr;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		json_t *j = json_loads(line, 0, &jerr);
		if (j == NULL)
			fail_msg("not JSON: '%s'", line);
		assert_true(o->n < MAX_LINES);
		o->lines[o->n++] = j;
		if (json_is_true(json_object_get(j, "summary")))
			o->summary = j;
		if (json_is_true(json_object_get(j, "rejected")))
			o->n_rejected++;
	}
	free(text);
	free(input);
	assert_non_null(o->summary);
	assert_ptr_equal(o->summary, o->lines[o->n - 1]);
	return rc;
}

static json_int_t
jint(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *
jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static void
expect_summary(struct out *o, int runs, int passed, int failed, int rejected)
{
	assert_int_equal(jint(o->summary, "runs"), runs);
	assert_int_equal(jint(o->summary, "passed"), passed);
	assert_int_equal(jint(o->summary, "failed"), failed);
	assert_int_equal(jint(o->summary, "rejected_scans"), rejected);
	assert_int_equal(o->n, (size_t)(runs + rejected + 1));
	assert_int_equal(o->n_rejected, (size_t)rejected);
}

/* Every run line agrees with its ledger row; returns how many. */
static int
check_ledger(struct sim_line *sl, struct out *o)
{
	char *path = xasprintf("%s/ledger.db", sl->dir);
	struct ledger *l = NULL;
	int runs = 0;

	assert_int_equal(ledger_open(path, &l, NULL), ST_OK);
	for (size_t i = 0; i < o->n; i++) {
		json_t *j = o->lines[i];
		struct run_record rec = { 0 };

		if (j == o->summary || json_object_get(j, "rejected"))
			continue;
		assert_int_equal(ledger_run_get(l, jint(j, "run_id"), &rec,
				     NULL),
		    ST_OK);
		assert_string_equal(rec.result, jstr(j, "result"));
		assert_string_equal(rec.scanned_serial,
		    jstr(j, "scanned_serial"));
		assert_string_equal(rec.device_serial, jstr(j, "serial"));
		assert_int_equal(rec.slot, jint(j, "slot"));
		assert_string_equal(rec.batch, "LOT-9");
		assert_string_equal(rec.operator_id, "op-3");
		if (rec.failed_step)
			assert_string_equal(rec.failed_step,
			    jstr(j, "failed_step"));
		ledger_run_record_clear(&rec);
		runs++;
	}
	int64_t total = 0;
	assert_int_equal(ledger_count_runs(l, NULL, &total, NULL), ST_OK);
	assert_int_equal(total, runs);
	ledger_close(l);
	free(path);
	return runs;
}

/* The run line for `scanned` on `slot`, or a failure. */
static json_t *
find_run(struct out *o, const char *scanned, int slot)
{
	for (size_t i = 0; i < o->n; i++) {
		json_t *j = o->lines[i];

		if (strcmp(jstr(j, "scanned_serial"), scanned) == 0 &&
		    jint(j, "slot") == slot)
			return j;
	}
	fail_msg("no run line for %s on slot %d", scanned, slot);
	return NULL;
}

/* The JSON lines of the refusals, in order, must each contain the next
 * of `why` (n of them). */
static void
expect_refusals(struct out *o, const char *const *why, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < o->n; i++) {
		json_t *j = o->lines[i];

		if (!json_is_true(json_object_get(j, "rejected")))
			continue;
		assert_true(k < n);
		if (strstr(jstr(j, "reason"), why[k]) == NULL)
			fail_msg("rejection %zu: '%s', wanted '%s'", k,
			    jstr(j, "reason"), why[k]);
		k++;
	}
	assert_int_equal(k, n);
}

/* N scans in, N PASS lines and a summary out, exit 0, ledger agrees. */
static void
test_all_scans_pass_exit_0_and_match_the_ledger(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(3, "BAT-A", 1000, NULL);
	/* The unlabelled scan comes first: with every slot free the next
	 * free slot is slot 1. */
	char *scans = xasprintf("%s\n\n%s S3\n%s S2\n", sl->serials[0],
	    sl->serials[2], sl->serials[1]);
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 0);
	expect_summary(&o, 3, 3, 0, 0);
	/* no broker: every PASS had no smoke test, and the summary says so;
	 * a configured station is no demo */
	assert_int_equal(json_integer_value(
			     json_object_get(o.summary, "passed_no_smoke")),
	    3);
	assert_null(json_object_get(o.summary, "mode"));
	assert_string_equal(jstr(find_run(&o, sl->serials[2], 3), "result"),
	    "PASS");
	assert_string_equal(jstr(find_run(&o, sl->serials[0], 1), "result"),
	    "PASS");
	assert_int_equal(check_ledger(sl, &o), 3);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* A label scanned onto the wrong slot FAILs at serial-check (exit 1);
 * scanning that serial again (rework) is not a duplicate and PASSes. */
static void
test_mismatched_scan_fails_and_can_be_reworked(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(2, "BAT-M", 1000, NULL);
	/* The second scan waits for S2, so the first run's result is known
	 * before the third scan is read. */
	char *scans = xasprintf("%s S2\n%s S2\n%s S1\n", sl->serials[0],
	    sl->serials[1], sl->serials[0]);
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 1);
	expect_summary(&o, 3, 2, 1, 0);
	json_t *bad = find_run(&o, sl->serials[0], 2);
	assert_string_equal(jstr(bad, "result"), "FAIL");
	assert_string_equal(jstr(bad, "failed_step"), "serial-check");
	assert_string_equal(jstr(bad, "serial"), sl->serials[1]);
	assert_string_equal(jstr(find_run(&o, sl->serials[0], 1), "result"),
	    "PASS");
	assert_string_equal(jstr(find_run(&o, sl->serials[1], 2), "result"),
	    "PASS");
	assert_int_equal(check_ledger(sl, &o), 3);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* Invalid serials, unknown labels, malformed lines and duplicates are
 * refused with a JSON line each and start nothing. */
static void
test_invalid_and_duplicate_scans_are_rejected(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(2, "BAT-R", 1000, NULL);
	char *scans = xasprintf("bad/serial\n%s S1\n%s S2\n%s S9\n"
				"a b c\n%s S2\n",
	    sl->serials[0], sl->serials[0], sl->serials[1], sl->serials[1]);
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 1);
	expect_summary(&o, 2, 2, 0, 4);
	const char *why[] = { "not a valid device serial", "duplicate",
		"no slot with this label", "expected 'SERIAL [SLOT-LABEL]'" };
	expect_refusals(&o, why, 4);
	assert_int_equal(check_ledger(sl, &o), 2);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* The line's configuration with `extra` appended, written as `name`;
 * returns its path (caller frees). */
static char *
config_plus(struct sim_line *sl, const char *name, const char *extra)
{
	FILE *fp = fopen(sl->config_path, "r");
	char base[1024];
	size_t n;
	char *text, *path;

	assert_non_null(fp);
	n = fread(base, 1, sizeof base - 1, fp);
	fclose(fp);
	base[n] = '\0';
	text = xasprintf("%s%s", base, extra);
	path = sim_line_write(sl, name, text);
	free(text);
	return path;
}

/* The slot profile's label rule in batch mode: a Caps Lock scan is
 * folded and runs under the printed label, a label the rule refuses is
 * rejected with its reason and leaves no run in the ledger. */
static void
test_label_rule_folds_and_refuses_scans(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(2, "BAT-L", 1000, NULL);
	char *config = config_plus(sl, "with-rule.ini",
	    "[profile default]\nlabel_case = upper\n"
	    "label_pattern = BAT-L-[0-9]+\n");
	struct out o;

	assert_int_equal(run_batch(sl, config, 1,
			     "bat-l-1 S1\nXX-9 S2\nbat-l-2\n", &o),
	    1);
	expect_summary(&o, 2, 2, 0, 1);
	const char *why[] = { "unknown label format" };
	expect_refusals(&o, why, 1);
	assert_string_equal(jstr(find_run(&o, "BAT-L-1", 1), "result"), "PASS");
	assert_string_equal(jstr(find_run(&o, "BAT-L-2", 2), "result"), "PASS");
	assert_int_equal(check_ledger(sl, &o), 2);
	out_clear(&o);
	free(config);
	sim_line_stop(sl);
}

/* Without --fixture the configuration's [slot N] sections are the line. */
static void
test_config_slots_are_the_default_fixture(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(1, "BAT-C", 1000, NULL);
	char *slot = xasprintf("[slot 1]\ndevice = %s\n", sl->sims[0]->uri);
	char *config = config_plus(sl, "with-slots.ini", slot);
	char *scans = xasprintf("%s\n", sl->serials[0]);
	struct out o;

	assert_int_equal(run_batch(sl, config, 0, scans, &o), 0);
	expect_summary(&o, 1, 1, 0, 0);
	assert_int_equal(check_ledger(sl, &o), 1);
	out_clear(&o);
	free(scans);
	free(config);
	free(slot);
	sim_line_stop(sl);
}

/* How many runs the ledger holds. */
static int64_t
ledger_runs(struct sim_line *sl)
{
	char *path = xasprintf("%s/ledger.db", sl->dir);
	struct ledger *l = NULL;
	int64_t total = -1;

	assert_int_equal(ledger_open(path, &l, NULL), ST_OK);
	assert_int_equal(ledger_count_runs(l, NULL, &total, NULL), ST_OK);
	ledger_close(l);
	free(path);
	return total;
}

/* What `station probe --json` says of slot i+1's device (caller frees). */
static char *
probe_device(struct sim_line *sl, size_t i)
{
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--config", sl->config_path, "probe", "--json",
		sl->sims[i]->uri, NULL };
	char *text = NULL;

	assert_int_equal(proc_run_capture(argv, &text), 0);
	return text;
}

/* Four boards, one lone scan each, in an order unlike the slots': each
 * runs on the slot whose device reports its serial, so all four PASS
 * (before, every lone scan took the first slot not running). */
static void
test_lone_scans_run_on_the_slot_holding_the_board(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(4, "LONE", 1000, NULL);
	char *scans = xasprintf("%s\n%s\n%s\n%s\n", sl->serials[2],
	    sl->serials[0], sl->serials[3], sl->serials[1]);
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 0);
	expect_summary(&o, 4, 4, 0, 0);
	for (int i = 0; i < 4; i++) {
		json_t *j = find_run(&o, sl->serials[i], i + 1);

		assert_string_equal(jstr(j, "result"), "PASS");
		assert_string_equal(jstr(j, "serial"), sl->serials[i]);
	}
	assert_int_equal(check_ledger(sl, &o), 4);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* A lone scan of a serial no board reports is refused at once with the
 * serial named: no run on record (the ledger holds as many runs as
 * before) and no device changed (each says the same to HELLO). */
static void
test_lone_scan_of_no_board_is_refused_and_touches_nothing(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(2, "NOB", 1000, NULL);
	char *first = xasprintf("%s\n", sl->serials[0]);
	const char *why[] = { "no board with serial NOB-77 in the fixture" };
	char *before[2], *after[2];
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, first, &o), 0);
	out_clear(&o);
	int64_t runs = ledger_runs(sl);
	assert_int_equal(runs, 1);
	for (size_t i = 0; i < 2; i++)
		before[i] = probe_device(sl, i);
	assert_int_equal(run_batch(sl, sl->config_path, 1, "NOB-77\n", &o), 1);
	expect_summary(&o, 0, 0, 0, 1);
	expect_refusals(&o, why, 1);
	assert_int_equal(ledger_runs(sl), runs);
	for (size_t i = 0; i < 2; i++) {
		after[i] = probe_device(sl, i);
		assert_string_equal(after[i], before[i]);
		free(before[i]);
		free(after[i]);
	}
	out_clear(&o);
	free(first);
	sim_line_stop(sl);
}

/* Scanning a board that PASSed in this batch again is refused as a
 * duplicate: it never becomes a FAIL on another board. */
static void
test_lone_rescan_of_a_passed_board_is_refused_not_failed(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(2, "AGN", 1000, NULL);
	char *scans = xasprintf("%s\n%s\n", sl->serials[1], sl->serials[1]);
	const char *why[] = { "duplicate" };
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 1);
	expect_summary(&o, 1, 1, 0, 1);
	expect_refusals(&o, why, 1);
	assert_string_equal(jstr(find_run(&o, sl->serials[1], 2), "result"),
	    "PASS");
	assert_int_equal(check_ledger(sl, &o), 1);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* Two boards reporting the same serial: the lone scan is refused naming
 * both slots (never a guess) and starts nothing. */
static void
test_lone_scan_of_a_serial_two_boards_report_is_refused(void **state)
{
	(void)state;
	const char *const twin[] = { "--serial", "TWIN-1", NULL };
	const struct sim_slot_opts opts[3] = { { twin, NULL }, { NULL, NULL },
		{ twin, NULL } };
	struct sim_line *sl = sim_line_start(3, "TW", 1000, opts);
	const char *why[] = { "slot 1 (S1), slot 3 (S3)" };
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, "TWIN-1\n", &o), 1);
	expect_summary(&o, 0, 0, 0, 1);
	expect_refusals(&o, why, 1);
	assert_int_equal(check_ledger(sl, &o), 0);
	out_clear(&o);
	sim_line_stop(sl);
}

/* A slot whose device never answers costs only its own HELLO deadline:
 * lone scans still reach the boards of the other slots and PASS, and the
 * silent board's serial is refused (it cannot say it holds it). */
static void
test_silent_slot_does_not_stop_lone_scans(void **state)
{
	(void)state;
	const char *const silent[] = { "--fault", "silent", NULL };
	const struct sim_slot_opts opts[3] = { { silent, NULL }, { NULL, NULL },
		{ NULL, NULL } };
	struct sim_line *sl = sim_line_start(3, "SIL", 1000, opts);
	char *scans = xasprintf("%s\n%s\n%s\n", sl->serials[2], sl->serials[0],
	    sl->serials[1]);
	const char *why[] = { "no board with serial SIL-1" };
	struct out o;

	assert_int_equal(run_batch(sl, sl->config_path, 1, scans, &o), 1);
	expect_summary(&o, 2, 2, 0, 1);
	expect_refusals(&o, why, 1);
	assert_string_equal(jstr(find_run(&o, sl->serials[2], 3), "result"),
	    "PASS");
	assert_string_equal(jstr(find_run(&o, sl->serials[1], 2), "result"),
	    "PASS");
	assert_int_equal(check_ledger(sl, &o), 2);
	out_clear(&o);
	free(scans);
	sim_line_stop(sl);
}

/* Bad options are usage errors; a broken fixture is a station error. */
static void
test_usage_and_fixture_errors_exit_codes(void **state)
{
	(void)state;
	struct sim_line *sl = sim_line_start(1, "BAT-U", 1000, NULL);
	const char *bin = test_bin("STATION_BIN", "build/bin/station");
	char *bad = sim_line_write(sl, "bad.ini", "[slot 1]\nlabel = A\n");
	const char *usage[] = { bin, "batch", "--frobnicate", NULL };
	const char *broken[] = { bin, "--config", sl->config_path, "batch",
		"--fixture", bad, "--input", "/dev/null", NULL };
	char *out = NULL;

	assert_int_equal(proc_run_capture(usage, &out), 2);
	free(out);
	assert_int_equal(proc_run_capture(broken, &out), 3);
	assert_string_equal(out, "");
	free(out);
	free(bad);
	sim_line_stop(sl);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_all_scans_pass_exit_0_and_match_the_ledger),
		cmocka_unit_test(
		    test_mismatched_scan_fails_and_can_be_reworked),
		cmocka_unit_test(test_invalid_and_duplicate_scans_are_rejected),
		cmocka_unit_test(test_label_rule_folds_and_refuses_scans),
		cmocka_unit_test(test_config_slots_are_the_default_fixture),
		cmocka_unit_test(
		    test_lone_scans_run_on_the_slot_holding_the_board),
		cmocka_unit_test(
		    test_lone_scan_of_no_board_is_refused_and_touches_nothing),
		cmocka_unit_test(
		    test_lone_rescan_of_a_passed_board_is_refused_not_failed),
		cmocka_unit_test(
		    test_lone_scan_of_a_serial_two_boards_report_is_refused),
		cmocka_unit_test(test_silent_slot_does_not_stop_lone_scans),
		cmocka_unit_test(test_usage_and_fixture_errors_exit_codes),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
