/*
 * Shared by the crash harnesses (test_crash.c: kills; test_crash_power.c:
 * power cuts): one simulated device SERIAL, the station run to its end
 * with its stderr shown on failure, the checks after a kill or a cut
 * (recover, then the chain; provisioning the device again to PASS), and
 * devsim's guard lifetime.
 */
#ifndef TESTS_RELIABILITY_CRASH_FIXTURE_H
#define TESTS_RELIABILITY_CRASH_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/ledger_checks.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "tests/support/station_env.h"

#define SERIAL "CRASH-0001"

static inline void
sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static inline int
provision(const struct station_env *e, const char *uri)
{
	const char *args[] = { "provision", uri, "--json", NULL };

	return station_env_run(e, args, NULL);
}

/* Run the station to its end; on failure its stderr is shown. */
static inline int
run_logged(const struct station_env *e, const char *const *args)
{
	char *err = xasprintf("%s/stderr.txt", e->dir);
	pid_t pid = station_env_spawn(e, args, NULL, err, NULL);
	int rc = pid < 0 ? -1 : proc_wait_ms(pid, 60000);

	if (rc != 0) {
		char *text = scratch_read(err);

		fprintf(stderr, "check: station %s exited %d: %s\n", args[0],
		    rc, text ? text : "");
		free(text);
	}
	free(err);
	return rc;
}

/* (a) The ledger as the kill or cut left it, then what the next station
 * start does first (recover) and the chain (ledger verify): returns the
 * inconsistencies.  `logged`: a failing recover shows its stderr
 * (run_logged), as the power cuts want. */
static inline int
recover_and_verify(const struct station_env *e, int logged)
{
	const char *recover[] = { "recover", NULL };
	const char *verify[] = { "ledger", "verify", NULL };
	int bad = check_ledger_intact(e->ledger);

	if (logged) {
		if (run_logged(e, recover) != 0)
			bad++;
	} else if (station_env_run(e, recover, NULL) != 0) {
		fprintf(stderr, "check: station recover failed\n");
		bad++;
	}
	if (station_env_run(e, verify, NULL) != 0) {
		fprintf(stderr, "check: station ledger verify failed\n");
		bad++;
	}
	return bad;
}

/* (e) The same device again, to the end: PASS, one live certificate, the
 * CA and the ledger agreeing; returns the inconsistencies.  `what` (kill,
 * cut) names what came before in the message. */
static inline int
provision_again(const struct station_env *e, const char *uri, const char *what)
{
	char *result = NULL, *last_ok = NULL;
	int64_t id;
	int bad = 0;

	if (provision(e, uri) != 0) {
		fprintf(stderr, "check: provisioning after the %s failed\n",
		    what);
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

/*
 * devsim's --lifetime (seconds) for a harness of `rounds` kills or cuts:
 * a guard that stops devsim should the test die, not a budget.  30 s a
 * round covers a loaded machine (3 s a round ran out at cut 387 of 1000
 * under load, on 2026-12-07, and every later cut found no device);
 * stretched like every limit (test_ms).
 */
static inline long
guard_s(long rounds)
{
	long s = rounds * 30 + 600;

	return s > 86400 ? 86400 : test_ms((int)s);
}

#endif
