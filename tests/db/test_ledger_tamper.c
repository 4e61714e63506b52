/*
 * The keyed chain against an attacker who has a copy of the ledger file
 * but not the key (docs/reliability.md, "Tamper evidence"): each attack
 * edits a COPY of a real ledger through a raw SQLite connection, every
 * trigger dropped first, and `ledger_verify` (what `station ledger
 * verify` runs) must fail naming the table and the row.  An honest ledger
 * passes; a ledger put back from an older copy passes alone and fails
 * against the checkpoint of a later export, through the real program.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sys/stat.h>

#include "db/export.h"
#include "station/util/xalloc.h"
#include "tests/db/ledger_fixture.h"
#include "tests/support/proc.h"

/* The rows an attack aims at (their ids are known once setup ran). */
enum aim {
	AIM_NONE,
	AIM_CERT,	/* certificate of run a, revoked */
	AIM_CERT_EVENT, /* its 'orphaned' event (the third of its history) */
	AIM_RUN_EVENT,	/* an event of run b */
	AIM_RUN_B,
	AIM_RUN_C, /* the newest run */
	AIM_COUNT
};

/*
 * One attack on a copy of the ledger: the SQL run through a raw
 * connection with every trigger dropped (`%1$lld` in it is the aimed
 * row's id), and what `ledger_verify` must report: the problem, the
 * table and the row.  For an attack on the keyed chain itself
 * (`entry` > 0), table and row are those of chain entry `entry`.
 */
struct tamper {
	const char *name;
	const char *sql;
	enum aim aim;
	enum ledger_problem problem;
	const char *table; /* NULL: chain entry `entry`'s table */
	const char *row;   /* NULL: the aimed id, or the entry's row key */
	int entry;
};

static const struct tamper tampers[] = {
	/* The revoked certificate made live again, with its newest event
	 * too. */
	{ "test_revoked_certificate_made_verified",
	    "UPDATE certificates SET status = 'verified', revoke_reason ="
	    " NULL WHERE id = %1$lld;"
	    "UPDATE cert_events SET status = 'verified' WHERE id = (SELECT"
	    " max(id) FROM cert_events WHERE cert_id = %1$lld);",
	    AIM_CERT, LEDGER_EDITED, "certificates", NULL, 0 },
	{ "test_certificate_pem_swapped",
	    "UPDATE certificates SET pem = (SELECT pem FROM certificates"
	    " WHERE serial_hex = 'b1') || 'x' WHERE id = %1$lld;",
	    AIM_CERT, LEDGER_EDITED, "certificates", NULL, 0 },
	{ "test_certificate_fingerprint_swapped",
	    "UPDATE certificates SET fingerprint_sha256 = 'ffff' ||"
	    " substr(fingerprint_sha256, 5) WHERE id = %1$lld;",
	    AIM_CERT, LEDGER_EDITED, "certificates", NULL, 0 },
	{ "test_certificate_deleted",
	    "DELETE FROM certificates WHERE id = %1$lld;", AIM_CERT,
	    LEDGER_DELETED, "certificates", NULL, 0 },
	/* A certificate's history rewritten: its 'orphaned' event said
	 * otherwise. */
	{ "test_certificate_event_edited",
	    "UPDATE cert_events SET note = 'all fine' WHERE id = %1$lld;",
	    AIM_CERT_EVENT, LEDGER_EDITED, "cert_events", NULL, 0 },
	{ "test_run_event_edited",
	    "UPDATE run_events SET detail = 'ok' WHERE id = %1$lld;",
	    AIM_RUN_EVENT, LEDGER_EDITED, "run_events", NULL, 0 },
	{ "test_run_event_deleted", "DELETE FROM run_events WHERE id = %1$lld;",
	    AIM_RUN_EVENT, LEDGER_DELETED, "run_events", NULL, 0 },
	{ "test_device_edited",
	    "UPDATE devices SET fw_version = '9.9.9' WHERE serial = 'SN-B';",
	    AIM_NONE, LEDGER_EDITED, "devices", "SN-B", 0 },
	/* The watermark moved back: the next export would deliver runs
	 * again (or, moved forward, never deliver some). */
	{ "test_exports_watermark_moved",
	    "UPDATE exports SET to_chain_seq = 0;", AIM_NONE, LEDGER_EDITED,
	    "exports", "1", 0 },
	/* A column outside the run chain's row hash (the CA request's
	 * key). */
	{ "test_unhashed_run_column_edited",
	    "UPDATE runs SET ca_key_sha256 = 'ff' || substr(ca_key_sha256, 3)"
	    " WHERE id = %1$lld;",
	    AIM_RUN_B, LEDGER_EDITED, "runs", NULL, 0 },
	/* A run slipped in as still running (outside the run chain). */
	{ "test_run_inserted",
	    "INSERT INTO runs (id, station_id, slot, device_uri, started_at)"
	    " VALUES (99, 'st-01', 0, 'tcp:x:1', 1);",
	    AIM_NONE, LEDGER_UNCHAINED, "runs", "99", 0 },
	/* Entries reordered: each MAC covers the one before, so the entry
	 * now at position 5 (the old 6th) is named. */
	{ "test_chain_entries_reordered",
	    "UPDATE chain_log SET seq = -1 WHERE seq = 5;"
	    "UPDATE chain_log SET seq = 5 WHERE seq = 6;"
	    "UPDATE chain_log SET seq = 6 WHERE seq = -1;",
	    AIM_NONE, LEDGER_FORGED, NULL, NULL, 6 },
	/* An entry's digest replaced to fit an edited row: it then lacks
	 * the key's MAC. */
	{ "test_chain_entry_rewritten",
	    "UPDATE chain_log SET digest = '" FP "' WHERE seq = 7;", AIM_NONE,
	    LEDGER_FORGED, NULL, NULL, 7 },
	/* The newest run deleted with everything it wrote, chain_head
	 * rewound to the run before: the keyed chain still names what was
	 * there. */
	{ "test_newest_run_deleted_and_head_rewound",
	    "DELETE FROM cert_events WHERE cert_id IN (SELECT id FROM"
	    " certificates WHERE run_id = %1$lld);"
	    "DELETE FROM certificates WHERE run_id = %1$lld;"
	    "DELETE FROM run_events WHERE run_id = %1$lld;"
	    "DELETE FROM devices WHERE serial = 'SN-C';"
	    "DELETE FROM runs WHERE id = %1$lld;"
	    "UPDATE chain_head SET seq = 2, hash = (SELECT row_hash FROM runs"
	    " WHERE chain_seq = 2);",
	    AIM_RUN_C, LEDGER_DELETED, "runs", NULL, 0 },
};

#define N_TAMPERS (sizeof tampers / sizeof tampers[0])

/* What setup built, for the attacks to aim at. */
struct world {
	int64_t run_a, run_b, run_c; /* finished runs; c is the newest */
	int64_t aim[AIM_COUNT];	     /* ids of the aimed rows */
	const struct tamper *tamper; /* the attack of this test, or NULL */
	char *manifest;		     /* the export's manifest (owned) */
};

static struct world w;

static int64_t
one_int(const char *path, const char *sql)
{
	int64_t v = -1;

	assert_int_equal(raw_int(path, sql, &v), SQLITE_OK);
	return v;
}

/* A run through the API: device, events, a certificate, the end. */
static int64_t
full_run(struct ledger *l, int slot, const char *serial, const char *cert,
    const char *final_status)
{
	struct device_record d = { .serial = serial,
		.model = "M-100",
		.hw_version = "rev3",
		.fw_version = "1.4.2",
		.chip = "soft" };
	struct cert_record c = fixture_cert(cert, serial);
	int64_t id = start_run(l, slot, serial);

	assert_true(id > 0);
	assert_int_equal(ledger_run_device(l, id, &d, NULL), ST_OK);
	assert_int_equal(ledger_run_event(l, id, "hello", LEDGER_EV_OK,
			     "device answered", NULL),
	    ST_OK);
	assert_int_equal(ledger_run_ca_request(l, id, FP, NULL), ST_OK);
	assert_int_equal(ledger_cert_issued(l, id, &c, NULL), ST_OK);
	assert_int_equal(ledger_cert_set_status(l, cert, "written", NULL, NULL),
	    ST_OK);
	if (strcmp(final_status, "revoked") == 0) {
		assert_int_equal(ledger_cert_set_status(l, cert, "orphaned",
				     "smoke test failed", NULL),
		    ST_OK);
		assert_int_equal(ledger_cert_set_status(l, cert, "revoked",
				     NULL, NULL),
		    ST_OK);
	} else {
		assert_int_equal(ledger_cert_set_status(l, cert, "verified",
				     NULL, NULL),
		    ST_OK);
	}
	assert_int_equal(ledger_run_smoke(l, id, LEDGER_SMOKE_PASSED,
			     "127.0.0.1:8883", "TLSv1.3",
			     "TLS_AES_256_GCM_SHA384", NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(l, id, "PASS", NULL, NULL, NULL,
			     NULL),
	    ST_OK);
	return id;
}

static void
copy_file(const char *from, const char *to)
{
	size_t n = 0;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[65536];

	assert_non_null(in);
	assert_non_null(out);
	for (n = fread(buf, 1, sizeof buf, in); n > 0;
	     n = fread(buf, 1, sizeof buf, in))
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* Three runs and an export, then the ledger closed (its WAL folded in,
 * so the file alone is the ledger). */
static int
setup(void **state)
{
	struct export_request req = { .station_id = "st-01", .since_last = 1 };
	struct export_result res = { 0 };
	struct fixture *f;
	char *out, *sql;

	/* The attack a table-driven test is to make (its initial state). */
	w.tamper = *state;
	if (fixture_setup(state) != 0)
		return -1;
	f = *state;
	w.run_a = full_run(f->l, 0, "SN-A", "a1", "revoked");
	w.run_b = full_run(f->l, 1, "SN-B", "b1", "verified");
	out = xasprintf("%s/out", f->dir);
	assert_int_equal(mkdir(out, 0700), 0);
	req.dir = out;
	assert_int_equal(ledger_export(f->l, &req, &res, NULL), ST_OK);
	w.manifest = xstrdup(res.manifest);
	export_result_clear(&res);
	free(out);
	w.run_c = full_run(f->l, 2, "SN-C", "c1", "verified");
	ledger_close(f->l);
	f->l = NULL;
	w.aim[AIM_RUN_B] = w.run_b;
	w.aim[AIM_RUN_C] = w.run_c;
	w.aim[AIM_CERT] = one_int(f->path,
	    "SELECT id FROM certificates WHERE serial_hex = 'a1'");
	sql = xasprintf("SELECT min(id) + 2 FROM cert_events WHERE cert_id ="
			" %lld",
	    (long long)w.aim[AIM_CERT]);
	w.aim[AIM_CERT_EVENT] = one_int(f->path, sql);
	free(sql);
	sql = xasprintf("SELECT max(id) FROM run_events WHERE run_id = %lld",
	    (long long)w.run_b);
	w.aim[AIM_RUN_EVENT] = one_int(f->path, sql);
	free(sql);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char *out = xasprintf("%s/out", f->dir);
	char *cmd = xasprintf("rm -rf '%s'", out);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(out);
	free(w.manifest);
	w.manifest = NULL;
	return fixture_teardown(state);
}

/* The copy beside the ledger (so the default key is the same). */
static char *
copy_path(struct fixture *f)
{
	char *p = xasprintf("%s/copy.db", f->dir);

	copy_file(f->path, p);
	return p;
}

/* Tamper with a copy, open it, verify: ST_E_MISMATCH naming `table` and
 * `row`, the cause saying "<table> row <row>" (or naming the run). */
static void
attack(struct fixture *f, const char *sql, enum ledger_problem p,
    const char *table, const char *row)
{
	struct ledger_verify_report r;
	struct ledger *l = NULL;
	char *copy = copy_path(f), *cause = NULL;
	char *named = xasprintf("%s row %s", table, row);

	assert_int_equal(raw_tamper(copy, sql), SQLITE_OK);
	assert_int_equal(ledger_open(copy, &l, NULL), ST_OK);
	assert_int_equal(ledger_verify(l, &r, &cause), ST_E_MISMATCH);
	assert_int_equal(r.problem, p);
	assert_string_equal(r.bad_table, table);
	assert_string_equal(r.bad_row, row);
	assert_non_null(cause);
	if (strstr(cause, named) == NULL) {
		char *run = xasprintf("run %s", row);

		assert_string_equal(table, "runs");
		assert_non_null(strstr(cause, run));
		free(run);
	}
	free(named);
	free(cause);
	ledger_close(l);
	unlink(copy);
	free(copy);
}

static void
test_honest_ledger_passes(void **state)
{
	struct fixture *f = *state;
	struct ledger_verify_report r;
	struct ledger_checkpoint cp;
	struct ledger *l = NULL;
	char *copy = copy_path(f);

	assert_int_equal(ledger_open(copy, &l, NULL), ST_OK);
	assert_int_equal(ledger_verify(l, &r, NULL), ST_OK);
	assert_int_equal(r.runs_checked, 3);
	assert_true(r.entries_checked > 20);
	assert_int_equal(ledger_checkpoint_load(w.manifest, &cp, NULL), ST_OK);
	assert_int_equal(ledger_verify_checkpoint(l, &cp, &r, NULL), ST_OK);
	ledger_close(l);
	unlink(copy);
	free(copy);
}

/* Table and row of keyed chain entry `seq` (caller frees both). */
static void
entry_at(const char *path, int seq, char **tbl, char **key)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT tbl, row_key FROM chain_log WHERE seq = ?",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int(st, 1, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*tbl = xstrdup((const char *)sqlite3_column_text(st, 0));
	*key = xstrdup((const char *)sqlite3_column_text(st, 1));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* One attack of the table (the test's initial state, kept by setup). */
static void
test_tamper(void **state)
{
	struct fixture *f = *state;
	const struct tamper *t = w.tamper;
	long long id = (long long)w.aim[t->aim];
	char *sql = xasprintf(t->sql, id);
	char *table, *row;

	if (t->entry > 0)
		entry_at(f->path, t->entry, &table, &row);
	else {
		table = xstrdup(t->table);
		row = t->row ? xstrdup(t->row) : xasprintf("%lld", id);
	}
	attack(f, sql, t->problem, table, row);
	free(sql);
	free(table);
	free(row);
}

/* The whole keyed chain rebuilt with the attacker's own key: the
 * station's key does not open it. */
static void
test_chain_resealed_with_another_key(void **state)
{
	struct fixture *f = *state;
	struct ledger *l = NULL;
	char *copy = copy_path(f), *cause = NULL;
	char *other = xasprintf("%s/other", f->dir);
	char *other_key = xasprintf("%s-key/ledger.key", other);

	assert_int_equal(
	    raw_tamper(copy,
		"UPDATE runs SET ca_serial = 'forged' WHERE id = 1;"
		"DELETE FROM chain_log;"),
	    SQLITE_OK);
	/* Sealed again by a station with another key. */
	assert_int_equal(ledger_key_init(other_key, copy, NULL), ST_OK);
	assert_int_equal(ledger_open_key(copy, other_key, &l, NULL), ST_OK);
	ledger_close(l);
	l = NULL;
	assert_int_equal(ledger_open(copy, &l, &cause), ST_E_CONFIG);
	assert_null(l);
	assert_non_null(strstr(cause, "not the key this ledger was sealed"));
	free(cause);
	unlink(other_key);
	other_key[strlen(other_key) - strlen("/ledger.key")] = '\0';
	rmdir(other_key);
	unlink(copy);
	free(copy);
	free(other);
	free(other_key);
}

/* `station ledger verify [--checkpoint M]` on a ledger home; its exit
 * status, the JSON line in *out (caller frees). */
static int
station_verify(const char *home, const char *manifest, char **out)
{
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"ledger", "verify", "--json", manifest ? "--checkpoint" : NULL,
		manifest, NULL };
	struct proc_out o;
	int rc = proc_run_env(argv, home, &o);

	*out = xasprintf("%s%s", o.out, o.err);
	proc_out_clear(&o);
	return rc;
}

/*
 * The newest records removed cleanly: an older copy of the ledger put
 * back (as truncating every table and the keyed chain at one point
 * would leave it).  Alone it verifies; against the manifest of a later
 * export it does not.  Written to again afterwards, it still does not.
 */
static void
test_rewound_ledger_fails_against_the_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct export_request req = { .station_id = "st-01", .since_last = 1 };
	struct export_result res = { 0 };
	struct ledger *l = NULL;
	char *home = xasprintf("%s/home", f->dir);
	char *old = xasprintf("%s/ledger.db", home);
	char *key = xasprintf("%s-key/ledger.key", f->dir);
	char *out = xasprintf("%s/out", f->dir), *text = NULL;

	assert_int_equal(mkdir(home, 0700), 0);
	copy_file(f->path, old);
	/* The real ledger goes on: one more run, and the export whose
	 * manifest the ERP keeps. */
	assert_int_equal(ledger_open(f->path, &l, NULL), ST_OK);
	full_run(l, 3, "SN-D", "d1", "verified");
	req.dir = out;
	assert_int_equal(ledger_export(l, &req, &res, NULL), ST_OK);
	ledger_close(l);
	l = NULL;

	assert_int_equal(setenv("STATION_LEDGER_KEY", key, 1), 0);
	assert_int_equal(station_verify(home, NULL, &text), 0);
	assert_non_null(strstr(text, "\"PASS\""));
	free(text);
	assert_int_equal(station_verify(home, res.manifest, &text), 1);
	assert_non_null(strstr(text, "\"rewound\""));
	assert_non_null(strstr(text, "before the checkpoint"));
	free(text);

	/* The station goes on writing on the rewound copy: the entry at
	 * the checkpoint's position is now another one. */
	assert_int_equal(ledger_open(old, &l, NULL), ST_OK);
	full_run(l, 3, "SN-E", "e1", "verified");
	full_run(l, 0, "SN-F", "f1", "verified");
	ledger_close(l);
	assert_int_equal(station_verify(home, NULL, &text), 0);
	free(text);
	assert_int_equal(station_verify(home, res.manifest, &text), 1);
	assert_non_null(strstr(text, "\"rewound\""));
	assert_non_null(strstr(text, "differs from the checkpoint"));
	free(text);
	/* And the real ledger extends it. */
	assert_int_equal(setenv("STATION_LEDGER_KEY", key, 1), 0);
	{
		char *real_home = xasprintf("%s/real", f->dir);
		char *real = xasprintf("%s/ledger.db", real_home);

		assert_int_equal(mkdir(real_home, 0700), 0);
		copy_file(f->path, real);
		assert_int_equal(station_verify(real_home, res.manifest, &text),
		    0);
		assert_non_null(strstr(text, "\"PASS\""));
		free(text);
		unlink(real);
		rmdir(real_home);
		free(real);
		free(real_home);
	}
	unsetenv("STATION_LEDGER_KEY");
	export_result_clear(&res);
	{
		char *cmd = xasprintf("rm -rf '%s'", home);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	free(home);
	free(old);
	free(key);
	free(out);
}

/* `station --config INI ledger SUB` with [ledger] key_file = `key`;
 * its exit status, stdout and stderr in *text (caller frees). */
static int
ledger_cmd_with_key_file(struct fixture *f, const char *sub, const char *home,
    const char *key, char **text)
{
	char *ini = xasprintf("%s/station.ini", f->dir);
	char *conf = xasprintf("[station]\nhome = %s\n\n[ledger]\n"
			       "key_file = %s\n",
	    home, key);
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--config", ini, "ledger", sub, NULL };
	struct proc_out o;
	FILE *fp = fopen(ini, "w");
	int rc;

	assert_non_null(fp);
	fputs(conf, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(ini, 0600), 0);
	rc = proc_run_env(argv, NULL, &o);
	*text = xasprintf("%s%s", o.out, o.err);
	proc_out_clear(&o);
	unlink(ini);
	free(ini);
	free(conf);
	return rc;
}

/* The key named by the configuration opens the ledger; a key beside the
 * ledger, one readable by others, a missing one or another one are
 * refused (exit 3) naming the file, and no key is made for a sealed
 * ledger. */
static void
test_key_file_from_the_configuration(void **state)
{
	struct fixture *f = *state;
	char *home = xasprintf("%s/conf", f->dir);
	char *db = xasprintf("%s/ledger.db", home);
	char *key = xasprintf("%s-key/ledger.key", f->dir);
	char *beside = xasprintf("%s/ledger.key", home);
	char *missing = xasprintf("%s/nokey/ledger.key", f->dir);
	char *other = xasprintf("%s/other-key/ledger.key", f->dir);
	char *text = NULL, *cmd;

	unsetenv("STATION_LEDGER_KEY");
	assert_int_equal(mkdir(home, 0700), 0);
	copy_file(f->path, db);
	assert_int_equal(ledger_cmd_with_key_file(f, "verify", home, key,
			     &text),
	    0);
	assert_non_null(strstr(text, "PASS"));
	free(text);

	copy_file(key, beside);
	assert_int_equal(chmod(beside, 0600), 0);
	assert_int_equal(ledger_cmd_with_key_file(f, "verify", home, beside,
			     &text),
	    3);
	assert_non_null(strstr(text, "in the ledger's own directory"));
	free(text);

	assert_int_equal(ledger_cmd_with_key_file(f, "verify", home, missing,
			     &text),
	    3);
	assert_non_null(strstr(text, "restore the key file"));
	free(text);
	assert_int_not_equal(access(missing, F_OK), 0);

	assert_int_equal(ledger_key_init(other, NULL, NULL), ST_OK);
	assert_int_equal(ledger_cmd_with_key_file(f, "verify", home, other,
			     &text),
	    3);
	assert_non_null(strstr(text, "not the key this ledger was sealed"));
	free(text);
	assert_int_equal(chmod(other, 0640), 0);
	assert_int_equal(ledger_cmd_with_key_file(f, "verify", home, other,
			     &text),
	    3);
	assert_non_null(strstr(text, "mode 0600"));
	free(text);

	cmd = xasprintf("rm -rf '%s' '%s/other-key'", home, f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(home);
	free(db);
	free(key);
	free(beside);
	free(missing);
	free(other);
}

/* `station ledger init-key` makes the configured key (0600) before the
 * ledger exists, and never replaces one. */
static void
test_init_key_makes_the_configured_key_once(void **state)
{
	struct fixture *f = *state;
	char *home = xasprintf("%s/fresh", f->dir);
	char *key = xasprintf("%s/fresh-k/ledger.key", f->dir);
	char *text = NULL, *cmd;
	struct stat sb;

	assert_int_equal(ledger_cmd_with_key_file(f, "init-key", home, key,
			     &text),
	    0);
	assert_non_null(strstr(text, "back it up"));
	free(text);
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(ledger_cmd_with_key_file(f, "init-key", home, key,
			     &text),
	    1);
	assert_non_null(strstr(text, "exists already"));
	free(text);
	/* A ledger that exists has its key already. */
	assert_int_equal(ledger_cmd_with_key_file(f, "init-key", f->dir,
			     "new-k/ledger.key", &text),
	    1);
	assert_non_null(strstr(text, "exists"));
	free(text);
	cmd = xasprintf("rm -rf '%s/fresh-k'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(home);
	free(key);
}

/* A manifest from outside is checked before it is believed. */
static void
test_malformed_checkpoint_is_refused(void **state)
{
	struct fixture *f = *state;
	struct ledger_checkpoint cp;
	char *bad = xasprintf("%s/bad.json", f->dir), *cause = NULL;
	FILE *fp = fopen(bad, "w");

	assert_non_null(fp);
	fputs("{\"keyed_head\": {\"seq\": 3, \"digest\": \"zz\", \"mac\": "
	      "\"00\"}}\n",
	    fp);
	fclose(fp);
	assert_int_equal(ledger_checkpoint_load(bad, &cp, &cause), ST_E_ARG);
	assert_non_null(strstr(cause, "keyed_head"));
	free(cause);
	unlink(bad);
	free(bad);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest others[] = {
		T(test_chain_resealed_with_another_key),
		T(test_rewound_ledger_fails_against_the_checkpoint),
		T(test_malformed_checkpoint_is_refused),
		T(test_key_file_from_the_configuration),
		T(test_init_key_makes_the_configured_key_once),
	};
	struct CMUnitTest
	    tests[1 + N_TAMPERS + sizeof others / sizeof others[0]] = {
		    T(test_honest_ledger_passes),
	    };
#undef T
	size_t n = 1;

	/* One test per attack of the table, each on a fresh ledger. */
	for (size_t i = 0; i < N_TAMPERS; i++)
		tests[n++] = (struct CMUnitTest){ .name = tampers[i].name,
			.test_func = test_tamper,
			.setup_func = setup,
			.teardown_func = teardown,
			.initial_state = (void *)&tampers[i] };
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
		tests[n++] = others[i];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
