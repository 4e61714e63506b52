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

#include "tests/bench/bench.h"
#include "station/util/xalloc.h"

/* Off-CPU time is what the thread waited for: the device and the wire in
 * device steps, fsyncs in ca-sign/record and between steps (run begin,
 * events, run end), the broker and the chip in the smoke test. */
static void
split(const struct bench_steps *st, double **part, size_t k)
{
	static const enum step device_steps[] = { STEP_CONNECT, STEP_HELLO,
		STEP_KEYGEN, STEP_CSR, STEP_WRITE, STEP_READBACK, STEP_PROOF,
		STEP_COMMIT };
	uint64_t dev = 0, in_steps = 0, cpu_steps = 0;

	for (size_t i = 0; i < sizeof device_steps / sizeof device_steps[0];
	     i++)
		dev +=
		    st->dur_us[device_steps[i]] - st->cpu_us[device_steps[i]];
	for (int s = 0; s < STEP__COUNT; s++) {
		in_steps += st->dur_us[s];
		cpu_steps += st->cpu_us[s];
	}
	int64_t between = (int64_t)(st->wall_us - in_steps) -
	    (int64_t)(st->cpu_total_us - cpu_steps);
	int64_t durable =
	    (int64_t)(st->dur_us[STEP_CA_SIGN] - st->cpu_us[STEP_CA_SIGN]) +
	    (int64_t)(st->dur_us[STEP_RECORD] - st->cpu_us[STEP_RECORD]) +
	    between;

	part[0][k] =
	    (double)(st->cpu_total_us - st->cpu_us[STEP_SMOKE]) / 1000.0;
	part[1][k] = (double)dev / 1000.0;
	part[2][k] = (double)(durable > 0 ? durable : 0) / 1000.0;
	part[3][k] = (double)st->cpu_us[STEP_SMOKE] / 1000.0;
	part[4][k] =
	    (double)(st->dur_us[STEP_SMOKE] - st->cpu_us[STEP_SMOKE]) / 1000.0;
}

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
	double *dev_cpu = xcalloc(n, sizeof *dev_cpu);
	double *dev_cpu_full = xcalloc(n, sizeof *dev_cpu_full);
	double *cpu_own = xcalloc(rounds, sizeof *cpu_own);
	double *cpu_full = xcalloc(rounds, sizeof *cpu_full);
	double *step_all[STEP__COUNT];
	/* Where one device's wall time goes, per device of every round. */
	enum {
		W_CPU_OWN,
		W_DEVICE,
		W_DURABLE,
		W_CPU_SMOKE,
		W_SMOKE_WAIT,
		W__COUNT
	};
	static const char *const w_names[W__COUNT] = {
		"station CPU, all steps but the smoke test (user + sys of the "
		"pipeline's thread)",
		"off-CPU in device steps (connect, hello, keygen, csr, write, "
		"readback, proof, commit): devsim's replies and the wire",
		"off-CPU in ca-sign, record and between steps: fsync waits "
		"(intent, issuance log, issuance, run end)",
		"station CPU in the smoke test (TLS 1.3 handshake, MQTT)",
		"off-CPU in the smoke test: broker, chip signature, loopback",
	};
	double *wall_part[W__COUNT];
	double *proc_cpu[3]; /* station process, devsims, mosquitto */
	size_t total = rounds * n, k = 0;

	for (int s = 0; s < STEP__COUNT; s++)
		step_all[s] = xcalloc(total, sizeof(double));
	for (int w = 0; w < W__COUNT; w++)
		wall_part[w] = xcalloc(total, sizeof(double));
	for (int w = 0; w < 3; w++)
		proc_cpu[w] = xcalloc(rounds, sizeof(double));
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
		uint64_t self0 = bench_self_cpu_us();
		uint64_t kids0 = bench_children_cpu_us();
		uint64_t mq0 =
		    env.has_broker ? bench_pid_cpu_us(env.broker.pid) : 0;
		for (size_t i = 0; i < n; i++, k++) {
			struct bench_steps st;

			bench_provision(env.st, d[i]->uri, 0, &st);
			dev_full[i] = (double)st.wall_us / 1000.0;
			dev_own[i] =
			    (double)(st.wall_us - st.dur_us[STEP_SMOKE]) /
			    1000.0;
			dev_cpu[i] =
			    (double)(st.cpu_total_us - st.cpu_us[STEP_SMOKE]) /
			    1000.0;
			dev_cpu_full[i] = (double)st.cpu_total_us / 1000.0;
			for (int s = 0; s < STEP__COUNT; s++)
				step_all[s][k] = (double)st.dur_us[s] / 1000.0;
			split(&st, wall_part, k);
		}
		uint64_t self1 = bench_self_cpu_us();
		uint64_t mq1 =
		    env.has_broker ? bench_pid_cpu_us(env.broker.pid) : 0;
		bench_devices_stop(d, n); /* reaped: their CPU time counts */
		proc_cpu[0][r] = (double)(self1 - self0) / 1000.0 / (double)n;
		proc_cpu[1][r] = (double)(bench_children_cpu_us() - kids0) /
		    1000.0 / (double)n;
		proc_cpu[2][r] = (double)(mq1 - mq0) / 1000.0 / (double)n;
		own[r] = bench_stat_of(dev_own, n).median;
		full[r] = bench_stat_of(dev_full, n).median;
		cpu_own[r] = bench_stat_of(dev_cpu, n).median;
		cpu_full[r] = bench_stat_of(dev_cpu_full, n).median;
	}

	struct bench_stat so = bench_stat_of(own, rounds);
	struct bench_stat sf = bench_stat_of(full, rounds);
	struct bench_stat sc = bench_stat_of(cpu_own, rounds);
	struct bench_stat scf = bench_stat_of(cpu_full, rounds);
	printf("OVERHEAD_OWN_MS=%.3f\nOVERHEAD_FULL_MS=%.3f\n"
	       "OVERHEAD_CPU_MS=%.3f\n",
	    so.median, sf.median, sc.median);
	printf("@@table\n");
	printf("| Figure (ms per device) | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	bench_row("station's own work, wall time (all steps but the smoke "
		  "test, incl. devsim's replies and fsync waits)",
	    &so, 2, "≤ 5 ms", so.median <= 5.0);
	bench_row("station's own work, CPU time (user + sys of the "
		  "pipeline's thread, all steps but the smoke test)",
	    &sc, 2, "≤ 5 ms", sc.median <= 5.0);
	if (smoke) {
		bench_row(
		    "full pipeline incl. chip-signed TLS + MQTT publish, "
		    "wall time (incl. devsim's replies, the broker and fsync "
		    "waits)",
		    &sf, 2, "≤ 10 ms", sf.median <= 10.0);
		bench_row(
		    "station's own work incl. the TLS handshake and MQTT "
		    "publish, CPU time (user + sys of the pipeline's thread, "
		    "all steps)",
		    &scf, 2, "≤ 10 ms", scf.median <= 10.0);
	}
	printf("\nPer-step medians over all %zu devices (%zu rounds × %zu), "
	       "ms, with min–max:\n\n",
	    total, rounds, n);
	printf("| step | median | min | max |\n|---|---:|---:|---:|\n");
	for (int s = 0; s < STEP__COUNT; s++) {
		struct bench_stat ss = bench_stat_of(step_all[s], total);

		printf("| %s | %.3f | %.3f | %.3f |\n", step_name((enum step)s),
		    ss.median, ss.min, ss.max);
		free(step_all[s]);
	}
	printf("\nWhere one device's wall time goes, ms (medians over all "
	       "devices, each row on its own; off-CPU = wall − the thread's "
	       "CPU time):\n\n");
	printf("| part | median | min | max |\n|---|---:|---:|---:|\n");
	for (int w = 0; w < W__COUNT; w++) {
		struct bench_stat ss = bench_stat_of(wall_part[w], total);

		printf("| %s | %.3f | %.3f | %.3f |\n", w_names[w], ss.median,
		    ss.min, ss.max);
		free(wall_part[w]);
	}
	static const char *const p_names[3] = {
		"station process (all "
		"threads, incl. the benchmark's own few µs)",
		"devsim processes", "mosquitto"
	};
	printf("\nCPU time per device by process, ms (user + sys; median "
	       "of the rounds, min–max):\n\n");
	printf("| process | median | min | max |\n|---|---:|---:|---:|\n");
	for (int w = 0; w < 3; w++) {
		struct bench_stat ss = bench_stat_of(proc_cpu[w], rounds);

		printf("| %s | %.3f | %.3f | %.3f |\n", p_names[w], ss.median,
		    ss.min, ss.max);
		free(proc_cpu[w]);
	}
	printf("@@end\n");
	bench_env_close(&env);
	free(own);
	free(full);
	free(dev_own);
	free(dev_full);
	free(dev_cpu);
	free(dev_cpu_full);
	free(cpu_own);
	free(cpu_full);
	return 0;
}
