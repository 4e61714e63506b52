/*
 * The tamper-evident hash chain over finished runs, and ledger_verify.
 * The serialization is specified in ledger.h; keep the two in step.
 */
#include "db/ledger_int.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CHAIN_TAG "station-ledger-run-v1"

static const char zero_hash[LEDGER_HASH_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static int
digest_str(EVP_MD_CTX *md, const char *s)
{
	return EVP_DigestUpdate(md, s, strlen(s));
}

/*
 * Hash the first LEDGER_RUN_HASHED_COLUMNS columns of the current row of
 * `st` (selected with LEDGER_RUN_COLUMNS) into hex[65].  Serialization is
 * by storage class, which the STRICT table ties to the declared types.
 */
static st_err
hash_run_row(sqlite3_stmt *st, char hex[LEDGER_HASH_HEX_LEN + 1], char **cause)
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int binlen = 0;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char num[32];
	int ok;
	st_err err = ST_OK;

	if (md == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO, "hashing a run");
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	    digest_str(md, CHAIN_TAG);
	for (int i = 0; ok && i < LEDGER_RUN_HASHED_COLUMNS; i++) {
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_NULL:
			ok = digest_str(md, "N");
			break;
		case SQLITE_INTEGER:
			snprintf(num, sizeof num, "I%" PRId64 ";",
			    (int64_t)sqlite3_column_int64(st, i));
			ok = digest_str(md, num);
			break;
		case SQLITE_TEXT: {
			const unsigned char *t = sqlite3_column_text(st, i);
			int n = sqlite3_column_bytes(st, i);

			snprintf(num, sizeof num, "T%d:", n);
			ok = digest_str(md, num) &&
			    EVP_DigestUpdate(md, t, (size_t)n);
			break;
		}
		default:
			/* STRICT tables hold no floats or blobs here; one
			 * can only be there by tampering: hash a marker that
			 * the encoding never produces, so it cannot match. */
			ok = digest_str(md, "?");
		}
	}
	if (ok)
		ok = EVP_DigestFinal_ex(md, bin, &binlen);
	if (!ok || binlen != LEDGER_HASH_HEX_LEN / 2) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "hashing a run");
		goto out;
	}
	for (unsigned int i = 0; i < binlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
out:
	EVP_MD_CTX_free(md);
	return err;
}

const char db_sql_chain_head[] =
    "SELECT seq, hash FROM chain_head WHERE id = 1";
const char db_sql_chain_row[] =
    "SELECT " LEDGER_RUN_COLUMNS " FROM runs WHERE id = ?";
const char db_sql_chain_place[] =
    "UPDATE runs SET chain_seq = ?, prev_hash = ? WHERE id = ?";
const char db_sql_chain_seal[] = "UPDATE runs SET row_hash = ?1 WHERE id = ?2;";
const char db_sql_chain_advance[] =
    "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1";

st_err
ledger_chain_append(struct ledger *l, int64_t run_id, char **cause)
{
	sqlite3_stmt *head = NULL, *row = NULL;
	char prev[LEDGER_HASH_HEX_LEN + 1], hash[LEDGER_HASH_HEX_LEN + 1];
	int64_t seq;
	st_err err;

	err = db_query(l, &head, cause, db_sql_chain_head, DB_END);
	if (err)
		return err;
	if (sqlite3_step(head) != SQLITE_ROW ||
	    sqlite3_column_bytes(head, 1) != LEDGER_HASH_HEX_LEN) {
		err = st_fail(cause, ST_E_DB,
		    "the ledger's chain head is missing");
		goto out;
	}
	seq = sqlite3_column_int64(head, 0) + 1;
	memcpy(prev, sqlite3_column_text(head, 1), sizeof prev - 1);
	prev[LEDGER_HASH_HEX_LEN] = '\0';
	db_cached_give(l, db_sql_chain_head, head);
	head = NULL;

	err =
	    db_run(l, cause, "placing the run in the chain", db_sql_chain_place,
		DB_I64(seq), DB_TEXT(prev), DB_I64(run_id), DB_END);
	if (err)
		goto out;

	/* Hash the row as stored, so the writer and ledger_verify read the
	 * very same bytes. */
	err =
	    db_query(l, &row, cause, db_sql_chain_row, DB_I64(run_id), DB_END);
	if (err)
		goto out;
	if (sqlite3_step(row) != SQLITE_ROW) {
		err = db_fail(l, cause, "reading the finished run back");
		goto out;
	}
	err = hash_run_row(row, hash, cause);
	if (err)
		goto out;
	db_cached_give(l, db_sql_chain_row, row);
	row = NULL;

	err = db_run(l, cause, "sealing the run", db_sql_chain_seal,
	    DB_TEXT(hash), DB_I64(run_id), DB_END);
	if (err == ST_OK)
		err = db_run(l, cause, "advancing the chain head",
		    db_sql_chain_advance, DB_I64(seq), DB_TEXT(hash), DB_END);
out:
	db_cached_give(l, db_sql_chain_head, head);
	db_cached_give(l, db_sql_chain_row, row);
	return err;
}

const char *
ledger_problem_name(enum ledger_problem p)
{
	static const char *const names[] = {
		[LEDGER_OK] = "ok",
		[LEDGER_CORRUPT] = "corrupt",
		[LEDGER_EDITED] = "edited",
		[LEDGER_DELETED] = "deleted",
		[LEDGER_REORDERED] = "reordered",
		[LEDGER_UNCHAINED] = "unchained",
		[LEDGER_FORGED] = "forged",
		[LEDGER_REWOUND] = "rewound",
	};

	if ((unsigned)p >= sizeof names / sizeof names[0])
		return "unknown";
	return names[p];
}

static void report(struct ledger_verify_report *r, enum ledger_problem p,
    int64_t run_id, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
report(struct ledger_verify_report *r, enum ledger_problem p, int64_t run_id,
    int64_t seq, const char *fmt, ...)
{
	va_list ap;

	r->problem = p;
	r->bad_run_id = run_id;
	r->bad_chain_seq = seq;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
}

static int
text_eq(sqlite3_stmt *st, int col, const char *want)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL && strcmp((const char *)t, want) == 0;
}

static st_err
check_integrity(struct ledger *l, struct ledger_verify_report *r, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err = db_prepare(l, "PRAGMA integrity_check", &st, cause);

	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW)
		err = db_fail(l, cause, "checking the ledger file");
	else if (!text_eq(st, 0, "ok"))
		report(r, LEDGER_CORRUPT, 0, 0,
		    "the ledger file is damaged: %s",
		    (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return err;
}

/* Walk the chain in order; stop at the first problem found. */
static st_err
walk_chain(struct ledger *l, struct ledger_verify_report *r, int64_t *last,
    char last_hash[LEDGER_HASH_HEX_LEN + 1], char **cause)
{
	sqlite3_stmt *st = NULL;
	char hash[LEDGER_HASH_HEX_LEN + 1];
	int64_t expect = 1, prev_id = 0;
	int rc;
	st_err err = db_prepare(l,
	    "SELECT " LEDGER_RUN_COLUMNS " FROM runs"
	    " WHERE chain_seq IS NOT NULL ORDER BY chain_seq",
	    &st, cause);

	if (err)
		return err;
	memcpy(last_hash, zero_hash, sizeof zero_hash);
	*last = 0;
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t seq = sqlite3_column_int64(st, 21);

		if (seq > expect) {
			report(r, LEDGER_DELETED, id, expect,
			    "chain position %" PRId64
			    " is missing: run %" PRId64 " follows run %" PRId64
			    " at position %" PRId64,
			    expect, id, prev_id, seq);
			break;
		}
		if (seq != expect || !text_eq(st, 22, last_hash)) {
			report(r, LEDGER_REORDERED, id, seq,
			    "run %" PRId64 " (chain position %" PRId64
			    ") does not link to the run before it",
			    id, seq);
			break;
		}
		err = hash_run_row(st, hash, cause);
		if (err)
			break;
		if (!text_eq(st, 23, hash)) {
			report(r, LEDGER_EDITED, id, seq,
			    "run %" PRId64 " (chain position %" PRId64
			    ") was changed after it finished",
			    id, seq);
			break;
		}
		memcpy(last_hash, hash, sizeof hash);
		*last = seq;
		prev_id = id;
		expect++;
		r->runs_checked++;
	}
	if (err == ST_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = db_fail(l, cause, "reading the chain");
	sqlite3_finalize(st);
	return err;
}

/* The chain head must name the last run walked; finished runs must all
 * be in the chain. */
static st_err
check_ends(struct ledger *l, struct ledger_verify_report *r, int64_t last,
    const char *last_hash, char **cause)
{
	sqlite3_stmt *st = NULL;
	int64_t head;
	st_err err = db_prepare(l,
	    "SELECT seq, hash FROM chain_head WHERE id = 1", &st, cause);

	if (err)
		return err;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		report(r, LEDGER_DELETED, 0, last + 1,
		    "the ledger's chain head is missing");
		return ST_OK;
	}
	head = sqlite3_column_int64(st, 0);
	if (head > last) {
		report(r, LEDGER_DELETED, 0, last + 1,
		    "the newest %" PRId64 " finished run(s) are missing "
		    "(chain positions %" PRId64 " to %" PRId64 ")",
		    head - last, last + 1, head);
	} else if (head < last || !text_eq(st, 1, last_hash)) {
		report(r, LEDGER_EDITED, 0, last,
		    "the chain head does not match the newest finished run");
	}
	sqlite3_finalize(st);
	if (r->problem != LEDGER_OK)
		return ST_OK;

	err = db_prepare(l,
	    "SELECT id FROM runs WHERE chain_seq IS NULL AND (result <> "
	    "'running'"
	    " OR ended_at IS NOT NULL OR row_hash IS NOT NULL) ORDER BY id"
	    " LIMIT 1",
	    &st, cause);
	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW)
		report(r, LEDGER_UNCHAINED, sqlite3_column_int64(st, 0), 0,
		    "run %lld is finished but not in the chain",
		    (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	return ST_OK;
}

st_err
ledger_verify_runs(struct ledger *l, struct ledger_verify_report *r,
    char **cause)
{
	char last_hash[LEDGER_HASH_HEX_LEN + 1];
	int64_t last = 0;
	st_err err = walk_chain(l, r, &last, last_hash, cause);

	if (err == ST_OK && r->problem == LEDGER_OK)
		err = check_ends(l, r, last, last_hash, cause);
	if (r->problem != LEDGER_OK && r->bad_table[0] == '\0') {
		snprintf(r->bad_table, sizeof r->bad_table, "runs");
		if (r->bad_run_id != 0)
			snprintf(r->bad_row, sizeof r->bad_row, "%" PRId64,
			    r->bad_run_id);
	}
	return err;
}

/* The checks of ledger_verify, lock held; `cp` (may be NULL) is a
 * checkpoint the ledger must extend. */
static st_err
verify_locked(struct ledger *l, const struct ledger_checkpoint *cp,
    struct ledger_verify_report *r, char **cause)
{
	st_err err;

	/* One read transaction: a consistent snapshot even while another
	 * station process keeps writing. */
	err = db_exec(l, "BEGIN", cause);
	if (err)
		return err;
	err = check_integrity(l, r, cause);
	if (err == ST_OK && r->problem == LEDGER_OK)
		err = ledger_verify_runs(l, r, cause);
	if (err == ST_OK && r->problem == LEDGER_OK)
		err = ledger_verify_keyed(l, r, cause);
	if (err == ST_OK && r->problem == LEDGER_OK && cp != NULL)
		err = ledger_check_extends(l, cp, r, cause);
	db_rollback(l);
	if (err == ST_OK && r->problem == LEDGER_CORRUPT)
		err = st_fail(cause, ST_E_DB, "%s", r->detail);
	else if (err == ST_OK && r->problem != LEDGER_OK)
		err = st_fail(cause, ST_E_MISMATCH, "%s", r->detail);
	return err;
}

st_err
ledger_verify(struct ledger *l, struct ledger_verify_report *r, char **cause)
{
	return ledger_verify_checkpoint(l, NULL, r, cause);
}

st_err
ledger_verify_checkpoint(struct ledger *l, const struct ledger_checkpoint *cp,
    struct ledger_verify_report *r, char **cause)
{
	st_err err;

	memset(r, 0, sizeof *r);
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = verify_locked(l, cp, r, cause);
	ledger_unlock(l);
	return err;
}

st_err
ledger_checkpoint_now(struct ledger *l, struct ledger_checkpoint *cp,
    char **cause)
{
	st_err err = ledger_lock(l, cause);

	if (err)
		return err;
	err = ledger_keyed_head(l, cp, cause);
	ledger_unlock(l);
	return err;
}
