/* Test support: `cfssl serve` as a child process (cfssl_serve.h). */
#include "tests/support/cfssl_serve.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/loopback.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

int
cfssl_installed(void)
{
	return system("command -v cfssl >/dev/null 2>&1") == 0;
}

/* CFSSL's certdb schema for SQLite (certdb/sqlite/migrations/
 * 001_CreateCertificates.sql), which `cfssl serve -db-config` expects to
 * exist. */
static const char certdb_schema[] =
    "CREATE TABLE certificates ("
    "  serial_number            blob NOT NULL,"
    "  authority_key_identifier blob NOT NULL,"
    "  ca_label                 blob,"
    "  status                   blob NOT NULL,"
    "  reason                   int,"
    "  expiry                   timestamp,"
    "  revoked_at               timestamp,"
    "  pem                      blob NOT NULL,"
    "  PRIMARY KEY(serial_number, authority_key_identifier));"
    "CREATE TABLE ocsp_responses ("
    "  serial_number            blob NOT NULL,"
    "  authority_key_identifier blob NOT NULL,"
    "  body                     blob NOT NULL,"
    "  expiry                   timestamp,"
    "  PRIMARY KEY(serial_number, authority_key_identifier),"
    "  FOREIGN KEY(serial_number, authority_key_identifier) REFERENCES"
    "  certificates(serial_number, authority_key_identifier));";

/* <dir>/certdb.sqlite with the schema and <dir>/db-config.json naming it;
 * the config's path (new), NULL on failure. */
static char *
make_certdb(struct cfssl_serve *c, const char *dir)
{
	sqlite3 *db = NULL;
	char *text, *config;
	int rc;

	snprintf(c->db_path, sizeof c->db_path, "%s/certdb.sqlite", dir);
	rc = sqlite3_open(c->db_path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, certdb_schema, NULL, NULL, NULL);
	sqlite3_close(db);
	if (rc != SQLITE_OK)
		return NULL;
	text = xasprintf("{\"driver\": \"sqlite3\", \"data_source\": "
			 "\"%s\"}",
	    c->db_path);
	config = scratch_write(dir, "db-config.json", text, 0600);
	free(text);
	return config;
}

int
cfssl_serve_db_status(const struct cfssl_serve *c, const char *serial_dec,
    char status[16], int *reason)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int found = -1;

	status[0] = '\0';
	*reason = 0;
	if (!c->with_db ||
	    sqlite3_open_v2(c->db_path, &db, SQLITE_OPEN_READONLY, NULL) !=
		SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	if (sqlite3_prepare_v2(db,
		"SELECT CAST(status AS TEXT), coalesce(reason, 0) FROM "
		"certificates WHERE CAST(serial_number AS TEXT) = ?",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, serial_dec, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(status, 16, "%s",
			    (const char *)sqlite3_column_text(st, 0));
			*reason = sqlite3_column_int(st, 1);
			found = 0;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return found;
}

void
cfssl_serve_db_revoked(const struct cfssl_serve *c, char **out, size_t *n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *text = xstrdup("");

	*n = 0;
	if (c->with_db &&
	    sqlite3_open_v2(c->db_path, &db, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(db,
		"SELECT CAST(serial_number AS TEXT) FROM certificates "
		"WHERE CAST(status AS TEXT) = 'revoked'",
		-1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *more = xasprintf("%s%s\n", text,
			    (const char *)sqlite3_column_text(st, 0));

			free(text);
			text = more;
			(*n)++;
		}
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	*out = text;
}

int
cfssl_serve_start(struct cfssl_serve *c, const char *dir,
    const char *config_name, const struct pki_chain *pki, const char *auth_key)
{
	char port[16];
	char *config, *log, *db_config = NULL;
	struct deadline dl;
	/* Keys are hex, as CFSSL expects. */
	char *text = xasprintf(
	    "{\"signing\": {"
	    "\"default\": {\"expiry\": \"8760h\", \"usages\": "
	    "[\"digital signature\", \"client auth\"]},"
	    "\"profiles\": {\"device\": {\"expiry\": \"8760h\", \"usages\": "
	    "[\"digital signature\", \"client auth\"], \"auth_key\": "
	    "\"line\"}}},"
	    "\"auth_keys\": {\"line\": {\"type\": \"standard\", \"key\": "
	    "\"%s\"}}}",
	    auth_key);

	config = scratch_write(dir, config_name, text, 0600);
	log = xasprintf("%s/cfssl.log", dir);
	if (c->with_db) {
		db_config = make_certdb(c, dir);
		if (db_config == NULL) {
			free(text);
			free(config);
			free(log);
			return -1;
		}
	}
	c->port = loopback_free_port();
	snprintf(port, sizeof port, "%d", c->port);
	snprintf(c->addr, sizeof c->addr, "https://127.0.0.1:%d", c->port);
	c->pid = fork();
	if (c->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("cfssl", "cfssl", "serve", "-address", "127.0.0.1",
		    "-port", port, "-ca", pki->inter_pem, "-ca-key",
		    pki->inter_key_file, "-config", config, "-tls-cert",
		    pki->server_pem, "-tls-key", pki->server_key_file,
		    "-loglevel", "2", db_config ? "-db-config" : (char *)NULL,
		    db_config, (char *)NULL);
		_exit(127);
	}
	/* Bounded wait until it listens (a Go program: never traced by
	 * valgrind, but slow to start on a loaded machine). */
	dl = deadline_in(test_ms(10000));
	while (!loopback_listening(c->port) && !deadline_passed(dl))
		poll(NULL, 0, 50);
	free(text);
	free(config);
	free(log);
	free(db_config);
	return loopback_listening(c->port) ? 0 : -1;
}

void
cfssl_serve_stop(struct cfssl_serve *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}
