/*
 * Recovery knows the step: the real `station provision` is killed with
 * SIGKILL while a devsim (silent-at=KEYGEN: the chip hangs) holds it in
 * keygen; `station recover` then records the run as FAILed with "station
 * stopped during step keygen", the step it was really in, not the last
 * step whose events had been written.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/provision_env.h"

/* The step the one running run of the ledger at `path` recorded last
 * (caller frees), or NULL when there is no running run or no step yet. */
static char *
running_step(const char *path)
{
	struct ledger *l = NULL;
	struct open_run *runs = NULL;
	size_t n = 0;
	char *step = NULL;

	if (ledger_open(path, &l, NULL) != ST_OK)
		return NULL;
	if (ledger_open_runs(l, &runs, &n, NULL) == ST_OK && n == 1 &&
	    runs[0].current_step != NULL)
		step = xstrdup(runs[0].current_step);
	ledger_open_runs_free(runs, n);
	ledger_close(l);
	return step;
}

static void
test_kill_during_keygen_is_recorded_as_keygen(void **state)
{
	struct prov_env *e = prov_env_new();
	struct devsim_proc *d = devsim_proc_start((const char *[]){ "--serial",
	    "SN-KILL-1", "--fault", "silent-at=KEYGEN", NULL });
	const char *recover[] = { "recover", NULL };
	struct proc_out o = { 0 };
	struct run_record r = { 0 };
	struct ledger *l;
	char *ledger_path, *step = NULL;
	pid_t pid;
	int64_t id;

	(void)state;
	assert_non_null(d);
	/* A step deadline far beyond the wait below: the run is in keygen
	 * when it is killed, not failing it. */
	prov_env_config(e, "step_timeout_ms = 60000\n", NULL);
	ledger_path = xasprintf("%s/ledger.db", e->home);
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--config", e->config, "provision", d->uri, "--serial",
		"SN-KILL-1", "--quiet", NULL };
	struct proc_gate g;
	char *out = xasprintf("%s/provision.out", e->home);

	proc_gate_init(&g);
	pid = proc_spawn_gated(argv, &g, NULL, out);
	assert_true(pid > 0);
	proc_gate_open(&g);
	/* Bounded wait for the station to reach keygen (where the chip
	 * hangs): not a timed assertion, the run stays there. */
	for (int i = 0; i < 600; i++) {
		free(step);
		step = running_step(ledger_path);
		if (step != NULL && strcmp(step, "keygen") == 0)
			break;
		usleep(50 * 1000);
	}
	assert_non_null(step);
	assert_string_equal(step, "keygen");
	kill(pid, SIGKILL);
	assert_int_equal(proc_wait_ms(pid, 10000), 128 + SIGKILL);

	assert_int_equal(prov_station(e, recover, &o), 0);
	assert_non_null(strstr(o.out, "1 interrupted run(s) settled"));
	proc_out_clear(&o);
	l = prov_ledger(e);
	id = 1;
	assert_int_equal(ledger_run_get(l, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.reason, "station stopped during step keygen");
	ledger_run_record_clear(&r);
	ledger_close(l);

	free(step);
	free(out);
	free(ledger_path);
	devsim_proc_stop(d);
	prov_env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill_during_keygen_is_recorded_as_keygen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
