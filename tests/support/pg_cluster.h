/*
 * Test support: a real PostgreSQL (Debian's postgresql, 15) in a
 * temporary cluster made by the test: initdb into a scratch directory,
 * listening on 127.0.0.1 at a free port with TLS on (a server
 * certificate for 127.0.0.1 and localhost, signed by a test CA made
 * with the openssl CLI), and on a Unix socket in the same directory for
 * the test's own superuser work (psql, trust).  TCP logins are
 * scram-sha-256 over TLS only (hostssl).  Run as root, the server runs
 * as nobody (setpriv): PostgreSQL refuses root.  The programs come from
 * /usr/lib/postgresql/15/bin, or $PG_BINDIR.  pg_cluster_free stops
 * it (pg_ctl stop -m immediate) and removes everything; a test that dies
 * leaves a postmaster whose socket directory is gone, which exits by
 * itself on its next check of the lock file.  Failures of set-up abort.
 */
#ifndef TEST_PG_CLUSTER_H
#define TEST_PG_CLUSTER_H

struct pg_cluster {
	char *dir;     /* scratch directory (the Unix socket is here) */
	char *data;    /* dir/data */
	char *ca_file; /* the test CA that signed the server certificate */
	int port;
	int running;
};

/* initdb, configure and start; aborts when it cannot. */
struct pg_cluster *pg_cluster_start(void);
/* pg_ctl stop -m fast (the server is gone when it returns) / start
 * again on the same port; 0 on success. */
int pg_cluster_stop(struct pg_cluster *c);
int pg_cluster_restart(struct pg_cluster *c);
/* Stop if running, remove the directory, free (NULL: nothing). */
void pg_cluster_free(struct pg_cluster *c);

/*
 * Run `sql` as the superuser in database `db` through psql (-v
 * ON_ERROR_STOP=1 -qAt); *out (may be NULL) gets stdout, caller frees.
 * Returns psql's exit status.
 */
int pg_cluster_psql(struct pg_cluster *c, const char *db, const char *sql,
    char **out);

/* "postgresql://USER@127.0.0.1:PORT/DB" (caller frees). */
char *pg_cluster_url(const struct pg_cluster *c, const char *user,
    const char *db);

#endif
