/* Test support: ledger / CA / device consistency checks (ledger_checks.h). */
#include "tests/support/ledger_checks.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "station/ca/local.h"
#include "station/util/xalloc.h"
#include "tests/support/station_env.h"

/* Read-only: the checks must not change what they look at. */
static sqlite3 *
open_ro(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "check: cannot open %s\n", path);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "check: %s: %s\n", sql, sqlite3_errmsg(db));
		return NULL;
	}
	return st;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

int
check_ledger_intact(const char *ledger_path)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st = db ? prep(db, "PRAGMA integrity_check") : NULL;
	int bad = 0;

	if (st == NULL || sqlite3_step(st) != SQLITE_ROW ||
	    strcmp(col(st, 0), "ok") != 0) {
		fprintf(stderr, "check: integrity_check says '%s'\n",
		    st ? col(st, 0) : "(no answer)");
		bad++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);

	struct ledger *l = NULL;
	struct ledger_verify_report rep;
	char *cause = NULL;
	if (ledger_open(ledger_path, &l, &cause) != ST_OK ||
	    ledger_verify(l, &rep, &cause) != ST_OK) {
		fprintf(stderr, "check: ledger verify: %s\n", cause);
		bad++;
	}
	free(cause);
	ledger_close(l);
	return bad;
}

struct index_check {
	sqlite3_stmt *st;
	int bad;
};

static int
index_cb(const struct local_ca_record *rec, void *arg)
{
	struct index_check *c = arg;

	sqlite3_reset(c->st);
	sqlite3_bind_text(c->st, 1, rec->serial_hex, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(c->st) != SQLITE_ROW) {
		fprintf(stderr,
		    "check: CA issued %s (%s) but the ledger does "
		    "not know it\n",
		    rec->serial_hex, rec->subject);
		c->bad++;
	}
	return 0;
}

int
check_ca_index_recorded(const char *ledger_path, const char *ca_dir)
{
	sqlite3 *db = open_ro(ledger_path);
	struct index_check c = { NULL, 0 };
	char *cause = NULL;

	if (db == NULL)
		return 1;
	c.st = prep(db, "SELECT 1 FROM certificates WHERE serial_hex = ?");
	if (c.st == NULL ||
	    local_ca_read_index(ca_dir, index_cb, &c, &cause) != ST_OK) {
		fprintf(stderr, "check: reading the CA index: %s\n", cause);
		c.bad++;
	}
	free(cause);
	sqlite3_finalize(c.st);
	sqlite3_close(db);
	return c.bad;
}

/* The first field of each line of CA_DIR/revoked.txt (a new array of
 * *n strings; none when the file does not exist). */
static char **
revoked_serials(const char *ca_dir, size_t *n)
{
	char *path = xasprintf("%s/revoked.txt", ca_dir);
	char *text = (char *)slurp(path, NULL);
	char **out = NULL;

	*n = 0;
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *nl = strchr(line, '\n');

		out = xrealloc(out, (*n + 1) * sizeof *out);
		out[(*n)++] = xstrndup(line, strcspn(line, " \n"));
		line = nl ? nl + 1 : NULL;
	}
	free(text);
	free(path);
	return out;
}

int
check_ca_revoked_agrees(const char *ledger_path, const char *ca_dir)
{
	sqlite3 *db = open_ro(ledger_path);
	size_t n = 0;
	char **serials = revoked_serials(ca_dir, &n);
	sqlite3_stmt *st;
	int bad = 0;

	if (db == NULL)
		bad++;
	st = db ? prep(db,
		      "SELECT status FROM certificates"
		      " WHERE serial_hex = ?") :
		  NULL;
	for (size_t i = 0; st && i < n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(serials[i], serials[j]) == 0) {
				fprintf(stderr,
				    "check: the CA revoked %s "
				    "twice\n",
				    serials[i]);
				bad++;
			}
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, serials[i], -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW ||
		    strcmp(col(st, 0), "revoked") != 0) {
			fprintf(stderr,
			    "check: the CA revoked %s, the ledger "
			    "says '%s'\n",
			    serials[i], col(st, 0));
			bad++;
		}
	}
	sqlite3_finalize(st);
	st = db ? prep(db,
		      "SELECT serial_hex FROM certificates"
		      " WHERE status = 'revoked' AND backend = 'local'") :
		  NULL;
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		size_t i = 0;

		while (i < n && strcmp(serials[i], col(st, 0)) != 0)
			i++;
		if (i == n) {
			fprintf(stderr,
			    "check: the ledger says %s is revoked, "
			    "the CA does not\n",
			    col(st, 0));
			bad++;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (size_t i = 0; i < n; i++)
		free(serials[i]);
	free(serials);
	return bad;
}

int
check_no_running(const char *ledger_path)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st;
	int bad = 0;

	if (db == NULL)
		return 1;
	st = prep(db,
	    "SELECT id, result, coalesce(failed_step, ''),"
	    " coalesce(reason, '') FROM runs WHERE result = 'running'"
	    " OR reason LIKE 'station stopped during step %'");
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		char *want =
		    xasprintf("station stopped during step %s", col(st, 2));

		if (strcmp(col(st, 1), "running") == 0) {
			fprintf(stderr, "check: run %s is still running\n",
			    col(st, 0));
			bad++;
		} else if (strcmp(col(st, 1), "FAIL") != 0 ||
		    strcmp(col(st, 3), want) != 0) {
			fprintf(stderr,
			    "check: recovered run %s: %s at %s, "
			    "'%s'\n",
			    col(st, 0), col(st, 1), col(st, 2), col(st, 3));
			bad++;
		}
		free(want);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return bad + (st == NULL);
}

/* Compare a ledger PEM with the certificate the device returns. */
static int
device_holds(const char *uri, const char *pem, int tries, const char *what)
{
	size_t want_len = 0, got_len = 0;
	uint8_t *want = pem_cert_der(pem, &want_len);
	uint8_t *got = NULL;
	int bad = 0;

	if (want == NULL) {
		fprintf(stderr, "check: %s: the ledger PEM does not parse\n",
		    what);
		bad = 1;
	} else if (device_read_cert(uri, &got, &got_len, tries) != 0) {
		fprintf(stderr, "check: %s: cannot READ_CERT from %s\n", what,
		    uri);
		bad = 1;
	} else if (got_len != want_len || memcmp(got, want, got_len) != 0) {
		fprintf(stderr,
		    "check: %s: the device holds a different "
		    "certificate (%zu bytes vs %zu)\n",
		    what, got_len, want_len);
		bad = 1;
	}
	free(want);
	free(got);
	return bad;
}

int
check_device(const char *ledger_path, const char *serial, const char *uri,
    int want_one_live)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st;
	int bad = 0, live = 0;

	if (db == NULL)
		return 1;
	st = prep(db,
	    "SELECT serial_hex, status, pem FROM certificates"
	    " WHERE device_serial = ? ORDER BY id");
	if (st == NULL)
		bad++;
	else
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *status = col(st, 1);

		if (strcmp(status, "revoked") == 0)
			continue;
		if (strcmp(status, "orphaned") == 0 ||
		    strcmp(status, "superseded") == 0 ||
		    strcmp(status, "revoking") == 0) {
			/* The local CA can revoke: an intent must not last. */
			fprintf(stderr,
			    "check: certificate %s is %s but "
			    "not revoked\n",
			    col(st, 0), status);
			bad++;
			continue;
		}
		live++;
		if (want_one_live && strcmp(status, "verified") != 0) {
			fprintf(stderr,
			    "check: live certificate %s is only "
			    "%s\n",
			    col(st, 0), status);
			bad++;
		}
		if (want_one_live)
			bad += device_holds(uri, col(st, 2), 3, col(st, 0));
	}
	sqlite3_finalize(st);
	if (live > 1 || (want_one_live && live != 1)) {
		fprintf(stderr, "check: device %s has %d live certificates\n",
		    serial, live);
		bad++;
	}
	/* A PASS run's certificate is verified, or was revoked later. */
	st = prep(db,
	    "SELECT r.id, coalesce(c.status, 'none') FROM runs r"
	    " LEFT JOIN certificates c ON c.serial_hex = r.cert_serial"
	    " WHERE r.result = 'PASS' AND r.device_serial = ?"
	    " AND coalesce(c.status, 'none') NOT IN ('verified', 'revoked')");
	if (st == NULL)
		bad++;
	else
		sqlite3_bind_text(st, 1, serial, -1, SQLITE_TRANSIENT);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		fprintf(stderr,
		    "check: PASS run %s has certificate status "
		    "%s\n",
		    col(st, 0), col(st, 1));
		bad++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return bad;
}

int
check_pass_run(const char *ledger_path, int64_t run_id, const char *uri,
    int tries)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st;
	int bad = 0;

	if (db == NULL)
		return 1;
	st = prep(db,
	    "SELECT r.result, c.status, c.pem, c.serial_hex"
	    " FROM runs r JOIN certificates c ON c.serial_hex = r.cert_serial"
	    " WHERE r.id = ?");
	if (st)
		sqlite3_bind_int64(st, 1, run_id);
	if (st == NULL || sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, "check: run %lld has no certificate\n",
		    (long long)run_id);
		bad = 1;
	} else if (strcmp(col(st, 0), "PASS") != 0 ||
	    strcmp(col(st, 1), "verified") != 0) {
		fprintf(stderr, "check: run %lld is %s with certificate %s\n",
		    (long long)run_id, col(st, 0), col(st, 1));
		bad = 1;
	} else {
		char *what = xasprintf("run %lld certificate %s",
		    (long long)run_id, col(st, 3));
		bad = device_holds(uri, col(st, 2), tries, what);
		free(what);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return bad;
}

int64_t
ledger_newest_run(const char *ledger_path, char **result, char **last_ok_step)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st = db ?
	    prep(db,
		"SELECT id, result, (SELECT step FROM"
		" run_events e WHERE e.run_id = runs.id AND e.status = 'ok'"
		" ORDER BY e.id DESC LIMIT 1) FROM runs ORDER BY id DESC LIMIT 1") :
	    NULL;
	int64_t id = 0;

	*result = NULL;
	*last_ok_step = NULL;
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		*result = xstrdup(col(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			*last_ok_step = xstrdup(col(st, 2));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return id;
}

long
ledger_count_events(const char *ledger_path, const char *pattern)
{
	sqlite3 *db = open_ro(ledger_path);
	sqlite3_stmt *st = db ? prep(db,
				    "SELECT count(*) FROM run_events"
				    " WHERE detail LIKE ?") :
				NULL;
	long n = 0;

	if (st) {
		sqlite3_bind_text(st, 1, pattern, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = (long)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}
