/* Certificates: issuance, status transitions, the live-certificate lookup. */
#include "db/ledger_int.h"

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

void
ledger_cert_record_clear(struct cert_record *c)
{
	if (c == NULL)
		return;
	free(c->serial_hex);
	free(c->device_serial);
	free(c->fingerprint_sha256);
	free(c->subject);
	free(c->issuer);
	free(c->backend);
	free(c->pem);
	free(c->status);
	free(c->status_note);
	memset(c, 0, sizeof *c);
}

void
ledger_cert_from_stmt(sqlite3_stmt *st, struct cert_record *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->run_id = sqlite3_column_int64(st, 1);
	c->serial_hex = db_col_dup(st, 2);
	c->device_serial = db_col_dup(st, 3);
	c->fingerprint_sha256 = db_col_dup(st, 4);
	c->subject = db_col_dup(st, 5);
	c->issuer = db_col_dup(st, 6);
	c->not_before = sqlite3_column_int64(st, 7);
	c->not_after = sqlite3_column_int64(st, 8);
	c->backend = db_col_dup(st, 9);
	c->pem = db_col_dup(st, 10);
	c->status = db_col_dup(st, 11);
	c->status_note = db_col_dup(st, 12);
	c->created_at = sqlite3_column_int64(st, 13);
	c->updated_at = sqlite3_column_int64(st, 14);
}

st_err
ledger_cert_issued(
    struct ledger *l, int64_t run_id, const struct cert_record *c, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *serial = hex_lower(c->serial_hex, 128);
	char *fp = hex_lower(c->fingerprint_sha256, LEDGER_HASH_HEX_LEN);
	int64_t now = ledger_now_ms();
	st_err err;

	if (serial == NULL || fp == NULL || strlen(fp) != LEDGER_HASH_HEX_LEN) {
		err = st_fail(cause, ST_E_ARG,
		    "certificate serial '%s' or "
		    "fingerprint is not plain hex",
		    c->serial_hex ? c->serial_hex : "");
		goto done;
	}
	if (c->subject == NULL || c->issuer == NULL || c->pem == NULL) {
		err = st_fail(cause, ST_E_ARG,
		    "certificate %s lacks subject, issuer or PEM", serial);
		goto done;
	}
	err = ledger_lock_write(l, DB_WRITE_GROUP, cause);
	if (err)
		goto done;
	err = db_begin(l, cause);
	if (err)
		goto out;
	err = db_prepare(l,
	    "UPDATE runs SET cert_serial = ? WHERE id = ? AND result = "
	    "'running'",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, serial);
	sqlite3_bind_int64(st, 2, run_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_fail(l, cause, "linking the certificate to its run");
		goto out;
	}
	if (sqlite3_changes(l->db) != 1) {
		err = st_fail(cause, ST_E_STATE,
		    "run %lld is unknown or already finished",
		    (long long)run_id);
		goto out;
	}
	sqlite3_finalize(st);
	err = db_prepare(l,
	    "INSERT INTO certificates (serial_hex, device_serial, run_id,"
	    " fingerprint_sha256, subject, issuer, not_before, not_after,"
	    " backend, pem, status, status_note, created_at, updated_at)"
	    " VALUES (?1, coalesce(?2, (SELECT device_serial FROM runs"
	    " WHERE id = ?3)), ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'issued', ?11,"
	    " ?12, ?12)",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, serial);
	db_bind_text(st, 2, c->device_serial);
	sqlite3_bind_int64(st, 3, run_id);
	db_bind_text(st, 4, fp);
	db_bind_text(st, 5, c->subject);
	db_bind_text(st, 6, c->issuer);
	sqlite3_bind_int64(st, 7, c->not_before);
	sqlite3_bind_int64(st, 8, c->not_after);
	db_bind_text(st, 9, c->backend);
	db_bind_text(st, 10, c->pem);
	db_bind_text(st, 11, c->status_note);
	sqlite3_bind_int64(st, 12, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(l->db) == SQLITE_CONSTRAINT_UNIQUE)
			err = st_fail(cause, ST_E_EXISTS,
			    "certificate serial %s is already in the ledger",
			    serial);
		else
			err = db_fail(l, cause, "recording the certificate");
		goto out;
	}
	err = db_commit(l, cause);
out:
	sqlite3_finalize(st);
	if (err)
		db_rollback(l);
	err = ledger_unlock_write(l, err, cause);
done:
	free(serial);
	free(fp);
	return err;
}

/* May a certificate move from `from` to `to`? */
static int
transition_allowed(const char *from, const char *to)
{
	static const struct {
		const char *from, *to;
	} allowed[] = {
	    {"issued", "written"},
	    {"issued", "orphaned"},
	    {"issued", "revoked"},
	    {"written", "verified"},
	    {"written", "orphaned"},
	    {"written", "revoked"},
	    {"verified", "revoked"},
	    {"orphaned", "revoked"},
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
 * write).  'orphaned' and 'revoked' state what the CA did or must do and are
 * durable when the call returns.
 */
static enum db_write
status_mode(const char *status)
{
	if (strcmp(status, "written") == 0 || strcmp(status, "verified") == 0)
		return DB_WRITE_LAZY;
	return DB_WRITE_GROUP;
}

st_err
ledger_cert_set_status(struct ledger *l, const char *serial_hex,
    const char *status, const char *note, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *serial = hex_lower(serial_hex, 128);
	char *from = NULL;
	st_err err;

	if (serial == NULL || status == NULL)
		return st_fail(
		    cause, ST_E_ARG, "bad certificate serial or status");
	err = ledger_lock_write(l, status_mode(status), cause);
	if (err)
		goto done;
	/* Read and write in one transaction so two threads cannot both pass
	 * the transition check on the same old status. */
	err = db_begin(l, cause);
	if (err)
		goto out;
	err = db_prepare(l,
	    "SELECT status FROM certificates WHERE serial_hex = ?", &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, serial);
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
	sqlite3_finalize(st);
	st = NULL;
	if (!transition_allowed(from, status)) {
		err = st_fail(cause, ST_E_STATE,
		    "certificate %s cannot go from %s to %s", serial, from,
		    status);
		goto out;
	}
	err = db_prepare(l,
	    "UPDATE certificates SET status = ?, status_note = ?,"
	    " updated_at = ? WHERE serial_hex = ?",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, status);
	db_bind_text(st, 2, note);
	sqlite3_bind_int64(st, 3, ledger_now_ms());
	db_bind_text(st, 4, serial);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_fail(l, cause, "changing a certificate's status");
		goto out;
	}
	err = db_commit(l, cause);
out:
	sqlite3_finalize(st);
	if (err)
		db_rollback(l);
	err = ledger_unlock_write(l, err, cause);
done:
	free(from);
	free(serial);
	return err;
}

st_err
ledger_orphan_open_certs(struct ledger *l, int64_t run_id, const char *note,
    int *count, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	if (count)
		*count = 0;
	err = ledger_lock_write(l, DB_WRITE_GROUP, cause);
	if (err)
		return err;
	err = db_prepare(l,
	    "UPDATE certificates SET status = 'orphaned', status_note = ?,"
	    " updated_at = ? WHERE run_id = ? AND status = 'issued'",
	    &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, note);
	sqlite3_bind_int64(st, 2, ledger_now_ms());
	sqlite3_bind_int64(st, 3, run_id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_fail(l, cause, "marking certificates orphaned");
		goto out;
	}
	if (count)
		*count = sqlite3_changes(l->db);
out:
	sqlite3_finalize(st);
	err = ledger_unlock_write(l, err, cause);
	return err;
}

/* Run a one-row certificate query; *found says whether a row came back. */
static st_err
cert_query_one(struct ledger *l, const char *sql, const char *key,
    struct cert_record *out, int *found, char **cause)
{
	sqlite3_stmt *st = NULL;
	st_err err;

	memset(out, 0, sizeof *out);
	*found = 0;
	err = ledger_lock(l, cause);
	if (err)
		return err;
	err = db_prepare(l, sql, &st, cause);
	if (err)
		goto out;
	db_bind_text(st, 1, key);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		ledger_cert_from_stmt(st, out);
		*found = 1;
		break;
	case SQLITE_DONE:
		break;
	default:
		err = db_fail(l, cause, "looking up a certificate");
	}
out:
	sqlite3_finalize(st);
	ledger_unlock(l);
	return err;
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
	return cert_query_one(l,
	    "SELECT " LEDGER_CERT_COLUMNS " FROM certificates"
	    " WHERE device_serial = ?"
	    " AND status IN ('issued','written','verified')"
	    " ORDER BY id DESC LIMIT 1",
	    device_serial, out, found, cause);
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
