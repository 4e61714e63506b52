/*
 * Shared by the ledger tests: a fresh directory per test holding a real
 * SQLite file, and raw SQL against that file to play the tamperer.
 */
#ifndef TESTS_DB_LEDGER_FIXTURE_H
#define TESTS_DB_LEDGER_FIXTURE_H

#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/ledger.h"

struct fixture {
	char dir[64];
	char path[128];
	struct ledger *l;
};

static inline int
fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/ledger-test-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof f->path, "%s/ledger.db", f->dir);
	if (ledger_open(f->path, &f->l, NULL) != ST_OK) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* The ledger key a scratch ledger in `dir` got by default (beside the
 * directory: ledger_key_default_path). */
static inline void
fixture_key_remove(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s-key/ledger.key", dir);
	unlink(p);
	snprintf(p, sizeof p, "%s-key", dir);
	rmdir(p);
}

static inline int
fixture_teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *de;
	DIR *d;

	ledger_close(f->l);
	d = opendir(f->dir);
	for (de = d ? readdir(d) : NULL; de != NULL; de = readdir(d)) {
		char p[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(f->dir);
	fixture_key_remove(f->dir);
	free(f);
	return 0;
}

/* Run SQL on the file through a separate raw connection; returns the
 * sqlite3 result code. */
static inline int
raw_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* As an attacker with the file would: drop every trigger first (the
 * append-only guards and the keyed chain's), then run `sql`.  Returns the
 * sqlite3 result code. */
static inline int
raw_tamper(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open(path, &db);

	while (rc == SQLITE_OK) {
		char *drop = NULL;

		rc = sqlite3_prepare_v2(db,
		    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
		    " LIMIT 1",
		    -1, &st, NULL);
		if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			drop = sqlite3_mprintf("DROP TRIGGER \"%w\"",
			    (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (drop == NULL)
			break;
		rc = sqlite3_exec(db, drop, NULL, NULL, NULL);
		sqlite3_free(drop);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* One integer from a query through a separate raw connection; returns
 * the sqlite3 result code (SQLITE_ERROR when no row came back). */
static inline int
raw_int(const char *path, const char *sql, int64_t *out)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		rc = SQLITE_ERROR;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

#define FP "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* A certificate row with fixed fields (strings are literals). */
static inline struct cert_record
fixture_cert(const char *serial, const char *device)
{
	struct cert_record c = {
		.serial_hex = (char *)serial,
		.device_serial = (char *)device,
		.fingerprint_sha256 = (char *)FP,
		.subject = "CN=dev",
		.issuer = "CN=Station Issuing CA",
		.not_before = 1700000000,
		.not_after = 1800000000,
		.backend = "local",
		.pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END "
		       "CERTIFICATE-----\n",
	};
	return c;
}

/* Begin a run with fixed fields; returns its id. */
static inline int64_t
start_run(struct ledger *l, int slot, const char *serial)
{
	struct run_start s = {
		.station_id = "st-01",
		.slot = slot,
		.operator_id = "op7",
		.batch = "B-2026-11",
		.device_uri = "tcp:127.0.0.1:4000",
		.scanned_serial = serial,
		.profile = "default",
	};
	int64_t id = 0;

	if (ledger_run_begin(l, &s, &id, NULL) != ST_OK)
		return -1;
	return id;
}

#endif
