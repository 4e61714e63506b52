/*
 * Station overhead per device: the whole pipeline in-process against
 * devsim with no chip latency and no pacing, local CA, durable ledger, the
 * smoke test against a local Mosquitto.  Rounds of BENCH_DEVICES devices
 * (default 10), BENCH_ROUNDS rounds (default 5); each round's figure is the
 * median device, and the table gives the median, minimum and maximum of
 * the rounds.  Per-step medians are over every device of every round.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "station/util/xalloc.h"

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 5);
	size_t n = (size_t)bench_env_long("BENCH_DEVICES", 10);
	int smoke = bench_env_long("BENCH_NO_SMOKE", 0) == 0;
	struct bench_env env;
	double *own = xcalloc(rounds, sizeof *own);
	double *full = xcalloc(rounds, sizeof *full);
	double *dev_own = xcalloc(n, sizeof *dev_own);
	double *dev_full = xcalloc(n, sizeof *dev_full);
	double *step_all[STEP__COUNT];
	size_t total = rounds * n, k = 0;

	for (int s = 0; s < STEP__COUNT; s++)
		step_all[s] = xcalloc(total, sizeof(double));
	bench_env_open(&env, smoke);
	/* One unmeasured run first: the CA key, the ledger pages and the TLS
	 * libraries are warm on a station that has been running. */
	struct devsim_proc **warm = bench_devices_start(1, "WARM", NULL);
	bench_provision(env.st, warm[0]->uri, 0, NULL);
	bench_devices_stop(warm, 1);

	for (size_t r = 0; r < rounds; r++) {
		char prefix[32];

		snprintf(prefix, sizeof prefix, "OVH-R%zu", r);
		struct devsim_proc **d = bench_devices_start(n, prefix, NULL);
		for (size_t i = 0; i < n; i++, k++) {
			struct bench_steps st;

			bench_provision(env.st, d[i]->uri, 0, &st);
			dev_full[i] = (double)st.wall_us / 1000.0;
			dev_own[i] = (double)(st.wall_us -
			    st.dur_us[STEP_SMOKE]) / 1000.0;
			for (int s = 0; s < STEP__COUNT; s++)
				step_all[s][k] = (double)st.dur_us[s] / 1000.0;
		}
		bench_devices_stop(d, n);
		own[r] = bench_stat_of(dev_own, n).median;
		full[r] = bench_stat_of(dev_full, n).median;
	}

	struct bench_stat so = bench_stat_of(own, rounds);
	struct bench_stat sf = bench_stat_of(full, rounds);
	printf("OVERHEAD_OWN_MS=%.3f\nOVERHEAD_FULL_MS=%.3f\n", so.median,
	    sf.median);
	printf("@@table\n");
	printf("| Figure (ms per device) | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	bench_row("station's own work (all steps but the smoke test)", &so, 2,
	    "≤ 5 ms", so.median <= 5.0);
	if (smoke)
		bench_row("full pipeline incl. chip-signed TLS + MQTT publish",
		    &sf, 2, "≤ 10 ms", sf.median <= 10.0);
	printf("\nPer-step medians over all %zu devices (%zu rounds × %zu), "
	    "ms, with min–max:\n\n", total, rounds, n);
	printf("| step | median | min | max |\n|---|---:|---:|---:|\n");
	for (int s = 0; s < STEP__COUNT; s++) {
		struct bench_stat ss = bench_stat_of(step_all[s], total);

		printf("| %s | %.3f | %.3f | %.3f |\n", step_name((enum step)s),
		    ss.median, ss.min, ss.max);
		free(step_all[s]);
	}
	printf("@@end\n");
	bench_env_close(&env);
	free(own);
	free(full);
	free(dev_own);
	free(dev_full);
	return 0;
}
