/* Shared parts of the benchmark programs (bench.h). */
#include "tests/bench/bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "station/config/config.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"

void
bench_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct bench_stat
bench_stat_of(double *v, size_t n)
{
	struct bench_stat s = { .n = n };

	if (n == 0)
		return s;
	qsort(v, n, sizeof *v, cmp_double);
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return s;
}

const char *
bench_fmt(const struct bench_stat *s, int prec)
{
	static char buf[128];

	snprintf(buf, sizeof buf, "%.*f (%.*f–%.*f)", prec, s->median, prec,
	    s->min, prec, s->max);
	return buf;
}

void
bench_row(const char *figure, const struct bench_stat *s, int prec,
    const char *target, int met)
{
	printf("| %s | %.*f | %.*f | %.*f | %s | %s |\n", figure, prec,
	    s->median, prec, s->min, prec, s->max, target ? target : "",
	    met < 0 ? "" :
		met ? "MET" :
		      "**MISSED**");
}

void
bench_env_open(struct bench_env *e, int broker)
{
	char *cause = NULL;

	memset(e, 0, sizeof *e);
	e->home = scratch_dir();
	setenv("STATION_HOME", e->home, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	if (station_open(NULL, &e->st, &cause) != ST_OK)
		bench_die("station_open: %s", cause);
	if (!broker)
		return;
	char *root = xasprintf("%s/ca/root.pem", e->home);
	char *bdir = xasprintf("%s/broker", e->home);
	if (mkdir(bdir, 0700) != 0)
		bench_die("mkdir %s", bdir);
	if (test_broker_start(&e->broker, bdir, root, 900) != 0)
		bench_die("cannot start the test broker");
	e->has_broker = 1;
	char *hp = xasprintf("127.0.0.1:%d", e->broker.port);
	if (config_override_broker(e->st->cfg, hp, e->broker.ca_file, &cause) !=
	    ST_OK)
		bench_die("broker override: %s", cause);
	free(hp);
	free(bdir);
	free(root);
}

void
bench_env_close(struct bench_env *e)
{
	if (e->has_broker)
		test_broker_stop(&e->broker);
	station_close(e->st);
	scratch_rmtree(e->home);
	free(e->home);
	memset(e, 0, sizeof *e);
}

struct devsim_proc **
bench_devices_start(size_t n, const char *prefix, const char *const *opts)
{
	struct devsim_proc **d = xcalloc(n ? n : 1, sizeof *d);

	for (size_t i = 0; i < n; i++) {
		const char *args[40];
		size_t k = 0;
		char *serial = xasprintf("%s-%zu", prefix, i);

		args[k++] = "--serial";
		args[k++] = serial;
		args[k++] = "--lifetime";
		args[k++] = "900";
		for (size_t j = 0; opts && opts[j] && k < 39; j++)
			args[k++] = opts[j];
		args[k] = NULL;
		d[i] = devsim_proc_start(args);
		if (d[i] == NULL)
			bench_die("devsim %s did not start", serial);
		free(serial);
	}
	return d;
}

void
bench_devices_stop(struct devsim_proc **d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		devsim_proc_stop(d[i]);
	free(d);
}

void
bench_steps_sink(void *ctx, const struct station_event *ev)
{
	struct bench_steps *s = ctx;
	uint64_t now = clock_now_us();

	switch (ev->kind) {
	case EVENT_RUN_START:
		s->run_start_us = now;
		break;
	case EVENT_STEP_START:
		if (ev->step < STEP__COUNT) {
			s->start_us[ev->step] = now;
			s->cpu_start_us[ev->step] = bench_thread_cpu_us();
		}
		break;
	case EVENT_STEP_OK:
	case EVENT_STEP_FAIL:
		if (ev->step < STEP__COUNT) {
			s->dur_us[ev->step] = now - s->start_us[ev->step];
			s->cpu_us[ev->step] =
			    bench_thread_cpu_us() - s->cpu_start_us[ev->step];
		}
		break;
	case EVENT_RUN_END:
		s->run_end_us = now;
		break;
	default:
		break;
	}
}

void
bench_provision(struct station *st, const char *uri, int slot,
    struct bench_steps *steps)
{
	struct provision_request req = { .device_uri = uri,
		.slot = slot,
		.operator_id = "bench" };
	struct provision_result res;
	struct event_bus bus = { 0 };
	char *cause = NULL;

	if (steps) {
		memset(steps, 0, sizeof *steps);
		event_bus_add(&bus, bench_steps_sink, steps);
	}
	uint64_t t0 = clock_now_us(), c0 = bench_thread_cpu_us();
	st_err err = provision_run(st, &req, &bus, &res, &cause);

	if (steps) {
		steps->wall_us = clock_now_us() - t0;
		steps->cpu_total_us = bench_thread_cpu_us() - c0;
	}
	if (err != ST_OK)
		bench_die("provision_run %s: %s", uri, cause);
	if (!res.pass)
		bench_die("provisioning %s failed at %s: %s", uri,
		    step_name(res.failed_step), res.reason);
	if (st->cfg->broker.host && strcmp(res.smoke, "passed") != 0)
		bench_die("smoke test of %s: %s", uri, res.smoke);
	provision_result_clear(&res);
	event_bus_clear(&bus);
}

uint64_t
bench_thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t
rusage_us(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	    (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

uint64_t
bench_self_cpu_us(void)
{
	return rusage_us(RUSAGE_SELF);
}

uint64_t
bench_children_cpu_us(void)
{
	return rusage_us(RUSAGE_CHILDREN);
}

static uint64_t
one_pid_cpu_us(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	FILE *fp;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* Fields 14 and 15 (utime, stime) follow the ")" of the name. */
	char *p = strrchr(buf, ')');
	if (p == NULL ||
	    sscanf(p + 2,
		"%*c %*d %*d %*d %*d %*d %*u %*u %*u "
		"%*u %*u %llu %llu",
		&ut, &st) != 2)
		return 0;
	return (ut + st) * 1000000u / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* The broker runs under timeout(1): count the process and its children. */
uint64_t
bench_pid_cpu_us(pid_t pid)
{
	char path[96];
	uint64_t us = one_pid_cpu_us(pid);
	FILE *fp;
	int child;

	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return us;
	while (fscanf(fp, "%d", &child) == 1)
		us += one_pid_cpu_us((pid_t)child);
	fclose(fp);
	return us;
}

long
bench_peak_rss_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof line, fp)) {
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	}
	fclose(fp);
	return kib;
}

long
bench_env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	char *end;

	if (v == NULL || *v == '\0')
		return dflt;
	long n = strtol(v, &end, 10);
	return *end == '\0' && n > 0 ? n : dflt;
}
