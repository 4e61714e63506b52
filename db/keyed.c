/*
 * The keyed chain (docs/reliability.md, "Tamper evidence"): every write to
 * a table that carries evidence appends an entry to chain_log whose MAC
 * (HMAC-SHA256 under the station's ledger key) covers the row's digest
 * and the MAC of the entry before.  Triggers generated here from the
 * tables' columns append the entries, so no write path can forget one;
 * ledger_verify recomputes the MACs and every row's digest.  The
 * encodings are specified in ledger.h.
 */
#include "db/keyed_int.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

#define DIGEST_TAG "station-ledger-row-v2"
#define MAC_TAG "station-ledger-mac-v2"

const char keyed_zero_mac[LEDGER_HASH_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * The tables that carry evidence, each with the column that names a row
 * (kept as text in chain_log.row_key) and how chain_log.row_key finds the
 * row again.  reservations (working state) and chain_head are not here.
 */
const struct keyed_table keyed_tables[] = {
	{ "runs", "id", "CAST(c.row_key AS INTEGER)" },
	{ "run_events", "id", "CAST(c.row_key AS INTEGER)" },
	{ "certificates", "id", "CAST(c.row_key AS INTEGER)" },
	{ "cert_events", "id", "CAST(c.row_key AS INTEGER)" },
	{ "devices", "serial", "c.row_key" },
	{ "exports", "id", "CAST(c.row_key AS INTEGER)" },
};
const size_t keyed_n_tables = sizeof keyed_tables / sizeof keyed_tables[0];

/* ---- the encodings ------------------------------------------------------*/

void
keyed_enc_put(struct keyed_enc *e, const void *p, size_t n)
{
	if (e->len + n + 1 > e->cap) {
		e->cap = (e->len + n + 1) * 2;
		e->buf = xrealloc(e->buf, e->cap);
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

/* `tag`, the decimal digits of the number (magnitude, with a '-' when
 * `negative`), `end`: the very bytes of snprintf's "%c%" PRId64 "%c",
 * without its cost (this runs for every column of every row a run
 * writes). */
static void
enc_decimal(struct keyed_enc *e, char tag, uint64_t magnitude, int negative,
    char end)
{
	char buf[24]; /* tag, '-', 20 digits, end */
	char *p = buf + sizeof buf;

	*--p = end;
	do {
		*--p = (char)('0' + magnitude % 10);
		magnitude /= 10;
	} while (magnitude != 0);
	if (negative)
		*--p = '-';
	*--p = tag;
	keyed_enc_put(e, p, (size_t)(buf + sizeof buf - p));
}

void
keyed_enc_text(struct keyed_enc *e, const char *s, size_t n)
{
	enc_decimal(e, 'T', (uint64_t)n, 0, ':');
	keyed_enc_put(e, s, n);
}

void
keyed_enc_int(struct keyed_enc *e, int64_t v)
{
	/* 0 - (uint64_t)v: INT64_MIN's magnitude without overflow. */
	enc_decimal(e, 'I', v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, ';');
}

/* One SQL value; NULL is never encoded (the caller skips it). */
static void
enc_value(struct keyed_enc *e, sqlite3_value *v)
{
	char num[40];
	int n = sqlite3_value_bytes(v);

	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		keyed_enc_int(e, sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		snprintf(num, sizeof num, "R%.17g;", sqlite3_value_double(v));
		keyed_enc_put(e, num, strlen(num));
		break;
	case SQLITE_BLOB:
		enc_decimal(e, 'B', (uint64_t)n, 0, ':');
		keyed_enc_put(e, sqlite3_value_blob(v), (size_t)n);
		break;
	default:
		keyed_enc_text(e, (const char *)sqlite3_value_text(v),
		    (size_t)sqlite3_value_bytes(v));
	}
}

void
keyed_hex(const unsigned char *bin, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[bin[i] >> 4];
		hex[2 * i + 1] = digits[bin[i] & 0xf];
	}
	hex[2 * n] = '\0';
}

int
keyed_sha256_hex(const struct ledger *l, const void *p, size_t n,
    char hex[LEDGER_HASH_HEX_LEN + 1])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (l->sha256 == NULL ||
	    !EVP_Digest(p, n, bin, &len, l->sha256, NULL) || len != 32)
		return -1;
	keyed_hex(bin, len, hex);
	return 0;
}

int
keyed_mac_hex(const struct ledger *l, const char *prev, int64_t seq,
    const char *tbl, const char *row_key, const char *digest,
    char hex[LEDGER_HASH_HEX_LEN + 1])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	size_t len = 0;
	struct keyed_enc e = { 0 };
	EVP_MAC_CTX *ctx = NULL;
	int rc = -1;

	if (l->mac_base == NULL)
		return -1;
	keyed_enc_put(&e, MAC_TAG, strlen(MAC_TAG));
	keyed_enc_text(&e, prev, strlen(prev));
	keyed_enc_int(&e, seq);
	keyed_enc_text(&e, tbl, strlen(tbl));
	keyed_enc_text(&e, row_key, strlen(row_key));
	keyed_enc_text(&e, digest, strlen(digest));
	ctx = EVP_MAC_CTX_dup(l->mac_base);
	if (ctx != NULL &&
	    EVP_MAC_update(ctx, (const unsigned char *)e.buf, e.len) &&
	    EVP_MAC_final(ctx, bin, &len, sizeof bin) && len == 32) {
		keyed_hex(bin, len, hex);
		rc = 0;
	}
	EVP_MAC_CTX_free(ctx);
	free(e.buf);
	return rc;
}

/* ledger_digest(table, name1, value1, name2, value2, ...): the row's
 * digest (ledger.h); NULL values are left out. */
static void
sql_digest(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const struct ledger *l = sqlite3_user_data(ctx);
	char hex[LEDGER_HASH_HEX_LEN + 1];
	struct keyed_enc e = { 0 };
	int rc;

	if (argc < 1 || argc % 2 != 1) {
		sqlite3_result_error(ctx, "ledger_digest: bad arguments", -1);
		return;
	}
	keyed_enc_put(&e, DIGEST_TAG, strlen(DIGEST_TAG));
	enc_value(&e, argv[0]);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (sqlite3_value_type(argv[i + 1]) == SQLITE_NULL)
			continue;
		enc_value(&e, argv[i]);
		enc_value(&e, argv[i + 1]);
	}
	rc = keyed_sha256_hex(l, e.buf, e.len, hex);
	free(e.buf);
	if (rc != 0)
		sqlite3_result_error(ctx, "ledger_digest: SHA-256 failed", -1);
	else
		sqlite3_result_text(ctx, hex, -1, SQLITE_TRANSIENT);
}

/* ledger_mac(prev_mac, seq, table, row_key, digest) */
static void
sql_mac(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct ledger *l = sqlite3_user_data(ctx);
	const char *prev = (const char *)sqlite3_value_text(argv[0]);
	const char *tbl = (const char *)sqlite3_value_text(argv[2]);
	const char *row = (const char *)sqlite3_value_text(argv[3]);
	const char *digest = (const char *)sqlite3_value_text(argv[4]);
	char hex[LEDGER_HASH_HEX_LEN + 1];

	(void)argc;
	if (!l->keyed) {
		/* Refused rather than chained with a wrong key: a write
		 * before the key is loaded is a bug. */
		sqlite3_result_error(ctx, "the ledger key is not loaded", -1);
		return;
	}
	if (prev == NULL || tbl == NULL || row == NULL || digest == NULL ||
	    keyed_mac_hex(l, prev, sqlite3_value_int64(argv[1]), tbl, row,
		digest, hex) != 0) {
		sqlite3_result_error(ctx, "ledger_mac: bad arguments", -1);
		return;
	}
	sqlite3_result_text(ctx, hex, -1, SQLITE_TRANSIENT);
}

st_err
ledger_keyed_functions(struct ledger *l, char **cause)
{
	/* INNOCUOUS: the schema's triggers call them even with
	 * trusted_schema off.  Not DIRECTONLY, for the same reason. */
	int flags = SQLITE_UTF8 | SQLITE_INNOCUOUS;

	if (l->sha256 == NULL)
		l->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (l->sha256 == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO, "loading SHA-256");
	if (sqlite3_create_function(l->db, "ledger_digest", -1,
		flags | SQLITE_DETERMINISTIC, l, sql_digest, NULL,
		NULL) != SQLITE_OK ||
	    sqlite3_create_function(l->db, "ledger_mac", 5, flags, l, sql_mac,
		NULL, NULL) != SQLITE_OK)
		return db_fail(l, cause, "registering the ledger's chain");
	return ST_OK;
}

/* ledger_digest('<table>', 'col1', <p>"col1", ...) over the table's
 * columns as they are now; caller frees. */
st_err
keyed_digest_expr(struct ledger *l, const struct keyed_table *t, const char *p,
    char **out, char **cause)
{
	sqlite3_stmt *st = NULL;
	struct keyed_enc e = { 0 };
	char *head = xasprintf("ledger_digest('%s'", t->name);
	int rc;
	st_err err;

	*out = NULL;
	err = db_stmt(l, &st, cause,
	    "SELECT name FROM pragma_table_info(?) ORDER BY cid",
	    DB_TEXT(t->name), DB_END);
	if (err)
		goto out;
	keyed_enc_put(&e, head, strlen(head));
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		char *part = xasprintf(", '%s', %s\"%s\"", c, p, c);

		keyed_enc_put(&e, part, strlen(part));
		free(part);
	}
	if (rc != SQLITE_DONE || e.len == strlen(head)) {
		err = db_fail(l, cause, "reading the columns of a table");
		goto out;
	}
	keyed_enc_put(&e, ")", 2);
	*out = e.buf;
	e.buf = NULL;
out:
	sqlite3_finalize(st);
	free(e.buf);
	free(head);
	return err;
}
