/*
 * Shared parts of the benchmark programs (tests/bench/bench_*.c, run by
 * `make bench`): statistics over repeated rounds, a throwaway station with
 * a real Mosquitto, simulated devices started ahead of the timed part,
 * per-step timing from the pipeline's events, peak RSS, and the markdown
 * rows the programs print on stdout (tests/bench/run.sh puts them in
 * docs/benchmarks.md).
 *
 * Set-up failures abort the program with a message on stderr: a benchmark
 * that cannot set up has nothing to report.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "station/pipeline/event.h"
#include "station/pipeline/pipeline.h"
#include "station/pipeline/station.h"
#include "tests/support/broker.h"
#include "tests/support/devsim_proc.h"

/* Median, minimum and maximum of n values (v is sorted in place). */
struct bench_stat {
	double median, min, max;
	size_t n;
};
struct bench_stat bench_stat_of(double *v, size_t n);

/* "12.3 (11.9–13.0)": median (min–max) with `prec` decimals; static. */
const char *bench_fmt(const struct bench_stat *s, int prec);

/* A markdown table row: figure, median, min, max, target, verdict.
 * `met` < 0 prints no verdict (informational rows). */
void bench_row(const char *figure, const struct bench_stat *s, int prec,
    const char *target, int met);

/* A throwaway station: STATION_HOME in a fresh temporary directory, the
 * embedded defaults (local CA, durable ledger), a Mosquitto that trusts
 * the local root, and the station pointed at it (when `broker` is 1). */
struct bench_env {
	char *home;
	struct station *st;
	struct test_broker broker;
	int has_broker;
};
void bench_env_open(struct bench_env *e, int broker);
void bench_env_close(struct bench_env *e);

/* Start n devsims with serials "<prefix>-<i>" and the extra devsim
 * options `opts` (NULL-terminated, may be NULL).  Free with
 * bench_devices_stop. */
struct devsim_proc **bench_devices_start(size_t n, const char *prefix,
    const char *const *opts);
void bench_devices_stop(struct devsim_proc **d, size_t n);

/* Per-step wall times of one run, from EVENT_STEP_START/OK, and the CPU
 * time of the thread that ran it (the pipeline runs in the caller's
 * thread; the sinks are called synchronously from it). */
struct bench_steps {
	uint64_t start_us[STEP__COUNT];
	uint64_t dur_us[STEP__COUNT];
	uint64_t cpu_start_us[STEP__COUNT];
	uint64_t cpu_us[STEP__COUNT];
	uint64_t run_start_us, run_end_us;
	uint64_t wall_us;      /* the whole provision_run call */
	uint64_t cpu_total_us; /* its thread's user + system time */
};
/* An event sink for event_bus_add (ctx: struct bench_steps). */
void bench_steps_sink(void *ctx, const struct station_event *ev);

/* One full pipeline run of `uri`; aborts unless it PASSes. */
void bench_provision(struct station *st, const char *uri, int slot,
    struct bench_steps *steps);

/* CPU time (user + system) in microseconds: of the calling thread, of
 * this process, of its reaped children, of process `pid` and its
 * children (/proc). */
uint64_t bench_thread_cpu_us(void);
uint64_t bench_self_cpu_us(void);
uint64_t bench_children_cpu_us(void);
uint64_t bench_pid_cpu_us(pid_t pid);

/* Peak resident set of this process (VmHWM), in KiB. */
long bench_peak_rss_kib(void);

/* Integer from the environment, or `dflt`. */
long bench_env_long(const char *name, long dflt);

/* Print to stderr and abort. */
void bench_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
