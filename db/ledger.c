/* Opening and closing the ledger, its mutex and the shared SQLite helpers. */
#include "db/ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "station/util/xalloc.h"

/* The WAL's size kept after a checkpoint, in bytes (journal_size_limit):
 * SQLite's own checkpoints start at 1000 pages, about 4 MiB.  On the
 * last close the WAL is emptied to 0 bytes and kept. */
#define LEDGER_WAL_LIMIT "8388608"

int64_t
ledger_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The handle's mutex alone (ledger_lock without the synchronous level). */
static st_err
lock_mutex(struct ledger *l, char **cause)
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

/* The connection at synchronous NORMAL (1) or FULL (0), under mu; a
 * statement only when it is not there already. */
static st_err
set_sync(struct ledger *l, int normal, char **cause)
{
	st_err err;

	if (l->sync_normal == normal)
		return ST_OK;
	err = db_exec_cached(l,
	    normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
	    cause);
	if (err == ST_OK)
		l->sync_normal = normal;
	return err;
}

st_err
ledger_lock(struct ledger *l, char **cause)
{
	st_err err = lock_mutex(l, cause);

	if (err)
		return err;
	err = set_sync(l, 0, cause);
	if (err)
		ledger_unlock(l);
	return err;
}

void
ledger_unlock(struct ledger *l)
{
	pthread_mutex_unlock(&l->mu);
}

st_err
ledger_lock_write(struct ledger *l, enum db_write mode, char **cause)
{
	st_err err;

	if (l->readonly)
		return st_fail(cause, ST_E_STATE,
		    "the ledger %s is open read-only (a command that only "
		    "reads it)",
		    l->path);
	err = lock_mutex(l, cause);
	if (err)
		return err;
	l->write_mode = l->wal_fd >= 0 ? mode : DB_WRITE_FULL;
	err = set_sync(l, l->write_mode != DB_WRITE_FULL, cause);
	if (err) {
		l->write_mode = DB_WRITE_FULL;
		ledger_unlock(l);
	}
	return err;
}

/* Wait until every group-committed write up to `seq` is on disk; the
 * first waiter runs the fdatasync for everyone who committed before it
 * started. */
static st_err
ledger_sync(struct ledger *l, uint64_t seq, char **cause)
{
	uint64_t target;
	int e, rc;

	pthread_mutex_lock(&l->sync_mu);
	while (l->synced < seq && l->sync_errno == 0) {
		if (l->syncing) {
			pthread_cond_wait(&l->sync_cv, &l->sync_mu);
			continue;
		}
		l->syncing = 1;
		target = atomic_load(&l->written);
		pthread_mutex_unlock(&l->sync_mu);
		/* The WAL's directory entry, once, before the first durable
		 * point relies on the WAL (as SQLite does after creating
		 * it): here rather than at open, so that an open costs no
		 * fsync, unless ledger_sync_log_dir did it ahead. */
		rc = l->dir_synced ? 0 : fsync(l->dir_fd);
		if (rc == 0)
			l->dir_synced = 1;
		if (rc == 0)
			rc = fdatasync(l->wal_fd);
		e = errno;
		pthread_mutex_lock(&l->sync_mu);
		l->syncing = 0;
		/* After a failed fdatasync the kernel may have dropped the
		 * dirty pages: no later write can be called durable. */
		if (rc != 0)
			l->sync_errno = e;
		else if (target > l->synced)
			l->synced = target;
		pthread_cond_broadcast(&l->sync_cv);
	}
	e = l->synced >= seq ? 0 : l->sync_errno;
	pthread_mutex_unlock(&l->sync_mu);
	if (e)
		return st_fail(cause, ST_E_DB,
		    "syncing the ledger's log %s-wal: "
		    "%s",
		    l->path, strerror(e));
	return ST_OK;
}

void
ledger_sync_log_dir(struct ledger *l)
{
	int rc;

	if (l == NULL || l->wal_fd < 0)
		return;
	/* Taken as ledger_sync takes it: a durable point that comes now
	 * waits for this fsync instead of running its own. */
	pthread_mutex_lock(&l->sync_mu);
	while (l->syncing)
		pthread_cond_wait(&l->sync_cv, &l->sync_mu);
	if (l->dir_synced) {
		pthread_mutex_unlock(&l->sync_mu);
		return;
	}
	l->syncing = 1;
	pthread_mutex_unlock(&l->sync_mu);
	rc = fsync(l->dir_fd);
	pthread_mutex_lock(&l->sync_mu);
	l->syncing = 0;
	/* A failure is the first durable point's to meet and report. */
	if (rc == 0)
		l->dir_synced = 1;
	pthread_cond_broadcast(&l->sync_cv);
	pthread_mutex_unlock(&l->sync_mu);
}

st_err
ledger_unlock_write(struct ledger *l, st_err err, char **cause)
{
	enum db_write mode = (enum db_write)l->write_mode;
	uint64_t seq = 0;

	/* The synchronous level stays as the section set it: the next
	 * section sets its own (ledger_lock, ledger_lock_write). */
	l->write_mode = DB_WRITE_FULL;
	if (mode == DB_WRITE_GROUP && err == ST_OK)
		seq = atomic_fetch_add(&l->written, 1) + 1;
	ledger_unlock(l);
	if (seq != 0)
		err = ledger_sync(l, seq, cause);
	return err;
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
	return db_exec_cached(l, "BEGIN IMMEDIATE", cause);
}

st_err
db_commit(struct ledger *l, char **cause)
{
	st_err err = db_exec_cached(l, "COMMIT", cause);

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
db_bind_args(struct ledger *l, sqlite3_stmt *st, va_list ap, char **cause)
{
	enum db_arg t;
	int idx = 1, rc = SQLITE_OK;

	while (rc == SQLITE_OK) {
		t = (enum db_arg)va_arg(ap, int);
		if (t == DB_T_END)
			break;
		switch (t) {
		case DB_T_I64:
			rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
			break;
		case DB_T_I64_IF: {
			int set = va_arg(ap, int);
			int64_t v = va_arg(ap, int64_t);

			/* A fresh statement's parameters are NULL: leaving
			 * one unbound also suits a query with fewer. */
			if (set)
				rc = sqlite3_bind_int64(st, idx, v);
			break;
		}
		case DB_T_TEXT:
			rc = db_bind_text(st, idx, va_arg(ap, const char *));
			break;
		default:
			return st_fail(cause, ST_E_ARG,
			    "bad ledger statement argument %d", idx);
		}
		idx++;
	}
	if (rc != SQLITE_OK)
		return db_fail(l, cause, "binding a ledger query");
	return ST_OK;
}

static st_err
db_vstmt(struct ledger *l, sqlite3_stmt **st, char **cause, const char *sql,
    va_list ap)
{
	st_err err = db_prepare(l, sql, st, cause);

	if (err == ST_OK)
		err = db_bind_args(l, *st, ap, cause);
	if (err) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return err;
}

st_err
db_stmt(struct ledger *l, sqlite3_stmt **st, char **cause, const char *sql, ...)
{
	va_list ap;
	st_err err;

	va_start(ap, sql);
	err = db_vstmt(l, st, cause, sql, ap);
	va_end(ap);
	return err;
}

st_err
db_query(struct ledger *l, sqlite3_stmt **st, char **cause, const char *sql,
    ...)
{
	va_list ap;
	st_err err = db_cached_take(l, sql, st, cause);

	if (err == ST_OK) {
		va_start(ap, sql);
		err = db_bind_args(l, *st, ap, cause);
		va_end(ap);
	}
	if (err) {
		db_cached_give(l, sql, *st);
		*st = NULL;
	}
	return err;
}

st_err
db_step_done(struct ledger *l, sqlite3_stmt *st, const char *what, char **cause)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_fail(l, cause, what);
	return ST_OK;
}

st_err
db_run(struct ledger *l, char **cause, const char *what, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	st_err err = db_cached_take(l, sql, &st, cause);

	if (err == ST_OK) {
		va_start(ap, sql);
		err = db_bind_args(l, st, ap, cause);
		va_end(ap);
	}
	if (err == ST_OK)
		err = db_step_done(l, st, what, cause);
	db_cached_give(l, sql, st);
	return err;
}

st_err
db_write_begin(struct ledger *l, enum db_write mode, int txn, char **cause)
{
	st_err err = ledger_lock_write(l, mode, cause);

	if (err || !txn)
		return err;
	err = db_begin(l, cause);
	if (err)
		err = ledger_unlock_write(l, err, cause);
	return err;
}

st_err
db_write_end(struct ledger *l, st_err err, char **cause)
{
	if (!sqlite3_get_autocommit(l->db)) {
		if (err == ST_OK)
			err = db_commit(l, cause);
		else
			db_rollback(l);
	}
	return ledger_unlock_write(l, err, cause);
}

void
db_record_read(const struct db_record *t, sqlite3_stmt *st, void *rec)
{
	char *base = rec;

	for (size_t i = 0; i < t->ncols; i++) {
		void *m = base + t->cols[i].off;
		int col = (int)i;

		switch (t->cols[i].kind) {
		case 'i':
			*(int *)m = sqlite3_column_int(st, col);
			break;
		case 'I':
			*(int64_t *)m = sqlite3_column_int64(st, col);
			break;
		default:
			*(char **)m = db_col_dup(st, col);
		}
	}
}

void
db_record_clear(const struct db_record *t, void *rec)
{
	char *base = rec;

	if (rec == NULL)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		if (t->cols[i].kind == 's')
			free(*(char **)(base + t->cols[i].off));
	memset(rec, 0, t->size);
}

st_err
db_get_record(struct ledger *l, const struct db_record *t, void *rec,
    int *found, const char *what, char **cause, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	st_err err;

	memset(rec, 0, t->size);
	*found = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_cached_take(l, sql, &st, cause);
	if (err)
		goto out;
	va_start(ap, sql);
	err = db_bind_args(l, st, ap, cause);
	va_end(ap);
	if (err)
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		db_record_read(t, st, rec);
		*found = 1;
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, what);
	}
out:
	db_cached_give(l, sql, st);
	ledger_unlock(l);
	return err;
}

st_err
db_each_row(struct ledger *l, int (*row)(sqlite3_stmt *st, void *ctx),
    void *ctx, const char *what, char **cause, const char *sql, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	st_err err;
	int rc;

	va_start(ap, sql);
	err = db_vstmt(l, &st, cause, sql, ap);
	va_end(ap);
	if (err)
		return err;
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st))
		if (row(st, ctx))
			break;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = db_fail(l, cause, what);
	sqlite3_finalize(st);
	return err;
}

static st_err
ledger_pragmas(struct ledger *l, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;
	int rc, wal = 0, persist = 1;

	/* busy_timeout first: the journal-mode switch itself may wait. */
	if (sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK)
		return db_fail(l, cause, "setting the ledger busy timeout");
	err = db_prepare(l, "PRAGMA journal_mode=WAL", &st, cause);
	if (err)
		return err;
	/* Two stations opening a ledger at once (a new one, or one whose
	 * WAL a killed station left to recover): the switch answers BUSY,
	 * or the old mode, without calling the busy handler while the other
	 * holds the file, so it is tried again for as long as the busy
	 * timeout would have waited. */
	for (int tries = 0;; tries++) {
		rc = sqlite3_step(st);
		wal = rc == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "wal") ==
			0;
		if (wal || tries >= 500)
			break;
		sqlite3_reset(st);
		usleep(10000);
	}
	if (!wal) {
		err = st_fail(cause, ST_E_DB,
		    "the ledger cannot use write-ahead logging (%s)",
		    rc == SQLITE_ROW ?
			(const char *)sqlite3_column_text(st, 0) :
			sqlite3_errstr(rc));
		sqlite3_finalize(st);
		return err;
	}
	sqlite3_finalize(st);
	/* The WAL and its index stay beside the ledger when the last
	 * connection closes (emptied: journal_size_limit): a user who may
	 * read the ledger but not write its directory can then still read
	 * it (SQLite reads a WAL-mode file read-only only if its -wal and
	 * -shm exist or can be created; ledger_open_ro). */
	if (sqlite3_file_control(l->db, "main", SQLITE_FCNTL_PERSIST_WAL,
		&persist) != SQLITE_OK)
		return db_fail(l, cause, "keeping the ledger's log");
	/* FULL: each commit reaches the disk before the pipeline's next step
	 * (in WAL mode NORMAL could lose the last commits on power loss). */
	return db_exec(l,
	    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
	    " PRAGMA journal_size_limit=" LEDGER_WAL_LIMIT ";",
	    cause);
}

/*
 * A descriptor of the WAL for group commit.  fdatasync on it flushes the
 * same file SQLite writes (the WAL stays while this connection is open).
 * Its directory is synced once, at the first group commit (ledger_sync).
 * Without them group commit is off and every commit is FULL.
 */
static void
ledger_open_wal(struct ledger *l)
{
	const char *wal =
	    sqlite3_filename_wal(sqlite3_db_filename(l->db, "main"));
	char *dir;

	l->wal_fd = -1;
	if (wal == NULL)
		return;
	dir = xstrdup(wal);
	l->dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (l->dir_fd >= 0)
		l->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
}

st_err
ledger_open(const char *path, struct ledger **out, char **cause)
{
	return ledger_open_key(path, NULL, out, cause);
}

static struct ledger *
ledger_new(const char *path)
{
	struct ledger *l = xcalloc(1, sizeof *l);
	pthread_mutexattr_t attr;

	l->path = xstrdup(path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&l->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&l->sync_mu, NULL);
	pthread_cond_init(&l->sync_cv, NULL);
	pthread_mutex_init(&l->cache_mu, NULL);
	l->wal_fd = -1;
	l->dir_fd = -1;
	return l;
}

/*
 * What both opens begin with: a ledger for `path` (`readonly`: opened
 * read-only, and a missing file said as such rather than as SQLite's
 * "unable to open database file"), extended result codes on, and in
 * *key_out the key file: `key_path`, or when NULL the default beside the
 * ledger (ledger_key_default_path).  On success *out and *key_out are
 * the caller's (ledger_close, free); on failure both are NULL.
 */
static st_err
ledger_open_db(const char *path, int readonly, const char *key_path,
    struct ledger **out, char **key_out, char **cause)
{
	int flags = SQLITE_OPEN_FULLMUTEX;
	struct ledger *l = NULL;
	st_err err = ST_OK;
	int rc;

	*out = NULL;
	*key_out = NULL;
	if (path == NULL || *path == '\0')
		return st_fail(cause, ST_E_ARG, "no ledger path given");
	if (readonly && access(path, F_OK) != 0)
		return st_fail(cause, ST_E_NOTFOUND,
		    "there is no ledger at %s (%s): nothing has been recorded "
		    "there yet, or [ledger] path is wrong",
		    path, strerror(errno));
	if (readonly)
		flags |= SQLITE_OPEN_READONLY;
	else
		flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	l = ledger_new(path);
	l->readonly = readonly;
	rc = sqlite3_open_v2(path, &l->db, flags, NULL);
	if (rc != SQLITE_OK) {
		err = st_fail(cause, ST_E_DB, "cannot open the ledger %s: %s",
		    path, l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
		ledger_close(l);
		return err;
	}
	sqlite3_extended_result_codes(l->db, 1);
	*key_out = key_path ? xstrdup(key_path) : ledger_key_default_path(path);
	*out = l;
	return ST_OK;
}

st_err
ledger_open_key(const char *path, const char *key_path, struct ledger **out,
    char **cause)
{
	char *key = NULL;
	struct ledger *l = NULL;
	st_err err;

	*out = NULL;
	err = ledger_open_db(path, 0, key_path, &l, &key, cause);
	if (err)
		return err;
	/* SQLite opens a file this user may not write read-only, without a
	 * word; every write would then fail "attempt to write a readonly
	 * database". */
	if (sqlite3_db_readonly(l->db, "main") == 1) {
		err = st_fail(cause, ST_E_CONFIG,
		    "this user (uid %u) may not write the ledger %s: run "
		    "commands that write it as the station user (only ledger "
		    "list, show and verify read it as another user; "
		    "docs/admin.md)",
		    (unsigned)geteuid(), path);
		goto out;
	}
	err = ledger_pragmas(l, cause);
	if (err == ST_OK)
		err = ledger_keyed_functions(l, cause);
	if (err == ST_OK)
		err = ledger_migrate(l, key, cause);
	if (err == ST_OK)
		ledger_open_wal(l);
	if (err)
		st_wrap(cause, err, "opening the ledger %s", path);
out:
	free(key);
	if (err) {
		ledger_close(l);
		return err;
	}
	*out = l;
	return ST_OK;
}

/* A read-only open that could not read `l` (`err`): for a WAL-mode
 * ledger whose -wal and -shm are missing in a directory this user may
 * not write, or that this user may not read, say so and what to do
 * instead of SQLite's "attempt to write a readonly database" or "unable
 * to open database file"; else `err` as it is. */
static st_err
ro_fail(struct ledger *l, st_err err, char **cause)
{
	int rc = sqlite3_extended_errcode(l->db);
	char *wal = NULL, *shm = NULL, *dir = NULL;

	if (rc != SQLITE_READONLY_DIRECTORY && (rc & 0xff) != SQLITE_CANTOPEN)
		return err;
	wal = xasprintf("%s-wal", l->path);
	shm = xasprintf("%s-shm", l->path);
	dir = xstrdup(l->path);
	if (access(wal, F_OK) != 0)
		err = st_fail(cause, ST_E_DB,
		    "the ledger %s is in write-ahead-log mode and its %s and "
		    "-shm files are missing: SQLite reads such a ledger "
		    "without writing it only when they exist or this user may "
		    "create them in %s.  Run 'station recover' (or any "
		    "command that writes the ledger) once as the station "
		    "user: from then on both stay beside the ledger, with the "
		    "ledger's mode (docs/admin.md, \"Reading the ledger\")",
		    l->path, wal, dirname(dir));
	else if (faccessat(AT_FDCWD, wal, R_OK, AT_EACCESS) != 0 ||
	    faccessat(AT_FDCWD, shm, R_OK, AT_EACCESS) != 0)
		err = st_fail(cause, ST_E_DB,
		    "this user (uid %u) may read the ledger %s but not its "
		    "%s and %s, which SQLite reads with it: give them the "
		    "ledger's read access (docs/admin.md, \"Reading the "
		    "ledger\")",
		    (unsigned)geteuid(), l->path, wal, shm);
	free(dir);
	free(shm);
	free(wal);
	return err;
}

st_err
ledger_open_ro(const char *path, const char *key_path, struct ledger **out,
    char **cause)
{
	char *key = NULL;
	struct ledger *l = NULL;
	st_err err;

	*out = NULL;
	err = ledger_open_db(path, 1, key_path, &l, &key, cause);
	if (err)
		return err;
	if (sqlite3_busy_timeout(l->db, 5000) != SQLITE_OK) {
		err = db_fail(l, cause, "setting the ledger busy timeout");
		goto out;
	}
	err = ledger_keyed_functions(l, cause);
	if (err)
		goto out;
	err = ledger_schema_check(l, cause);
	if (err == ST_E_DB)
		err = ro_fail(l, err, cause);
	if (err)
		goto out;
	/* Listing and showing need no key; verify does, and says why it
	 * could not have it (ledger_verify_keyed). */
	if (ledger_keyed_check_ro(l, key, &l->key_error) != ST_OK)
		ledger_keyed_forget(l);
out:
	free(key);
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
	 * rather than leaking the connection; the kept ones go first, so
	 * that the last close still empties the WAL. */
	db_cached_clear(l);
	sqlite3_close_v2(l->db);
	if (l->wal_fd >= 0)
		close(l->wal_fd);
	if (l->dir_fd >= 0)
		close(l->dir_fd);
	pthread_mutex_destroy(&l->mu);
	pthread_mutex_destroy(&l->sync_mu);
	pthread_cond_destroy(&l->sync_cv);
	pthread_mutex_destroy(&l->cache_mu);
	ledger_keyed_free(l);
	free(l->key_error);
	free(l->path);
	free(l);
}
