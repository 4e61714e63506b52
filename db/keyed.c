/*
 * The keyed chain (docs/reliability.md, "Tamper evidence"): every write to
 * a table that carries evidence appends an entry to chain_log whose MAC
 * (HMAC-SHA256 under the station's ledger key) covers the row's digest
 * and the MAC of the entry before.  Triggers generated here from the
 * tables' columns append the entries, so no write path can forget one;
 * ledger_verify recomputes the MACs and every row's digest.  The
 * encodings are specified in ledger.h.
 */
#include "db/ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"

#define DIGEST_TAG "station-ledger-row-v2"
#define MAC_TAG "station-ledger-mac-v2"

static const char zero_mac[LEDGER_HASH_HEX_LEN + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * The tables that carry evidence, each with the column that names a row
 * (kept as text in chain_log.row_key) and how chain_log.row_key finds the
 * row again.  reservations (working state) and chain_head are not here.
 */
static const struct keyed_table {
	const char *name, *key, *lookup;
} keyed_tables[] = {
	{ "runs", "id", "CAST(c.row_key AS INTEGER)" },
	{ "run_events", "id", "CAST(c.row_key AS INTEGER)" },
	{ "certificates", "id", "CAST(c.row_key AS INTEGER)" },
	{ "cert_events", "id", "CAST(c.row_key AS INTEGER)" },
	{ "devices", "serial", "c.row_key" },
	{ "exports", "id", "CAST(c.row_key AS INTEGER)" },
};
#define N_KEYED (sizeof keyed_tables / sizeof keyed_tables[0])

/* ---- the encodings ------------------------------------------------------*/

struct enc {
	char *buf;
	size_t len, cap;
};

static void
enc_put(struct enc *e, const void *p, size_t n)
{
	if (e->len + n + 1 > e->cap) {
		e->cap = (e->len + n + 1) * 2;
		e->buf = xrealloc(e->buf, e->cap);
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void
enc_text(struct enc *e, const char *s, size_t n)
{
	char head[32];

	snprintf(head, sizeof head, "T%zu:", n);
	enc_put(e, head, strlen(head));
	enc_put(e, s, n);
}

static void
enc_int(struct enc *e, int64_t v)
{
	char num[32];

	snprintf(num, sizeof num, "I%" PRId64 ";", v);
	enc_put(e, num, strlen(num));
}

/* One SQL value; NULL is never encoded (the caller skips it). */
static void
enc_value(struct enc *e, sqlite3_value *v)
{
	char num[40];
	int n = sqlite3_value_bytes(v);

	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		enc_int(e, sqlite3_value_int64(v));
		break;
	case SQLITE_FLOAT:
		snprintf(num, sizeof num, "R%.17g;", sqlite3_value_double(v));
		enc_put(e, num, strlen(num));
		break;
	case SQLITE_BLOB:
		snprintf(num, sizeof num, "B%d:", n);
		enc_put(e, num, strlen(num));
		enc_put(e, sqlite3_value_blob(v), (size_t)n);
		break;
	default:
		enc_text(e, (const char *)sqlite3_value_text(v),
		    (size_t)sqlite3_value_bytes(v));
	}
}

static void
hex_of(const unsigned char *bin, size_t n, char *hex)
{
	for (size_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", bin[i]);
}

static int
sha256_hex(const struct ledger *l, const void *p, size_t n,
    char hex[LEDGER_HASH_HEX_LEN + 1])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (l->sha256 == NULL ||
	    !EVP_Digest(p, n, bin, &len, l->sha256, NULL) || len != 32)
		return -1;
	hex_of(bin, len, hex);
	return 0;
}

static int
mac_hex(const struct ledger *l, const char *prev, int64_t seq, const char *tbl,
    const char *row_key, const char *digest, char hex[LEDGER_HASH_HEX_LEN + 1])
{
	unsigned char bin[EVP_MAX_MD_SIZE];
	size_t len = 0;
	struct enc e = { 0 };
	EVP_MAC_CTX *ctx = NULL;
	int rc = -1;

	if (l->mac_base == NULL)
		return -1;
	enc_put(&e, MAC_TAG, strlen(MAC_TAG));
	enc_text(&e, prev, strlen(prev));
	enc_int(&e, seq);
	enc_text(&e, tbl, strlen(tbl));
	enc_text(&e, row_key, strlen(row_key));
	enc_text(&e, digest, strlen(digest));
	ctx = EVP_MAC_CTX_dup(l->mac_base);
	if (ctx != NULL &&
	    EVP_MAC_update(ctx, (const unsigned char *)e.buf, e.len) &&
	    EVP_MAC_final(ctx, bin, &len, sizeof bin) && len == 32) {
		hex_of(bin, len, hex);
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
	struct enc e = { 0 };
	int rc;

	if (argc < 1 || argc % 2 != 1) {
		sqlite3_result_error(ctx, "ledger_digest: bad arguments", -1);
		return;
	}
	enc_put(&e, DIGEST_TAG, strlen(DIGEST_TAG));
	enc_value(&e, argv[0]);
	for (int i = 1; i + 1 < argc; i += 2) {
		if (sqlite3_value_type(argv[i + 1]) == SQLITE_NULL)
			continue;
		enc_value(&e, argv[i]);
		enc_value(&e, argv[i + 1]);
	}
	rc = sha256_hex(l, e.buf, e.len, hex);
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
	    mac_hex(l, prev, sqlite3_value_int64(argv[1]), tbl, row, digest,
		hex) != 0) {
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

/* ---- the key --------------------------------------------------------------*/

char *
ledger_key_default_path(const char *ledger_path)
{
	const char *env = getenv("STATION_LEDGER_KEY");
	char *copy, *dir, real[PATH_MAX], *out;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	copy = xstrdup(ledger_path);
	dir = dirname(copy);
	if (realpath(dir, real) == NULL)
		out = xasprintf("%s-key/ledger.key", dir);
	else
		out = xasprintf("%s-key/ledger.key",
		    strcmp(real, "/") == 0 ? "" : real);
	free(copy);
	return out;
}

/* The key must not sit beside the ledger: whoever copies the directory
 * would take both. */
static st_err
key_apart(const char *key_path, const char *ledger_path, char **cause)
{
	char *a = xstrdup(key_path), *b = xstrdup(ledger_path);
	char ra[PATH_MAX], rb[PATH_MAX];
	st_err err = ST_OK;

	if (realpath(dirname(a), ra) != NULL &&
	    realpath(dirname(b), rb) != NULL && strcmp(ra, rb) == 0)
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is in the ledger's own directory: "
		    "keep it elsewhere (STATION_LEDGER_KEY, docs/admin.md)",
		    key_path);
	free(a);
	free(b);
	return err;
}

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;

		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* The HMAC-SHA256 context holding the key, made once per open. */
static st_err
mac_init(struct ledger *l, char **cause)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	st_err err = ST_OK;

	EVP_MAC_CTX_free(l->mac_base);
	l->mac_base = mac ? EVP_MAC_CTX_new(mac) : NULL;
	if (l->mac_base == NULL ||
	    !EVP_MAC_init(l->mac_base, l->key, sizeof l->key, params)) {
		EVP_MAC_CTX_free(l->mac_base);
		l->mac_base = NULL;
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "loading the ledger key into HMAC-SHA256");
	}
	EVP_MAC_free(mac);
	return err;
}

void
ledger_keyed_free(struct ledger *l)
{
	EVP_MAC_CTX_free(l->mac_base);
	l->mac_base = NULL;
	EVP_MD_free(l->sha256);
	l->sha256 = NULL;
	OPENSSL_cleanse(l->key, sizeof l->key);
	l->keyed = 0;
}

/* Read the key file: 64 lower-case hex digits and a newline, a regular
 * file of this user that nobody else may read.  ST_E_NOTFOUND when it
 * does not exist. */
static st_err
key_read(struct ledger *l, const char *path, char **cause)
{
	char buf[LEDGER_HASH_HEX_LEN + 2];
	struct stat sb;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	st_err err = ST_OK;

	if (fd < 0 && errno == ENOENT)
		return st_fail(cause, ST_E_NOTFOUND,
		    "the ledger key %s does not exist", path);
	if (fd < 0)
		return st_fail(cause, ST_E_CONFIG,
		    "cannot open the ledger key %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not a regular file", path);
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s may be read by others (mode %03o): "
		    "it must be mode 0600 (chmod 600)",
		    path, (unsigned)(sb.st_mode & 0777));
		goto out;
	}
	/* Another user's key (root may read the station user's, to
	 * verify): whoever owns it could change it. */
	if (sb.st_uid != geteuid() && geteuid() != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s belongs to uid %u, not to this user "
		    "(uid %u): run the station as its own user",
		    path, (unsigned)sb.st_uid, (unsigned)geteuid());
		goto out;
	}
	n = read(fd, buf, sizeof buf);
	if (n < LEDGER_HASH_HEX_LEN ||
	    (n == LEDGER_HASH_HEX_LEN + 1 &&
		buf[LEDGER_HASH_HEX_LEN] != '\n') ||
	    unhex(buf, l->key, sizeof l->key) != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not 64 hex digits: restore it from "
		    "its backup (docs/admin.md)",
		    path);
		goto out;
	}
	err = mac_init(l, cause);
	if (err == ST_OK)
		l->keyed = 1;
out:
	close(fd);
	return err;
}

/* A new random key at `path`, made whole under a temporary name and
 * linked into place, so two processes never see half a key and the
 * second finds the first one's. */
static st_err
key_create(const char *path, char **cause)
{
	unsigned char key[32];
	char hex[LEDGER_HASH_HEX_LEN + 2];
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	char *copy = xstrdup(path);
	int fd = -1, dfd = -1;
	st_err err = ST_OK;

	if (RAND_bytes(key, sizeof key) != 1) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "making a ledger key");
		goto out;
	}
	hex_of(key, sizeof key, hex);
	hex[LEDGER_HASH_HEX_LEN] = '\n';
	/* The key's own directory, for the station user alone; an
	 * installed station has it from tmpfiles.d. */
	if (mkdir(dirname(copy), 0700) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO,
		    "cannot create the ledger key's directory %s: %s", copy,
		    strerror(errno));
		goto out;
	}
	free(copy);
	copy = xstrdup(path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 ||
	    write(fd, hex, LEDGER_HASH_HEX_LEN + 1) !=
		LEDGER_HASH_HEX_LEN + 1 ||
	    fsync(fd) != 0) {
		err = st_fail(cause, ST_E_IO,
		    "cannot write the ledger key %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO,
		    "cannot create the ledger key %s: %s", path,
		    strerror(errno));
		goto out;
	}
	dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
out:
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(hex, sizeof hex);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (dfd >= 0)
		close(dfd);
	free(tmp);
	free(copy);
	return err;
}

st_err
ledger_key_init(const char *key_path, const char *ledger_path, char **cause)
{
	struct ledger probe = { .keyed = 0 };
	st_err err;

	if (ledger_path != NULL) {
		err = key_apart(key_path, ledger_path, cause);
		if (err)
			return err;
	}
	err = key_read(&probe, key_path, NULL);
	ledger_keyed_free(&probe);
	if (err == ST_OK)
		return st_fail(cause, ST_E_EXISTS,
		    "the ledger key %s exists already; a new one would "
		    "disown the ledger it seals",
		    key_path);
	err = key_create(key_path, cause);
	if (err == ST_OK)
		err = key_read(&probe, key_path, cause);
	ledger_keyed_free(&probe);
	return err;
}

/* ---- triggers -------------------------------------------------------------*/

/* ledger_digest('<table>', 'col1', <p>"col1", ...) over the table's
 * columns as they are now; caller frees. */
static st_err
digest_expr(struct ledger *l, const struct keyed_table *t, const char *p,
    char **out, char **cause)
{
	sqlite3_stmt *st = NULL;
	struct enc e = { 0 };
	char *head = xasprintf("ledger_digest('%s'", t->name);
	int rc;
	st_err err;

	*out = NULL;
	err = db_stmt(l, &st, cause,
	    "SELECT name FROM pragma_table_info(?) ORDER BY cid",
	    DB_TEXT(t->name), DB_END);
	if (err)
		goto out;
	enc_put(&e, head, strlen(head));
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		char *part = xasprintf(", '%s', %s\"%s\"", c, p, c);

		enc_put(&e, part, strlen(part));
		free(part);
	}
	if (rc != SQLITE_DONE || e.len == strlen(head)) {
		err = db_fail(l, cause, "reading the columns of a table");
		goto out;
	}
	enc_put(&e, ")", 2);
	*out = e.buf;
	e.buf = NULL;
out:
	sqlite3_finalize(st);
	free(e.buf);
	free(head);
	return err;
}

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

	for (size_t i = 0; err == ST_OK && i < N_KEYED; i++) {
		char *digest = NULL;

		err = digest_expr(l, &keyed_tables[i], "NEW.", &digest, cause);
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
	if (mac_hex(l, prev, seq, tbl, row_key, digest, mac) != 0)
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
	memcpy(prev, zero_mac, sizeof prev);
	err = append_entry(l, seq++, prev, "genesis", head_seq,
	    (const char *)sqlite3_column_text(st, 1), mac, cause);
	sqlite3_finalize(st);
	st = NULL;
	for (size_t i = 0; err == ST_OK && i < N_KEYED; i++) {
		const struct keyed_table *t = &keyed_tables[i];

		err = digest_expr(l, t, "", &digest, cause);
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

/* The MAC of entry 1 under the loaded key: a wrong key is refused at open
 * rather than chaining new entries no one can verify. */
static st_err
key_matches(struct ledger *l, const char *key_path, char **cause)
{
	sqlite3_stmt *st = NULL;
	char mac[LEDGER_HASH_HEX_LEN + 1];
	st_err err = db_stmt(l, &st, cause,
	    "SELECT tbl, row_key, digest, mac FROM chain_log WHERE seq = 1",
	    DB_END);

	if (err)
		return err;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (mac_hex(l, zero_mac, 1, (const char *)sqlite3_column_text(st, 0),
		 (const char *)sqlite3_column_text(st, 1),
		 (const char *)sqlite3_column_text(st, 2), mac) != 0 ||
		strcmp(mac, (const char *)sqlite3_column_text(st, 3)) != 0))
		err = st_fail(cause, ST_E_CONFIG,
		    "the ledger key %s is not the key this ledger was sealed "
		    "with: restore the right key from its backup "
		    "(docs/admin.md)",
		    key_path);
	sqlite3_finalize(st);
	return err;
}

void
ledger_keyed_preload(struct ledger *l, const char *key_path)
{
	if (key_read(l, key_path, NULL) != ST_OK)
		OPENSSL_cleanse(l->key, sizeof l->key);
}

st_err
ledger_keyed_setup(struct ledger *l, const char *key_path, char **cause)
{
	sqlite3_stmt *st = NULL;
	char *why = NULL;
	int sealed;
	st_err err;

	err = key_apart(key_path, l->path, cause);
	if (err)
		return err;
	err = db_stmt(l, &st, cause, "SELECT count(*) FROM chain_log", DB_END);
	if (err)
		return err;
	sealed =
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
	sqlite3_finalize(st);
	err = l->keyed ? ST_OK : key_read(l, key_path, &why);
	if (err == ST_E_NOTFOUND && !sealed) {
		/* A new ledger, or one from before the keyed chain: the key
		 * is made with it.  A sealed ledger never gets a new key. */
		err = key_create(key_path, cause);
		if (err == ST_OK)
			err = key_read(l, key_path, cause);
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
	return err;
}

/* ---- verification -------------------------------------------------------*/

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
	memcpy(prev, zero_mac, sizeof prev);
	for (rc = sqlite3_step(st); rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		int64_t seq = sqlite3_column_int64(st, 0);

		if (seq != expect) {
			keyed_report(r, LEDGER_DELETED, "chain_log", NULL,
			    "keyed chain entry %" PRId64 " is missing", expect);
			break;
		}
		if (mac_hex(l, prev, seq, col(st, 1), col(st, 2), col(st, 3),
			mac) != 0) {
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

	err = digest_expr(l, t, "", &digest, cause);
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

	if (!l->keyed)
		return st_fail(cause, ST_E_CONFIG,
		    "the ledger key is not loaded");
	err = walk_entries(l, r, cause);
	for (size_t i = 0;
	     err == ST_OK && r->problem == LEDGER_OK && i < N_KEYED; i++)
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
