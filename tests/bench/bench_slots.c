/*
 * Slot scaling: 1, 4 and 16 slots provisioning at once, each slot a thread
 * calling provision_run on its own simulated device (what the line's
 * workers do), devsim at realistic chip latencies (--keygen-ms 50
 * --sign-ms 30 --baud 115200), smoke test included.  Devices per hour
 * from the wall time of a whole round (every slot provisions
 * BENCH_PER_SLOT devices, default 2), BENCH_ROUNDS rounds (default 3).
 * Peak RSS is this process's VmHWM: the station, its slot threads, TLS
 * and the ledger (devsim and Mosquitto are other processes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

struct slot_job {
	struct station *st;
	struct devsim_proc **dev; /* this slot's devices */
	size_t n;
	int slot;
};

static void *
slot_main(void *arg)
{
	struct slot_job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		bench_provision(j->st, j->dev[i]->uri, j->slot, NULL);
	return NULL;
}

/* Devices per hour of one round with `slots` threads. */
static double
one_round(struct station *st, int slots, size_t per_slot, size_t round)
{
	const char *opts[] = { "--keygen-ms", "50", "--sign-ms", "30",
		"--baud", "115200", NULL };
	size_t n = (size_t)slots * per_slot;
	char prefix[48];

	snprintf(prefix, sizeof prefix, "SLOT%d-R%zu", slots, round);
	struct devsim_proc **d = bench_devices_start(n, prefix, opts);
	struct slot_job *jobs = xcalloc((size_t)slots, sizeof *jobs);
	pthread_t *th = xcalloc((size_t)slots, sizeof *th);

	uint64_t t0 = clock_now_us();
	for (int s = 0; s < slots; s++) {
		jobs[s] = (struct slot_job){ .st = st,
			.dev = d + (size_t)s * per_slot, .n = per_slot,
			.slot = s + 1 };
		if (pthread_create(&th[s], NULL, slot_main, &jobs[s]) != 0)
			bench_die("pthread_create");
	}
	for (int s = 0; s < slots; s++)
		pthread_join(th[s], NULL);
	double secs = (double)(clock_now_us() - t0) / 1e6;
	bench_devices_stop(d, n);
	free(jobs);
	free(th);
	return (double)n * 3600.0 / secs;
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 3);
	size_t per_slot = (size_t)bench_env_long("BENCH_PER_SLOT", 2);
	const int slots[] = { 1, 4, 16 };
	struct bench_stat st[3];
	struct bench_env env;

	bench_env_open(&env, 1);
	for (int k = 0; k < 3; k++) {
		double *v = xcalloc(rounds, sizeof *v);

		for (size_t r = 0; r < rounds; r++) {
			v[r] = one_round(env.st, slots[k], per_slot, r);
		}
		st[k] = bench_stat_of(v, rounds);
		free(v);
	}
	long rss = bench_peak_rss_kib();

	printf("SLOTS_1=%.0f\nSLOTS_4=%.0f\nSLOTS_16=%.0f\nSLOTS_RSS_KIB=%ld\n",
	    st[0].median, st[1].median, st[2].median, rss);
	printf("@@table\n| Figure | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	for (int k = 0; k < 3; k++) {
		char fig[80];

		snprintf(fig, sizeof fig, "%d slot%s, devices/hour", slots[k],
		    slots[k] > 1 ? "s" : "");
		bench_row(fig, &st[k], 0, "", -1);
	}
	/* Ratios of round medians; the min/max pair the extreme rounds. */
	for (int k = 1; k < 3; k++) {
		struct bench_stat q = {
			.median = st[k].median / st[0].median,
			.min = st[k].min / st[0].max,
			.max = st[k].max / st[0].min,
		};
		char fig[80];

		snprintf(fig, sizeof fig, "%d slots / 1 slot", slots[k]);
		if (slots[k] == 16)
			bench_row(fig, &q, 1, "≥ 15×", q.median >= 15.0);
		else
			bench_row(fig, &q, 1, "", -1);
	}
	struct bench_stat r = { .median = rss / 1024.0, .min = rss / 1024.0,
		.max = rss / 1024.0, .n = 1 };
	bench_row("peak RSS of the station process after 16 slots (VmHWM), MB",
	    &r, 1, "≤ 32 MB", r.median <= 32.0);
	printf("@@end\n");
	bench_env_close(&env);
	return 0;
}
