/*
 * The serial reservation end to end: two real `station provision`
 * processes released at the same instant (a start gate) against two
 * devsim processes reporting the same serial, under reprovision = refuse.
 * Exactly one may PASS; the other FAILs at ledger-check naming the run
 * that holds the serial, before anything was done to its device, and the
 * ledger holds one live certificate for the serial.  The batch case (two
 * slot threads of one line) is in test_batch.c.
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
#include "tests/support/provision_env.h"

/* Enough rounds to catch the race every time on the old code (where both
 * boards PASSed in each round tried). */
#define ROUNDS_DEFAULT 20

static json_t *
load_result(const char *path)
{
	json_t *j = json_load_file(path, 0, NULL);

	if (j == NULL || !json_is_object(j))
		fail_msg("no JSON result in %s", path);
	return j;
}

/* One round: serial `serial` on two slow devices, two stations at once. */
static void
race_round(struct prov_env *e, struct ledger *l, const char *serial)
{
	/* Slow replies keep the winner's run open long after its
	 * reservation, so the loser meets it and not a finished run. */
	const char *dargs[] = { "--serial", serial, "--fault", "slow=100",
		NULL };
	struct devsim_proc *dev[2];
	char *out[2];
	pid_t pid[2];
	json_t *res[2];
	struct proc_gate gate;
	const char *bin = test_bin("STATION_BIN", "build/bin/station");

	proc_gate_init(&gate);
	for (int i = 0; i < 2; i++) {
		dev[i] = devsim_proc_start(dargs);
		assert_non_null(dev[i]);
		out[i] = xasprintf("%s/race-%s-%d.json", e->home, serial, i);
		const char *argv[] = { bin, "provision", dev[i]->uri, "--json",
			NULL };
		pid[i] = proc_spawn_gated(argv, &gate, e->home, out[i]);
		assert_true(pid[i] > 0);
	}
	proc_gate_open(&gate);
	int rc0 = proc_wait_ms(pid[0], 60000);
	int rc1 = proc_wait_ms(pid[1], 60000);
	res[0] = load_result(out[0]);
	res[1] = load_result(out[1]);

	int w = strcmp(prov_jstr(res[0], "result"), "PASS") == 0 ? 0 : 1;
	json_t *win = res[w], *lose = res[1 - w];
	assert_string_equal(prov_jstr(win, "result"), "PASS");
	assert_int_equal(w == 0 ? rc0 : rc1, 0);
	assert_string_equal(prov_jstr(lose, "result"), "FAIL");
	assert_int_equal(w == 0 ? rc1 : rc0, 1);
	assert_string_equal(prov_jstr(lose, "failed_step"), "ledger-check");
	assert_string_equal(prov_jstr(lose, "headline"),
	    "Serial is held by another slot");
	char *want = xasprintf("serial %s is being provisioned in slot 0 by "
			       "station station-1, run %lld",
	    serial,
	    (long long)json_integer_value(json_object_get(win, "run_id")));
	assert_string_equal(prov_jstr(lose, "reason"), want);
	free(want);
	assert_true(json_is_null(json_object_get(lose, "cert_serial")));
	/* Nothing was done to the losing board: its chip is still blank. */
	char *state = prov_probe_state(e, prov_jstr(lose, "device"));
	assert_non_null(state);
	assert_string_equal(state, "blank");
	free(state);
	assert_int_equal(prov_count_certs(l, serial, "live"), 1);
	assert_int_equal(prov_count_certs(l, serial, NULL), 1);

	for (int i = 0; i < 2; i++) {
		json_decref(res[i]);
		free(out[i]);
		devsim_proc_stop(dev[i]);
	}
}

/* Two stations, one serial, released together, ROUNDS times. */
static void
test_two_stations_one_serial_exactly_one_passes(void **state)
{
	(void)state;
	struct prov_env *e = prov_env_new();
	const char *init[] = { "recover", NULL };
	struct proc_out o;
	long rounds = test_env_long("RESERVE_ROUNDS", ROUNDS_DEFAULT);

	/* The embedded defaults create the local CA on first use: once,
	 * before the racers, so that they race for the serial only. */
	assert_int_equal(prov_station(e, init, &o), 0);
	proc_out_clear(&o);
	struct ledger *l = prov_ledger(e);
	for (long i = 1; i <= rounds; i++) {
		char serial[32];

		snprintf(serial, sizeof serial, "DUP-%04ld", i);
		race_round(e, l, serial);
	}
	/* Every CA issuance is in the ledger; no FAILed run kept a live
	 * certificate. */
	assert_int_equal(prov_audit(e, l), (int)rounds);
	ledger_close(l);
	prov_env_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_two_stations_one_serial_exactly_one_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
