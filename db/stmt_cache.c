/*
 * The ledger's prepared statements, kept for reuse (see ledger_int.h,
 * db_cached_take).  A station started once per device runs every write
 * of a run in one process: preparing them anew each time parsed the SQL
 * and compiled the keyed chain's triggers into every INSERT again, a
 * third of the process's SQLite time.
 */
#include "db/ledger_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

st_err
db_cached_take(struct ledger *l, const char *sql, sqlite3_stmt **st,
    char **cause)
{
	struct db_cached *c = l->cache;

	*st = NULL;
	pthread_mutex_lock(&l->cache_mu);
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		if (c[i].st != NULL && !c[i].busy &&
		    strcmp(c[i].sql, sql) == 0) {
			c[i].busy = 1;
			*st = c[i].st;
			break;
		}
	}
	pthread_mutex_unlock(&l->cache_mu);
	if (*st != NULL)
		return ST_OK;
	if (sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
		NULL) != SQLITE_OK) {
		*st = NULL;
		return db_fail(l, cause, "preparing a ledger query");
	}
	return ST_OK;
}

/* A free slot, else one not in use (its statement finalized), else -1. */
static int
cache_slot(struct ledger *l)
{
	struct db_cached *c = l->cache;

	for (size_t i = 0; i < DB_STMT_CACHE; i++)
		if (c[i].st == NULL)
			return (int)i;
	for (size_t k = 0; k < DB_STMT_CACHE; k++) {
		size_t i = (l->cache_next + k) % DB_STMT_CACHE;

		if (!c[i].busy) {
			l->cache_next = (i + 1) % DB_STMT_CACHE;
			sqlite3_finalize(c[i].st);
			free(c[i].sql);
			c[i].st = NULL;
			c[i].sql = NULL;
			return (int)i;
		}
	}
	return -1;
}

void
db_cached_give(struct ledger *l, const char *sql, sqlite3_stmt *st)
{
	struct db_cached *c = l->cache;
	int slot;

	if (st == NULL)
		return;
	/* A kept statement holds no lock and no value of this use. */
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pthread_mutex_lock(&l->cache_mu);
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		if (c[i].st == st) {
			c[i].busy = 0;
			pthread_mutex_unlock(&l->cache_mu);
			return;
		}
	}
	slot = cache_slot(l);
	if (slot >= 0) {
		c[slot].sql = xstrdup(sql);
		c[slot].st = st;
		c[slot].busy = 0;
		st = NULL;
	}
	pthread_mutex_unlock(&l->cache_mu);
	sqlite3_finalize(st);
}

void
db_cached_clear(struct ledger *l)
{
	pthread_mutex_lock(&l->cache_mu);
	for (size_t i = 0; i < DB_STMT_CACHE; i++) {
		sqlite3_finalize(l->cache[i].st);
		free(l->cache[i].sql);
		memset(&l->cache[i], 0, sizeof l->cache[i]);
	}
	pthread_mutex_unlock(&l->cache_mu);
}

st_err
db_exec_cached(struct ledger *l, const char *sql, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_cached_take(l, sql, &st, cause);

	if (err == ST_OK && sqlite3_step(st) != SQLITE_DONE)
		err = st_fail(cause, ST_E_DB, "ledger statement failed: %s",
		    sqlite3_errmsg(l->db));
	db_cached_give(l, sql, st);
	return err;
}
