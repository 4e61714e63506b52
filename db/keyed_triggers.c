/*
 * The keyed chain's triggers and seal: at open, the chain triggers are
 * made from the tables' current columns, a ledger without a keyed chain
 * is sealed (its rows chained under the key), and a sealed one is checked
 * against the loaded key.
 */
#include "db/keyed_int.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

/* The trigger text for one table and event, as SQLite stores it. */
static char *
trigger_sql(const struct keyed_table *t, const char *event, const char *tag,
    const char *digest)
{
	return xasprintf(
	    "CREATE TRIGGER chain_%s_%s AFTER %s ON %s BEGIN"
	    " INSERT INTO chain_log (seq, tbl, row_key, digest, mac)"
	    " SELECT h.seq + 1, '%s', CAST(NEW.\"%s\" AS TEXT), d.d,"
	    " ledger_mac(h.mac, h.seq + 1, '%s',"
	    " CAST(NEW.\"%s\" AS TEXT), d.d)"
	    " FROM (SELECT seq, mac FROM chain_log ORDER BY seq DESC"
	    " LIMIT 1) h, (SELECT %s AS d) d; END",
	    t->name, tag, event, t->name, t->name, t->key, t->name, t->key,
	    digest);
}

/* (Re)create a trigger unless it is already there as `sql`. */
static st_err
trigger_ensure(struct ledger *l, const char *name, const char *sql,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	char *drop;
	int same = 0;
	st_err err;

	err = db_stmt(l, &st, cause,
	    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
	    DB_TEXT(name), DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		same =
		    strcmp((const char *)sqlite3_column_text(st, 0), sql) == 0;
	sqlite3_finalize(st);
	if (same)
		return ST_OK;
	drop = xasprintf("DROP TRIGGER IF EXISTS %s", name);
	err = db_exec(l, drop, cause);
	free(drop);
	if (err == ST_OK)
		err = db_exec(l, sql, cause);
	return err;
}

/* Chain triggers over each table's current columns: a later migration
 * that adds a column gets it covered at the next open. */
static st_err
triggers_ensure(struct ledger *l, char **cause)
{
	static const char *const ev[][2] = { { "INSERT", "ins" },
		{ "UPDATE", "upd" } };
	st_err err = ST_OK;

	for (size_t i = 0; err == ST_OK && i < keyed_n_tables; i++) {
		char *digest = NULL;

		err = keyed_digest_expr(l, &keyed_tables[i], "NEW.", &digest,
		    cause);
		for (size_t k = 0; err == ST_OK && k < 2; k++) {
			char *sql = trigger_sql(&keyed_tables[i], ev[k][0],
			    ev[k][1], digest);
			char *name = xasprintf("chain_%s_%s",
			    keyed_tables[i].name, ev[k][1]);

			err = trigger_ensure(l, name, sql, cause);
			free(sql);
			free(name);
		}
		free(digest);
	}
	return err;
}

/* ---- sealing a ledger -----------------------------------------------------*/

static st_err
append_entry(struct ledger *l, int64_t seq, const char *prev, const char *tbl,
    const char *row_key, const char *digest, char mac[LEDGER_HASH_HEX_LEN + 1],
    char **cause)
{
	if (keyed_mac_hex(l, prev, seq, tbl, row_key, digest, mac) != 0)
		return st_fail_ssl(cause, ST_E_CRYPTO, "sealing the ledger");
	return db_run(l, cause, "sealing the ledger",
	    "INSERT INTO chain_log (seq, tbl, row_key, digest, mac)"
	    " VALUES (?, ?, ?, ?, ?)",
	    DB_I64(seq), DB_TEXT(tbl), DB_TEXT(row_key), DB_TEXT(digest),
	    DB_TEXT(mac), DB_END);
}

/*
 * Start the keyed chain on a ledger that has none: the unkeyed run chain
 * is verified first (a ledger already tampered with is not sealed), then
 * entry 1 records its head ('genesis', row_key its chain_seq, digest its
 * hash) and one entry per row of each table follows, in table order.
 */
static st_err
seal(struct ledger *l, char **cause)
{
	struct ledger_verify_report r;
	sqlite3_stmt *st = NULL, *rows = NULL;
	char prev[LEDGER_HASH_HEX_LEN + 1], mac[LEDGER_HASH_HEX_LEN + 1];
	char *head_seq = NULL, *digest = NULL, *sql = NULL;
	int64_t seq = 1;
	int rc;
	st_err err;

	memset(&r, 0, sizeof r);
	err = ledger_verify_runs(l, &r, cause);
	if (err == ST_OK && r.problem != LEDGER_OK)
		err = st_fail(cause, ST_E_MISMATCH,
		    "the ledger's run chain does not verify, so it is not "
		    "sealed with the key: %s; restore the ledger from its "
		    "backup",
		    r.detail);
	if (err)
		return err;
	err = db_stmt(l, &st, cause,
	    "SELECT CAST(seq AS TEXT), hash FROM chain_head WHERE id = 1",
	    DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW) {
		err = st_fail(cause, ST_E_DB, "the chain head is missing");
		goto out;
	}
	head_seq = db_col_dup(st, 0);
	memcpy(prev, keyed_zero_mac, sizeof prev);
	err = append_entry(l, seq++, prev, "genesis", head_seq,
	    (const char *)sqlite3_column_text(st, 1), mac, cause);
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; err == ST_OK && i < keyed_n_tables; i++) {
		const struct keyed_table *t = &keyed_tables[i];

		err = keyed_digest_expr(l, t, "", &digest, cause);
		if (err)
			break;
		sql = xasprintf("SELECT CAST(\"%s\" AS TEXT), %s FROM %s"
				" ORDER BY rowid",
		    t->key, digest, t->name);
		err = db_prepare(l, sql, &rows, cause);
		for (rc = err ? SQLITE_DONE : sqlite3_step(rows);
		     err == ST_OK && rc == SQLITE_ROW;
		     rc = sqlite3_step(rows)) {
			memcpy(prev, mac, sizeof prev);
			err = append_entry(l, seq++, prev, t->name,
			    (const char *)sqlite3_column_text(rows, 0),
			    (const char *)sqlite3_column_text(rows, 1), mac,
			    cause);
		}
		if (err == ST_OK && rc != SQLITE_DONE)
			err = db_fail(l, cause, "sealing the ledger");
		sqlite3_finalize(rows);
		rows = NULL;
		free(sql);
		sql = NULL;
		free(digest);
		digest = NULL;
	}
out:
	sqlite3_finalize(st);
	free(head_seq);
	return err;
}

/* Entry 1 (its tbl, row_key, digest and mac from columns `c`.. of `st`)
 * under the loaded key: a wrong key is refused at open rather than
 * chaining new entries no one can verify. */
static st_err
entry1_matches(struct ledger *l, sqlite3_stmt *st, int c, const char *key_path,
    char **cause)
{
	const char *tbl = (const char *)sqlite3_column_text(st, c);
	const char *row = (const char *)sqlite3_column_text(st, c + 1);
	const char *digest = (const char *)sqlite3_column_text(st, c + 2);
	const char *want = (const char *)sqlite3_column_text(st, c + 3);
	char mac[LEDGER_HASH_HEX_LEN + 1];

	if (tbl == NULL || row == NULL || digest == NULL || want == NULL ||
	    keyed_mac_hex(l, keyed_zero_mac, 1, tbl, row, digest, mac) != 0 ||
	    strcmp(mac, want) != 0)
		return st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not the key this ledger was sealed "
		    "with: restore the right key from its backup "
		    "(docs/admin.md)",
		    key_path);
	return ST_OK;
}

static st_err
key_matches(struct ledger *l, const char *key_path, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_stmt(l, &st, cause,
	    "SELECT tbl, row_key, digest, mac FROM chain_log WHERE seq = 1",
	    DB_END);

	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW)
		err = entry1_matches(l, st, 0, key_path, cause);
	sqlite3_finalize(st);
	return err;
}

st_err
ledger_keyed_check_ro(struct ledger *l, const char *key_path, char **cause)
{
	char *why = NULL;
	st_err err;

	err = keyed_key_apart(key_path, l->path, cause);
	if (err)
		return err;
	err = keyed_key_read(l, key_path, &why);
	if (err == ST_E_NOTFOUND)
		err = st_fail(cause, ST_E_CONFIG,
		    "%s, but the ledger is sealed with a key: restore the key "
		    "file from its backup (docs/admin.md)",
		    why);
	else if (err)
		err = st_fail(cause, err,
		    "%s (the keyed chain is checked as the station user, or "
		    "as root)",
		    why);
	free(why);
	if (err == ST_OK)
		err = key_matches(l, key_path, cause);
	return err;
}

/* The chain triggers' SQL as stored, in name order (the insert and update
 * trigger of each keyed table; chain_log's own are named *_no_*). */
#define STORED_TRIGGERS \
	"(SELECT group_concat(sql, ';') FROM (SELECT sql FROM sqlite_master" \
	" WHERE type = 'trigger' AND (name GLOB 'chain_*_ins'" \
	" OR name GLOB 'chain_*_upd') ORDER BY name))"

/*
 * The stamp of the chain triggers (ledger_meta 'keyed_triggers'): the
 * schema version, a hash of the generator (trigger_sql's text for every
 * table and event, over a placeholder digest: a change to the code
 * changes it) and a hash of the triggers as stored (`stored`, may be
 * NULL: a trigger dropped or edited by hand changes it).  Caller frees.
 */
static char *
triggers_stamp(struct ledger *l, const char *stored)
{
	static const char *const ev[][2] = { { "INSERT", "ins" },
		{ "UPDATE", "upd" } };
	char gen[LEDGER_HASH_HEX_LEN + 1], now[LEDGER_HASH_HEX_LEN + 1];
	struct keyed_enc e = { 0 };

	for (size_t i = 0; i < keyed_n_tables; i++)
		for (size_t k = 0; k < 2; k++) {
			char *sql = trigger_sql(&keyed_tables[i], ev[k][0],
			    ev[k][1], "?");

			keyed_enc_text(&e, sql, strlen(sql));
			free(sql);
		}
	if (keyed_sha256_hex(l, e.buf, e.len, gen) != 0)
		gen[0] = '\0';
	if (stored == NULL ||
	    keyed_sha256_hex(l, stored, strlen(stored), now) != 0)
		now[0] = '\0';
	free(e.buf);
	return xasprintf("schema %d generator %s triggers %s",
	    LEDGER_SCHEMA_VERSION, gen, now);
}

/* Record the stamp of the triggers as they now are (inside the
 * migration's transaction, after triggers_ensure). */
static st_err
triggers_stamp_store(struct ledger *l, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *stamp = NULL;
	st_err err;

	err = db_stmt(l, &st, cause, "SELECT " STORED_TRIGGERS, DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW) {
		err = db_fail(l, cause, "reading the chain triggers");
		goto out;
	}
	stamp = triggers_stamp(l, (const char *)sqlite3_column_text(st, 0));
	err = db_run(l, cause, "recording the chain triggers' stamp",
	    "INSERT INTO ledger_meta (name, value) VALUES ('keyed_triggers', ?)"
	    " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
	    DB_TEXT(stamp), DB_END);
out:
	sqlite3_finalize(st);
	free(stamp);
	return err;
}

st_err
ledger_keyed_current(struct ledger *l, const char *key_path, int *current,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	const char *stored;
	char *stamp = NULL;
	st_err err;

	*current = 0;
	err = keyed_key_apart(key_path, l->path, cause);
	if (err || !l->keyed)
		return err;
	/* One statement, one read.  It does not prepare on a ledger from
	 * before ledger_meta: the migration's path then. */
	if (sqlite3_prepare_v2(l->db,
		"SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT value FROM ledger_meta WHERE name = 'keyed_triggers'),"
		" " STORED_TRIGGERS ", c.tbl, c.row_key, c.digest, c.mac"
		" FROM (SELECT 1) LEFT JOIN chain_log c ON c.seq = 1",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_int(st, 0) != LEDGER_SCHEMA_VERSION ||
	    sqlite3_column_type(st, 3) == SQLITE_NULL)
		goto out;
	stored = (const char *)sqlite3_column_text(st, 1);
	stamp = triggers_stamp(l, (const char *)sqlite3_column_text(st, 2));
	if (stored == NULL || strcmp(stored, stamp) != 0)
		goto out;
	err = entry1_matches(l, st, 3, key_path, cause);
	if (err == ST_OK)
		*current = 1;
out:
	sqlite3_finalize(st);
	free(stamp);
	return err;
}

st_err
ledger_keyed_setup(struct ledger *l, const char *key_path, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *why = NULL;
	int sealed;
	st_err err;

	err = keyed_key_apart(key_path, l->path, cause);
	if (err)
		return err;
	err = db_stmt(l, &st, cause, "SELECT EXISTS (SELECT 1 FROM chain_log)",
	    DB_END);
	if (err)
		return err;
	sealed =
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
	sqlite3_finalize(st);
	err = l->keyed ? ST_OK : keyed_key_read(l, key_path, &why);
	if (err == ST_E_NOTFOUND && !sealed) {
		/* A new ledger, or one from before the keyed chain: the key
		 * is made with it.  A sealed ledger never gets a new key. */
		err = keyed_key_create(key_path, cause);
		if (err == ST_OK)
			err = keyed_key_read(l, key_path, cause);
	} else if (err == ST_E_NOTFOUND) {
		err = st_fail(cause, ST_E_CONFIG,
		    "%s, but the ledger is sealed with a key: restore the key "
		    "file from its backup (docs/admin.md)",
		    why);
	} else if (err) {
		err = st_fail(cause, err, "%s", why);
	}
	free(why);
	if (err)
		return err;
	err = triggers_ensure(l, cause);
	if (err == ST_OK && !sealed)
		err = seal(l, cause);
	if (err == ST_OK && sealed)
		err = key_matches(l, key_path, cause);
	if (err == ST_OK)
		err = triggers_stamp_store(l, cause);
	return err;
}
