/*
 * The line: slot workers against real devsim processes, a real ledger and
 * the local CA; hooks as real shell commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "drivers/proto/client.h"
#include "station/config/fixture.h"
#include "station/config/profile.h"
#include "station/line/line.h"
#include "station/pipeline/dialect.h"
#include "station/pipeline/station.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"
#include "tests/support/sim_line.h"

#define MAX_RESULTS 16

/* Everything a test line needs, with what its sinks have seen. */
struct tl {
	struct sim_line *sim;
	struct station *st;
	struct fixture *fx;
	struct event_bus bus;
	struct line *line;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned pass_events, fail_events;
	/* lone scans: order of the routed event and of RUN_START per slot
	 * (slot < 8), and the last refusal (an INFO on slot 0) */
	unsigned seq, routed_at[8], started_at[8];
	int in_keygen[8]; /* the slot's run started its keygen step */
	char refusal[256];
	struct sim_result got[MAX_RESULTS];
	size_t n_got;
};

static void
on_event(void *ctx, const struct station_event *ev)
{
	struct tl *t = ctx;
	int routed = ev->kind == EVENT_INFO && ev->info == EVENT_INFO_ROUTED;

	pthread_mutex_lock(&t->mu);
	if (routed && ev->slot > 0 && ev->slot < 8)
		t->routed_at[ev->slot] = ++t->seq;
	if (ev->kind == EVENT_RUN_START && ev->slot > 0 && ev->slot < 8)
		t->started_at[ev->slot] = ++t->seq;
	if (ev->kind == EVENT_STEP_START && ev->step == STEP_KEYGEN &&
	    ev->slot > 0 && ev->slot < 8) {
		t->in_keygen[ev->slot] = 1;
		pthread_cond_broadcast(&t->cv);
	}
	if (ev->kind == EVENT_INFO && ev->info == EVENT_INFO_REFUSED &&
	    ev->slot == 0 && ev->err != ST_OK) {
		snprintf(t->refusal, sizeof t->refusal, "%s", ev->text);
		pthread_cond_broadcast(&t->cv);
	}
	if (ev->kind != EVENT_RUN_END) {
		pthread_mutex_unlock(&t->mu);
		return;
	}
	if (ev->pass)
		t->pass_events++;
	else
		t->fail_events++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Each run's outcome, from its EVENT_RUN_END on the line's bus. */
static void
on_result(void *ctx, const struct station_event *ev)
{
	struct tl *t = ctx;

	if (ev->kind != EVENT_RUN_END)
		return;
	pthread_mutex_lock(&t->mu);
	if (t->n_got < MAX_RESULTS)
		sim_result_from_event(&t->got[t->n_got++], ev);
	pthread_mutex_unlock(&t->mu);
}

/* A line of `n` devsims whose steps have `step_ms` each. */
static struct tl *
tl_start_ms(size_t n, const char *prefix, const struct sim_slot_opts *opts,
    int step_ms)
{
	struct tl *t = xcalloc(1, sizeof *t);
	char *cause = NULL;

	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->sim = sim_line_start(n, prefix, step_ms, opts);
	if (station_open(&(struct station_opts){ .config_path =
						     t->sim->config_path },
		&t->st, &cause) != ST_OK)
		fail_msg("station_open: %s", cause);
	if (fixture_load(t->sim->fixture_path, t->st->cfg, &t->fx, &cause))
		fail_msg("fixture_load: %s", cause);
	event_bus_add(&t->bus, on_event, t);
	event_bus_add(&t->bus, on_result, t);
	return t;
}

static struct tl *
tl_start(size_t n, const char *prefix, const struct sim_slot_opts *opts)
{
	return tl_start_ms(n, prefix, opts, 1000);
}

static void
tl_line(struct tl *t)
{
	char *cause = NULL;

	if (line_new(t->st, t->fx, &t->bus, &t->line, &cause) != ST_OK)
		fail_msg("line_new: %s", cause);
}

static void
tl_stop(struct tl *t)
{
	line_free(t->line);
	fixture_free(t->fx);
	station_close(t->st);
	sim_line_stop(t->sim);
	event_bus_clear(&t->bus);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static void
submit(struct tl *t, unsigned slot, const char *serial)
{
	struct line_job job = { .slot = slot,
		.scanned_serial = serial,
		.operator_id = "op-7",
		.batch = "LOT-1" };
	char *cause = NULL;
	unsigned chosen = 0;

	if (line_submit(t->line, &job, &chosen, &cause) != ST_OK)
		fail_msg("line_submit slot %u: %s", slot, cause);
	if (slot != 0)
		assert_int_equal(chosen, slot);
}

static const struct sim_result *
got_for(struct tl *t, unsigned slot)
{
	for (size_t i = 0; i < t->n_got; i++) {
		if (t->got[i].slot == slot)
			return &t->got[i];
	}
	fail_msg("no result for slot %u", slot);
	return NULL;
}

/* Each slot's power_on hook waits until every slot's hook has started:
 * the runs can only finish if the four workers run at the same time. */
static void
test_four_slots_pass_concurrently(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook =
	    xasprintf("power_on = touch %s/up-$STATION_SLOT; "
		      "while [ $(ls %s | wc -l) -lt 4 ]; do sleep 0.01; done\n",
		dir, dir);
	struct sim_slot_opts o = { .fixture_lines = hook };
	struct sim_slot_opts opts[4] = { o, o, o, o };
	struct tl *t = tl_start(4, "LINE-A", opts);
	struct line_stats stats;

	tl_line(t);
	for (unsigned s = 1; s <= 4; s++)
		submit(t, s, t->sim->serials[s - 1]);
	line_wait_idle(t->line);
	line_get_stats(t->line, &stats);
	assert_int_equal(stats.passed, 4);
	assert_int_equal(stats.failed, 0);
	assert_int_equal(stats.running, 0);
	assert_int_equal(t->n_got, 4);
	assert_int_equal(t->pass_events, 4);
	for (unsigned s = 1; s <= 4; s++) {
		const struct sim_result *g = got_for(t, s);
		struct run_record rec = { 0 };

		if (!g->pass)
			fail_msg("slot %u: %s", s, g->reason);
		assert_string_equal(g->serial, t->sim->serials[s - 1]);
		assert_false(line_slot_busy(t->line, s));
		assert_int_equal(ledger_run_get(t->st->ledger, g->run_id, &rec,
				     NULL),
		    ST_OK);
		assert_string_equal(rec.result, "PASS");
		assert_int_equal(rec.slot, (int)s);
		assert_string_equal(rec.device_serial, t->sim->serials[s - 1]);
		assert_string_equal(rec.operator_id, "op-7");
		assert_string_equal(rec.batch, "LOT-1");
		ledger_run_record_clear(&rec);
	}
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(hook);
}

/* Two slot threads whose boards report the same serial (no labels
 * scanned), started together by the power_on barrier above, on slow
 * devices so the first run is still open when the second checks: one
 * PASSes, the other FAILs at ledger-check naming the holder's slot,
 * station and run, and the ledger keeps one live certificate. */
static void
test_two_slots_one_serial_one_fails_at_the_reservation(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook =
	    xasprintf("power_on = touch %s/up-$STATION_SLOT; "
		      "while [ $(ls %s | wc -l) -lt 2 ]; do sleep 0.01; done\n",
		dir, dir);
	const char *dup[] = { "--serial", "DUP-L1", "--fault", "slow=100",
		NULL };
	struct sim_slot_opts o = { .devsim_args = dup, .fixture_lines = hook };
	struct sim_slot_opts opts[2] = { o, o };
	struct tl *t = tl_start(2, "LINE-D", opts);
	struct cert_record live = { 0 };
	int found = 0;

	tl_line(t);
	submit(t, 1, NULL);
	submit(t, 2, NULL);
	line_wait_idle(t->line);
	assert_int_equal(t->n_got, 2);
	const struct sim_result *win = t->got[0].pass ? &t->got[0] : &t->got[1];
	const struct sim_result *lose =
	    t->got[0].pass ? &t->got[1] : &t->got[0];
	assert_true(win->pass);
	assert_false(lose->pass);
	assert_string_equal(lose->serial, "DUP-L1");
	assert_int_equal(lose->failed_step, STEP_LEDGER);
	assert_int_equal(lose->err, ST_E_STATE);
	char *want = xasprintf("serial DUP-L1 is being provisioned in slot %u "
			       "by station sim-line, run %lld",
	    win->slot, (long long)win->run_id);
	assert_string_equal(lose->reason, want);
	free(want);
	assert_int_equal(ledger_device_live_cert(t->st->ledger, "DUP-L1", &live,
			     &found, NULL),
	    ST_OK);
	assert_true(found);
	assert_int_equal(live.run_id, win->run_id);
	ledger_cert_record_clear(&live);
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(hook);
}

/* A device that never answers holds only its own slot. */
static void
test_hung_device_does_not_stop_other_slots(void **state)
{
	(void)state;
	const char *silent[] = { "--fault", "silent", NULL };
	struct sim_slot_opts opts[4] = { { 0 }, { 0 }, { 0 },
		{ .devsim_args = silent } };
	struct tl *t = tl_start(4, "LINE-H", opts);

	tl_line(t);
	submit(t, 4, t->sim->serials[3]); /* the hung one first */
	for (unsigned s = 1; s <= 3; s++)
		submit(t, s, t->sim->serials[s - 1]);
	pthread_mutex_lock(&t->mu);
	while (t->pass_events < 3)
		pthread_cond_wait(&t->cv, &t->mu);
	unsigned fails = t->fail_events;
	pthread_mutex_unlock(&t->mu);
	/* Three PASSes came out while slot 4 is still running or has
	 * FAILed on its own deadline, never passed. */
	assert_true(line_slot_busy(t->line, 4) || fails == 1);
	line_wait_idle(t->line);
	const struct sim_result *g = got_for(t, 4);
	assert_false(g->pass);
	assert_true(
	    g->failed_step == STEP_CONNECT || g->failed_step == STEP_HELLO);
	assert_int_equal(g->err, ST_E_TIMEOUT);
	for (unsigned s = 1; s <= 3; s++)
		assert_true(got_for(t, s)->pass);
	struct line_stats stats;
	line_get_stats(t->line, &stats);
	assert_int_equal(stats.passed, 3);
	assert_int_equal(stats.failed, 1);
	tl_stop(t);
}

/* A busy slot and an unknown slot are refused; with every slot busy the
 * next-free choice is refused too. */
static void
test_submit_refuses_busy_and_unknown_slots(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook = xasprintf("power_on = while [ ! -e %s/go ]; do "
			       "sleep 0.01; done\n",
	    dir);
	struct sim_slot_opts opts[1] = { { .fixture_lines = hook } };
	struct tl *t = tl_start(1, "LINE-B", opts);
	struct line_job job = { .slot = 1, .scanned_serial = "LINE-B-1" };
	char *cause = NULL;

	tl_line(t);
	submit(t, 0, "LINE-B-1");
	assert_true(line_slot_busy(t->line, 1));
	assert_int_equal(line_submit(t->line, &job, NULL, &cause), ST_E_STATE);
	assert_non_null(strstr(cause, "busy"));
	free(cause);
	cause = NULL;
	job.slot = 0;
	assert_int_equal(line_submit(t->line, &job, NULL, &cause), ST_E_STATE);
	free(cause);
	cause = NULL;
	job.slot = 9;
	assert_int_equal(line_submit(t->line, &job, NULL, &cause),
	    ST_E_NOTFOUND);
	free(cause);
	char *go = xasprintf("%s/go", dir);
	FILE *fp = fopen(go, "w");
	assert_non_null(fp);
	fclose(fp);
	line_wait_free(t->line, 1);
	line_wait_idle(t->line);
	assert_true(got_for(t, 1)->pass);
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(go);
	free(hook);
}

/* Lone scans at the line: a serial running on a slot is refused naming
 * the slot; a serial no board reports is refused with the value escaped;
 * the board's serial is routed to its slot, announced before the run's
 * first event; and the screen's asynchronous form reports a refusal as an
 * event on slot 0. */
static void
test_lone_scan_routes_or_refuses_at_the_line(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook = xasprintf("power_on = while [ ! -e %s/go ]; do "
			       "sleep 0.01; done\n",
	    dir);
	struct sim_slot_opts opts[2] = { { .fixture_lines = hook },
		{ NULL, NULL } };
	struct tl *t = tl_start(2, "LINE-L", opts);
	struct line_job job = { .scanned_serial = "LINE-L-1" };
	char *cause = NULL, *go = xasprintf("%s/go", dir);
	unsigned slot = 0;

	tl_line(t);
	submit(t, 1, "LINE-L-1"); /* held by its power_on hook */
	assert_int_equal(line_submit_located(t->line, &job, &slot, &cause),
	    ST_E_STATE);
	assert_non_null(strstr(cause, "LINE-L-1 is already running in slot 1"));
	free(cause);
	cause = NULL;
	job.scanned_serial = "NONE-\x1b[2J";
	assert_int_equal(line_submit_located(t->line, &job, &slot, &cause),
	    ST_E_NOTFOUND);
	assert_non_null(
	    strstr(cause, "no board with serial NONE-\\x1b[2J in the fixture"));
	free(cause);
	cause = NULL;
	job.scanned_serial = "LINE-L-2";
	assert_int_equal(line_submit_located(t->line, &job, &slot, &cause),
	    ST_OK);
	assert_int_equal(slot, 2);
	job.scanned_serial = "LINE-L-9";
	assert_int_equal(line_locate_start(t->line, &job, &cause), ST_OK);
	pthread_mutex_lock(&t->mu);
	while (t->refusal[0] == '\0')
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	assert_non_null(strstr(t->refusal, "no board with serial LINE-L-9"));
	FILE *fp = fopen(go, "w");
	assert_non_null(fp);
	fclose(fp);
	line_wait_idle(t->line);
	assert_true(got_for(t, 1)->pass);
	assert_true(got_for(t, 2)->pass);
	assert_string_equal(got_for(t, 2)->serial, "LINE-L-2");
	assert_int_not_equal(t->routed_at[2], 0);
	assert_true(t->routed_at[2] < t->started_at[2]);
	assert_int_equal(t->routed_at[1], 0); /* slot 1 came by its label */
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(go);
	free(hook);
}

/* A lone scan finds a board whose device leaves its first two HELLOs
 * unanswered (devsim silent-first=2): the probe retransmits within its
 * deadline, so the board is routed to its slot, not refused as absent.
 * The run then FAILs at its power_on hook, which proves the job reached
 * slot 2 without a whole run.  The lone scan's deadline (at most
 * LINE_LOCATE_MAX_MS, 2 s) holds client_opts_default's four attempts and
 * no more, so this proves the retransmissions, not v1_connect's rule for
 * a longer deadline (the next test does). */
static void
test_lone_scan_finds_a_board_that_misses_its_first_hellos(void **state)
{
	(void)state;
	const char *late[] = { "--fault", "silent-first=2", NULL };
	struct sim_slot_opts opts[2] = { { 0 },
		{ .devsim_args = late,
		    .fixture_lines = "power_on = exit 3\n" } };
	struct tl *t = tl_start_ms(2, "LINE-D", opts, LINE_LOCATE_MAX_MS);
	struct line_job job = { .scanned_serial = "LINE-D-2" };
	char *cause = NULL;
	unsigned slot = 0;

	tl_line(t);
	if (line_submit_located(t->line, &job, &slot, &cause) != ST_OK)
		fail_msg("line_submit_located: %s", cause);
	assert_int_equal(slot, 2);
	line_wait_idle(t->line);
	const struct sim_result *g = got_for(t, 2);
	assert_false(g->pass);
	assert_int_equal(g->failed_step, STEP_CONNECT);
	assert_non_null(strstr(g->reason, "power_on hook failed"));
	assert_int_equal(t->n_got, 1); /* slot 1 was only asked */
	tl_stop(t);
}

/* The lone scan's probe (dialect_identify, no station) gets attempts for
 * all the deadline it is given, not client_opts_default's retries
 * (v1_connect): given 5 s, it finds a device that leaves one HELLO more
 * unanswered than the default client sends.  With the default retries it
 * gives up after four silent attempts ("device did not answer HELLO (4
 * attempts, 500 ms each)"). */
static void
test_probe_without_a_station_retransmits_for_its_whole_deadline(void **state)
{
	(void)state;
	struct client_opts o;
	struct profile p;
	struct dev_info info = { 0 };
	char fault[32], *cause = NULL;

	client_opts_default(&o);
	/* The answered attempt starts (retries + 1) reply timeouts in (2 s
	 * with the defaults); the deadline leaves at least 3 s, several more
	 * attempts, for devsim's answer (stretched under valgrind). */
	assert_true((o.retries + 1) * o.reply_timeout_ms <= 5000 - 3000);
	snprintf(fault, sizeof fault, "silent-first=%d", o.retries + 1);
	const char *args[] = { "--serial", "LINE-Q-1", "--fault", fault, NULL };
	struct devsim_proc *sim = devsim_proc_start(args);
	assert_non_null(sim);
	profile_init_default(&p);
	if (dialect_identify(sim->uri, &p, deadline_in(test_ms(5000)), &info,
		&cause) != ST_OK)
		fail_msg("dialect_identify: %s", cause);
	assert_string_equal(info.serial, "LINE-Q-1");
	dev_info_clear(&info);
	profile_clear(&p);
	devsim_proc_stop(sim);
}

/* A failing power_on hook: FAIL at connect, on record in the ledger,
 * power_off still runs, and the slot's environment reaches the hooks. */
static void
test_failing_power_hook_fails_the_run_on_record(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook = xasprintf("power_on = exit 3\npower_off = touch "
			       "%s/off-$STATION_SLOT_LABEL-$STATION_SLOT\n",
	    dir);
	struct sim_slot_opts opts[1] = { { .fixture_lines = hook } };
	struct tl *t = tl_start(1, "LINE-P", opts);
	struct run_record rec = { 0 };

	tl_line(t);
	submit(t, 1, "LINE-P-1");
	line_wait_idle(t->line);
	const struct sim_result *g = got_for(t, 1);
	assert_false(g->pass);
	assert_int_equal(g->failed_step, STEP_CONNECT);
	assert_non_null(strstr(g->reason, "power_on hook failed"));
	assert_non_null(strstr(g->reason, "status 3"));
	assert_int_equal(t->fail_events, 1);
	assert_int_equal(ledger_run_get(t->st->ledger, g->run_id, &rec, NULL),
	    ST_OK);
	assert_string_equal(rec.result, "FAIL");
	assert_string_equal(rec.failed_step, "connect");
	assert_string_equal(rec.scanned_serial, "LINE-P-1");
	assert_non_null(strstr(rec.reason, "power_on hook failed"));
	ledger_run_record_clear(&rec);
	char *off = xasprintf("%s/off-S1-1", dir);
	assert_int_equal(access(off, F_OK), 0);
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(off);
	free(hook);
}

/* A hook that overstays its deadline is killed and FAILs the run. */
static void
test_hung_hook_is_killed_at_its_deadline(void **state)
{
	(void)state;
	struct sim_slot_opts opts[1] = { { .fixture_lines =
					       "reset = sleep 60\n" } };
	struct tl *t = tl_start(1, "LINE-R", opts);

	t->fx->hook_timeout_ms = 200;
	tl_line(t);
	submit(t, 1, "LINE-R-1");
	line_wait_idle(t->line);
	const struct sim_result *g = got_for(t, 1);
	assert_false(g->pass);
	assert_int_equal(g->err, ST_E_TIMEOUT);
	assert_non_null(strstr(g->reason, "reset hook failed"));
	tl_stop(t);
}

/* A fixture with no slots makes no line; line_free accepts NULL. */
static void
test_line_needs_slots(void **state)
{
	(void)state;
	struct fixture empty = { .name = "none" };
	struct line *l = NULL;
	char *cause = NULL;

	assert_int_equal(line_new(NULL, &empty, NULL, &l, &cause), ST_E_CONFIG);
	assert_null(l);
	free(cause);
	line_free(NULL);
}

/* Wait (bounded: 3000 x 10 ms) until `path` exists; 1 if it does. */
static int
wait_file(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < 3000; i++) {
		if (access(path, F_OK) == 0)
			return 1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* The abort key: asked while slot 1's job is held in its power_on hook,
 * the run ends as a FAIL of kind "aborted" before its first step,
 * recorded in the ledger with its headline; the next job on the slot is
 * not aborted.  An idle or unknown slot cannot be aborted. */
static void
test_abort_ends_the_run_as_a_recorded_fail(void **state)
{
	(void)state;
	char *dir = scratch_dir();
	char *hook = xasprintf("power_on = touch %s/held; "
			       "while [ ! -e %s/go ]; do sleep 0.01; done\n",
	    dir, dir);
	char *held = xasprintf("%s/held", dir);
	char *go = xasprintf("%s/go", dir);
	struct sim_slot_opts opts[2] = { { .fixture_lines = hook }, { 0 } };
	struct tl *t = tl_start(2, "LINE-AB", opts);
	struct run_record rec = { 0 };
	const struct sim_result *g;
	char *cause = NULL;
	FILE *fp;

	tl_line(t);
	assert_int_equal(line_abort(t->line, 1, &cause), ST_E_STATE);
	assert_non_null(strstr(cause, "runs nothing"));
	free(cause);
	cause = NULL;
	assert_int_equal(line_abort(t->line, 9, NULL), ST_E_NOTFOUND);
	submit(t, 1, t->sim->serials[0]);
	assert_true(wait_file(held));
	assert_int_equal(line_abort(t->line, 1, &cause), ST_OK);
	assert_int_equal(line_abort(t->line, 2, NULL), ST_E_STATE);
	fp = fopen(go, "w");
	assert_non_null(fp);
	fclose(fp);
	line_wait_idle(t->line);
	g = got_for(t, 1);
	assert_false(g->pass);
	assert_int_equal(g->err, ST_E_ABORTED);
	assert_string_equal(g->headline, "Run aborted by the operator");
	assert_non_null(strstr(g->reason, "aborted by operator"));
	assert_int_equal(ledger_run_get(t->st->ledger, g->run_id, &rec, NULL),
	    ST_OK);
	assert_string_equal(rec.result, "FAIL");
	assert_string_equal(rec.error_kind, "aborted");
	assert_string_equal(rec.failed_step, "connect");
	ledger_run_record_clear(&rec);
	/* the flag went with the job: the next run on slot 1 PASSes */
	t->n_got = 0;
	submit(t, 1, t->sim->serials[0]);
	line_wait_idle(t->line);
	assert_true(got_for(t, 1)->pass);
	tl_stop(t);
	scratch_rmtree(dir);
	free(dir);
	free(go);
	free(held);
	free(hook);
}

/* The abort key during a step that waits on the device: a device silent
 * from KEYGEN on, under a step deadline of ten minutes.  The run ends
 * "aborted by operator during step keygen" once the key is pressed (the
 * transport asks between 100 ms slices), not at the deadline: without
 * that this test would wait the ten minutes out. */
static void
test_abort_ends_a_step_hung_on_the_device(void **state)
{
	(void)state;
	const char *silent[] = { "--fault", "silent-at=KEYGEN", NULL };
	struct sim_slot_opts opts[1] = { { .devsim_args = silent } };
	struct tl *t = tl_start_ms(1, "LINE-HA", opts, 600000);
	const struct sim_result *g;

	tl_line(t);
	submit(t, 1, t->sim->serials[0]);
	pthread_mutex_lock(&t->mu);
	while (!t->in_keygen[1])
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	assert_int_equal(line_abort(t->line, 1, NULL), ST_OK);
	line_wait_idle(t->line);
	g = got_for(t, 1);
	assert_false(g->pass);
	assert_int_equal(g->err, ST_E_ABORTED);
	assert_int_equal(g->failed_step, STEP_KEYGEN);
	assert_non_null(strstr(g->reason, "aborted by operator"));
	tl_stop(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_slots_pass_concurrently),
		cmocka_unit_test(test_abort_ends_the_run_as_a_recorded_fail),
		cmocka_unit_test(test_abort_ends_a_step_hung_on_the_device),
		cmocka_unit_test(
		    test_two_slots_one_serial_one_fails_at_the_reservation),
		cmocka_unit_test(test_hung_device_does_not_stop_other_slots),
		cmocka_unit_test(test_submit_refuses_busy_and_unknown_slots),
		cmocka_unit_test(test_lone_scan_routes_or_refuses_at_the_line),
		cmocka_unit_test(
		    test_lone_scan_finds_a_board_that_misses_its_first_hellos),
		cmocka_unit_test(
		    test_probe_without_a_station_retransmits_for_its_whole_deadline),
		cmocka_unit_test(
		    test_failing_power_hook_fails_the_run_on_record),
		cmocka_unit_test(test_hung_hook_is_killed_at_its_deadline),
		cmocka_unit_test(test_line_needs_slots),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
