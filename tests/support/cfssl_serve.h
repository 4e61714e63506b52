/*
 * Test support: a real `cfssl serve` on 127.0.0.1 over TLS, signing with
 * a test PKI's intermediate.  Its config offers the profile "default"
 * (signs without authentication) and "device" (needs an HMAC key:
 * authsign).
 */
#ifndef TEST_CFSSL_SERVE_H
#define TEST_CFSSL_SERVE_H

#include <stddef.h>
#include <sys/types.h>

#include "tests/support/loopback.h"
#include "tests/support/pki.h"

struct cfssl_serve {
	pid_t pid; /* 0 when not running */
	int port;
	char addr[64]; /* "https://127.0.0.1:PORT" */
	/* Set before cfssl_serve_start: run with `-db-config`, a SQLite
	 * certificate database at db_path (<dir>/certdb.sqlite) holding
	 * CFSSL's certdb schema (the Debian package ships no migrations:
	 * the tables are CFSSL's certdb/sqlite/migrations, created here). */
	int with_db;
	char db_path[512];
};

/* 1 when `cfssl` is on PATH. */
int cfssl_installed(void);

/*
 * Write <dir>/<config_name> (profile "device" needs `auth_key`, hex),
 * start cfssl with its output in <dir>/cfssl.log and wait (at most 10 s)
 * until it listens.  0 when it does; -1 when it did not come up (it is
 * then still running, for cfssl_serve_stop).
 */
int cfssl_serve_start(struct cfssl_serve *c, const char *dir,
    const char *config_name, const struct pki_chain *pki, const char *auth_key);
/* The status ("good", "revoked") and reason code CFSSL's database holds
 * for the certificate of decimal serial `serial_dec`: 0 when found, -1
 * when not (or no database). */
int cfssl_serve_db_status(const struct cfssl_serve *c, const char *serial_dec,
    char status[16], int *reason);

/* Every serial (decimal, one a line) CFSSL's database holds as revoked,
 * in *out (new string, "" when none); *n how many. */
void cfssl_serve_db_revoked(const struct cfssl_serve *c, char **out, size_t *n);

/* SIGTERM and reap (nothing when not running). */
void cfssl_serve_stop(struct cfssl_serve *c);

#endif
