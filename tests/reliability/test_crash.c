/*
 * Crash consistency: SIGKILL the station at a random instant of a
 * provisioning run, over and over, and prove after every kill that
 *  (a) the ledger passes integrity_check and the hash chain verifies, also
 *      before any recovery ran;
 *  (b) every certificate in the local CA's issued.txt is in the ledger;
 *  (c) no run is PASS without its certificate 'verified' and on the device;
 *  (d) the killed run does not stay 'running': the next station start
 *      finishes it as FAIL "station stopped during step X";
 *  (e) provisioning the device again passes, and the device then has
 *      exactly one live certificate, all others revoked;
 *  (f) after recovery, the local CA's revoked.txt and the ledger agree:
 *      revoked at the CA (once) <=> 'revoked' in the ledger.  Every run
 *      re-provisions (reprovision = allow), so kills also land between
 *      a superseded certificate's intent and its revocation.
 * Between the kill and the next start, a pause (0..300 ms, drawn).
 * Nothing is timed: the kill delay is drawn over the length of a whole run
 * and the checks above are what is asserted.
 *
 * Also here: two `station batch` processes sharing the ledger, killed
 * (CRASH_BATCH_KILLS, default 8).  Power cuts instead of kills are in
 * test_crash_power.c.  CRASH_ONLY=kill or power runs one kind (make
 * crash-test [POWER=1]).
 *
 * CRASH_KILLS (default 30) sets the number of kills, CRASH_SEED the random
 * seed, CRASH_REPORT a file that receives the summary (make crash-test).
 */
#include "station/pipeline/event.h"
#include "tests/reliability/crash_fixture.h"

/* Where kills landed: one counter per step, then three outcomes. */
enum {
	LAND_BEFORE_RUN = STEP__COUNT, /* before the run row existed */
	LAND_AFTER_PASS,	       /* the run had ended: PASS */
	LAND_AFTER_FAIL,	       /* the run had ended: FAIL */
	LAND__COUNT
};

static const char *
land_name(int i)
{
	switch (i) {
	case LAND_BEFORE_RUN:
		return "before the run started";
	case LAND_AFTER_PASS:
		return "after the run ended (PASS)";
	case LAND_AFTER_FAIL:
		return "after the run ended (FAIL)";
	default:
		return step_name((enum step)i);
	}
}

/* The step after the last completed one, as recovery names it. */
static int
step_after(const char *last_ok)
{
	if (last_ok == NULL)
		return STEP_CONNECT;
	for (int s = 0; s < STEP__COUNT; s++)
		if (strcmp(step_name((enum step)s), last_ok) == 0)
			return s + 1 < STEP__COUNT ? s + 1 : s;
	return STEP_CONNECT;
}

/* One kill and everything checked after it; returns inconsistencies. */
static int
kill_once(const struct station_env *e, const char *uri, long max_delay_us,
    long *landed)
{
	const char *args[] = { "provision", uri, "--json", "--quiet", NULL };
	char *result = NULL, *last_ok = NULL;
	int bad = 0;

	int64_t before = ledger_newest_run(e->ledger, &result, &last_ok);
	free(result);
	free(last_ok);
	pid_t pid = station_env_spawn(e, args, NULL, NULL, NULL);
	if (pid < 0)
		return 1;
	sleep_us((long)(drand48() * (double)max_delay_us));
	kill(pid, SIGKILL);
	proc_wait_ms(pid, 30000);
	/* A pause before the next start, as on a line: the device finishes
	 * what the dead session left it doing, so a stale state shows. */
	sleep_us((long)(drand48() * 300000));

	int64_t id = ledger_newest_run(e->ledger, &result, &last_ok);
	if (id == before)
		landed[LAND_BEFORE_RUN]++;
	else if (strcmp(result, "PASS") == 0)
		landed[LAND_AFTER_PASS]++;
	else if (strcmp(result, "FAIL") == 0)
		landed[LAND_AFTER_FAIL]++;
	else
		landed[step_after(last_ok)]++;

	/* (a) as the kill left it, before any recovery; what the next
	 * station start does first, then the chain. */
	bad += recover_and_verify(e, 0);
	bad += check_no_running(e->ledger);		      /* (d) */
	bad += check_ca_index_recorded(e->ledger, e->ca_dir); /* (b) */
	bad += check_device(e->ledger, SERIAL, uri, 0);	      /* (c) */
	bad += check_ca_revoked_agrees(e->ledger, e->ca_dir); /* (f) */
	if (id != before && strcmp(result, "PASS") == 0)
		bad += check_pass_run(e->ledger, id, uri, 3);
	free(result);
	free(last_ok);
	landed[LAND__COUNT] = ledger_count_events(e->ledger,
	    "%issued by the CA but not recorded%");

	/* (e) the same device again, to the end. */
	bad += provision_again(e, uri, "kill");
	return bad;
}

static void
report(FILE *fp, long kills, long seed, long max_ms, const long *landed,
    int bad, uint64_t ms)
{
	fprintf(fp,
	    "crash consistency: %ld kills (seed %ld), %d "
	    "inconsistencies, %.1f s\n",
	    kills, seed, bad, (double)ms / 1000);
	fprintf(fp, "kill delays drawn from 0..%ld ms\n", max_ms);
	fprintf(fp,
	    "certificates issued by the CA but not yet recorded "
	    "when the kill came (found and revoked by recovery): %ld\n",
	    landed[LAND__COUNT]);
	fprintf(fp, "kills by where they landed:\n");
	for (int i = 0; i < LAND__COUNT; i++)
		if (landed[i])
			fprintf(fp, "  %-28s %ld\n", land_name(i), landed[i]);
}

static void
test_random_kills_leave_ledger_ca_and_device_consistent(void **state)
{
	(void)state;
	long kills = test_env_long("CRASH_KILLS", 30);
	long seed = test_env_long("CRASH_SEED", (long)time(NULL));
	long landed[LAND__COUNT + 1] = { 0 }; /* + reconciled certificates */
	const char *only = getenv("CRASH_ONLY");
	char lifetime[32];
	int bad = 0;

	if (only && strcmp(only, "kill") != 0)
		skip();
	srand48(seed);
	snprintf(lifetime, sizeof lifetime, "%ld", guard_s(kills));
	struct station_env *e = station_env_new(10000, NULL);
	assert_non_null(e);
	/* Chip latencies (random per test run) and a paced line spread a
	 * run over every step. */
	char keygen_ms[16], sign_ms[16];
	snprintf(keygen_ms, sizeof keygen_ms, "%ld", 5 + lrand48() % 30);
	snprintf(sign_ms, sizeof sign_ms, "%ld", 1 + lrand48() % 10);
	/* CRASH_BAUD paces the line (make crash-test: 921600) so that kills
	 * also land in write and readback; unpaced keeps make check quick. */
	const char *baud = getenv("CRASH_BAUD");
	const char *dargs[] = { "--serial", SERIAL, "--keygen-ms", keygen_ms,
		"--sign-ms", sign_ms, "--lifetime", lifetime,
		baud ? "--baud" : NULL, baud, NULL };
	struct devsim_proc *d = devsim_proc_start(dargs);
	assert_non_null(d);

	/* Undisturbed runs set the range of kill delays: the slowest of
	 * three, a little more, so that kills land anywhere in a run and
	 * some after it. */
	long run_us = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t t = clock_now_ms();
		char *result = NULL, *last_ok = NULL;

		assert_int_equal(provision(e, d->uri), 0);
		if ((long)(clock_now_ms() - t) * 1000 > run_us)
			run_us = (long)(clock_now_ms() - t) * 1000;
		int64_t id = ledger_newest_run(e->ledger, &result, &last_ok);
		assert_int_equal(check_pass_run(e->ledger, id, d->uri, 3), 0);
		free(result);
		free(last_ok);
	}
	uint64_t t0;

	t0 = clock_now_ms();
	for (long i = 0; i < kills; i++) {
		int b = kill_once(e, d->uri, run_us + run_us / 10, landed);

		if (b)
			fprintf(stderr, "kill %ld: %d inconsistencies\n", i, b);
		bad += b;
	}
	report(stderr, kills, seed, (run_us + run_us / 10) / 1000, landed, bad,
	    clock_now_ms() - t0);
	const char *path = getenv("CRASH_REPORT");
	if (path != NULL) {
		FILE *fp = fopen(path, "w");

		if (fp != NULL) {
			report(fp, kills, seed, (run_us + run_us / 10) / 1000,
			    landed, bad, clock_now_ms() - t0);
			fclose(fp);
		}
	}
	devsim_proc_stop(d);
	station_env_free(e);
	assert_int_equal(bad, 0);
}

/* ---- Two batches sharing the ledger -------------------------------------
 * Two `station batch` processes, two slots each, four devices, one ledger
 * and one local CA; a SIGKILL for one of them or both at a random instant,
 * a pause, then every check for every device; then both batches again to
 * the end: each device ends with exactly one live certificate, the one
 * it holds, and the CA's revoked list agrees with the ledger.
 */
#define NDEV 4

struct multi {
	struct station_env *e;
	struct devsim_proc *d[NDEV];
	char serial[NDEV][32];
	char *fixture[2], *scans[2];
};

static void
multi_start(struct multi *m, long lifetime)
{
	char life[32];

	snprintf(life, sizeof life, "%ld", lifetime);
	m->e = station_env_new(10000, NULL);
	assert_non_null(m->e);
	for (int i = 0; i < NDEV; i++) {
		char keygen[16];
		const char *args[] = { "--serial", m->serial[i], "--keygen-ms",
			keygen, "--sign-ms", "3", "--lifetime", life, NULL };

		snprintf(m->serial[i], sizeof m->serial[i], "CRASH-B%d", i + 1);
		snprintf(keygen, sizeof keygen, "%ld", 5 + lrand48() % 30);
		m->d[i] = devsim_proc_start(args);
		assert_non_null(m->d[i]);
	}
	for (int b = 0; b < 2; b++) {
		char *name = xasprintf("line-%d.ini", b + 1);
		char *fx = xasprintf("[fixture]\nname = line-%d\n\n"
				     "[slot 1]\nlabel = S1\ndevice = %s\n\n"
				     "[slot 2]\nlabel = S2\ndevice = %s\n",
		    b + 1, m->d[2 * b]->uri, m->d[2 * b + 1]->uri);
		char *sc = xasprintf("%s S1\n%s S2\n", m->serial[2 * b],
		    m->serial[2 * b + 1]);

		m->fixture[b] = scratch_write(m->e->dir, name, fx, 0600);
		free(name);
		name = xasprintf("scans-%d.txt", b + 1);
		m->scans[b] = scratch_write(m->e->dir, name, sc, 0600);
		free(name);
		free(fx);
		free(sc);
	}
}

static void
multi_stop(struct multi *m)
{
	for (int i = 0; i < NDEV; i++)
		devsim_proc_stop(m->d[i]);
	for (int b = 0; b < 2; b++) {
		free(m->fixture[b]);
		free(m->scans[b]);
	}
	station_env_free(m->e);
}

/* Where batch b's stderr goes (new string): shown when it fails. */
static char *
batch_err_path(const struct multi *m, int b)
{
	return xasprintf("%s/batch%d.err", m->e->dir, b + 1);
}

static pid_t
spawn_batch(const struct multi *m, int b)
{
	const char *args[] = { "batch", "--fixture", m->fixture[b], "--input",
		m->scans[b], NULL };
	char *err = batch_err_path(m, b);
	pid_t pid = station_env_spawn(m->e, args, NULL, err, NULL);

	free(err);
	return pid;
}

/* Batch b's stderr on the test's stderr, after "check:" lines. */
static void
show_batch_err(const struct multi *m, int b)
{
	char *path = batch_err_path(m, b);
	char *text = scratch_read(path);

	fprintf(stderr, "batch %d stderr:\n%s\n", b + 1, text ? text : "");
	free(text);
	free(path);
}

/* Both batches to the end: each must exit 0 (every device PASS). */
static int
multi_run_both(const struct multi *m)
{
	pid_t p0 = spawn_batch(m, 0), p1 = spawn_batch(m, 1);
	int r0 = proc_wait_ms(p0, 60000), r1 = proc_wait_ms(p1, 60000);
	int bad = 0;

	for (int b = 0; b < 2; b++)
		if ((b ? r1 : r0) != 0) {
			fprintf(stderr, "check: batch %d exited %d\n", b + 1,
			    b ? r1 : r0);
			show_batch_err(m, b);
			bad++;
		}
	return bad;
}

static int
multi_checks(const struct multi *m, int want_one_live)
{
	int bad = 0;

	bad += check_ledger_intact(m->e->ledger);
	bad += check_no_running(m->e->ledger);
	bad += check_ca_index_recorded(m->e->ledger, m->e->ca_dir);
	for (int i = 0; i < NDEV; i++)
		bad += check_device(m->e->ledger, m->serial[i], m->d[i]->uri,
		    want_one_live);
	bad += check_ca_revoked_agrees(m->e->ledger, m->e->ca_dir);
	return bad;
}

/* One kill of one batch or both, and everything checked after it. */
static int
multi_kill_once(const struct multi *m, long max_delay_us, long *victims)
{
	pid_t pid[2];
	int who = (int)(lrand48() % 3); /* batch 1, batch 2, both */
	int bad = 0;

	pid[0] = spawn_batch(m, 0);
	pid[1] = spawn_batch(m, 1);
	sleep_us((long)(drand48() * (double)max_delay_us));
	for (int b = 0; b < 2; b++) {
		if (who == b || who == 2)
			kill(pid[b], SIGKILL);
	}
	victims[who]++;
	for (int b = 0; b < 2; b++) {
		int rc = proc_wait_ms(pid[b], 60000);

		/* The batch not killed must finish its devices: PASS. */
		if (who != b && who != 2 && rc != 0) {
			fprintf(stderr,
			    "check: batch %d (not killed) exited %d\n", b + 1,
			    rc);
			show_batch_err(m, b);
			bad++;
		}
	}
	/* A pause before the next start: devices finish what the dead
	 * sessions left them doing, and stale states have time to show. */
	sleep_us((long)(drand48() * 300000));
	bad += recover_and_verify(m->e, 0);
	bad += multi_checks(m, 0);
	bad += multi_run_both(m);
	bad += multi_checks(m, 1);
	return bad;
}

static void
test_kills_of_two_batches_sharing_a_ledger_leave_all_consistent(void **state)
{
	(void)state;
	long kills = test_env_long("CRASH_BATCH_KILLS", 8);
	long seed = test_env_long("CRASH_SEED", (long)time(NULL));
	const char *only = getenv("CRASH_ONLY");
	long victims[3] = { 0 };
	struct multi m = { 0 };
	long run_us = 0;
	int bad = 0;

	if (only && strcmp(only, "kill") != 0)
		skip();
	srand48(seed);
	multi_start(&m, guard_s(kills * 2));
	for (int i = 0; i < 2; i++) {
		uint64_t t = clock_now_ms();

		assert_int_equal(multi_run_both(&m), 0);
		if ((long)(clock_now_ms() - t) * 1000 > run_us)
			run_us = (long)(clock_now_ms() - t) * 1000;
	}
	assert_int_equal(multi_checks(&m, 1), 0);
	for (long i = 0; i < kills; i++) {
		int b = multi_kill_once(&m, run_us + run_us / 10, victims);

		if (b)
			fprintf(stderr, "batch kill %ld: %d inconsistencies\n",
			    i, b);
		bad += b;
	}
	fprintf(stderr,
	    "two batches, %d devices: %ld kills (seed %ld; batch 1 %ld, "
	    "batch 2 %ld, both %ld), delays 0..%ld ms, %d inconsistencies\n",
	    NDEV, kills, seed, victims[0], victims[1], victims[2],
	    (run_us + run_us / 10) / 1000, bad);
	multi_stop(&m);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_random_kills_leave_ledger_ca_and_device_consistent),
		cmocka_unit_test(
		    test_kills_of_two_batches_sharing_a_ledger_leave_all_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
