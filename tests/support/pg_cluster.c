/* Test support: a temporary PostgreSQL cluster (pg_cluster.h). */
#include "tests/support/pg_cluster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/support/loopback.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

/* Debian 12's server programs; PG_BINDIR names another version's. */
#define PG_BIN_DEFAULT "/usr/lib/postgresql/15/bin"
#define NOBODY "65534"

static void
die(const char *what)
{
	fprintf(stderr, "pg_cluster: %s\n", what);
	abort();
}

static const char *
pg_bin(void)
{
	const char *dir = getenv("PG_BINDIR");

	return dir != NULL && *dir != '\0' ? dir : PG_BIN_DEFAULT;
}

/* The prefix that runs a server program as nobody when we are root. */
static const char *
as_server(void)
{
	return geteuid() == 0 ? "setpriv --reuid=" NOBODY " --regid=" NOBODY
				" --clear-groups -- " :
				"";
}

static void
make_tls(struct pg_cluster *c)
{
	/* A test CA and a server certificate for the loopback names. */
	if (proc_sh(
		"cd '%s' && "
		"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256"
		" -nodes -keyout ca.key -out ca.pem -days 2 -subj "
		"'/CN=fleet test CA' 2>/dev/null && "
		"openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256"
		" -nodes -keyout server.key -out server.csr -subj "
		"'/CN=localhost' 2>/dev/null && "
		"printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > "
		"ext.cnf && "
		"openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key"
		" -CAcreateserial -days 2 -extfile ext.cnf -out server.crt "
		"2>/dev/null && chmod 0600 server.key",
		c->dir) != 0)
		die("cannot make the test CA and server certificate");
}

static int
pg_ctl_start(struct pg_cluster *c)
{
	int rc = proc_sh("%s%s/pg_ctl -D '%s' -l '%s/log' -w -t 60 start",
	    as_server(), pg_bin(), c->data, c->dir);

	c->running = rc == 0;
	return rc;
}

struct pg_cluster *
pg_cluster_start(void)
{
	struct pg_cluster *c = xcalloc(1, sizeof *c);
	char tmpl[] = "/tmp/pgfleet.XXXXXX";
	char *conf;

	/* A short path: the Unix socket's name must fit in sun_path. */
	if (mkdtemp(tmpl) == NULL)
		die("mkdtemp");
	c->dir = xstrdup(tmpl);
	c->data = xasprintf("%s/data", c->dir);
	c->ca_file = xasprintf("%s/ca.pem", c->dir);
	make_tls(c);
	if (geteuid() == 0 &&
	    proc_sh("chown -R " NOBODY ":" NOBODY " '%s'", c->dir) != 0)
		die("chown");
	if (proc_sh("%s%s/initdb -D '%s' -U postgres --auth-local=trust"
		    " --auth-host=reject -E UTF8 --no-sync >/dev/null",
		as_server(), pg_bin(), c->data) != 0)
		die("initdb failed (is the Debian package postgresql "
		    "installed?)");
	c->port = loopback_free_port();
	conf = xasprintf("listen_addresses = '127.0.0.1'\n"
			 "port = %d\n"
			 "unix_socket_directories = '%s'\n"
			 "ssl = on\n"
			 "ssl_cert_file = '%s/server.crt'\n"
			 "ssl_key_file = '%s/server.key'\n"
			 "password_encryption = 'scram-sha-256'\n"
			 "fsync = off\n"
			 "max_connections = 60\n",
	    c->port, c->dir, c->dir, c->dir);
	if (proc_sh("cat >> '%s/postgresql.conf' <<'EOF'\n%sEOF\n"
		    "printf 'local all all trust\\n"
		    "hostssl all all 127.0.0.1/32 scram-sha-256\\n' > "
		    "'%s/pg_hba.conf'",
		c->data, conf, c->data) != 0)
		die("cannot write the server configuration");
	free(conf);
	if (pg_ctl_start(c) != 0)
		die("pg_ctl start failed");
	return c;
}

int
pg_cluster_stop(struct pg_cluster *c)
{
	int rc = proc_sh("%s%s/pg_ctl -D '%s' -w -t 60 -m fast stop",
	    as_server(), pg_bin(), c->data);

	if (rc == 0)
		c->running = 0;
	return rc;
}

int
pg_cluster_restart(struct pg_cluster *c)
{
	return pg_ctl_start(c);
}

void
pg_cluster_free(struct pg_cluster *c)
{
	if (c == NULL)
		return;
	if (c->running)
		proc_sh("%s%s/pg_ctl -D '%s' -w -t 60 -m immediate stop",
		    as_server(), pg_bin(), c->data);
	scratch_rmtree(c->dir);
	free(c->dir);
	free(c->data);
	free(c->ca_file);
	free(c);
}

int
pg_cluster_psql(struct pg_cluster *c, const char *db, const char *sql,
    char **out)
{
	char port[16];
	char *o = NULL;
	int rc;

	snprintf(port, sizeof port, "%d", c->port);
	const char *argv[] = { "psql", "-h", c->dir, "-p", port, "-U",
		"postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c",
		sql, NULL };
	rc = proc_run_capture(argv, &o);
	if (out != NULL)
		*out = o;
	else
		free(o);
	return rc;
}

char *
pg_cluster_url(const struct pg_cluster *c, const char *user, const char *db)
{
	return xasprintf("postgresql://%s@127.0.0.1:%d/%s", user, c->port, db);
}
