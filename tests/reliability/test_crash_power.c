/*
 * Power cuts: the checks of test_crash.c after a power cut instead of a
 * kill.  The station's home (ledger, WAL and -shm, the local CA with its
 * issuance log, the export directory) is put back to what was fsynced
 * (tests/reliability/powercut/), then the next start must find the state
 * consistent.  Each epoch is `station provision` followed by `station
 * export` under the shim; the cut is a SIGKILL of both at a random
 * instant or the shim's own SIGKILL at a random write, and every other
 * cut tears the last unsynced write.
 *
 * CRASH_CUTS (default 20) sets the number of cuts, CRASH_SEED the random
 * seed, CRASH_REPORT a file that receives the summary, CRASH_ONLY=kill
 * skips them (make crash-test POWER=1).
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "tests/reliability/crash_fixture.h"
#include "tests/reliability/powercut/powercut.h"

/* SHA-256 of a file as 64 lower-case hex digits into hex[65]. */
static int
file_sha256(const char *path, char hex[65])
{
	unsigned char md[32];
	size_t len = 0;
	uint8_t *data = slurp(path, &len);
	int ok;

	if (data == NULL)
		return -1;
	ok = EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL);
	free(data);
	if (!ok)
		return -1;
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

struct span {
	long long from, to;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->from > y->from) - (x->from < y->from);
}

/*
 * The export directory: every manifest's data file is there with its
 * checksum; since-last manifests continue each other (no run missing or
 * twice); with `settled` (after an export that ran to its end) no data
 * file lacks its manifest.  Returns inconsistencies.
 */
static int
check_exports(const char *dir, int settled)
{
	struct span spans[4096];
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	int bad = 0;

	if (d == NULL)
		return 0; /* no export has made it to the disk yet */
	for (de = readdir(d); de != NULL; de = readdir(d)) {
		const char *name = de->d_name;
		size_t len = strlen(name);
		char *path = xasprintf("%s/%s", dir, name);
		char hex[65];

		if (len > 14 &&
		    strcmp(name + len - 14, ".manifest.json") == 0) {
			json_t *m = json_load_file(path, 0, NULL);
			const char *file =
			    json_string_value(json_object_get(m, "file"));
			const char *sum =
			    json_string_value(json_object_get(m, "sha256"));
			const char *kind =
			    json_string_value(json_object_get(m, "kind"));
			char *data =
			    file ? xasprintf("%s/%s", dir, file) : NULL;

			if (m == NULL || data == NULL || sum == NULL ||
			    file_sha256(data, hex) != 0 ||
			    strcmp(hex, sum) != 0) {
				fprintf(stderr,
				    "check: export %s: data file missing or "
				    "its checksum differs\n",
				    name);
				bad++;
			} else if (kind && strcmp(kind, "since-last") == 0 &&
			    n < sizeof spans / sizeof spans[0]) {
				spans[n].from = json_integer_value(
				    json_object_get(m, "from_chain_seq"));
				spans[n].to = json_integer_value(
				    json_object_get(m, "to_chain_seq"));
				n++;
			}
			free(data);
			json_decref(m);
		} else if (settled && name[0] != '.' && len > 4 &&
		    (strcmp(name + len - 4, ".csv") == 0)) {
			char *base = xstrndup(name, len - 4);
			char *man = xasprintf("%s/%s.manifest.json", dir, base);

			if (access(man, F_OK) != 0) {
				fprintf(stderr,
				    "check: export %s has no manifest after a "
				    "completed export\n",
				    name);
				bad++;
			}
			free(man);
			free(base);
		}
		free(path);
	}
	closedir(d);
	qsort(spans, n, sizeof spans[0], span_cmp);
	for (size_t i = 1; i < n; i++)
		if (spans[i].from != spans[i - 1].to + 1) {
			fprintf(stderr,
			    "check: since-last exports %lld..%lld then "
			    "%lld..%lld: runs missing or exported twice\n",
			    spans[i - 1].from, spans[i - 1].to, spans[i].from,
			    spans[i].to);
			bad++;
		}
	return bad;
}

/* `provision URI` then `export --out DIR` in a process group of their
 * own (a signal ends the chain: a cut leaves no export to run). */
static pid_t
spawn_epoch(const struct station_env *e, const char *uri, const char *out)
{
	const char *station = test_bin("STATION_BIN", "build/bin/station");
	int fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	setpgid(0, 0);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	dup2(fd, STDOUT_FILENO);
	if (getenv("CRASH_VERBOSE") == NULL)
		dup2(fd, STDERR_FILENO);
	unsetenv("STATION_LOG");
	execl("/bin/sh", "sh", "-c",
	    "\"$0\" --config \"$1\" provision \"$2\" --json --quiet; "
	    "rc=$?; [ $rc -ge 128 ] && exit $rc; "
	    "exec \"$0\" --config \"$1\" export --out \"$3\"",
	    station, e->config, uri, out, (char *)NULL);
	_exit(127);
}

/* SIGKILL the epoch's process group and wait until none of it is left. */
static void
kill_group(pid_t pid)
{
	kill(-pid, SIGKILL);
	proc_wait_ms(pid, 30000);
	for (int i = 0; i < 30000 && kill(-pid, 0) == 0; i++)
		sleep_us(1000);
}

struct power_stats {
	long cuts, by_write, torn, torn_bytes, pass, fail, before_run, running;
};

/* One epoch cut and everything checked after it; returns
 * inconsistencies. */
static int
cut_once(const struct station_env *e, struct powercut *pc, const char *uri,
    const char *out, long max_delay_us, long writes, struct power_stats *st)
{
	const char *export[] = { "export", "--out", out, NULL };
	char *result = NULL, *last_ok = NULL;
	long torn = 0, at = 0;
	int bad = 0, tear = (st->cuts % 2) == 1;
	pid_t pid;

	int64_t before = ledger_newest_run(e->ledger, &result, &last_ok);
	free(result);
	free(last_ok);
	result = last_ok = NULL;
	if (lrand48() % 2 == 0)
		at = 1 + lrand48() % writes;
	powercut_begin(pc);
	powercut_arm(pc, at);
	pid = spawn_epoch(e, uri, out);
	powercut_disarm();
	if (pid < 0)
		return 1;
	if (at == 0)
		sleep_us((long)(drand48() * (double)max_delay_us));
	else
		proc_wait_ms(pid, 60000); /* until the shim cuts (or the end) */
	kill_group(pid);
	if (at && powercut_was_cut(pc))
		st->by_write++;
	if (powercut_cut(pc, tear, &torn) != 0) {
		fprintf(stderr, "check: the home could not be restored\n");
		return 1;
	}
	st->cuts++;
	st->torn += torn > 0;
	st->torn_bytes += torn;
	/* A pause, as between a power cut and the next start: the device
	 * finishes whatever the dead session left it doing. */
	sleep_us((long)(drand48() * 200000));

	int64_t id = ledger_newest_run(e->ledger, &result, &last_ok);
	if (id == before)
		st->before_run++;
	else if (result && strcmp(result, "PASS") == 0)
		st->pass++;
	else if (result && strcmp(result, "FAIL") == 0)
		st->fail++;
	else
		st->running++;
	/* (a) as the cut left it, before any recovery. */
	bad += recover_and_verify(e, 1);
	bad += check_no_running(e->ledger);
	bad += check_ca_index_recorded(e->ledger, e->ca_dir);
	bad += check_device(e->ledger, SERIAL, uri, 0);
	bad += check_ca_revoked_agrees(e->ledger, e->ca_dir);
	bad += check_exports(out, 0);
	if (id != before && result && strcmp(result, "PASS") == 0)
		bad += check_pass_run(e->ledger, id, uri, 3);
	free(result);
	free(last_ok);

	/* The same device again, to the end, and an export. */
	bad += provision_again(e, uri, "cut");
	if (station_env_run(e, export, NULL) != 0) {
		fprintf(stderr, "check: export after the cut failed\n");
		bad++;
	}
	bad += check_exports(out, 1);
	return bad;
}

static void
power_report(FILE *fp, const struct power_stats *st, long seed, long max_ms,
    long writes, int bad, uint64_t ms)
{
	fprintf(fp,
	    "power cuts: %ld cuts (seed %ld), %d inconsistencies, %.1f s\n",
	    st->cuts, seed, bad, (double)ms / 1000);
	fprintf(fp,
	    "cut by a signal at 0..%ld ms: %ld; at a write (of %ld in an "
	    "undisturbed run and export): %ld\n",
	    max_ms, st->cuts - st->by_write, writes, st->by_write);
	fprintf(fp, "torn last writes: %ld (%ld bytes kept in all)\n", st->torn,
	    st->torn_bytes);
	fprintf(fp,
	    "the newest run after the cut: none new %ld, running %ld, "
	    "PASS %ld, FAIL %ld\n",
	    st->before_run, st->running, st->pass, st->fail);
}

static void
test_power_cuts_leave_ledger_ca_exports_and_device_consistent(void **state)
{
	(void)state;
	long cuts = test_env_long("CRASH_CUTS", 20);
	long seed = test_env_long("CRASH_SEED", (long)time(NULL));
	const char *only = getenv("CRASH_ONLY");
	struct power_stats st = { 0 };
	char lifetime[32];
	long run_us = 0, writes;
	int bad = 0;
	uint64_t t0;

	if (only && strcmp(only, "power") != 0)
		skip();
	srand48(seed);
	snprintf(lifetime, sizeof lifetime, "%ld", guard_s(cuts));
	struct station_env *e = station_env_new(10000, NULL);
	assert_non_null(e);
	char *out = xasprintf("%s/export", e->home);
	assert_int_equal(mkdir(out, 0700), 0);
	struct powercut *pc = powercut_new(e->home);
	const char *dargs[] = { "--serial", SERIAL, "--keygen-ms", "10",
		"--sign-ms", "2", "--lifetime", lifetime, NULL };
	struct devsim_proc *d = devsim_proc_start(dargs);
	assert_non_null(d);

	/* An undisturbed epoch under the shim: its length sets the range
	 * of signal delays, its writes the range of write cuts. */
	for (int i = 0; i < 2; i++) {
		uint64_t t = clock_now_ms();
		pid_t pid;

		powercut_begin(pc);
		powercut_arm(pc, 1000000000L);
		pid = spawn_epoch(e, d->uri, out);
		powercut_disarm();
		assert_true(pid > 0);
		assert_int_equal(proc_wait_ms(pid, 60000), 0);
		if ((long)(clock_now_ms() - t) * 1000 > run_us)
			run_us = (long)(clock_now_ms() - t) * 1000;
	}
	writes = powercut_writes(pc);
	assert_true(writes > 0);
	assert_int_equal(check_exports(out, 1), 0);

	t0 = clock_now_ms();
	for (long i = 0; i < cuts; i++) {
		int b = cut_once(e, pc, d->uri, out, run_us + run_us / 10,
		    writes, &st);

		if (b)
			fprintf(stderr, "cut %ld: %d inconsistencies\n", i, b);
		if ((i + 1) % 50 == 0)
			fprintf(stderr, "%ld of %ld cuts, %d inconsistencies\n",
			    i + 1, cuts, bad + b);
		/* CRASH_KEEP=1: stop at the first, leaving the home to look
		 * at. */
		if (b && getenv("CRASH_KEEP") != NULL) {
			fprintf(stderr, "kept: %s\n", e->home);
			abort();
		}
		bad += b;
	}
	power_report(stderr, &st, seed, (run_us + run_us / 10) / 1000, writes,
	    bad, clock_now_ms() - t0);
	const char *path = getenv("CRASH_REPORT");
	if (path != NULL) {
		FILE *fp = fopen(path, "w");

		if (fp != NULL) {
			power_report(fp, &st, seed,
			    (run_us + run_us / 10) / 1000, writes, bad,
			    clock_now_ms() - t0);
			fclose(fp);
		}
	}
	devsim_proc_stop(d);
	powercut_free(pc);
	free(out);
	station_env_free(e);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_power_cuts_leave_ledger_ca_exports_and_device_consistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
