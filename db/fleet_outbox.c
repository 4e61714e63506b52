/*
 * The fleet outbox and the run reservation notes (db/fleet.h).  The rows
 * come from the triggers of the schema; this file only reads them, moves
 * the shipping cursor and keeps what the fleet said about each run.
 */
#include "db/fleet.h"

#include <stdlib.h>
#include <string.h>

#include "db/ledger_int.h"
#include "station/util/xalloc.h"

static const char *const reserved_names[] = { NULL, "fleet", "local" };

void
fleet_item_clear(struct fleet_item *it)
{
	if (it == NULL)
		return;
	free(it->kind);
	free(it->serial);
	free(it->state);
	free(it->cert_serial);
	free(it->chain_hash);
	memset(it, 0, sizeof *it);
}

void
fleet_items_free(struct fleet_item *items, size_t n)
{
	for (size_t i = 0; i < n && items != NULL; i++)
		fleet_item_clear(&items[i]);
	free(items);
}

st_err
ledger_fleet_note(struct ledger *l, int64_t run_id, const char *serial,
    enum fleet_reserved how, char **cause)
{
	st_err err;

	if (how != FLEET_RESERVED_FLEET && how != FLEET_RESERVED_LOCAL)
		return st_fail(cause, ST_E_ARG, "no reservation kind given");
	/* Durable with the run's next durable write: a note lost to a power
	 * cut only makes the drain treat the run as reserved locally, which
	 * re-checks it fleet-wide. */
	err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);
	if (err)
		return err;
	err = db_run(l, cause, "noting the run's fleet reservation",
	    "INSERT INTO fleet_runs (run_id, serial, reserved) VALUES (?, ?, ?)"
	    " ON CONFLICT(run_id) DO UPDATE SET reserved = excluded.reserved,"
	    " serial = excluded.serial",
	    DB_I64(run_id), DB_TEXT(serial), DB_TEXT(reserved_names[how]),
	    DB_END);
	return db_write_end(l, err, cause);
}

static enum fleet_reserved
reserved_of(const char *s)
{
	if (s != NULL && strcmp(s, "fleet") == 0)
		return FLEET_RESERVED_FLEET;
	if (s != NULL && strcmp(s, "local") == 0)
		return FLEET_RESERVED_LOCAL;
	return FLEET_RESERVED_NONE;
}

static int
reserved_row(sqlite3_stmt *st, void *ctx)
{
	enum fleet_reserved *how = ctx;

	*how = reserved_of((const char *)sqlite3_column_text(st, 0));
	return 1;
}

st_err
ledger_fleet_reserved(struct ledger *l, int64_t run_id,
    enum fleet_reserved *how, char **cause)
{
	st_err err;

	*how = FLEET_RESERVED_NONE;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_each_row(l, reserved_row, how, "reading a fleet reservation",
	    cause, "SELECT reserved FROM fleet_runs WHERE run_id = ?",
	    DB_I64(run_id), DB_END);
	ledger_unlock(l);
	return err;
}

struct pending_ctx {
	struct fleet_item *items;
	size_t n;
};

static int
pending_row(sqlite3_stmt *st, void *ctx)
{
	struct pending_ctx *p = ctx;
	struct fleet_item *it;

	p->items = xrealloc(p->items, (p->n + 1) * sizeof *p->items);
	it = &p->items[p->n++];
	memset(it, 0, sizeof *it);
	it->seq = sqlite3_column_int64(st, 0);
	it->kind = db_col_dup(st, 1);
	it->run_id = sqlite3_column_int64(st, 2);
	it->serial = db_col_dup(st, 3);
	it->state = db_col_dup(st, 4);
	it->cert_serial = db_col_dup(st, 5);
	it->chain_seq = sqlite3_column_int64(st, 6);
	it->chain_hash = db_col_dup(st, 7);
	it->at_ms = sqlite3_column_int64(st, 8);
	it->slot = sqlite3_column_int(st, 9);
	it->reserved = reserved_of((const char *)sqlite3_column_text(st, 10));
	return 0;
}

st_err
ledger_fleet_pending(struct ledger *l, size_t max, struct fleet_item **items,
    size_t *n, char **cause)
{
	struct pending_ctx p = { NULL, 0 };
	st_err err;

	*items = NULL;
	*n = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_each_row(l, pending_row, &p, "reading the fleet outbox", cause,
	    "SELECT o.seq, o.kind, coalesce(o.run_id, 0), o.serial, o.state,"
	    " o.cert_serial, coalesce(o.chain_seq, 0), o.chain_hash, o.at_ms,"
	    " coalesce(r.slot, 0), f.reserved"
	    " FROM fleet_outbox o LEFT JOIN runs r ON r.id = o.run_id"
	    " LEFT JOIN fleet_runs f ON f.run_id = o.run_id"
	    " WHERE o.shipped_at IS NULL ORDER BY o.seq LIMIT ?",
	    DB_I64(max), DB_END);
	ledger_unlock(l);
	if (err) {
		fleet_items_free(p.items, p.n);
		return err;
	}
	*items = p.items;
	*n = p.n;
	return ST_OK;
}

st_err
ledger_fleet_shipped(struct ledger *l, int64_t seq, char **cause)
{
	st_err err = db_write_begin(l, DB_WRITE_LAZY, 0, cause);

	if (err)
		return err;
	err = db_run(l, cause, "moving the fleet outbox cursor",
	    "UPDATE fleet_outbox SET shipped_at = ? WHERE seq = ?"
	    " AND shipped_at IS NULL",
	    DB_I64(ledger_now_ms()), DB_I64(seq), DB_END);
	return db_write_end(l, err, cause);
}

st_err
ledger_fleet_conflict(struct ledger *l, int64_t run_id, const char *text,
    char **cause)
{
	st_err err = db_write_begin(l, DB_WRITE_FULL, 0, cause);

	if (err)
		return err;
	err = db_run(l, cause, "recording a fleet conflict",
	    "UPDATE fleet_runs SET conflict = ? WHERE run_id = ?",
	    DB_TEXT(text), DB_I64(run_id), DB_END);
	return db_write_end(l, err, cause);
}

static int
count_row(sqlite3_stmt *st, void *ctx)
{
	struct fleet_local_status *s = ctx;

	s->pending = sqlite3_column_int64(st, 0);
	s->shipped = sqlite3_column_int64(st, 1);
	s->oldest_pending_ms = sqlite3_column_int64(st, 2);
	return 1;
}

static int
conflict_row(sqlite3_stmt *st, void *ctx)
{
	struct fleet_local_status *s = ctx;

	s->conflicts =
	    xrealloc(s->conflicts, (s->n_conflicts + 1) * sizeof *s->conflicts);
	s->conflicts[s->n_conflicts++] = xasprintf("run %lld serial %s: %s",
	    (long long)sqlite3_column_int64(st, 0),
	    (const char *)sqlite3_column_text(st, 1),
	    (const char *)sqlite3_column_text(st, 2));
	return 0;
}

st_err
ledger_fleet_status(struct ledger *l, struct fleet_local_status *out,
    char **cause)
{
	st_err err;

	memset(out, 0, sizeof *out);
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_each_row(l, count_row, out, "counting the fleet outbox", cause,
	    "SELECT count(*) FILTER (WHERE shipped_at IS NULL),"
	    " count(*) FILTER (WHERE shipped_at IS NOT NULL),"
	    " coalesce(min(at_ms) FILTER (WHERE shipped_at IS NULL), 0)"
	    " FROM fleet_outbox",
	    DB_END);
	if (err == ST_OK)
		err = db_each_row(l, conflict_row, out,
		    "reading the fleet conflicts", cause,
		    "SELECT run_id, serial, conflict FROM fleet_runs"
		    " WHERE conflict IS NOT NULL ORDER BY run_id",
		    DB_END);
	ledger_unlock(l);
	if (err)
		fleet_local_status_clear(out);
	return err;
}

void
fleet_local_status_clear(struct fleet_local_status *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_conflicts; i++)
		free(s->conflicts[i]);
	free(s->conflicts);
	memset(s, 0, sizeof *s);
}
