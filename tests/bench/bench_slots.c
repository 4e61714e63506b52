/*
 * Slot scaling: 1, 4 and 16 slots provisioning at once through the line
 * (station/line.h: one worker thread per slot), each slot on its own
 * simulated device, devsim at realistic chip latencies (--keygen-ms 50
 * --sign-ms 30 --baud 115200), smoke test included.  Devices per hour
 * from the wall time of a whole round (every slot provisions
 * BENCH_PER_SLOT devices, default 4: a line runs continuously, and a longer round weighs the start and the last slot's tail less), BENCH_ROUNDS rounds (default 3).
 * Peak RSS is this process's VmHWM: the station, its slot threads, TLS
 * and the ledger (devsim and Mosquitto are other processes).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/bench/bench.h"
#include "station/config/fixture.h"
#include "station/line/line.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

struct outcome {
	pthread_mutex_t mu;
	unsigned passed, failed;
};

/* Each run's outcome, from its EVENT_RUN_END on the line's bus. */
static void
on_result(void *ctx, const struct station_event *ev)
{
	struct outcome *o = ctx;
	const struct provision_result *res = ev->res;

	if (ev->kind != EVENT_RUN_END)
		return;
	pthread_mutex_lock(&o->mu);
	if (ev->station_err == ST_OK && res->pass &&
	    strcmp(res->smoke, "passed") == 0)
		o->passed++;
	else
		o->failed++;
	pthread_mutex_unlock(&o->mu);
	if (ev->station_err != ST_OK || !res->pass)
		fprintf(stderr, "slot %d: %s\n", ev->slot,
		    res->reason		  ? res->reason :
			ev->station_cause ? ev->station_cause :
					    "?");
}

/*
 * Devices per hour of one round on a line of `slots` slots.  A free slot
 * is pointed at the next waiting device (the fixture's device URI is read
 * when a job starts) and given a job, as an operator would put the next
 * board in the first free socket.
 */
/* CPU used during a round, in CPUs (CPU seconds per wall second). */
struct cpu_use {
	double station, devsim, broker;
};

static double
one_round(struct station *st, pid_t broker, int slots, size_t per_slot,
    size_t round, struct cpu_use *use)
{
	const char *opts[] = { "--keygen-ms", "50", "--sign-ms", "30", "--baud",
		"115200", NULL };
	size_t n = (size_t)slots * per_slot;
	char prefix[48];
	struct fixture fx = { .name = (char *)"bench",
		.hook_timeout_ms = 1000,
		.n_slots = (size_t)slots };
	struct outcome out = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct event_bus bus = { 0 };
	struct line *l = NULL;
	char *cause = NULL;

	snprintf(prefix, sizeof prefix, "SLOT%d-R%zu", slots, round);
	struct devsim_proc **d = bench_devices_start(n, prefix, opts);
	fx.slots = xcalloc((size_t)slots, sizeof *fx.slots);
	for (int s = 0; s < slots; s++) {
		fx.slots[s].index = (unsigned)s + 1;
		fx.slots[s].label = xasprintf("S%d", s + 1);
		fx.slots[s].profile = (char *)"default";
		fx.slots[s].device = d[s]->uri;
	}
	event_bus_add(&bus, on_result, &out);
	if (line_new(st, &fx, &bus, &l, &cause) != ST_OK)
		bench_die("line_new: %s", cause);

	uint64_t self0 = bench_self_cpu_us(), kids0 = bench_children_cpu_us();
	uint64_t mq0 = bench_pid_cpu_us(broker);
	uint64_t t0 = clock_now_us();
	for (size_t next = 0; next < n;) {
		line_wait_free(l, 0);
		for (int s = 0; s < slots && next < n; s++) {
			if (line_slot_busy(l, (unsigned)s + 1))
				continue;
			fx.slots[s].device = d[next]->uri;
			struct line_job job = { .slot = (unsigned)s + 1,
				.operator_id = "bench" };
			if (line_submit(l, &job, NULL, &cause) != ST_OK)
				bench_die("line_submit: %s", cause);
			next++;
		}
	}
	line_wait_idle(l);
	double secs = (double)(clock_now_us() - t0) / 1e6;
	uint64_t self1 = bench_self_cpu_us(), mq1 = bench_pid_cpu_us(broker);
	line_free(l);
	event_bus_clear(&bus);
	if (out.passed != n)
		bench_die("%u of %zu devices failed", out.failed, n);
	bench_devices_stop(d, n); /* reaped: their CPU time counts */
	use->station = (double)(self1 - self0) / 1e6 / secs;
	use->devsim = (double)(bench_children_cpu_us() - kids0) / 1e6 / secs;
	use->broker = (double)(mq1 - mq0) / 1e6 / secs;
	for (int s = 0; s < slots; s++)
		free(fx.slots[s].label);
	free(fx.slots);
	return (double)n * 3600.0 / secs;
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 3);
	size_t per_slot = (size_t)bench_env_long("BENCH_PER_SLOT", 4);
	const int slots[] = { 1, 4, 16 };
	struct bench_stat st[3], cpu[3][3];
	struct bench_env env;

	bench_env_open(&env, 1);
	for (int k = 0; k < 3; k++) {
		double *v = xcalloc(rounds, sizeof *v);
		double *c[3];

		for (int w = 0; w < 3; w++)
			c[w] = xcalloc(rounds, sizeof(double));
		for (size_t r = 0; r < rounds; r++) {
			struct cpu_use u;

			v[r] = one_round(env.st, env.broker.pid, slots[k],
			    per_slot, r, &u);
			c[0][r] = u.station;
			c[1][r] = u.devsim;
			c[2][r] = u.broker;
		}
		st[k] = bench_stat_of(v, rounds);
		for (int w = 0; w < 3; w++) {
			cpu[k][w] = bench_stat_of(c[w], rounds);
			free(c[w]);
		}
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
	struct bench_stat r = { .median = rss / 1024.0,
		.min = rss / 1024.0,
		.max = rss / 1024.0,
		.n = 1 };
	bench_row("peak RSS of the station process after 16 slots (VmHWM), MB",
	    &r, 1, "≤ 32 MB", r.median <= 32.0);
	printf("\nCPU in use during the rounds, in CPUs (CPU seconds per "
	       "wall second, user + sys; the machine has %ld), median of the "
	       "rounds, min–max:\n\n",
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("| slots | station | devsims | mosquitto |\n"
	       "|---:|---:|---:|---:|\n");
	for (int k = 0; k < 3; k++) {
		printf("| %d", slots[k]);
		for (int w = 0; w < 3; w++)
			printf(" | %s", bench_fmt(&cpu[k][w], 3));
		printf(" |\n");
	}
	printf("@@end\n");
	bench_env_close(&env);
	return 0;
}
