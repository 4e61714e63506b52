/*
 * `station export` as a process: killed at each point of the delivery
 * protocol and run again, every finished run lands in exactly one final
 * file that has a manifest, no temp file survives; exit codes 0, 2, 3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/wait.h>

#include "tests/db/export_fixture.h"

/* Run `station export ARGS...` with STATION_HOME = the fixture and
 * STATION_EXPORT_CRASH_AT = crash (NULL: unset); stdout and stderr go to
 * <dir>/stdout and <dir>/stderr.  Returns the exit status, 128 + signal
 * when killed, -1 when STATION_BIN is not set. */
static int
run_export(struct xfx *f, const char *crash, const char *const *args)
{
	const char *bin = getenv("STATION_BIN");
	const char *argv[16] = { "station", "export" };
	int status = 0, n = 2;
	pid_t pid;

	if (bin == NULL || access(bin, X_OK) != 0)
		return -1;
	for (int i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char out[160], err[160];
		int o, e;

		snprintf(out, sizeof out, "%s/stdout", f->dir);
		snprintf(err, sizeof err, "%s/stderr", f->dir);
		o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(125);
		setenv("STATION_HOME", f->dir, 1);
		setenv("STATION_DEMO", "1",
		    1); /* no --config: a demo station */
		setenv("STATION_LOG", "error", 1);
		if (crash)
			setenv("STATION_EXPORT_CRASH_AT", crash, 1);
		else
			unsetenv("STATION_EXPORT_CRASH_AT");
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static char *
read_output(struct xfx *f, const char *which)
{
	char path[160];
	size_t len = 0;
	char *s;

	snprintf(path, sizeof path, "%s/%s", f->dir, which);
	s = slurp(path, &len);
	assert_non_null(s);
	return s;
}

/*
 * Walk the delivery directory: no temp files; every data file has its
 * manifest (and the reverse) whose checksum matches; count how often each
 * run id appears across all data files into seen[id].
 */
static void
collect_delivered(struct xfx *f, int seen[], int max_id)
{
	DIR *d = opendir(f->out);
	struct dirent *de;

	assert_non_null(d);
	for (;;) {
		const char *n;
		size_t len;
		char path[400], man[400], hex[65];
		struct csv_table t;
		json_t *m;
		char *data;
		size_t dlen = 0;

		de = readdir(d);
		if (de == NULL)
			break;
		n = de->d_name;
		len = strlen(n);
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		assert_false(n[0] == '.'); /* no temp file left behind */
		if (len > 14 && strcmp(n + len - 14, ".manifest.json") == 0) {
			snprintf(path, sizeof path, "%s/%.*s.csv", f->out,
			    (int)(len - 14), n);
			assert_int_equal(access(path, F_OK), 0);
			continue;
		}
		assert_true(len > 4 && strcmp(n + len - 4, ".csv") == 0);
		snprintf(path, sizeof path, "%s/%s", f->out, n);
		snprintf(man, sizeof man, "%s/%.*s.manifest.json", f->out,
		    (int)(len - 4), n);
		m = json_load_file(man, 0, NULL);
		assert_non_null(m); /* a data file is never without manifest */
		sha256_file(path, hex);
		assert_string_equal(json_string_value(
					json_object_get(m, "sha256")),
		    hex);
		data = slurp(path, &dlen);
		csv_parse(data, dlen, &t);
		assert_false(t.bad);
		assert_int_equal(json_integer_value(json_object_get(m, "rows")),
		    (json_int_t)t.nrows - 1);
		for (size_t r = 1; r < t.nrows; r++) {
			long id = strtol(csv_get(&t, r, "run_id"), NULL, 10);

			assert_true(id > 0 && id <= max_id);
			seen[id]++;
		}
		csv_table_free(&t);
		free(data);
		json_decref(m);
	}
	closedir(d);
}

static void
crash_then_rerun(void **state, const char *point)
{
	struct xfx *f = *state;
	const char *const args[] = { "--out", f->out, "--since-last", NULL };
	int seen[32] = { 0 };
	char *out;
	int rc;

	assert_int_equal(xfx_add_runs(f->l, 0, 8), 0);
	rc = run_export(f, point, args);
	if (rc == -1) {
		skip();
		return;
	}
	assert_int_equal(rc, 86);
	assert_int_equal(xfx_add_runs(f->l, 8, 3), 0);
	assert_int_equal(run_export(f, NULL, args), 0);
	out = read_output(f, "stdout");
	assert_non_null(strstr(out, "recovered 1 interrupted export"));
	free(out);
	/* And once more: nothing new, exit 0 all the same. */
	assert_int_equal(run_export(f, NULL, args), 0);
	out = read_output(f, "stdout");
	assert_non_null(strstr(out, "no new runs"));
	free(out);
	collect_delivered(f, seen, 31);
	for (int id = 1; id <= 11; id++)
		assert_int_equal(seen[id], 1);
	for (int id = 12; id < 32; id++)
		assert_int_equal(seen[id], 0);
}

/* Killed with the data written to its temp file, before the rename. */
static void
test_crash_after_write_then_rerun_delivers_each_run_once(void **state)
{
	crash_then_rerun(state, "after-write");
}

/* Killed with the data file renamed but no manifest: rolled back. */
static void
test_crash_after_rename_then_rerun_delivers_each_run_once(void **state)
{
	crash_then_rerun(state, "after-rename");
}

/* Killed right after the manifest's rename: rolled forward. */
static void
test_crash_after_manifest_then_rerun_delivers_each_run_once(void **state)
{
	crash_then_rerun(state, "after-manifest");
}

/* Killed with both files durable, before the watermark: rolled forward. */
static void
test_crash_before_watermark_then_rerun_delivers_each_run_once(void **state)
{
	crash_then_rerun(state, "before-watermark");
}

/* A missing destination and a regular file as destination: exit 3 and a
 * message naming the path; a bad command line: exit 2. */
static void
test_bad_destination_exits_3_naming_it_and_bad_usage_exits_2(void **state)
{
	struct xfx *f = *state;
	char missing[160], file[160];
	const char *const a_missing[] = { "--out", missing, NULL };
	const char *const a_file[] = { "--out", file, "--format", "jsonl",
		NULL };
	const char *const a_usage[] = { "--out", f->out, "--format", "xml",
		NULL };
	const char *const a_mixed[] = { "--out", f->out, "--since-last",
		"--from", "2026-11-22T00:00:00Z", "--to",
		"2026-11-23T00:00:00Z", NULL };
	char *err;
	FILE *fp;
	int rc;

	snprintf(missing, sizeof missing, "%s/not-there", f->dir);
	snprintf(file, sizeof file, "%s/a-file", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	rc = run_export(f, NULL, a_missing);
	if (rc == -1) {
		skip();
		return;
	}
	assert_int_equal(rc, 3);
	err = read_output(f, "stderr");
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "does not exist"));
	free(err);
	assert_int_equal(run_export(f, NULL, a_file), 3);
	err = read_output(f, "stderr");
	assert_non_null(strstr(err, file));
	assert_non_null(strstr(err, "not a directory"));
	free(err);
	assert_int_equal(run_export(f, NULL, a_usage), 2);
	assert_int_equal(run_export(f, NULL, a_mixed), 2);
}

/* A time that is not in the expected form, or a window with one end,
 * is a usage error that shows the form. */
static void
test_time_errors_show_the_format(void **state)
{
	struct xfx *f = *state;
	const char *const a_day[] = { "--out", f->out, "--from", "2026-12-01",
		"--to", "2026-12-02T00:00:00Z", NULL };
	const char *const a_half[] = { "--out", f->out, "--from",
		"2026-12-01T00:00:00Z", NULL };
	char *err;
	int rc;

	rc = run_export(f, NULL, a_day);
	if (rc == -1) {
		skip();
		return;
	}
	assert_int_equal(rc, 2);
	err = read_output(f, "stderr");
	assert_non_null(strstr(err, "--from '2026-12-01' is not a UTC time"));
	assert_non_null(strstr(err, "YYYY-MM-DDTHH:MM:SSZ"));
	free(err);
	assert_int_equal(run_export(f, NULL, a_half), 2);
	err = read_output(f, "stderr");
	assert_non_null(strstr(err, "--from and --to go together"));
	assert_non_null(strstr(err, "2026-11-22T00:00:00Z"));
	free(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_crash_after_write_then_rerun_delivers_each_run_once,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_after_rename_then_rerun_delivers_each_run_once,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_after_manifest_then_rerun_delivers_each_run_once,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_crash_before_watermark_then_rerun_delivers_each_run_once,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_destination_exits_3_naming_it_and_bad_usage_exits_2,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_time_errors_show_the_format, xfx_setup, xfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
