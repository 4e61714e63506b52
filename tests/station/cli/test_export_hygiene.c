/*
 * Device-reported strings in the ERP export are data, end to end: devsim
 * reports OWASP CSV-injection payloads, quotes, commas and bytes that are
 * not UTF-8 as its model and versions (controls -- tab, CR, LF -- are
 * refused at HELLO by the driver, so the tab- and CR-leading cells are
 * planted through the ledger API in tests/db/test_export.c); the real `station`
 * provisions it into a real ledger and `station export` writes the files;
 * Python's csv and json modules (independent readers) then see every
 * formula cell guarded by a leading ', every other value exactly as the
 * device reported it, the non-UTF-8 value escaped, and a file that is
 * valid UTF-8 throughout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <jansson.h>

#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

/* One device: what it reports, and what the ERP must read in each cell. */
struct planted {
	const char *serial;
	const char *model, *hw, *fw;
	const char *want_model, *want_hw, *want_fw;
};

static const struct planted devices[] = {
	{ "HYG-0001", "=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "-2+3",
	    "'=HYPERLINK(\"http://x\")", "'+cmd|' /C calc'!A0", "'-2+3" },
	{ "HYG-0002", "@SUM(1)", "say \"hi\", then", "'apostrophe", "'@SUM(1)",
	    "say \"hi\", then", "''apostrophe" },
	{ "HYG-0003", "Ger\xc3\xa4t-1",
	    "bad\xff\xfe"
	    "bytes",
	    "SN-like-2", "Ger\xc3\xa4t-1", "bad\\xff\\xfebytes", "SN-like-2" },
};
#define N_DEVICES (sizeof devices / sizeof devices[0])

/* Read the one data file of `ext` in `dir` with Python: CSV through the
 * csv module, JSON lines through json; the file must decode as UTF-8
 * (strict).  Prints the rows as one JSON array of objects. */
static const char reader_py[] =
    "import csv, glob, json, sys\n"
    "d, ext = sys.argv[1], sys.argv[2]\n"
    "[p] = [f for f in glob.glob(d + '/*.' + ext)]\n"
    "with open(p, newline='', encoding='utf-8', errors='strict') as f:\n"
    "    if ext == 'csv':\n"
    "        rows = list(csv.DictReader(f))\n"
    "    else:\n"
    "        rows = [json.loads(l) for l in f.read().split('\\n') if l]\n"
    "print(json.dumps(rows))\n";

static json_t *
read_export(const char *dir, const char *ext)
{
	const char *argv[] = { "python3", "-c", reader_py, dir, ext, NULL };
	char *out = NULL;
	json_t *rows;

	assert_int_equal(proc_run_capture(argv, &out), 0);
	rows = json_loads(out, 0, NULL);
	if (rows == NULL)
		fail_msg("python printed no JSON: %s", out);
	free(out);
	return rows;
}

/* Provision every planted device (each PASSes: the default profile uses
 * only the serial, which is honest) and export in `format`. */
static char *
provision_and_export(const char *format)
{
	char *out = xasprintf("%s/out-%s", tc.env->home, format);
	const char *args[] = { "export", "--out", out, "--format", format,
		NULL };
	struct proc_out o;

	for (size_t i = 0; i < N_DEVICES; i++) {
		const struct planted *p = &devices[i];
		const char *dargs[] = { "--serial", p->serial, "--model",
			p->model, "--hw", p->hw, "--fw", p->fw, NULL };
		struct devsim_proc *sim = devsim_proc_start(dargs);
		int status;
		json_t *j;

		assert_non_null(sim);
		j = prov_provision(tc.env, sim->uri, NULL, &status);
		devsim_proc_stop(sim);
		assert_non_null(j);
		if (strcmp(prov_jstr(j, "result"), "PASS") != 0)
			fail_msg("%s: %s", p->serial, prov_jstr(j, "reason"));
		json_decref(j);
	}
	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(prov_station(tc.env, args, &o), 0);
	proc_out_clear(&o);
	return out;
}

static const char *
cell(json_t *row, const char *col)
{
	json_t *v = json_object_get(row, col);

	if (!json_is_string(v))
		fail_msg("column %s missing or not a string", col);
	return json_string_value(v);
}

static json_t *
row_of(json_t *rows, const char *serial)
{
	size_t i;
	json_t *r;

	json_array_foreach(rows, i, r)
	{
		if (strcmp(cell(r, "device_serial"), serial) == 0)
			return r;
	}
	fail_msg("no exported row for %s", serial);
	return NULL;
}

static void
test_csv_guards_formulas_and_escapes_bad_bytes(void **state)
{
	char *dir;
	json_t *rows;

	(void)state;
	dir = provision_and_export("csv");
	rows = read_export(dir, "csv");
	assert_int_equal(json_array_size(rows), N_DEVICES);
	for (size_t i = 0; i < N_DEVICES; i++) {
		json_t *r = row_of(rows, devices[i].serial);

		assert_string_equal(cell(r, "model"), devices[i].want_model);
		assert_string_equal(cell(r, "hw_version"), devices[i].want_hw);
		assert_string_equal(cell(r, "fw_version"), devices[i].want_fw);
		/* Station-made cells are never prefixed. */
		assert_string_equal(cell(r, "result"), "PASS");
		assert_true(cell(r, "run_id")[0] != '\'');
	}
	json_decref(rows);
	free(dir);
}

/* JSON lines: no guard (JSON has no formulas), every key present, the
 * non-UTF-8 value escaped, everything else exactly as reported. */
static void
test_jsonl_keeps_every_key_and_escapes_bad_bytes(void **state)
{
	char *dir;
	json_t *rows;

	(void)state;
	dir = provision_and_export("jsonl");
	rows = read_export(dir, "jsonl");
	assert_int_equal(json_array_size(rows), N_DEVICES);
	for (size_t i = 0; i < N_DEVICES; i++) {
		const struct planted *p = &devices[i];
		json_t *r = row_of(rows, p->serial);
		const char *hw = strcmp(p->serial, "HYG-0003") == 0 ?
		    p->want_hw :
		    p->hw; /* only the non-UTF-8 value changes */

		assert_int_equal(json_object_size(r), 28);
		assert_string_equal(cell(r, "model"), p->model);
		assert_string_equal(cell(r, "hw_version"), hw);
		assert_string_equal(cell(r, "fw_version"), p->fw);
	}
	json_decref(rows);
	free(dir);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_csv_guards_formulas_and_escapes_bad_bytes),
		T(test_jsonl_keeps_every_key_and_escapes_bad_bytes),
	};

	return cmocka_run_group_tests_name("station export: hostile device "
					   "strings",
	    tests, NULL, NULL);
}
