/* Opening and closing the ledger, its mutex and the shared SQLite helpers. */
#include "db/ledger_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/util/xalloc.h"

int64_t
ledger_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

st_err
ledger_lock(struct ledger *l, char **cause)
{
	int rc = pthread_mutex_lock(&l->mu);

	if (rc == EDEADLK)
		return st_fail(cause, ST_E_STATE,
		    "the ledger was called from one of its own callbacks");
	if (rc != 0)
		return st_fail(cause, ST_E_STATE, "cannot lock the ledger: %s",
		    strerror(rc));
	return ST_OK;
}

void
ledger_unlock(struct ledger *l)
{
	pthread_mutex_unlock(&l->mu);
}

st_err
db_fail(struct ledger *l, char **cause, const char *what)
{
	return st_fail(cause, ST_E_DB, "%s: %s", what, sqlite3_errmsg(l->db));
}

st_err
db_exec(struct ledger *l, const char *sql, char **cause)
{
	char *msg = NULL;

	if (sqlite3_exec(l->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		st_fail(cause, ST_E_DB, "ledger statement failed: %s",
		    msg ? msg : sqlite3_errmsg(l->db));
		sqlite3_free(msg);
		return ST_E_DB;
	}
	return ST_OK;
}

st_err
db_prepare(struct ledger *l, const char *sql, sqlite3_stmt **st, char **cause)
{
	if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(l, cause, "preparing a ledger query");
	}
	return ST_OK;
}

st_err
db_begin(struct ledger *l, char **cause)
{
	/* IMMEDIATE takes the write lock up front, so a second station
	 * process waits (busy_timeout) instead of failing mid-transaction. */
	return db_exec(l, "BEGIN IMMEDIATE", cause);
}

st_err
db_commit(struct ledger *l, char **cause)
{
	st_err err = db_exec(l, "COMMIT", cause);

	if (err != ST_OK)
		db_rollback(l);
	return err;
}

void
db_rollback(struct ledger *l)
{
	if (!sqlite3_get_autocommit(l->db))
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
}

int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

char *
db_col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	if (s == NULL)
		return NULL;
	return xstrndup((const char *)s, (size_t)sqlite3_column_bytes(st, col));
}

static st_err
ledger_pragmas(struct ledger *l, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	/* busy_timeout first: the journal-mode switch itself may wait. */
	if (sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK)
		return db_fail(l, cause, "setting the ledger busy timeout");
	err = db_prepare(l, "PRAGMA journal_mode=WAL", &st, cause);
	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		sqlite3_finalize(st);
		return st_fail(cause, ST_E_DB,
		    "the ledger cannot use write-ahead logging");
	}
	sqlite3_finalize(st);
	/* FULL: each commit reaches the disk before the pipeline's next step
	 * (in WAL mode NORMAL could lose the last commits on power loss). */
	return db_exec(
	    l, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", cause);
}

st_err
ledger_open(const char *path, struct ledger **out, char **cause)
{
	struct ledger *l;
	pthread_mutexattr_t attr;
	st_err err;
	int rc;

	*out = NULL;
	if (path == NULL || *path == '\0')
		return st_fail(cause, ST_E_ARG, "no ledger path given");
	l = xcalloc(1, sizeof *l);
	l->path = xstrdup(path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&l->mu, &attr);
	pthread_mutexattr_destroy(&attr);

	rc = sqlite3_open_v2(path, &l->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	    NULL);
	if (rc != SQLITE_OK) {
		err = st_fail(cause, ST_E_DB, "cannot open the ledger %s: %s",
		    path, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(l->db, 1);
	err = ledger_pragmas(l, cause);
	if (err == ST_OK)
		err = ledger_migrate(l, cause);
	if (err)
		st_wrap(cause, err, "opening the ledger %s", path);
out:
	if (err) {
		ledger_close(l);
		return err;
	}
	*out = l;
	return ST_OK;
}

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	/* close_v2 defers the close until stray statements are finalized,
	 * rather than leaking the connection. */
	sqlite3_close_v2(l->db);
	pthread_mutex_destroy(&l->mu);
	free(l->path);
	free(l);
}
