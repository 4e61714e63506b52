/*
 * The smoke step against a Mosquitto with its default configuration
 * (set_tcp_nodelay false: Nagle on) and against one with set_tcp_nodelay
 * true, the same station otherwise.  A factory's broker keeps its default
 * configuration, so the station must not pay for it (issue 18): the target
 * is the default broker at no more than 1.5x the tuned one.  Each
 * configuration gets its own broker (fixtures/broker/start.sh reads
 * BROKER_TCP_NODELAY), one warm-up run, then BENCH_ROUNDS rounds of
 * BENCH_DEVICES devices; a round's figure is its median device.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/bench/bench.h"
#include "station/util/xalloc.h"

static struct bench_stat
smoke_of(const char *nodelay, size_t rounds, size_t n)
{
	struct bench_env env;
	double *round_ms = xcalloc(rounds, sizeof *round_ms);
	double *dev_ms = xcalloc(n, sizeof *dev_ms);
	struct bench_stat s;

	if (setenv("BROKER_TCP_NODELAY", nodelay, 1) != 0)
		bench_die("setenv");
	bench_env_open(&env, 1);
	struct devsim_proc **warm = bench_devices_start(1, "WARM", NULL);
	bench_provision(env.st, warm[0]->uri, 0, NULL);
	bench_devices_stop(warm, 1);
	for (size_t r = 0; r < rounds; r++) {
		char prefix[32];

		snprintf(prefix, sizeof prefix, "SMK-%s-R%zu", nodelay, r);
		struct devsim_proc **d = bench_devices_start(n, prefix, NULL);
		for (size_t i = 0; i < n; i++) {
			struct bench_steps st;

			bench_provision(env.st, d[i]->uri, 0, &st);
			dev_ms[i] = (double)st.dur_us[STEP_SMOKE] / 1000.0;
		}
		bench_devices_stop(d, n);
		round_ms[r] = bench_stat_of(dev_ms, n).median;
	}
	bench_env_close(&env);
	unsetenv("BROKER_TCP_NODELAY");
	s = bench_stat_of(round_ms, rounds);
	free(round_ms);
	free(dev_ms);
	return s;
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 5);
	size_t n = (size_t)bench_env_long("BENCH_DEVICES", 10);
	struct bench_stat def = smoke_of("false", rounds, n);
	struct bench_stat tuned = smoke_of("true", rounds, n);
	double ratio = def.median / tuned.median;
	struct bench_stat sr = { ratio, ratio, ratio, 1 };

	printf("SMOKE_DEFAULT_MS=%.2f\nSMOKE_TUNED_MS=%.2f\n", def.median,
	    tuned.median);
	printf("@@table\n");
	printf("| Figure | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	bench_row("smoke step, Mosquitto default (set_tcp_nodelay false), ms",
	    &def, 2, "", -1);
	bench_row("smoke step, Mosquitto set_tcp_nodelay true, ms", &tuned, 2,
	    "", -1);
	bench_row("default / tuned (×, medians)", &sr, 2, "≤ 1.5×",
	    ratio <= 1.5);
	printf("@@end\n");
	return 0;
}
