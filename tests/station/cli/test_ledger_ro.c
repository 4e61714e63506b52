/*
 * The commands that only read the ledger (ledger list, show, verify) work
 * for a user who may read it but not write it, and write nothing: a real
 * station provisions a devsim device, then the ledger is made read-only
 * by its modes (file 0400, directory 0500) and the commands run as that
 * reader.  Root ignores file modes, so as root the reader is another uid
 * (nobody, through setpriv) owning the files; otherwise the test's own
 * uid.  The ledger's bytes and mtime are compared before and after.
 * Then what a reader cannot do is said, not done: a ledger whose -wal and
 * -shm are gone, an older schema, and an export (it writes), refused
 * with its cause said once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "station/util/xalloc.h"
#include "tests/support/file_state.h"
#include "tests/support/prov_case.h"
#include "tests/support/scratch.h"

#define READER_UID 65534 /* nobody */

static char *
home_file(const char *name)
{
	return xasprintf("%s/%s", tc.env->home, name);
}

/* Give `path` to the reader (as root: nobody) with `mode`. */
static void
reader_owns(const char *path, mode_t mode)
{
	if (geteuid() == 0)
		assert_int_equal(chown(path, READER_UID, READER_UID), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* A device provisioned (PASS), then the home laid out read-only for the
 * reader: the ledger 0400, its WAL and index as the station left them,
 * the home 0500; the key (outside the home) the reader's, 0600. */
static void
provision_then_read_only(void)
{
	const char *names[] = { "ledger.db-wal", "ledger.db-shm", NULL };
	char *key_dir = xasprintf("%s-key", tc.env->home);
	char *key = xasprintf("%s/ledger.key", key_dir);
	char *p;
	int status;

	if (geteuid() == 0 && access("/usr/bin/setpriv", X_OK) != 0)
		skip();
	prov_case_device("SN-000410", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri,
	    (const char *const[]){ "--serial", "SN-000410", NULL }, &status);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");

	for (size_t i = 0; names[i] != NULL; i++) {
		p = home_file(names[i]);
		/* Kept beside the ledger by the station (empty WAL). */
		assert_int_equal(access(p, F_OK), 0);
		reader_owns(p, 0600);
		free(p);
	}
	p = home_file("ledger.db");
	reader_owns(p, 0400);
	free(p);
	reader_owns(key, 0600);
	reader_owns(key_dir, 0700);
	/* The CA and the rest stay root's: a reader needs none of them. */
	reader_owns(tc.env->home, 0500);
	free(key);
	free(key_dir);
}

/* Run `station ARGS` as the reader (STATION_HOME = the home, demo mode:
 * prov_station's environment). */
static int
as_reader(const char *const *args, struct proc_out *o)
{
	const char *argv[16];
	char uid[32], gid[32];
	size_t n = 0;

	snprintf(uid, sizeof uid, "--reuid=%d", READER_UID);
	snprintf(gid, sizeof gid, "--regid=%d", READER_UID);
	if (geteuid() == 0) {
		argv[n++] = "/usr/bin/setpriv";
		argv[n++] = uid;
		argv[n++] = gid;
		argv[n++] = "--clear-groups";
	}
	argv[n++] = test_bin("STATION_BIN", "build/bin/station");
	for (size_t i = 0; args[i] != NULL && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return proc_run(argv, tc.env->home, 60000, o);
}

/* Gives the home back to root (the teardown removes it). */
static void
home_back(void)
{
	chmod(tc.env->home, 0700);
}

static void
test_reader_lists_shows_and_verifies_without_writing(void **state)
{
	const char *list[] = { "ledger", "list", NULL };
	const char *show[] = { "ledger", "show", "SN-000410", NULL };
	const char *verify[] = { "ledger", "verify", NULL };
	struct file_state db, wal;
	struct proc_out o = { 0 };
	char *db_path = home_file("ledger.db");
	char *wal_path = home_file("ledger.db-wal");

	(void)state;
	provision_then_read_only();
	file_state(db_path, &db);
	file_state(wal_path, &wal);

	if (as_reader(list, &o) != 0)
		fail_msg("ledger list as the reader: exit %d: %s", o.status,
		    o.err);
	assert_non_null(strstr(o.out, "SN-000410"));
	assert_non_null(strstr(o.out, "PASS"));
	proc_out_clear(&o);
	if (as_reader(show, &o) != 0)
		fail_msg("ledger show as the reader: exit %d: %s", o.status,
		    o.err);
	assert_non_null(strstr(o.out, "SN-000410"));
	assert_non_null(strstr(o.out, "verified"));
	proc_out_clear(&o);
	if (as_reader(verify, &o) != 0)
		fail_msg("ledger verify as the reader: exit %d: %s", o.status,
		    o.err);
	assert_non_null(strstr(o.out, "PASS  ledger intact: 1 runs"));
	proc_out_clear(&o);

	assert_file_unchanged(db_path, &db);
	assert_file_unchanged(wal_path, &wal);
	home_back();
	free(db_path);
	free(wal_path);
}

/* Without its -wal and -shm, a WAL-mode ledger in a directory the reader
 * cannot write cannot be read by SQLite without writing: the message
 * says so, names the files and the fix, and nothing is written. */
static void
test_reader_without_the_wal_is_told_why(void **state)
{
	const char *list[] = { "ledger", "list", NULL };
	struct file_state db;
	struct proc_out o = { 0 };
	char *db_path = home_file("ledger.db");
	char *wal = home_file("ledger.db-wal");
	char *shm = home_file("ledger.db-shm");

	(void)state;
	provision_then_read_only();
	assert_int_equal(unlink(wal), 0);
	assert_int_equal(unlink(shm), 0);
	file_state(db_path, &db);
	assert_int_equal(as_reader(list, &o), 3);
	assert_non_null(strstr(o.err, db_path));
	assert_non_null(strstr(o.err, "write-ahead-log"));
	assert_non_null(strstr(o.err, "station recover"));
	assert_null(strstr(o.err, "attempt to write"));
	proc_out_clear(&o);
	assert_file_unchanged(db_path, &db);
	assert_int_equal(access(wal, F_OK), -1);
	home_back();
	free(db_path);
	free(wal);
	free(shm);
}

/* A reader who may read the ledger but not its -wal and -shm is told
 * which files to give it (SQLite said "unable to open database file"). */
static void
test_reader_without_access_to_the_wal_is_told_which_files(void **state)
{
	const char *list[] = { "ledger", "list", NULL };
	struct proc_out o = { 0 };
	char *wal = home_file("ledger.db-wal");
	char *shm = home_file("ledger.db-shm");

	(void)state;
	provision_then_read_only();
	/* As a station's files another user was not given. */
	assert_int_equal(chmod(wal, 0), 0);
	assert_int_equal(chmod(shm, 0), 0);
	assert_int_equal(as_reader(list, &o), 3);
	assert_non_null(strstr(o.err, wal));
	assert_non_null(strstr(o.err, shm));
	assert_non_null(strstr(o.err, "give them the ledger's read access"));
	proc_out_clear(&o);
	home_back();
	free(wal);
	free(shm);
}

/* An older schema is not migrated by a reader: exit 3 naming the ledger
 * and the fix; the file stays at its version. */
static void
test_reader_refuses_an_older_schema(void **state)
{
	const char *verify[] = { "ledger", "verify", NULL };
	struct proc_out o = { 0 };
	char *db_path = home_file("ledger.db");
	sqlite3 *db = NULL;
	int persist = 1;

	(void)state;
	provision_then_read_only();
	/* As a station of schema 11 would leave it (its WAL kept). */
	assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_file_control(db, "main",
			     SQLITE_FCNTL_PERSIST_WAL, &persist),
	    SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 11", NULL,
			     NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(as_reader(verify, &o), 3);
	assert_non_null(strstr(o.err, db_path));
	assert_non_null(strstr(o.err, "schema version 11"));
	assert_non_null(strstr(o.err, "station recover"));
	proc_out_clear(&o);
	home_back();
	free(db_path);
}

/* A command that writes (export) cannot, as the reader: exit 3 before
 * anything is done, saying why, with the ledger named once (its cause
 * used to be prefixed twice, under SQLite's "attempt to write a readonly
 * database"). */
static void
test_writer_command_as_reader_says_why_once(void **state)
{
	char *out = scratch_dir();
	const char *exp[] = { "export", "--out", out, NULL };
	struct proc_out o = { 0 };
	char *db_path = home_file("ledger.db");
	const char *first;

	(void)state;
	provision_then_read_only();
	reader_owns(out, 0700);
	assert_int_equal(as_reader(exp, &o), 3);
	assert_non_null(strstr(o.err, "may not write the ledger"));
	assert_null(strstr(o.err, "attempt to write"));
	first = strstr(o.err, db_path);
	assert_non_null(first);
	assert_null(strstr(first + 1, db_path));
	proc_out_clear(&o);
	home_back();
	scratch_rmtree(out);
	free(out);
	free(db_path);
}

#define T(f) PROV_CASE_TEST(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reader_lists_shows_and_verifies_without_writing),
		T(test_reader_without_the_wal_is_told_why),
		T(test_reader_without_access_to_the_wal_is_told_which_files),
		T(test_reader_refuses_an_older_schema),
		T(test_writer_command_as_reader_says_why_once),
	};

	return cmocka_run_group_tests_name("station ledger: read-only", tests,
	    NULL, NULL);
}
