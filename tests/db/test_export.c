/*
 * ERP export through the library: every field of every finished run read
 * back from CSV (with an independent RFC 4180 reader) and JSON lines (with
 * jansson) equals the ledger; watermark, manifest, range exports, and a
 * ledger locked by another process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "tests/db/export_fixture.h"
#include "station/util/text.h"

/* The value the export must show for `col` of run `id`, as text (owned),
 * or NULL for an empty / null field; looked up through the ledger API and
 * raw SQL, not through the export code. */
static char *
expected(struct xfx *f, int64_t id, const char *col)
{
	struct run_record r;
	struct cert_record c = { 0 };
	char buf[64], *v = NULL;
	int have_cert;

	assert_int_equal(ledger_run_get(f->l, id, &r, NULL), ST_OK);
	have_cert = r.cert_serial &&
	    ledger_cert_get(f->l, r.cert_serial, &c, NULL) == ST_OK;
#define S(name, val) \
	if (strcmp(col, name) == 0) \
	v = (val) ? strdup(val) : NULL
#define I(name, val) \
	if (strcmp(col, name) == 0) { \
		snprintf(buf, sizeof buf, "%lld", (long long)(val)); \
		v = strdup(buf); \
	}
	S("station_id", r.station_id);
	I("run_id", r.id);
	I("slot", r.slot);
	S("operator", r.operator_id);
	S("batch", r.batch);
	S("device_serial", r.device_serial);
	S("scanned_serial", r.scanned_serial);
	S("profile", r.profile);
	S("result", r.result);
	S("failed_step", r.failed_step);
	S("error_kind", r.error_kind);
	S("reason", r.reason);
	S("cert_serial", r.cert_serial);
	S("smoke_status", r.smoke_status);
	I("chain_seq", r.chain_seq);
	S("prev_hash", r.prev_hash);
	S("row_hash", r.row_hash);
	if (strcmp(col, "started_at") == 0 || strcmp(col, "ended_at") == 0) {
		iso_ms_expect(buf, sizeof buf,
		    col[0] == 's' ? r.started_at : r.ended_at);
		v = strdup(buf);
	}
	if (have_cert) {
		S("cert_fingerprint_sha256", c.fingerprint_sha256);
		S("cert_subject", c.subject);
		S("cert_issuer", c.issuer);
		S("cert_status", c.status);
		if (strncmp(col, "cert_not_", 9) == 0) {
			iso_s_expect(buf, sizeof buf,
			    col[9] == 'b' ? c.not_before : c.not_after);
			v = strdup(buf);
		}
	}
	if (r.device_serial &&
	    (strcmp(col, "model") == 0 || strcmp(col, "hw_version") == 0 ||
		strcmp(col, "fw_version") == 0)) {
		sqlite3 *db = NULL;
		sqlite3_stmt *st = NULL;
		char *sql =
		    sqlite3_mprintf("SELECT %s FROM devices WHERE serial = ?",
			col);

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(st, 1, r.device_serial, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_text(st, 0))
			v = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
		sqlite3_free(sql);
	}
#undef S
#undef I
	ledger_run_record_clear(&r);
	ledger_cert_record_clear(&c);
	return v;
}

static int
is_int_col(const char *col)
{
	return strcmp(col, "run_id") == 0 || strcmp(col, "slot") == 0 ||
	    strcmp(col, "chain_seq") == 0;
}

static void
export_ok(struct xfx *f, enum export_format fmt, struct export_result *res)
{
	struct export_request req = { .dir = f->out,
		.station_id = "st-01",
		.format = fmt,
		.since_last = 1 };
	char *cause = NULL;

	assert_int_equal(ledger_export(f->l, &req, res, &cause), ST_OK);
	assert_null(cause);
	assert_int_equal(res->problem, EXPORT_OK);
}

/* Every CSV field of every row equals the ledger, hostile strings
 * included; rows come in chain order; CRLF; header = column names. */
static void
test_csv_round_trips_every_field_of_every_run(void **state)
{
	struct xfx *f = *state;
	struct export_result res;
	struct csv_table t;
	size_t len = 0;
	char *data;

	assert_int_equal(xfx_add_runs(f->l, 0, 14), 0);
	export_ok(f, EXPORT_CSV, &res);
	assert_int_equal(res.rows, 14);
	data = slurp(res.file, &len);
	assert_non_null(data);
	assert_non_null(strstr(data, "\r\n"));
	csv_parse(data, len, &t);
	assert_false(t.bad);
	assert_int_equal(t.nrows, 15);
	assert_int_equal(t.ncols, 28);
	for (size_t c = 0; export_column_names[c]; c++)
		assert_string_equal(t.cell[c], export_column_names[c]);
	for (size_t row = 1; row < t.nrows; row++) {
		int64_t id = strtoll(csv_get(&t, row, "run_id"), NULL, 10);

		assert_int_equal(strtoll(csv_get(&t, row, "chain_seq"), NULL,
				     10),
		    row);
		for (size_t c = 0; c < t.ncols; c++) {
			char *want = expected(f, id, t.cell[c]);

			assert_string_equal(t.cell[row * t.ncols + c],
			    want ? want : "");
			free(want);
		}
	}
	/* The hostile strings really went through the quoting. */
	assert_non_null(strstr(data, "\"say \"\"hi\"\"\""));
	assert_non_null(strstr(data, "東京"));
	csv_table_free(&t);
	free(data);
	export_result_clear(&res);
}

/* JSON lines: one object per run, every key equals the ledger, NULLs are
 * null and integers are numbers. */
static void
test_jsonl_round_trips_every_field_of_every_run(void **state)
{
	struct xfx *f = *state;
	struct export_result res;
	char line[65536];
	int64_t n = 0;
	FILE *fp;

	assert_int_equal(xfx_add_runs(f->l, 0, 10), 0);
	export_ok(f, EXPORT_JSONL, &res);
	assert_int_equal(res.rows, 10);
	assert_non_null(strstr(res.file, ".jsonl"));
	fp = fopen(res.file, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp) != NULL) {
		json_error_t je;
		json_t *o = json_loads(line, 0, &je);
		int64_t id;

		assert_non_null(o);
		n++;
		assert_int_equal(json_object_size(o), 28);
		id = json_integer_value(json_object_get(o, "run_id"));
		for (size_t c = 0; export_column_names[c]; c++) {
			const char *col = export_column_names[c];
			json_t *j = json_object_get(o, col);
			char *want = expected(f, id, col);

			assert_non_null(j);
			if (want == NULL)
				assert_true(json_is_null(j));
			else if (is_int_col(col))
				assert_int_equal(json_integer_value(j),
				    strtoll(want, NULL, 10));
			else
				assert_string_equal(json_string_value(j), want);
			free(want);
		}
		json_decref(o);
	}
	fclose(fp);
	assert_int_equal(n, 10);
	export_result_clear(&res);
}

/* Run twice: the second export has no rows (header only, with its
 * manifest) and the watermark stays; a run finished later is in the
 * third export alone. */
static void
test_second_export_has_no_rows_and_next_has_only_new_runs(void **state)
{
	struct xfx *f = *state;
	struct export_result a, b, c;
	struct csv_table t;
	int64_t mark = -1;
	size_t len = 0;
	char *data;

	assert_int_equal(xfx_add_runs(f->l, 0, 5), 0);
	export_ok(f, EXPORT_CSV, &a);
	assert_int_equal(a.rows, 5);
	assert_int_equal(ledger_export_watermark(f->l, &mark, NULL), ST_OK);
	assert_int_equal(mark, 5);
	export_ok(f, EXPORT_CSV, &b);
	assert_int_equal(b.rows, 0);
	assert_string_not_equal(a.file, b.file);
	assert_int_equal(access(b.manifest, F_OK), 0);
	data = slurp(b.file, &len);
	csv_parse(data, len, &t);
	assert_false(t.bad);
	assert_int_equal(t.nrows, 1);
	csv_table_free(&t);
	free(data);
	assert_int_equal(ledger_export_watermark(f->l, &mark, NULL), ST_OK);
	assert_int_equal(mark, 5);

	assert_int_equal(xfx_add_runs(f->l, 5, 1), 0);
	export_ok(f, EXPORT_CSV, &c);
	assert_int_equal(c.rows, 1);
	assert_int_equal(c.from_chain_seq, 6);
	assert_int_equal(c.to_chain_seq, 6);
	export_result_clear(&a);
	export_result_clear(&b);
	export_result_clear(&c);
}

/* The manifest's checksum is the file's SHA-256 (computed here); its
 * chain head is the last exported run, and the next manifest continues
 * from it. */
static void
test_manifest_checksum_and_chain_continuity(void **state)
{
	struct xfx *f = *state;
	struct export_result a, b;
	struct run_record last;
	char hex[65];
	json_t *ma, *mb;

	assert_int_equal(xfx_add_runs(f->l, 0, 4), 0);
	export_ok(f, EXPORT_CSV, &a);
	assert_int_equal(xfx_add_runs(f->l, 4, 3), 0);
	export_ok(f, EXPORT_CSV, &b);
	ma = json_load_file(a.manifest, 0, NULL);
	mb = json_load_file(b.manifest, 0, NULL);
	assert_non_null(ma);
	assert_non_null(mb);
	sha256_file(a.file, hex);
	assert_string_equal(json_string_value(json_object_get(ma, "sha256")),
	    hex);
	assert_string_equal(a.sha256, hex);
	assert_int_equal(json_integer_value(json_object_get(ma, "rows")), 4);
	assert_string_equal(json_string_value(json_object_get(ma, "file")),
	    strrchr(a.file, '/') + 1);
	/* Run 1 finished last of the first batch: chain head is seq 4. */
	assert_int_equal(ledger_run_get(f->l, 1, &last, NULL), ST_OK);
	assert_int_equal(last.chain_seq, 4);
	assert_string_equal(json_string_value(
				json_object_get(json_object_get(ma,
						    "chain_head"),
				    "row_hash")),
	    last.row_hash);
	assert_true(json_equal(json_object_get(ma, "chain_head"),
	    json_object_get(mb, "continues_from")));
	assert_int_equal(json_integer_value(
			     json_object_get(mb, "from_chain_seq")),
	    5);
	ledger_run_record_clear(&last);
	json_decref(ma);
	json_decref(mb);
	export_result_clear(&a);
	export_result_clear(&b);
}

/* --from/--to picks runs by end time and leaves the watermark alone. */
static void
test_range_export_selects_by_time_and_keeps_the_watermark(void **state)
{
	struct xfx *f = *state;
	struct export_request req = { .dir = f->out,
		.station_id = "st-01",
		.since_last = 0 };
	struct export_result res;
	int64_t now = (int64_t)time(NULL) * 1000, mark = -1;

	assert_int_equal(xfx_add_runs(f->l, 0, 6), 0);
	req.from_ms = now - 3600000;
	req.to_ms = now + 3600000;
	assert_int_equal(ledger_export(f->l, &req, &res, NULL), ST_OK);
	assert_int_equal(res.rows, 6);
	export_result_clear(&res);
	req.from_ms = 0;
	req.to_ms = 1000;
	assert_int_equal(ledger_export(f->l, &req, &res, NULL), ST_OK);
	assert_int_equal(res.rows, 0);
	export_result_clear(&res);
	assert_int_equal(ledger_export_watermark(f->l, &mark, NULL), ST_OK);
	assert_int_equal(mark, 0);
	export_ok(f, EXPORT_CSV, &res);
	assert_int_equal(res.rows, 6);
	export_result_clear(&res);
}

/* Missing, not-a-directory destinations: distinct problems naming the
 * path; nothing claimed, the watermark does not move. */
static void
test_bad_destinations_are_named_and_move_nothing(void **state)
{
	struct xfx *f = *state;
	char missing[160], file[160];
	struct export_request req = { .station_id = "st-01", .since_last = 1 };
	struct export_result res;
	char *cause = NULL;
	int64_t mark = -1;
	FILE *fp;

	assert_int_equal(xfx_add_runs(f->l, 0, 2), 0);
	snprintf(missing, sizeof missing, "%s/nope", f->dir);
	snprintf(file, sizeof file, "%s/plain-file", f->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	req.dir = missing;
	assert_int_not_equal(ledger_export(f->l, &req, &res, &cause), ST_OK);
	assert_int_equal(res.problem, EXPORT_DEST_MISSING);
	assert_non_null(strstr(cause, missing));
	assert_non_null(strstr(cause, "does not exist"));
	export_result_clear(&res);
	req.dir = file;
	assert_int_not_equal(ledger_export(f->l, &req, &res, &cause), ST_OK);
	assert_int_equal(res.problem, EXPORT_DEST_NOT_DIR);
	assert_non_null(strstr(cause, file));
	export_result_clear(&res);
	free(cause);
	assert_int_equal(ledger_export_watermark(f->l, &mark, NULL), ST_OK);
	assert_int_equal(mark, 0);
}

/* Another process holding the ledger's write lock beyond the busy
 * timeout: EXPORT_LEDGER_BUSY, and no file under a final name. */
static void
test_ledger_locked_too_long_is_reported_as_busy(void **state)
{
	struct xfx *f = *state;
	struct export_request req = { .dir = f->out,
		.station_id = "st-01",
		.since_last = 1 };
	struct export_result res;
	char *cause = NULL;
	sqlite3 *db = NULL;

	assert_int_equal(xfx_add_runs(f->l, 0, 2), 0);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_not_equal(ledger_export(f->l, &req, &res, &cause), ST_OK);
	assert_int_equal(res.problem, EXPORT_LEDGER_BUSY);
	assert_non_null(strstr(cause, "locked"));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(rmdir(f->out), 0); /* still empty */
	free(cause);
	export_result_clear(&res);
}

/*
 * What the station itself refuses from a device (controls in HELLO
 * strings) can still reach the ledger from the command line or a CA: a
 * text cell starting with = + - @ TAB CR or ' gets one leading ', in any
 * text column; a value that is not UTF-8 is exported escaped (CSV and
 * JSON lines); integer and time cells are never prefixed.
 */
static void
test_formula_cells_are_guarded_and_bad_bytes_escaped(void **state)
{
	struct xfx *f = *state;
	struct export_result res;
	struct csv_table t;
	size_t len = 0;
	int64_t id = 0;
	char *data;
	json_t *o;
	struct run_start s = { .station_id = "st-01",
		.slot = 1,
		.operator_id = "\tTAB",
		.batch = "\rCR\nLF",
		.device_uri = "tcp:127.0.0.1:4000",
		.scanned_serial = "SN-1",
		.profile = "default" };
	struct device_record d = { .serial = "SN-1",
		.model = "=1+1",
		.hw_version = "-5",
		.fw_version = "'q",
		.chip = "soft" };
	struct export_request req = { .dir = f->out,
		.station_id = "st-01",
		.format = EXPORT_JSONL,
		.since_last = 0,
		.from_ms = 0,
		.to_ms = INT64_C(253402300799000) };

	assert_int_equal(ledger_run_begin(f->l, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_device(f->l, id, &d, NULL), ST_OK);
	assert_int_equal(ledger_run_finish(f->l, id, "FAIL", "csr", "policy",
			     "@x\xff\xfe", NULL),
	    ST_OK);
	export_ok(f, EXPORT_CSV, &res);
	data = slurp(res.file, &len);
	assert_non_null(data);
	assert_true(text_utf8_valid(data, len));
	csv_parse(data, len, &t);
	assert_false(t.bad);
	assert_int_equal(t.nrows, 2);
	assert_string_equal(csv_get(&t, 1, "operator"), "'\tTAB");
	assert_string_equal(csv_get(&t, 1, "batch"), "'\rCR\nLF");
	assert_string_equal(csv_get(&t, 1, "model"), "'=1+1");
	assert_string_equal(csv_get(&t, 1, "hw_version"), "'-5");
	assert_string_equal(csv_get(&t, 1, "fw_version"), "''q");
	assert_string_equal(csv_get(&t, 1, "reason"), "'@x\\xff\\xfe");
	assert_string_equal(csv_get(&t, 1, "device_serial"), "SN-1");
	assert_string_equal(csv_get(&t, 1, "slot"), "1");
	csv_table_free(&t);
	free(data);
	export_result_clear(&res);

	/* JSON lines: no guard, the same escaping, no key dropped. */
	assert_int_equal(ledger_export(f->l, &req, &res, NULL), ST_OK);
	data = slurp(res.file, &len);
	assert_non_null(data);
	data[strcspn(data, "\n")] = '\0';
	o = json_loads(data, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 28);
	assert_string_equal(json_string_value(json_object_get(o, "operator")),
	    "\tTAB");
	assert_string_equal(json_string_value(json_object_get(o, "model")),
	    "=1+1");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    "@x\\xff\\xfe");
	json_decref(o);
	free(data);
	export_result_clear(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_csv_round_trips_every_field_of_every_run, xfx_setup,
		    xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_jsonl_round_trips_every_field_of_every_run, xfx_setup,
		    xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_second_export_has_no_rows_and_next_has_only_new_runs,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_manifest_checksum_and_chain_continuity, xfx_setup,
		    xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_range_export_selects_by_time_and_keeps_the_watermark,
		    xfx_setup, xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_destinations_are_named_and_move_nothing, xfx_setup,
		    xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_ledger_locked_too_long_is_reported_as_busy, xfx_setup,
		    xfx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_formula_cells_are_guarded_and_bad_bytes_escaped,
		    xfx_setup, xfx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
