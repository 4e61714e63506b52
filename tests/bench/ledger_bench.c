/*
 * make bench-ledger: build a ledger of 1,000,000 finished runs (two thirds
 * with a device and a certificate) in one SQL transaction, then time the
 * ERP export (CSV and JSON lines) and lookups by device serial (median),
 * show the query plans, and write the "Ledger scale" section of the file
 * named on the command line (docs/benchmarks.md), keeping its other
 * sections.  Targets: export < 10 s, lookup < 1 ms.
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "db/export.h"
#include "db/ledger.h"
#include "station/util/clock.h"

#define N_RUNS 1000000
#define N_LOOKUPS 101
#define T0_MS INT64_C(1790000000000)

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "ledger_bench: %s: %s\n", what, why ? why : "failed");
	exit(1);
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg);
}

/* One transaction, three prepared inserts: minutes become seconds. */
static void
fill(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *run, *dev, *cert;
	char hash[65], prev[65], serial[32], cserial[40], subject[64];

	if (sqlite3_open(path, &db) != SQLITE_OK)
		die("opening", path);
	/* The keyed chain's triggers call the station's own SQL functions,
	 * which this raw connection lacks: the bench's rows are made
	 * without entries (what it times, the export and the lookups, does
	 * not verify).  The chain's cost per run is measured by the
	 * station's own writes (docs/benchmarks.md, bench-station). */
	exec_sql(db,
	    "DROP TRIGGER chain_runs_ins; DROP TRIGGER chain_runs_upd;"
	    "DROP TRIGGER chain_devices_ins; DROP TRIGGER chain_devices_upd;"
	    "DROP TRIGGER chain_certificates_ins;"
	    "DROP TRIGGER chain_certificates_upd;"
	    "DROP TRIGGER chain_cert_events_ins;"
	    "DROP TRIGGER chain_cert_events_upd;");
	exec_sql(db, "PRAGMA synchronous=OFF; BEGIN");
	if (sqlite3_prepare_v2(db,
		"INSERT INTO runs (id, station_id, slot, operator, batch,"
		" device_uri, scanned_serial, device_serial, profile,"
		" started_at, ended_at, result, failed_step, error_kind,"
		" reason, cert_serial, smoke_status, chain_seq, prev_hash,"
		" row_hash) VALUES (?1, 'st-01', ?1 % 8, 'op7', 'B-2026-11',"
		" 'tcp:127.0.0.1:4000', ?2, ?3, 'default', ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10, ?11, ?1, ?12, ?13)",
		-1, &run, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"INSERT INTO devices (serial, model, hw_version, fw_version,"
		" chip, first_seen, last_seen) VALUES (?1, 'SENSOR-X2', 'C',"
		" '1.4.2', 'soft', ?2, ?2)",
		-1, &dev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
		"INSERT INTO certificates (serial_hex, device_serial, run_id,"
		" fingerprint_sha256, subject, issuer, not_before, not_after,"
		" backend, pem, status, created_at, updated_at) VALUES (?1, ?2,"
		" ?3, ?4, ?5, 'CN=Station Issuing CA,O=Acme', ?6, ?6 + 31536000,"
		" 'local', '-', 'verified', ?7, ?7)",
		-1, &cert, NULL) != SQLITE_OK)
		die("preparing", sqlite3_errmsg(db));
	memset(prev, '0', 64);
	prev[64] = '\0';
	for (int64_t i = 1; i <= N_RUNS; i++) {
		int fail = i % 3 == 0;
		int64_t t = T0_MS + i * 1000;

		snprintf(hash, sizeof hash,
		    "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, i,
		    i * 7919, i * 104729, ~i);
		snprintf(serial, sizeof serial, "SN-%08" PRId64, i);
		snprintf(cserial, sizeof cserial, "%032" PRIx64, i);
		snprintf(subject, sizeof subject, "CN=%s,O=Acme", serial);
		sqlite3_bind_int64(run, 1, i);
		sqlite3_bind_text(run, 2, serial, -1, SQLITE_STATIC);
		sqlite3_bind_text(run, 3, serial, -1, SQLITE_STATIC);
		sqlite3_bind_int64(run, 4, t - 4000);
		sqlite3_bind_int64(run, 5, t);
		sqlite3_bind_text(run, 6, fail ? "FAIL" : "PASS", -1,
		    SQLITE_STATIC);
		if (fail) {
			sqlite3_bind_text(run, 7, "csr", -1, SQLITE_STATIC);
			sqlite3_bind_text(run, 8, "policy", -1, SQLITE_STATIC);
			sqlite3_bind_text(run, 9,
			    "CSR subject differs, check the profile", -1,
			    SQLITE_STATIC);
			sqlite3_bind_null(run, 10);
			sqlite3_bind_null(run, 11);
		} else {
			sqlite3_bind_null(run, 7);
			sqlite3_bind_null(run, 8);
			sqlite3_bind_null(run, 9);
			sqlite3_bind_text(run, 10, cserial, -1, SQLITE_STATIC);
			sqlite3_bind_text(run, 11, "passed", -1, SQLITE_STATIC);
		}
		sqlite3_bind_text(run, 12, prev, -1, SQLITE_STATIC);
		sqlite3_bind_text(run, 13, hash, -1, SQLITE_STATIC);
		if (sqlite3_step(run) != SQLITE_DONE)
			die("inserting a run", sqlite3_errmsg(db));
		sqlite3_reset(run);
		sqlite3_bind_text(dev, 1, serial, -1, SQLITE_STATIC);
		sqlite3_bind_int64(dev, 2, t);
		if (sqlite3_step(dev) != SQLITE_DONE)
			die("inserting a device", sqlite3_errmsg(db));
		sqlite3_reset(dev);
		if (!fail) {
			sqlite3_bind_text(cert, 1, cserial, -1, SQLITE_STATIC);
			sqlite3_bind_text(cert, 2, serial, -1, SQLITE_STATIC);
			sqlite3_bind_int64(cert, 3, i);
			sqlite3_bind_text(cert, 4, hash, -1, SQLITE_STATIC);
			sqlite3_bind_text(cert, 5, subject, -1, SQLITE_STATIC);
			sqlite3_bind_int64(cert, 6, t / 1000);
			sqlite3_bind_int64(cert, 7, t);
			if (sqlite3_step(cert) != SQLITE_DONE)
				die("inserting a certificate",
				    sqlite3_errmsg(db));
			sqlite3_reset(cert);
		}
		memcpy(prev, hash, sizeof prev);
	}
	sqlite3_finalize(run);
	sqlite3_finalize(dev);
	sqlite3_finalize(cert);
	{
		char *sql = sqlite3_mprintf("UPDATE chain_head SET seq = %d,"
					    " hash = '%q' WHERE id = 1",
		    N_RUNS, prev);

		exec_sql(db, sql);
		sqlite3_free(sql);
	}
	exec_sql(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
}

/* EXPLAIN QUERY PLAN of `sql` as "detail; detail" into buf. */
static void
plan(const char *path, const char *sql, char *buf, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql);
	size_t n = 0;

	buf[0] = '\0';
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW && n < len)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
			    n ? "; " : "", sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	sqlite3_free(q);
}

static int
count_run(const struct run_record *r, void *ctx)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int
count_cert(const struct cert_record *c, void *ctx)
{
	(void)c;
	(*(int *)ctx)++;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
time_export(struct ledger *l, const char *out, enum export_format fmt,
    int64_t *rows)
{
	struct export_request req = { .dir = out,
		.station_id = "st-01",
		.format = fmt,
		.since_last = 0,
		.from_ms = 0,
		.to_ms = INT64_C(4102444800000) }; /* 2100 */
	struct export_result res;
	char *cause = NULL;
	uint64_t t0 = clock_now_us();

	if (ledger_export(l, &req, &res, &cause) != ST_OK)
		die("exporting", cause);
	*rows = res.rows;
	unlink(res.file);
	unlink(res.manifest);
	export_result_clear(&res);
	return (double)(clock_now_us() - t0) / 1e6;
}

static char *
slurp_or_empty(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL)
		return calloc(1, 1);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n)
		buf[0] = '\0';
	fclose(fp);
	return buf;
}

/* Replace (or append) the "## Ledger scale" section of `doc`. */
static void
write_section(const char *doc, const char *section)
{
	char *old = slurp_or_empty(doc),
	     *start = strstr(old, "## Ledger scale");
	char *end = start ? strstr(start + 1, "\n## ") : NULL;
	char tmp[4096];
	FILE *fp;

	snprintf(tmp, sizeof tmp, "%s.tmp", doc);
	fp = fopen(tmp, "w");
	if (fp == NULL)
		die("writing", tmp);
	if (old[0] == '\0')
		fputs(
		    "# Benchmarks\n\nFigures measured on the machine named in "
		    "each section; regenerate with the make target named "
		    "there.\n\n",
		    fp);
	if (start) {
		fwrite(old, 1, (size_t)(start - old), fp);
		fputs(section, fp);
		if (end)
			fputs(end + 1, fp);
	} else {
		fputs(old, fp);
		if (old[0] && old[strlen(old) - 1] != '\n')
			fputc('\n', fp);
		fputs(section, fp);
	}
	if (fclose(fp) != 0 || rename(tmp, doc) != 0)
		die("writing", doc);
	free(old);
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/ledger-bench-XXXXXX", path[64], out[64];
	char cpu[128] = "unknown", line[256], plan_export[512],
	     plan_lookup[512], load[64] = "unknown";
	uint64_t lookups[N_LOOKUPS];
	double gen_s, csv_s, jsonl_s, lookup_ms;
	int64_t csv_rows = 0, jsonl_rows = 0;
	struct ledger *l = NULL;
	char *cause = NULL, *section;
	struct utsname un;
	uint64_t t0;
	FILE *fp;

	if (argc != 2) {
		fprintf(stderr, "usage: ledger_bench docs/benchmarks.md\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", dir);
	snprintf(path, sizeof path, "%s/ledger.db", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	if (mkdir(out, 0755) != 0 || ledger_open(path, &l, &cause) != ST_OK)
		die("creating the ledger", cause);
	ledger_close(l);
	t0 = clock_now_us();
	fill(path);
	gen_s = (double)(clock_now_us() - t0) / 1e6;
	if (ledger_open(path, &l, &cause) != ST_OK)
		die("opening the ledger", cause);

	fp = fopen("/proc/loadavg", "r");
	if (fp && fgets(line, sizeof line, fp)) {
		/* The first three fields. */
		char *end = line;

		for (int k = 0; k < 3 && end; k++) {
			end = strchr(end, ' ');
			end = end ? end + 1 : NULL;
		}
		if (end)
			end[-1] = '\0';
		snprintf(load, sizeof load, "%.60s", line);
	}
	if (fp)
		fclose(fp);
	csv_s = time_export(l, out, EXPORT_CSV, &csv_rows);
	jsonl_s = time_export(l, out, EXPORT_JSONL, &jsonl_rows);
	srand(42);
	for (int i = 0; i < N_LOOKUPS; i++) {
		char serial[32];
		int runs = 0, certs = 0;

		snprintf(serial, sizeof serial, "SN-%08d",
		    1 +
			(int)(((int64_t)rand() * N_RUNS) /
			    ((int64_t)RAND_MAX + 1)));
		t0 = clock_now_us();
		if (ledger_device_history(l, serial, count_run, count_cert,
			&runs, &cause) != ST_OK)
			die("looking up", cause);
		lookups[i] = clock_now_us() - t0;
		(void)certs;
		if (runs < 1)
			die("looking up",
			    "a serial that must exist was not found");
	}
	ledger_close(l);
	qsort(lookups, N_LOOKUPS, sizeof lookups[0], cmp_u64);
	lookup_ms = (double)lookups[N_LOOKUPS / 2] / 1000.0;
	plan(path,
	    "SELECT r.id, c.status, d.model FROM runs r LEFT JOIN certificates c ON"
	    " c.serial_hex = r.cert_serial LEFT JOIN devices d ON d.serial ="
	    " r.device_serial WHERE r.chain_seq BETWEEN 1 AND 1000000"
	    " ORDER BY r.chain_seq",
	    plan_export, sizeof plan_export);
	plan(path,
	    "SELECT id FROM runs WHERE id IN (SELECT id FROM runs WHERE"
	    " device_serial = 'SN-1' UNION SELECT id FROM runs WHERE"
	    " scanned_serial = 'SN-1') ORDER BY id",
	    plan_lookup, sizeof plan_lookup);

	fp = fopen("/proc/cpuinfo", "r");
	while (fp && fgets(line, sizeof line, fp)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(cpu, sizeof cpu, "%s", colon + 2);
			cpu[strcspn(cpu, "\n")] = '\0';
			break;
		}
	}
	if (fp)
		fclose(fp);
	uname(&un);
	section = sqlite3_mprintf(
	    "## Ledger scale\n\n"
	    "`make bench-ledger` (tests/bench/ledger_bench.c): a ledger of "
	    "%d finished runs (two thirds with device and certificate), "
	    "generated in one SQL transaction in %.1f s.\n\n"
	    "Machine: %ld CPUs (nproc), %s, %s %s, SQLite %s.  Load average "
	    "(1, 5, 15 min) when the export started: %s; other work on the "
	    "same CPUs and disk stretches every figure.\n\n"
	    "| measurement | figure | target | |\n"
	    "| --- | --- | --- | --- |\n"
	    "| `station export` CSV, %" PRId64 " rows (file, fsync, manifest) "
	    "| %.2f s | < 10 s | %s |\n"
	    "| `station export` JSON lines, %" PRId64 " rows | %.2f s | < 10 s "
	    "| %s |\n"
	    "| lookup by serial (`ledger show`), median of %d | %.3f ms "
	    "| < 1 ms | %s |\n\n"
	    "Query plans (EXPLAIN QUERY PLAN):\n\n"
	    "- export: `%s`\n- lookup by serial: `%s`\n\n"
	    "Rows are streamed from one statement to the file; memory does "
	    "not grow with the number of runs.\n",
	    N_RUNS, gen_s, sysconf(_SC_NPROCESSORS_ONLN), cpu, un.sysname,
	    un.release, sqlite3_libversion(), load, csv_rows, csv_s,
	    csv_s < 10 ? "met" : "missed", jsonl_rows, jsonl_s,
	    jsonl_s < 10 ? "met" : "missed", N_LOOKUPS, lookup_ms,
	    lookup_ms < 1 ? "met" : "missed", plan_export, plan_lookup);
	write_section(argv[1], section);
	fputs(section, stdout);
	sqlite3_free(section);
	{
		char cmd[256];

		/* and the ledger key made beside it (ledger.h) */
		snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s-key'", dir, dir);
		if (system(cmd) != 0)
			fprintf(stderr, "ledger_bench: could not remove %s\n",
			    dir);
	}
	/* A missed target is a figure in the document (marked missed), not a
	 * failure: `make bench` goes on to the station's benchmarks. */
	return 0;
}
