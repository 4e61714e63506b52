/*
 * Verifying the keyed chain (ledger_verify): every entry's MAC in order,
 * every evidence row against its newest entry, and whether the ledger
 * extends an export's checkpoint.
 */
#include "db/keyed_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static void keyed_report(struct ledger_verify_report *r, enum ledger_problem p,
    const char *tbl, const char *row, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
keyed_report(struct ledger_verify_report *r, enum ledger_problem p,
    const char *tbl, const char *row, const char *fmt, ...)
{
	va_list ap;

	r->problem = p;
	snprintf(r->bad_table, sizeof r->bad_table, "%s", tbl ? tbl : "");
	snprintf(r->bad_row, sizeof r->bad_row, "%s", row ? row : "");
	if (tbl != NULL && strcmp(tbl, "runs") == 0 && row != NULL) {
		char *end = NULL;
		long long id = strtoll(row, &end, 10);

		if (end != row && *end == '\0')
			r->bad_run_id = id;
	}
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Every entry in order: contiguous, each MAC right over the one before. */
static st_err
walk_entries(struct ledger *l, struct ledger_verify_report *r, char **cause)
{
	sqlite3_stmt *st = NULL;
	char prev[LEDGER_HASH_HEX_LEN + 1], mac[LEDGER_HASH_HEX_LEN + 1];
	int64_t expect = 1;
	int rc;
	st_err err = db_prepare(l,
	    "SELECT seq, tbl, row_key, digest, mac FROM chain_log ORDER BY seq",
	    &st, cause);

	if (err)
		return err;
	memcpy(prev, keyed_zero_mac, sizeof prev);
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		int64_t seq = sqlite3_column_int64(st, 0);

		if (seq != expect) {
			keyed_report(r, LEDGER_DELETED, "chain_log", NULL,
			    "keyed chain entry %" PRId64 " is missing", expect);
			break;
		}
		if (keyed_mac_hex(l, prev, seq, col(st, 1), col(st, 2),
			col(st, 3), mac) != 0) {
			err = st_fail_ssl(cause, ST_E_CRYPTO,
			    "checking the keyed chain");
			break;
		}
		if (strcmp(mac, col(st, 4)) != 0 ||
		    (seq == 1 && strcmp(col(st, 1), "genesis") != 0)) {
			keyed_report(r, LEDGER_FORGED, col(st, 1), col(st, 2),
			    "keyed chain entry %" PRId64
			    " (%s row %s) does not carry the station key's "
			    "MAC: it was written or changed without the key",
			    seq, col(st, 1), col(st, 2));
			break;
		}
		memcpy(prev, mac, sizeof prev);
		r->entries_checked = seq;
		expect++;
	}
	if (err == ST_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = db_fail(l, cause, "reading the keyed chain");
	if (err == ST_OK && r->problem == LEDGER_OK && expect == 1)
		keyed_report(r, LEDGER_DELETED, "chain_log", NULL,
		    "the keyed chain is empty: it was deleted");
	sqlite3_finalize(st);
	return err;
}

/* Each row as it is now against the newest entry for it; then entries
 * whose row is gone. */
static st_err
check_rows(struct ledger *l, const struct keyed_table *t,
    struct ledger_verify_report *r, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *digest = NULL, *sql = NULL;
	int rc;
	st_err err;

	err = keyed_digest_expr(l, t, "", &digest, cause);
	if (err)
		return err;
	sql = xasprintf(
	    "SELECT CAST(\"%s\" AS TEXT), %s,"
	    " (SELECT c.digest || ' ' || c.seq FROM chain_log c"
	    " WHERE c.tbl = '%s' AND c.row_key = CAST(t.\"%s\" AS TEXT)"
	    " ORDER BY c.seq DESC LIMIT 1) FROM %s t ORDER BY rowid",
	    t->key, digest, t->name, t->key, t->name);
	err = db_prepare(l, sql, &st, cause);
	for (rc = err ? SQLITE_DONE : sqlite3_step(st);
	     err == ST_OK && rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *want = (const char *)sqlite3_column_text(st, 2);

		if (want == NULL) {
			keyed_report(r, LEDGER_UNCHAINED, t->name, col(st, 0),
			    "%s row %s is not in the keyed chain: it was "
			    "inserted without the key",
			    t->name, col(st, 0));
			break;
		}
		if (strncmp(want, col(st, 1), LEDGER_HASH_HEX_LEN) != 0) {
			keyed_report(r, LEDGER_EDITED, t->name, col(st, 0),
			    "%s row %s was changed after it was recorded "
			    "(keyed chain entry %s)",
			    t->name, col(st, 0),
			    want + LEDGER_HASH_HEX_LEN + 1);
			break;
		}
	}
	if (err == ST_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err =
		    db_fail(l, cause, "checking rows against the keyed chain");
	sqlite3_finalize(st);
	st = NULL;
	free(sql);
	sql = NULL;
	if (err || r->problem != LEDGER_OK)
		goto out;
	sql = xasprintf("SELECT c.row_key, max(c.seq) FROM chain_log c"
			" WHERE c.tbl = '%s' AND NOT EXISTS (SELECT 1 FROM %s t"
			" WHERE t.\"%s\" = %s) GROUP BY c.row_key"
			" ORDER BY max(c.seq) LIMIT 1",
	    t->name, t->name, t->key, t->lookup);
	err = db_prepare(l, sql, &st, cause);
	if (err == ST_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			keyed_report(r, LEDGER_DELETED, t->name, col(st, 0),
			    "%s row %s was deleted (last recorded in keyed "
			    "chain entry %lld)",
			    t->name, col(st, 0),
			    (long long)sqlite3_column_int64(st, 1));
		else if (rc != SQLITE_DONE)
			err = db_fail(l, cause, "looking for deleted rows");
	}
out:
	sqlite3_finalize(st);
	free(sql);
	free(digest);
	return err;
}

/* A certificate's status is its newest event's (both rows are chained,
 * so this only catches a writer that bypassed the event trigger). */
static st_err
check_cert_status(struct ledger *l, struct ledger_verify_report *r,
    char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_prepare(l,
	    "SELECT CAST(c.id AS TEXT), c.status FROM certificates c"
	    " WHERE c.status IS NOT (SELECT e.status FROM cert_events e"
	    " WHERE e.cert_id = c.id ORDER BY e.id DESC LIMIT 1)"
	    " ORDER BY c.id LIMIT 1",
	    &st, cause);

	if (err)
		return err;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		keyed_report(r, LEDGER_EDITED, "certificates", col(st, 0),
		    "certificates row %s has status %s, not its newest "
		    "event's",
		    col(st, 0), col(st, 1));
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, "checking certificate statuses");
	}
	sqlite3_finalize(st);
	return err;
}

st_err
ledger_verify_keyed(struct ledger *l, struct ledger_verify_report *r,
    char **cause)
{
	st_err err;

	if (!l->keyed && l->key_error != NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "the keyed chain cannot be checked: %s", l->key_error);
	if (!l->keyed)
		return st_fail(cause, ST_E_CONFIG,
		    "the ledger key is not loaded");
	err = walk_entries(l, r, cause);
	for (size_t i = 0;
	     err == ST_OK && r->problem == LEDGER_OK && i < keyed_n_tables; i++)
		err = check_rows(l, &keyed_tables[i], r, cause);
	if (err == ST_OK && r->problem == LEDGER_OK)
		err = check_cert_status(l, r, cause);
	return err;
}

st_err
ledger_keyed_head(struct ledger *l, struct ledger_checkpoint *cp, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	memset(cp, 0, sizeof *cp);
	err = db_stmt(l, &st, cause,
	    "SELECT seq, digest, mac FROM chain_log ORDER BY seq DESC LIMIT 1",
	    DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 1) == LEDGER_HASH_HEX_LEN &&
	    sqlite3_column_bytes(st, 2) == LEDGER_HASH_HEX_LEN) {
		cp->seq = sqlite3_column_int64(st, 0);
		memcpy(cp->digest, sqlite3_column_text(st, 1),
		    LEDGER_HASH_HEX_LEN);
		memcpy(cp->mac, sqlite3_column_text(st, 2),
		    LEDGER_HASH_HEX_LEN);
	} else {
		err = db_fail(l, cause, "reading the keyed chain's head");
	}
	sqlite3_finalize(st);
	return err;
}

/* Does the ledger (already verified) extend the checkpoint?  Both
 * chains: the keyed entry at cp->seq and the run at cp->run_seq. */
st_err
ledger_check_extends(struct ledger *l, const struct ledger_checkpoint *cp,
    struct ledger_verify_report *r, char **cause)
{
	struct ledger_checkpoint now;
	sqlite3_stmt *st = NULL;
	st_err err;

	err = ledger_keyed_head(l, &now, cause);
	if (err)
		return err;
	if (now.seq < cp->seq) {
		keyed_report(r, LEDGER_REWOUND, "chain_log", NULL,
		    "the ledger ends at keyed chain entry %" PRId64
		    ", before the checkpoint's entry %" PRId64
		    ": its newest records were removed or an older copy "
		    "was put back",
		    now.seq, cp->seq);
		return ST_OK;
	}
	err = db_stmt(l, &st, cause,
	    "SELECT digest, mac FROM chain_log WHERE seq = ?", DB_I64(cp->seq),
	    DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp(col(st, 0), cp->digest) != 0 ||
	    strcmp(col(st, 1), cp->mac) != 0)
		keyed_report(r, LEDGER_REWOUND, "chain_log", NULL,
		    "keyed chain entry %" PRId64
		    " differs from the checkpoint: the ledger was rewound "
		    "and written again since the export",
		    cp->seq);
	sqlite3_finalize(st);
	st = NULL;
	if (r->problem != LEDGER_OK || cp->run_seq <= 0)
		return ST_OK;
	err = db_stmt(l, &st, cause,
	    "SELECT row_hash FROM runs WHERE chain_seq = ?",
	    DB_I64(cp->run_seq), DB_END);
	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW ||
	    strcmp(col(st, 0), cp->run_hash) != 0)
		keyed_report(r, LEDGER_REWOUND, "runs", NULL,
		    "the run at chain position %" PRId64
		    " is not the one the checkpoint names: the runs were "
		    "rewound",
		    cp->run_seq);
	sqlite3_finalize(st);
	return ST_OK;
}
