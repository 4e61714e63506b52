/*
 * The exported columns and their two encodings: CSV (RFC 4180: comma,
 * CRLF, fields quoted when they hold a comma, quote, CR or LF, quotes
 * doubled, header row; text cells that a spreadsheet would run as a
 * formula neutralised) and JSON lines (one object per run, keys in column
 * order, NULL as null, UTF-8).  Rows are streamed from one SELECT in chain
 * order.  Text columns hold what devices and scanners reported: a value
 * that is not valid UTF-8 is exported as text_escape of it, in both
 * encodings, so that every file is the UTF-8 docs/export.md promises.
 */
#include "db/export_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/util/text.h"
#include "station/util/xalloc.h"

enum col_kind {
	COL_TEXT,
	COL_INT,
	COL_TIME_MS, /* unix ms -> 2026-11-22T14:05:25.123Z */
	COL_TIME_S,  /* unix s  -> 2026-11-22T14:05:25Z */
};

struct export_col {
	const char *name;
	enum col_kind kind;
	const char *sql;
};

/* docs/export.md describes each column; keep the two in step. */
static const struct export_col cols[] = {
	{ "station_id", COL_TEXT, "r.station_id" },
	{ "run_id", COL_INT, "r.id" },
	{ "slot", COL_INT, "r.slot" },
	{ "operator", COL_TEXT, "r.operator" },
	{ "batch", COL_TEXT, "r.batch" },
	{ "device_serial", COL_TEXT, "r.device_serial" },
	{ "scanned_serial", COL_TEXT, "r.scanned_serial" },
	{ "model", COL_TEXT, "d.model" },
	{ "hw_version", COL_TEXT, "d.hw_version" },
	{ "fw_version", COL_TEXT, "d.fw_version" },
	{ "profile", COL_TEXT, "r.profile" },
	{ "started_at", COL_TIME_MS, "r.started_at" },
	{ "ended_at", COL_TIME_MS, "r.ended_at" },
	{ "result", COL_TEXT, "r.result" },
	{ "failed_step", COL_TEXT, "r.failed_step" },
	{ "error_kind", COL_TEXT, "r.error_kind" },
	{ "reason", COL_TEXT, "r.reason" },
	{ "cert_serial", COL_TEXT, "r.cert_serial" },
	{ "cert_fingerprint_sha256", COL_TEXT, "c.fingerprint_sha256" },
	{ "cert_subject", COL_TEXT, "c.subject" },
	{ "cert_issuer", COL_TEXT, "c.issuer" },
	{ "cert_not_before", COL_TIME_S, "c.not_before" },
	{ "cert_not_after", COL_TIME_S, "c.not_after" },
	{ "cert_status", COL_TEXT, "c.status" },
	{ "smoke_status", COL_TEXT, "r.smoke_status" },
	{ "chain_seq", COL_INT, "r.chain_seq" },
	{ "prev_hash", COL_TEXT, "r.prev_hash" },
	{ "row_hash", COL_TEXT, "r.row_hash" },
};
#define NCOLS (sizeof cols / sizeof cols[0])

const char *const export_column_names[] = {
	"station_id",
	"run_id",
	"slot",
	"operator",
	"batch",
	"device_serial",
	"scanned_serial",
	"model",
	"hw_version",
	"fw_version",
	"profile",
	"started_at",
	"ended_at",
	"result",
	"failed_step",
	"error_kind",
	"reason",
	"cert_serial",
	"cert_fingerprint_sha256",
	"cert_subject",
	"cert_issuer",
	"cert_not_before",
	"cert_not_after",
	"cert_status",
	"smoke_status",
	"chain_seq",
	"prev_hash",
	"row_hash",
	NULL,
};
_Static_assert(sizeof export_column_names / sizeof export_column_names[0] ==
	NCOLS + 1,
    "one name per exported column");

static void
fmt_time(char *buf, size_t len, int64_t sec, int ms)
{
	time_t t = (time_t)sec;
	struct tm tm;

	gmtime_r(&t, &tm);
	if (ms < 0)
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else {
		size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);

		snprintf(buf + n, len - n, ".%03dZ", ms % 1000);
	}
}

/* Years 1970..9999 keep every formatted time within its buffer. */
static int64_t
clamp_ms(int64_t ms)
{
	const int64_t max = INT64_C(253402300799999); /* 9999-12-31 */

	return ms < 0 ? 0 : ms > max ? max : ms;
}

void
export_iso_ms(char buf[static 25], int64_t ms)
{
	int64_t s;

	ms = clamp_ms(ms);
	s = ms / 1000;

	fmt_time(buf, 25, s, (int)(ms - s * 1000));
}

void
export_compact_time(char buf[static 17], int64_t ms)
{
	time_t t = (time_t)(clamp_ms(ms) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void
export_out_write(struct export_out *o, const void *p, size_t n)
{
	if (o->err || n == 0)
		return;
	if (fwrite(p, 1, n, o->fp) != n) {
		o->err = errno ? errno : EIO;
		return;
	}
	if (o->md != NULL && !EVP_DigestUpdate(o->md, p, n))
		o->err = EIO;
	o->bytes += (int64_t)n;
}

/* A growable line: one row is assembled, then written in one call. */
struct line {
	char *buf;
	size_t len, cap;
};

static void
line_put(struct line *ln, const char *p, size_t n)
{
	if (ln->len + n > ln->cap) {
		while (ln->len + n > ln->cap)
			ln->cap = ln->cap ? ln->cap * 2 : 1024;
		ln->buf = xrealloc(ln->buf, ln->cap);
	}
	memcpy(ln->buf + ln->len, p, n);
	ln->len += n;
}

/*
 * OWASP's rule against CSV injection: a text cell that starts with = + -
 * @ TAB or CR is read by spreadsheets as a formula, so it gets a leading
 * single quote.  A cell that starts with a quote itself gets one too, so
 * the ERP's rule is one and exact: a text cell that starts with ' had
 * one ' added; drop it to get the stored value.
 */
static int
csv_needs_guard(const char *s, size_t n)
{
	return n > 0 && strchr("=+-@\t\r'", s[0]) != NULL;
}

static void
csv_field(struct line *ln, const char *s, size_t n, int text)
{
	int quote = 0;
	int guard = text && csv_needs_guard(s, n);

	for (size_t i = 0; i < n && !quote; i++)
		quote =
		    s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote) {
		if (guard)
			line_put(ln, "'", 1);
		line_put(ln, s, n);
		return;
	}
	line_put(ln, "\"", 1);
	if (guard)
		line_put(ln, "'", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"')
			line_put(ln, "\"", 1);
		line_put(ln, s + i, 1);
	}
	line_put(ln, "\"", 1);
}

/* Column i of the current row as text in buf, or its stored text (in
 * *owned, which the caller frees, when it had to be escaped); NULL for
 * SQL NULL.  *n receives the length. */
static const char *
col_text(sqlite3_stmt *st, size_t i, char *buf, size_t len, size_t *n,
    char **owned)
{
	const char *s = buf;

	if (sqlite3_column_type(st, (int)i) == SQLITE_NULL)
		return NULL;
	switch (cols[i].kind) {
	case COL_INT:
		snprintf(buf, len, "%" PRId64,
		    (int64_t)sqlite3_column_int64(st, (int)i));
		break;
	case COL_TIME_MS:
		export_iso_ms(buf, sqlite3_column_int64(st, (int)i));
		break;
	case COL_TIME_S:
		fmt_time(buf, len,
		    clamp_ms(sqlite3_column_int64(st, (int)i) * 1000) / 1000,
		    -1);
		break;
	default:
		s = (const char *)sqlite3_column_text(st, (int)i);
		*n = (size_t)sqlite3_column_bytes(st, (int)i);
		/* A NUL inside the value ends it for text_escape as for C;
		 * strlen then differs from the byte count and the value is
		 * escaped as well. */
		if (strlen(s) == *n && text_utf8_valid(s, *n))
			return s;
		*owned = text_escape(s, SIZE_MAX);
		*n = strlen(*owned);
		return *owned;
	}
	*n = strlen(buf);
	return s;
}

static void
csv_row(struct line *ln, sqlite3_stmt *st)
{
	char buf[40];

	for (size_t i = 0; i < NCOLS; i++) {
		size_t n = 0;
		char *owned = NULL;
		const char *s = col_text(st, i, buf, sizeof buf, &n, &owned);

		if (i > 0)
			line_put(ln, ",", 1);
		if (s != NULL)
			csv_field(ln, s, n, cols[i].kind == COL_TEXT);
		free(owned);
	}
	line_put(ln, "\r\n", 2);
}

/* A JSON string (RFC 8259) of valid UTF-8 (col_text saw to that):
 * quotes, backslashes and controls escaped, everything else as it is. */
static void
json_str(struct line *ln, const char *p, size_t n)
{
	const unsigned char *s = (const unsigned char *)p;
	char esc[8];

	line_put(ln, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			line_put(ln, esc, 2);
		} else if (c == '\n') {
			line_put(ln, "\\n", 2);
		} else if (c == '\r') {
			line_put(ln, "\\r", 2);
		} else if (c == '\t') {
			line_put(ln, "\\t", 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			line_put(ln, esc, 6);
		} else {
			line_put(ln, p + i, 1);
		}
	}
	line_put(ln, "\"", 1);
}

/* Written by hand rather than through jansson objects: a third of the
 * time for a million rows.  The tests parse it back with jansson. */
static void
jsonl_row(struct line *ln, sqlite3_stmt *st)
{
	char buf[40];

	line_put(ln, "{", 1);
	for (size_t i = 0; i < NCOLS; i++) {
		size_t n = 0;
		char *owned = NULL;
		const char *v = col_text(st, i, buf, sizeof buf, &n, &owned);

		if (i > 0)
			line_put(ln, ",", 1);
		json_str(ln, cols[i].name, strlen(cols[i].name));
		line_put(ln, ":", 1);
		if (v == NULL)
			line_put(ln, "null", 4);
		else if (cols[i].kind == COL_INT)
			line_put(ln, v, n);
		else
			json_str(ln, v, n);
		free(owned);
	}
	line_put(ln, "}\n", 2);
}

static char *
select_sql(int by_time)
{
	char *sql = xstrdup("SELECT "), *next;

	for (size_t i = 0; i < NCOLS; i++) {
		next = xasprintf("%s%s%s", sql, i ? ", " : "", cols[i].sql);
		free(sql);
		sql = next;
	}
	/* chain_seq is UNIQUE, so the range walks its index in order; the
	 * joins are by primary key / unique serial. */
	next = xasprintf(
	    "%s FROM runs r"
	    " LEFT JOIN certificates c ON c.serial_hex = r.cert_serial"
	    " LEFT JOIN devices d ON d.serial = r.device_serial"
	    " WHERE r.chain_seq BETWEEN ?1 AND ?2%s"
	    " ORDER BY r.chain_seq",
	    sql, by_time ? " AND r.ended_at >= ?3 AND r.ended_at < ?4" : "");
	free(sql);
	return next;
}

st_err
export_write_rows(struct ledger *l, struct export_out *o,
    enum export_format fmt, const struct export_row *span, int64_t *rows,
    int *busy, char **cause)
{
	struct line ln = { 0 };
	sqlite3_stmt *st = NULL;
	char *sql = select_sql(!span->since_last);
	st_err err;
	int rc;

	*rows = 0;
	if (fmt == EXPORT_CSV) {
		for (size_t i = 0; i < NCOLS; i++) {
			if (i > 0)
				line_put(&ln, ",", 1);
			line_put(&ln, cols[i].name, strlen(cols[i].name));
		}
		line_put(&ln, "\r\n", 2);
		export_out_write(o, ln.buf, ln.len);
	}
	err = db_prepare(l, sql, &st, cause);
	if (err)
		goto out;
	sqlite3_bind_int64(st, 1, span->from_seq);
	sqlite3_bind_int64(st, 2, span->to_seq);
	if (!span->since_last) {
		sqlite3_bind_int64(st, 3, span->from_time);
		sqlite3_bind_int64(st, 4, span->to_time);
	}
	for (rc = sqlite3_step(st); rc == SQLITE_ROW && o->err == 0;
	     rc = sqlite3_step(st)) {
		ln.len = 0;
		if (fmt == EXPORT_CSV)
			csv_row(&ln, st);
		else
			jsonl_row(&ln, st);
		export_out_write(o, ln.buf, ln.len);
		(*rows)++;
	}
	if (o->err == 0 && rc != SQLITE_DONE)
		err = exports_db_fail(l, busy, cause, "reading runs to export");
out:
	sqlite3_finalize(st);
	free(sql);
	free(ln.buf);
	return err;
}
