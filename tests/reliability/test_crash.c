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
 * Nothing is timed: the kill delay is drawn over the length of a whole run
 * and the checks above are what is asserted.
 *
 * CRASH_KILLS (default 30) sets the number of kills, CRASH_SEED the random
 * seed, CRASH_REPORT a file that receives the summary (make crash-test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "station/pipeline/event.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/ledger_checks.h"
#include "tests/support/station_env.h"

#define SERIAL "CRASH-0001"

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

static void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static int
provision(const struct station_env *e, const char *uri)
{
	const char *args[] = { "provision", uri, "--json", NULL };

	return station_env_run(e, args, NULL);
}

/* One kill and everything checked after it; returns inconsistencies. */
static int
kill_once(const struct station_env *e, const char *uri, long max_delay_us,
    long *landed)
{
	const char *args[] = { "provision", uri, "--json", "--quiet", NULL };
	const char *recover[] = { "recover", NULL };
	const char *verify[] = { "ledger", "verify", NULL };
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

	int64_t id = ledger_newest_run(e->ledger, &result, &last_ok);
	if (id == before)
		landed[LAND_BEFORE_RUN]++;
	else if (strcmp(result, "PASS") == 0)
		landed[LAND_AFTER_PASS]++;
	else if (strcmp(result, "FAIL") == 0)
		landed[LAND_AFTER_FAIL]++;
	else
		landed[step_after(last_ok)]++;

	/* (a) as the kill left it, before any recovery. */
	bad += check_ledger_intact(e->ledger);
	/* What the next station start does first, then the chain. */
	if (station_env_run(e, recover, NULL) != 0) {
		fprintf(stderr, "check: station recover failed\n");
		bad++;
	}
	if (station_env_run(e, verify, NULL) != 0) {
		fprintf(stderr, "check: station ledger verify failed\n");
		bad++;
	}
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
	if (provision(e, uri) != 0) {
		fprintf(stderr, "check: provisioning after the kill failed\n");
		bad++;
	}
	id = ledger_newest_run(e->ledger, &result, &last_ok);
	bad += check_pass_run(e->ledger, id, uri, 3);
	bad += check_device(e->ledger, SERIAL, uri, 1);
	bad += check_ca_index_recorded(e->ledger, e->ca_dir);
	bad += check_ca_revoked_agrees(e->ledger, e->ca_dir);
	bad += check_ledger_intact(e->ledger);
	free(result);
	free(last_ok);
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
	char lifetime[32];
	int bad = 0;

	srand48(seed);
	snprintf(lifetime, sizeof lifetime, "%ld", kills * 3 + 120);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_random_kills_leave_ledger_ca_and_device_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
