/* Certificates: issuance, status transitions, the live-certificate lookup. */
#include "db/ledger_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

/* Lower-case copy of a hex string, or NULL if it is not plain hex of
 * 1..max digits. */
static char *
hex_lower(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	char *out;

	if (n == 0 || n > max)
		return NULL;
	out = xstrdup(s);
	for (size_t i = 0; i < n; i++) {
		char c = out[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			free(out);
			return NULL;
		}
		out[i] = c;
	}
	return out;
}

#define CERT_COL(m, k) \
	{ \
		offsetof(struct cert_record, m), k \
	}
static const struct db_col cert_cols[] = {
	CERT_COL(id, 'I'),
	CERT_COL(run_id, 'I'),
	CERT_COL(serial_hex, 's'),
	CERT_COL(device_serial, 's'),
	CERT_COL(fingerprint_sha256, 's'),
	CERT_COL(subject, 's'),
	CERT_COL(issuer, 's'),
	CERT_COL(not_before, 'I'),
	CERT_COL(not_after, 'I'),
	CERT_COL(backend, 's'),
	CERT_COL(pem, 's'),
	CERT_COL(status, 's'),
	CERT_COL(status_note, 's'),
	CERT_COL(created_at, 'I'),
	CERT_COL(updated_at, 'I'),
	CERT_COL(revoke_reason, 's'),
	CERT_COL(issuer_key_id, 's'),
};
/* In the order of LEDGER_CERT_COLUMNS. */
const struct db_record db_cert_record = { sizeof(struct cert_record), cert_cols,
	sizeof cert_cols / sizeof cert_cols[0] };

void
ledger_cert_record_clear(struct cert_record *c)
{
	db_record_clear(&db_cert_record, c);
}

/* Statements of a run, by name for ledger_warm_run_start (runs.c). */
const char db_sql_run_cert[] =
    "UPDATE runs SET cert_serial = ? WHERE id = ? AND result = "
    "'running'";
const char db_sql_cert_insert[] =
    "INSERT INTO certificates (serial_hex, device_serial, run_id,"
    " fingerprint_sha256, subject, issuer, not_before, not_after,"
    " backend, pem, status, status_note, created_at, updated_at,"
    " issuer_key_id)"
    " VALUES (?1, coalesce(?2, (SELECT device_serial FROM runs"
    " WHERE id = ?3)), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'issued', ?11,"
    " ?12, ?12, ?13)";
const char db_sql_cert_status[] =
    "UPDATE certificates SET status = ?, status_note = ?,"
    " updated_at = ?, revoke_reason = coalesce(?, revoke_reason)"
    " WHERE serial_hex = ?";

st_err
ledger_cert_issued(struct ledger *l, int64_t run_id,
    const struct cert_record *c, char **cause)
{
	char *serial = hex_lower(c->serial_hex, 128);
	char *fp = hex_lower(c->fingerprint_sha256, LEDGER_HASH_HEX_LEN);
	int64_t now = ledger_now_ms();
	int begun = 0;
	st_err err;

	if (serial == NULL || fp == NULL || strlen(fp) != LEDGER_HASH_HEX_LEN) {
		err = st_fail(cause, ST_E_ARG,
		    "certificate serial '%s' or "
		    "fingerprint is not plain hex",
		    c->serial_hex ? c->serial_hex : "");
		goto out;
	}
	if (c->subject == NULL || c->issuer == NULL || c->pem == NULL) {
		err = st_fail(cause, ST_E_ARG,
		    "certificate %s lacks subject, issuer or PEM", serial);
		goto out;
	}
	err = db_write_begin(l, DB_WRITE_GROUP, 1, cause);
	if (err)
		goto out;
	begun = 1;
	err = db_run(l, cause, "linking the certificate to its run",
	    db_sql_run_cert, DB_TEXT(serial), DB_I64(run_id), DB_END);
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
	if (err)
		goto out;
	err = db_run(l, cause, "recording the certificate", db_sql_cert_insert,
	    DB_TEXT(serial), DB_TEXT(c->device_serial), DB_I64(run_id),
	    DB_TEXT(fp), DB_TEXT(c->subject), DB_TEXT(c->issuer),
	    DB_I64(c->not_before), DB_I64(c->not_after), DB_TEXT(c->backend),
	    DB_TEXT(c->pem), DB_TEXT(c->status_note), DB_I64(now),
	    DB_TEXT(c->issuer_key_id), DB_END);
	if (err == ST_E_DB &&
	    sqlite3_extended_errcode(l->db) == SQLITE_CONSTRAINT_UNIQUE)
		err = st_fail(cause, ST_E_EXISTS,
		    "certificate serial %s is already in the ledger", serial);
out:
	if (begun)
		err = db_write_end(l, err, cause);
	free(serial);
	free(fp);
	return err;
}

/*
 * May a certificate move from `from` to `to`?  Ledger first, then the CA:
 * a certificate reaches 'revoked' only from an intent ('orphaned',
 * 'superseded', 'revoking') recorded before the CA was asked, so a crash
 * between the two leaves the intent for recovery to finish.
 */
static int
transition_allowed(const char *from, const char *to)
{
	static const struct {
		const char *from, *to;
	} allowed[] = {
		{ "issued", "written" },
		{ "issued", "orphaned" },
		{ "issued", "superseded" },
		{ "issued", "revoking" },
		{ "written", "verified" },
		{ "written", "orphaned" },
		{ "written", "superseded" },
		{ "written", "revoking" },
		{ "verified", "superseded" },
		{ "verified", "revoking" },
		{ "orphaned", "revoking" },
		{ "superseded", "revoking" },
		{ "orphaned", "revoked" },
		{ "superseded", "revoked" },
		{ "revoking", "revoked" },
	};

	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
		if (strcmp(allowed[i].from, from) == 0 &&
		    strcmp(allowed[i].to, to) == 0)
			return 1;
	return 0;
}

/*
 * 'written' and 'verified' mark the pipeline's progress between two durable
 * points: they become durable with the run's end (or with any later durable
 * write).  The intents and 'revoked' state what the CA did or must do and
 * are durable when the call returns.
 */
static enum db_write
status_mode(const char *status)
{
	if (strcmp(status, "written") == 0 || strcmp(status, "verified") == 0)
		return DB_WRITE_LAZY;
	return DB_WRITE_GROUP;
}

/* The reason an intent status implies; NULL for the others ('revoking'
 * names its own). */
static const char *
intent_reason(const char *status)
{
	if (strcmp(status, "orphaned") == 0)
		return "cessationOfOperation";
	if (strcmp(status, "superseded") == 0)
		return "superseded";
	return NULL;
}

/* One status change; `reason` (may be NULL: keep the recorded one) goes
 * into revoke_reason. */
static st_err
cert_move(struct ledger *l, const char *serial_hex, const char *status,
    const char *reason, const char *note, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *serial = hex_lower(serial_hex, 128);
	char *from = NULL;
	int begun = 0;
	st_err err;

	if (serial == NULL || status == NULL) {
		err = st_fail(cause, ST_E_ARG,
		    "bad certificate serial or status");
		goto out;
	}
	/* Read and write in one transaction so two threads cannot both pass
	 * the transition check on the same old status. */
	err = db_write_begin(l, status_mode(status), 1, cause);
	if (err)
		goto out;
	begun = 1;
	err = db_query(l, &st, cause, db_sql_cert_status_of, DB_TEXT(serial),
	    DB_END);
	if (err)
		goto out;
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		from = db_col_dup(st, 0);
		break;
	case SQLITE_DONE:
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no certificate with serial %s in the ledger", serial);
		goto out;
	default:
		err = db_fail(l, cause, "looking up a certificate");
		goto out;
	}
	db_cached_give(l, db_sql_cert_status_of, st);
	st = NULL;
	if (!transition_allowed(from, status)) {
		err = st_fail(cause, ST_E_STATE,
		    "certificate %s cannot go from %s to %s", serial, from,
		    status);
		goto out;
	}
	err = db_run(l, cause, "changing a certificate's status",
	    db_sql_cert_status, DB_TEXT(status), DB_TEXT(note),
	    DB_I64(ledger_now_ms()), DB_TEXT(reason), DB_TEXT(serial), DB_END);
out:
	db_cached_give(l, db_sql_cert_status_of, st);
	if (begun)
		err = db_write_end(l, err, cause);
	free(from);
	free(serial);
	return err;
}

st_err
ledger_cert_set_status(struct ledger *l, const char *serial_hex,
    const char *status, const char *note, char **cause)
{
	if (status != NULL && strcmp(status, "revoking") == 0)
		return st_fail(cause, ST_E_ARG,
		    "'revoking' needs a reason "
		    "(ledger_cert_revoke_intent)");
	return cert_move(l, serial_hex, status,
	    status ? intent_reason(status) : NULL, note, cause);
}

st_err
ledger_cert_set_note(struct ledger *l, const char *serial_hex, const char *note,
    char **cause)
{
	char *serial = hex_lower(serial_hex, 128);
	st_err err;

	if (serial == NULL)
		return st_fail(cause, ST_E_ARG, "bad certificate serial");
	err = db_write_begin(l, DB_WRITE_GROUP, 0, cause);
	if (err)
		goto out;
	err = db_run(l, cause, "changing a certificate's note",
	    "UPDATE certificates SET status_note = ?, updated_at = ?"
	    " WHERE serial_hex = ?"
	    " AND status IN ('orphaned','superseded','revoking')",
	    DB_TEXT(note), DB_I64(ledger_now_ms()), DB_TEXT(serial), DB_END);
	if (err == ST_OK && sqlite3_changes(l->db) != 1)
		err = st_fail(cause, ST_E_STATE,
		    "certificate %s is not waiting on a revocation", serial);
	err = db_write_end(l, err, cause);
out:
	free(serial);
	return err;
}

st_err
ledger_cert_revoke_intent(struct ledger *l, const char *serial_hex,
    const char *reason, const char *note, char **cause)
{
	if (reason == NULL || reason[0] == '\0')
		return st_fail(cause, ST_E_ARG, "a revocation needs a reason");
	return cert_move(l, serial_hex, "revoking", reason, note, cause);
}

st_err
ledger_orphan_open_certs(struct ledger *l, int64_t run_id, const char *note,
    int *count, char **cause)
{
	st_err err;

	if (count)
		*count = 0;
	err = db_write_begin(l, DB_WRITE_GROUP, 0, cause);
	if (err)
		return err;
	err = db_run(l, cause, "marking certificates orphaned",
	    "UPDATE certificates SET status = 'orphaned', status_note = ?,"
	    " updated_at = ?, revoke_reason = 'cessationOfOperation'"
	    " WHERE run_id = ? AND status = 'issued'",
	    DB_TEXT(note), DB_I64(ledger_now_ms()), DB_I64(run_id), DB_END);
	if (err == ST_OK && count)
		*count = sqlite3_changes(l->db);
	return db_write_end(l, err, cause);
}

/* The queries of every run (reserve.c, run_key_unique), by name for
 * ledger_warm_run_start (runs.c). */
const char db_sql_serial_live[] =
    "SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
    " WHERE device_serial = ?"
    " AND status IN ('issued','written','verified')"
    " ORDER BY id DESC LIMIT 1";
const char db_sql_cert_by_key[] =
    "SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
    " WHERE run_id IN (SELECT id FROM runs WHERE ca_key_sha256 = ?)"
    " ORDER BY id DESC LIMIT 1";
const char db_sql_cert_status_of[] =
    "SELECT status FROM certificates WHERE serial_hex = ?";

/* Run a one-row certificate query; *found says whether a row came back. */
static st_err
cert_query_one(struct ledger *l, const char *sql, const char *key,
    struct cert_record *out, int *found, char **cause)
{
	return db_get_record(l, &db_cert_record, out, found,
	    "looking up a certificate", cause, sql, DB_TEXT(key), DB_END);
}

st_err
ledger_device_live_cert(struct ledger *l, const char *device_serial,
    struct cert_record *out, int *found, char **cause)
{
	if (device_serial == NULL) {
		memset(out, 0, sizeof *out);
		*found = 0;
		return st_fail(cause, ST_E_ARG, "no device serial given");
	}
	return cert_query_one(l, db_sql_serial_live, device_serial, out, found,
	    cause);
}

st_err
ledger_cert_get(struct ledger *l, const char *serial_hex,
    struct cert_record *out, char **cause)
{
	char *serial = hex_lower(serial_hex, 128);
	int found = 0;
	st_err err;

	if (serial == NULL) {
		memset(out, 0, sizeof *out);
		return st_fail(cause, ST_E_ARG, "bad certificate serial");
	}
	err = cert_query_one(l,
	    "SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
	    " WHERE serial_hex = ?",
	    serial, out, &found, cause);
	if (err == ST_OK && !found)
		err = st_fail(cause, ST_E_NOTFOUND,
		    "no certificate with serial %s in the ledger", serial);
	free(serial);
	return err;
}

st_err
ledger_cert_by_key(struct ledger *l, const char *key_sha256,
    struct cert_record *out, int *found, char **cause)
{
	/* The key is known through the run that asked the CA for it (its
	 * intent, ledger_run_ca_request): every certificate the pipeline
	 * or crash recovery recorded belongs to such a run. */
	return cert_query_one(l, db_sql_cert_by_key, key_sha256, out, found,
	    cause);
}
