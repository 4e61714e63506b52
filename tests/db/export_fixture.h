/*
 * Shared by the export tests: a fresh directory per test with a real
 * ledger (at <dir>/ledger.db, where `station` finds it with
 * STATION_HOME=<dir>) and a delivery directory <dir>/out; a ledger filled
 * through the ledger API with hostile strings; an independent RFC 4180
 * reader; SHA-256 of a file.
 */
#ifndef TESTS_DB_EXPORT_FIXTURE_H
#define TESTS_DB_EXPORT_FIXTURE_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/export.h"
#include "db/ledger.h"

#define XFP "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

struct xfx {
	char dir[64];
	char path[128]; /* the ledger */
	char out[128];	/* the delivery directory */
	struct ledger *l;
};

static inline int
xfx_setup(void **state)
{
	struct xfx *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/export-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
	snprintf(f->out, sizeof f->out, "%s/out", f->dir);
	if (mkdir(f->out, 0755) < 0 || ledger_open(f->path, &f->l, NULL))
		return -1;
	*state = f;
	return 0;
}

static inline int
xfx_teardown(void **state)
{
	struct xfx *f = *state;
	char cmd[256];

	ledger_close(f->l);
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s-key'", f->dir, f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->dir);
	free(f);
	return 0;
}

/* Strings an ERP parser must survive. */
static const char *const hostile[] = {
	"plain",
	"comma, inside",
	"say \"hi\"",
	"two\nlines",
	"cr\r\nlf",
	"Zoë – Grüße, 東京 ✓",
	"\"\",,\"\n",
	"tab\there \x01 back\\slash",
};
#define N_HOSTILE (sizeof hostile / sizeof hostile[0])

/*
 * Add `n` finished runs numbered from `base`: every third FAILs before a
 * certificate, every other one gets a device and a certificate; runs are
 * finished in reverse order of their ids so chain order differs from id
 * order.  Returns 0 on success.
 */
static inline int
xfx_add_runs(struct ledger *l, int base, int n)
{
	int64_t ids[64];

	if (n > 64)
		return -1;
	for (int i = 0; i < n; i++) {
		int k = base + i;
		char serial[32], cserial[32], subject[96];
		struct run_start s = {
			.station_id = "st-01",
			.slot = k % 4,
			.operator_id = hostile[k % N_HOSTILE],
			.batch = hostile[(k + 1) % N_HOSTILE],
			.device_uri = "tcp:127.0.0.1:4000",
			.scanned_serial = serial,
			.profile = "default",
		};
		struct device_record d = {
			.serial = serial,
			.model = hostile[(k + 2) % N_HOSTILE],
			.hw_version = "rev C",
			.fw_version = "1.2.3, beta",
			.chip = "soft",
		};

		snprintf(serial, sizeof serial, "SN-%05d", k);
		snprintf(cserial, sizeof cserial, "%08x", 0x1000 + k);
		snprintf(subject, sizeof subject, "CN=%s,O=Acme \"East\"",
		    serial);
		if (ledger_run_begin(l, &s, &ids[i], NULL) ||
		    (k % 3 != 0 && ledger_run_device(l, ids[i], &d, NULL)))
			return -1;
		if (k % 3 != 0) {
			struct cert_record c = {
				.serial_hex = cserial,
				.device_serial = serial,
				.fingerprint_sha256 = XFP,
				.subject = subject,
				.issuer = "CN=Station Issuing CA, O=Acme",
				.not_before = 1790000000 + k,
				.not_after = 1890000000 + k,
				.backend = "local",
				.pem = "-----BEGIN CERTIFICATE-----\n",
			};

			if (ledger_cert_issued(l, ids[i], &c, NULL) ||
			    ledger_run_smoke(l, ids[i], LEDGER_SMOKE_PASSED,
				"b", "TLSv1.3", "x", NULL, NULL))
				return -1;
		}
	}
	for (int i = n - 1; i >= 0; i--) {
		int k = base + i;
		int fail = k % 3 == 0;

		if (ledger_run_finish(l, ids[i], fail ? "FAIL" : "PASS",
			fail ? "csr" : NULL, fail ? "policy" : NULL,
			fail ? hostile[k % N_HOSTILE] : NULL, NULL))
			return -1;
	}
	return 0;
}

/* ---- an independent RFC 4180 reader ------------------------------------*/

struct csv_table {
	size_t nrows, ncols;
	char **cell; /* nrows * ncols, row-major; header is row 0 */
	int bad;     /* set on any syntax error or ragged row */
};

static inline void
csv_table_free(struct csv_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof *t);
}

/* Parse `len` bytes: records end with CRLF (a bare LF outside quotes is an
 * error, which proves the writer uses CRLF). */
static inline void
csv_parse(const char *s, size_t len, struct csv_table *t)
{
	char **row = NULL;
	size_t nrow = 0, i = 0;

	memset(t, 0, sizeof *t);
	while (i < len) {
		char *field = malloc(len + 1);
		size_t fl = 0;

		if (s[i] == '"') {
			for (i++; i < len; i++) {
				if (s[i] == '"' && i + 1 < len &&
				    s[i + 1] == '"')
					field[fl++] = s[i++];
				else if (s[i] == '"')
					break;
				else
					field[fl++] = s[i];
			}
			if (i >= len)
				t->bad = 1;
			i++;
		} else {
			while (i < len && s[i] != ',' && s[i] != '\r' &&
			    s[i] != '\n' && s[i] != '"')
				field[fl++] = s[i++];
		}
		field[fl] = '\0';
		row = realloc(row, (nrow + 1) * sizeof *row);
		row[nrow++] = field;
		if (i < len && s[i] == ',') {
			i++;
			continue;
		}
		if (i + 1 < len && s[i] == '\r' && s[i + 1] == '\n') {
			i += 2;
		} else {
			t->bad = 1;
			i = len;
		}
		if (t->ncols == 0)
			t->ncols = nrow;
		if (nrow != t->ncols)
			t->bad = 1;
		t->cell = realloc(t->cell,
		    (t->nrows + 1) * t->ncols * sizeof *t->cell);
		for (size_t c = 0; c < t->ncols; c++)
			t->cell[t->nrows * t->ncols + c] =
			    c < nrow ? row[c] : strdup("");
		for (size_t c = t->ncols; c < nrow; c++)
			free(row[c]);
		t->nrows++;
		nrow = 0;
	}
	for (size_t c = 0; c < nrow; c++)
		free(row[c]);
	if (nrow)
		t->bad = 1;
	free(row);
}

static inline const char *
csv_get(const struct csv_table *t, size_t row, const char *col)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcmp(t->cell[c], col) == 0)
			return t->cell[row * t->ncols + c];
	return NULL;
}

/* Whole file into a malloc'ed buffer (NUL-terminated); NULL if absent. */
static inline char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (fp == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	fclose(fp);
	return buf;
}

/* SHA-256 of the file at path as lower-case hex. */
static inline void
sha256_file(const char *path, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	size_t len = 0;
	char *buf = slurp(path, &len);

	EVP_Digest(buf ? buf : "", len, md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	free(buf);
}

/* The ISO-8601 forms the export promises, computed independently. */
static inline void
iso_ms_expect(char *buf, size_t len, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
}

static inline void
iso_s_expect(char *buf, size_t len, int64_t s)
{
	time_t t = (time_t)s;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

#endif
