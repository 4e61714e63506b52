/*
 * The fleet database (docs/fleet.md) against a real PostgreSQL 15 in a
 * temporary cluster (tests/support/pg_cluster.h: initdb, TLS with a test
 * CA, 127.0.0.1 at a free port), loaded with the schema `station fleet
 * schema` prints:
 *
 *  - two stations race for one serial, many times, from two threads
 *    behind a barrier: exactly one reserves it, the other is refused
 *    naming the winner's station, slot and run;
 *  - a role without the fleet_station grant, a role that is not the
 *    station id, a password file others can read, a server the CA does
 *    not vouch for: each refused with a clear error (ST_E_CONFIG);
 *  - end to end with the station program and devsim: station A PASSes a
 *    serial, station B is refused it before anything is done to the
 *    board; the server is stopped: A (fleet = required) refuses to run,
 *    B (fleet = best-effort) runs on, one of its runs on a serial A
 *    holds; the server restarted, `station fleet status` ships B's
 *    outbox exactly once and reports the conflict; A's chain head is the
 *    one its ledger has.
 */
#include <pthread.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "station/config/config.h"
#include "station/fleet/fleet.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/loopback.h"
#include "tests/support/pg_cluster.h"
#include "tests/support/provision_env.h"
#include "tests/support/scratch.h"

#define RACE_ROUNDS 40

static struct pg_cluster *pg;

static char *
psql1(const char *sql)
{
	char *out = NULL;

	assert_int_equal(pg_cluster_psql(pg, "fleet", sql, &out), 0);
	size_t n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

static int
group_setup(void **state)
{
	(void)state;
	pg = pg_cluster_start();
	if (pg_cluster_psql(pg, "postgres", "CREATE DATABASE fleet", NULL) != 0)
		return -1;
	if (pg_cluster_psql(pg, "fleet", fleet_schema_sql(), NULL) != 0)
		return -1;
	if (pg_cluster_psql(pg, "fleet",
		"CREATE ROLE \"st-a\" LOGIN PASSWORD 'pw-a' IN ROLE "
		"fleet_station;"
		"CREATE ROLE \"st-b\" LOGIN PASSWORD 'pw-b' IN ROLE "
		"fleet_station;"
		"CREATE ROLE \"st-c\" LOGIN PASSWORD 'pw-c' IN ROLE "
		"fleet_station;"
		"CREATE ROLE \"st-d\" LOGIN PASSWORD 'pw-d' IN ROLE "
		"fleet_station;"
		"CREATE ROLE intruder LOGIN PASSWORD 'pw-i';"
		"CREATE ROLE mes LOGIN PASSWORD 'pw-m' IN ROLE fleet_reader;",
		NULL) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	pg_cluster_free(pg);
	return 0;
}

/* Fleet settings for `user`, the password in environment variable
 * FLEET_PW_<user> (the fields are owned by *f: free with fleet_free). */
static void
fleet_settings(struct config_fleet *f, const char *user, const char *pw)
{
	char *env = xasprintf("FLEET_PW_%s", user);

	for (char *p = env; *p; p++)
		if (*p == '-')
			*p = '_';
	setenv(env, pw, 1);
	memset(f, 0, sizeof *f);
	f->url = pg_cluster_url(pg, user, "fleet");
	f->ca_file = xstrdup(pg->ca_file);
	f->password_env = env;
	f->timeout_ms = 5000;
}

static void
fleet_free(struct config_fleet *f)
{
	free(f->url);
	free(f->ca_file);
	free(f->password_file);
	free(f->password_env);
}

static struct fleet_conn *
connect_as(const char *user, const char *pw)
{
	struct config_fleet f;
	struct fleet_conn *c = NULL;
	char *cause = NULL;

	fleet_settings(&f, user, pw);
	if (fleet_connect(&f, user, 5000, &c, &cause) != ST_OK)
		fail_msg("connecting as %s: %s", user, cause);
	fleet_free(&f);
	return c;
}

struct racer {
	struct fleet_conn *c;
	pthread_barrier_t *go;
	const char *serial;
	int slot;
	int64_t run;
	st_err err;
	char *cause;
	struct fleet_holder h;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->err = fleet_reserve(r->c, r->serial, r->slot, r->run, 0, &r->h,
	    &r->cause);
	return NULL;
}

static void
test_two_stations_race_for_one_serial(void **state)
{
	struct racer a = { 0 }, b = { 0 };
	pthread_barrier_t go;
	pthread_t ta, tb;
	int a_won = 0, b_won = 0;

	(void)state;
	a.c = connect_as("st-a", "pw-a");
	b.c = connect_as("st-b", "pw-b");
	for (int i = 0; i < RACE_ROUNDS; i++) {
		char *serial = xasprintf("RACE-%04d", i);
		struct racer *won, *lost;
		const char *who;

		pthread_barrier_init(&go, NULL, 2);
		a.go = b.go = &go;
		a.serial = b.serial = serial;
		a.slot = 1;
		a.run = 100 + i;
		b.slot = 2;
		b.run = 200 + i;
		pthread_create(&ta, NULL, race, &a);
		pthread_create(&tb, NULL, race, &b);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		/* Exactly one proceeds; the other learns who holds it. */
		assert_true((a.err == ST_OK) != (b.err == ST_OK));
		won = a.err == ST_OK ? &a : &b;
		lost = a.err == ST_OK ? &b : &a;
		who = won == &a ? "st-a" : "st-b";
		assert_int_equal(lost->err, ST_E_STATE);
		assert_string_equal(lost->h.station, who);
		assert_int_equal(lost->h.slot, won->slot);
		assert_int_equal(lost->h.run_id, won->run);
		char *want = xasprintf("by station %s in slot %d, run %lld",
		    who, won->slot, (long long)won->run);
		assert_non_null(strstr(lost->cause, want));
		free(want);
		char *sql = xasprintf("SELECT station_id || ' ' || run_id FROM "
				      "fleet.reservations WHERE serial = '%s'",
		    serial);
		char *row = psql1(sql);
		char *expect = xasprintf("%s %lld", who, (long long)won->run);
		assert_string_equal(row, expect);
		free(expect);
		free(row);
		free(sql);
		a_won += won == &a;
		b_won += won == &b;
		for (struct racer *r = &a; r != NULL; r = r == &a ? &b : NULL) {
			free(r->cause);
			r->cause = NULL;
			fleet_holder_clear(&r->h);
		}
		free(serial);
	}
	assert_int_equal(a_won + b_won, RACE_ROUNDS);
	fleet_close(a.c);
	fleet_close(b.c);
}

static void
test_role_without_privileges_is_refused(void **state)
{
	struct fleet_conn *c;
	struct fleet_holder h;
	char *cause = NULL;
	st_err err;

	(void)state;
	c = connect_as("intruder", "pw-i");
	err = fleet_reserve(c, "SN-X", 1, 1, 0, &h, &cause);
	assert_int_equal(err, ST_E_CONFIG);
	assert_non_null(strstr(cause, "permission denied"));
	assert_non_null(strstr(cause, "role 'intruder'"));
	assert_non_null(strstr(cause, "grant it fleet_station"));
	free(cause);
	fleet_holder_clear(&h);
	fleet_close(c);
	/* Nothing was reserved. */
	char *n = psql1("SELECT count(*) FROM fleet.reservations WHERE serial "
			"= 'SN-X'");
	assert_string_equal(n, "0");
	free(n);
	/* The reader role reads, and cannot write. */
	assert_int_not_equal(pg_cluster_psql(pg, "fleet",
				 "SET ROLE mes; INSERT INTO fleet.reservations "
				 "VALUES ('SN-Y', 'mes', 0, 0, 'reserved')",
				 NULL),
	    0);
	assert_int_equal(pg_cluster_psql(pg, "fleet",
			     "SET ROLE mes; SELECT count(*) FROM fleet.events",
			     NULL),
	    0);
}

static void
test_misconfigured_connections_are_refused(void **state)
{
	struct config_fleet f;
	struct fleet_conn *c = NULL;
	char *cause = NULL, *dir = scratch_dir();
	st_err err;

	(void)state;
	/* Logged in as st-a, claiming to be st-b. */
	fleet_settings(&f, "st-a", "pw-a");
	err = fleet_connect(&f, "st-b", 5000, &c, &cause);
	assert_int_equal(err, ST_E_CONFIG);
	assert_null(c);
	assert_non_null(strstr(cause, "role is 'st-a', not the station id"));
	free(cause);
	cause = NULL;
	/* A wrong password: refused, and never shown. */
	setenv(f.password_env, "wrong-secret-xyz", 1);
	err = fleet_connect(&f, "st-a", 5000, &c, &cause);
	assert_int_equal(err, ST_E_CONFIG);
	assert_null(strstr(cause, "wrong-secret-xyz"));
	free(cause);
	cause = NULL;
	/* A password file others can read. */
	free(f.password_env);
	f.password_env = NULL;
	f.password_file = scratch_write(dir, "pw", "pw-a\n", 0644);
	err = fleet_connect(&f, "st-a", 5000, &c, &cause);
	assert_int_equal(err, ST_E_CONFIG);
	assert_non_null(strstr(cause, "pw"));
	free(cause);
	cause = NULL;
	/* The same file 0600 works. */
	scratch_put(f.password_file, "pw-a\n", 0600);
	err = fleet_connect(&f, "st-a", 5000, &c, &cause);
	assert_int_equal(err, ST_OK);
	fleet_close(c);
	c = NULL;
	/* A server the configured CA did not sign is not trusted. */
	assert_int_equal(proc_sh("cd '%s' && openssl req -x509 -newkey ec "
				 "-pkeyopt ec_paramgen_curve:P-256 -nodes "
				 "-keyout o.key -out other.pem -days 1 -subj "
				 "'/CN=other' 2>/dev/null",
			     dir),
	    0);
	free(f.ca_file);
	f.ca_file = xasprintf("%s/other.pem", dir);
	err = fleet_connect(&f, "st-a", 5000, &c, &cause);
	assert_int_equal(err, ST_E_CONFIG);
	assert_non_null(strstr(cause, "certificate"));
	free(cause);
	cause = NULL;
	/* No server at all: an outage, not a configuration error. */
	free(f.url);
	f.url = xasprintf("postgresql://st-a@127.0.0.1:%d/fleet",
	    loopback_free_port());
	err = fleet_connect(&f, "st-a", 5000, &c, &cause);
	assert_int_equal(err, ST_E_HANGUP);
	assert_non_null(strstr(cause, "fleet database unreachable"));
	free(cause);
	fleet_free(&f);
	scratch_rmtree(dir);
	free(dir);
}

/* A station home logging in as `user` with profile rule `rule`. */
static struct prov_env *
station_env(const char *user, const char *pw, const char *rule)
{
	struct prov_env *e = prov_env_new();
	char *pwfile = prov_env_write(e, "fleet.pw", pw);
	char *url = pg_cluster_url(pg, user, "fleet");
	char *station = xasprintf("id = %s\n", user);
	char *rest = xasprintf("[fleet]\nurl = %s\nca = %s\npassword_file = "
			       "%s\n\n[profile default]\nfleet = %s\n",
	    url, pg->ca_file, pwfile, rule);

	prov_env_config(e, station, rest);
	free(pwfile);
	free(url);
	free(station);
	free(rest);
	return e;
}

/* Provision a fresh devsim reporting `serial` at station `e`. */
static json_t *
provision_serial(struct prov_env *e, const char *serial, int *status,
    char **state_before, char **state_after)
{
	const char *args[] = { "--serial", serial, NULL };
	struct devsim_proc *d = devsim_proc_start(args);
	json_t *j;

	assert_non_null(d);
	*state_before = prov_probe_state(e, d->uri);
	j = prov_provision(e, d->uri, args, status);
	*state_after = prov_probe_state(e, d->uri);
	devsim_proc_stop(d);
	assert_non_null(j);
	return j;
}

static void
assert_untouched(const char *before, const char *after)
{
	assert_non_null(before);
	assert_non_null(after);
	assert_string_equal(after, before);
}

/*
 * Provision `serial` at `e` and check the exit status; a FAIL must leave
 * the board as it was (nothing done to it).  Returns the result (caller
 * json_decref).
 */
static json_t *
run_expect(struct prov_env *e, const char *serial, int want)
{
	char *before = NULL, *after = NULL;
	int status;
	json_t *j = provision_serial(e, serial, &status, &before, &after);

	assert_int_equal(status, want);
	if (want != 0)
		assert_untouched(before, after);
	free(before);
	free(after);
	return j;
}

static json_t *
fleet_status(struct prov_env *e, int *status)
{
	const char *args[] = { "fleet", "status", "--json", NULL };
	struct proc_out o;
	json_t *j;

	*status = prov_station(e, args, &o);
	j = json_loads(o.out, 0, NULL);
	if (j == NULL)
		fail_msg("fleet status: %s / %s", o.out, o.err);
	proc_out_clear(&o);
	return j;
}

/* The newest chained run of a ledger: "SEQ HASH". */
static char *
ledger_head(struct prov_env *e)
{
	char *path = xasprintf("%s/ledger.db", e->home);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *head;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "SELECT chain_seq || ' ' || row_hash FROM runs "
			     "WHERE chain_seq IS NOT NULL ORDER BY chain_seq "
			     "DESC LIMIT 1",
			     -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	head = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	return head;
}

static void
test_outage_required_refuses_best_effort_ships_once(void **state)
{
	struct prov_env *a = station_env("st-a", "pw-a", "required");
	struct prov_env *b = station_env("st-b", "pw-b", "best-effort");
	char *s = NULL;
	json_t *j;
	int status;

	(void)state;
	/* A provisions the serial; its end confirms it fleet-wide. */
	json_decref(run_expect(a, "SN-F1", 0));
	s = psql1("SELECT station_id || ' ' || state FROM fleet.reservations"
		  " WHERE serial = 'SN-F1'");
	assert_string_equal(s, "st-a confirmed");
	free(s);

	/* B is refused it before anything is done to the board. */
	j = run_expect(b, "SN-F1", 1);
	assert_string_equal(prov_jstr(j, "failed_step"), "ledger-check");
	assert_non_null(strstr(prov_jstr(j, "reason"), "station st-a"));
	assert_non_null(strstr(prov_jstr(j, "reason"), "slot"));
	assert_non_null(strstr(prov_jstr(j, "reason"), "run 1"));
	json_decref(j);

	/* The fleet database goes away mid-batch. */
	assert_int_equal(pg_cluster_stop(pg), 0);
	/* Required: no run, and the operator is told whom to call. */
	j = run_expect(a, "SN-F2", 1);
	assert_string_equal(prov_jstr(j, "failed_step"), "ledger-check");
	assert_string_equal(prov_jstr(j, "headline"),
	    "Fleet database unreachable — call the line lead");
	assert_non_null(strstr(prov_jstr(j, "reason"),
	    "fleet database unreachable — call the line lead"));
	json_decref(j);
	/* Best-effort: runs go on, one of them on A's serial. */
	json_decref(run_expect(b, "SN-F3", 0));
	json_decref(run_expect(b, "SN-F1", 0));
	j = fleet_status(b, &status);
	assert_false(json_is_true(json_object_get(j, "reachable")));
	json_int_t pending = json_integer_value(json_object_get(j, "pending"));
	/* Two runs' ends and their certificates' states at least. */
	assert_true(pending >= 4);
	json_decref(j);

	/* Back: B's outbox drains once, and the conflict is reported. */
	assert_int_equal(pg_cluster_restart(pg), 0);
	j = fleet_status(b, &status);
	assert_int_equal(status, 1);
	assert_true(json_is_true(json_object_get(j, "reachable")));
	assert_int_equal(json_integer_value(json_object_get(j, "pending")), 0);
	json_int_t shipped = json_integer_value(json_object_get(j, "shipped"));
	assert_true(
	    json_integer_value(json_object_get(j, "shipped_now")) >= pending);
	json_t *conflicts = json_object_get(j, "conflicts");
	assert_int_equal(json_array_size(conflicts), 1);
	const char *c0 = json_string_value(json_array_get(conflicts, 0));
	assert_non_null(strstr(c0, "SN-F1"));
	assert_non_null(strstr(c0, "station st-a"));
	json_decref(j);
	char *sql = xasprintf("SELECT count(*) || ' ' || count(DISTINCT seq) "
			      "FROM fleet.events WHERE station_id = 'st-b'");
	char *want =
	    xasprintf("%lld %lld", (long long)shipped, (long long)shipped);
	s = psql1(sql);
	assert_string_equal(s, want);
	free(s);
	/* A second drain sends nothing again. */
	const char *drain[] = { "fleet", "drain", NULL };
	struct proc_out o;
	assert_int_equal(prov_station(b, drain, &o), 0);
	assert_non_null(strstr(o.out, "0 outbox rows shipped"));
	proc_out_clear(&o);
	s = psql1(sql);
	assert_string_equal(s, want);
	free(s);
	free(sql);
	free(want);
	/* The administrator's view. */
	s = psql1("SELECT serial || ' ' || station_id || ' ' || holder_station"
		  " FROM fleet.conflicts");
	assert_string_equal(s, "SN-F1 st-b st-a");
	free(s);
	s = psql1("SELECT station_id || ' ' || state FROM fleet.reservations"
		  " WHERE serial = 'SN-F3'");
	assert_string_equal(s, "st-b confirmed");
	free(s);
	/* A's newest chain head reached the fleet with its run. */
	assert_int_equal(prov_station(a, drain, &o), 0);
	proc_out_clear(&o);
	char *head = ledger_head(a);
	s = psql1("SELECT chain_seq || ' ' || chain_hash FROM fleet.stations"
		  " WHERE station_id = 'st-a'");
	assert_string_equal(s, head);
	free(s);
	free(head);
	prov_env_free(a);
	prov_env_free(b);
}

/* `station batch` at `e` with its stdin and stdout on pipes. */
struct batch {
	pid_t pid;
	FILE *in;
	int out;
};

static struct batch
batch_start(struct prov_env *e, const char *fixture)
{
	int to[2], from[2];
	struct batch b;
	const char *station = test_bin("STATION_BIN", "build/bin/station");

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	/* Our ends stay out of every other child, or a second batch would
	 * hold this one's stdin open. */
	fcntl(to[1], F_SETFD, FD_CLOEXEC);
	fcntl(from[0], F_SETFD, FD_CLOEXEC);
	b.pid = fork();
	assert_true(b.pid >= 0);
	if (b.pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		setenv("STATION_HOME", e->home, 1);
		execl(station, station, "--config", e->config, "batch",
		    "--fixture", fixture, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	b.in = fdopen(to[1], "w");
	b.out = from[0];
	return b;
}

/* Send one scan and read its run's JSON line (bounded wait). */
static json_t *
batch_scan(struct batch *b, const char *scan)
{
	char *line;
	json_t *j;

	fprintf(b->in, "%s\n", scan);
	fflush(b->in);
	line = proc_read_line(b->out, 60000);
	j = json_loads(line, 0, NULL);
	if (j == NULL)
		fail_msg("batch: no result line for '%s' ('%s')", scan, line);
	free(line);
	return j;
}

static int
batch_end(struct batch *b)
{
	char *line;

	fclose(b->in);
	/* The summary line, then the exit. */
	line = proc_read_line(b->out, 60000);
	free(line);
	close(b->out);
	return proc_wait_ms(b->pid, 60000);
}

/*
 * A batch of three boards per station; the fleet database is stopped
 * after the first board of each.  Required: the other boards FAIL at
 * ledger-check, untouched.  Best-effort: they PASS; once the database is
 * back their runs are reserved late and shipped once.
 */
static void
test_server_stopped_mid_batch(void **state)
{
	struct prov_env *c = station_env("st-c", "pw-c", "required");
	struct prov_env *d = station_env("st-d", "pw-d", "best-effort");
	struct devsim_proc *sims[6];
	struct batch bc, bd;
	char *fx_c = NULL, *fx_d = NULL, *s;
	json_t *j;
	int status;

	(void)state;
	for (int i = 0; i < 6; i++) {
		char serial[16];

		snprintf(serial, sizeof serial, "SN-B%d", i);
		sims[i] = devsim_proc_start(
		    (const char *[]){ "--serial", serial, NULL });
		assert_non_null(sims[i]);
	}
	for (int st = 0; st < 2; st++) {
		char *t = xstrdup("[fixture]\nname = fleet\n");

		for (int i = 0; i < 3; i++) {
			char *more = xasprintf("%s[slot %d]\nlabel = S%d\n"
					       "device = %s\n",
			    t, i + 1, i + 1, sims[st * 3 + i]->uri);
			free(t);
			t = more;
		}
		if (st == 0)
			fx_c = prov_env_write(c, "fixture.ini", t);
		else
			fx_d = prov_env_write(d, "fixture.ini", t);
		free(t);
	}
	bc = batch_start(c, fx_c);
	bd = batch_start(d, fx_d);
	j = batch_scan(&bc, "SN-B0 S1");
	assert_string_equal(prov_jstr(j, "result"), "PASS");
	json_decref(j);
	j = batch_scan(&bd, "SN-B3 S1");
	assert_string_equal(prov_jstr(j, "result"), "PASS");
	json_decref(j);

	assert_int_equal(pg_cluster_stop(pg), 0);
	for (int i = 1; i < 3; i++) {
		char *scan = xasprintf("SN-B%d S%d", i, i + 1);

		j = batch_scan(&bc, scan);
		assert_string_equal(prov_jstr(j, "result"), "FAIL");
		assert_string_equal(prov_jstr(j, "failed_step"),
		    "ledger-check");
		assert_string_equal(prov_jstr(j, "headline"),
		    "Fleet database unreachable — call the line lead");
		json_decref(j);
		free(scan);
		scan = xasprintf("SN-B%d S%d", i + 3, i + 1);
		j = batch_scan(&bd, scan);
		assert_string_equal(prov_jstr(j, "result"), "PASS");
		json_decref(j);
		free(scan);
	}
	assert_int_equal(batch_end(&bc), 1);
	assert_int_equal(batch_end(&bd), 0);
	/* C's refused boards were never touched. */
	for (int i = 1; i < 3; i++) {
		char *st = prov_probe_state(c, sims[i]->uri);

		assert_non_null(st);
		assert_string_equal(st, "blank");
		free(st);
	}

	assert_int_equal(pg_cluster_restart(pg), 0);
	j = fleet_status(d, &status);
	assert_int_equal(status, 0);
	assert_int_equal(json_integer_value(json_object_get(j, "pending")), 0);
	json_int_t shipped = json_integer_value(json_object_get(j, "shipped"));
	json_decref(j);
	s = psql1("SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' ||"
		  " count(*) FILTER (WHERE kind = 'run')"
		  " FROM fleet.events WHERE station_id = 'st-d'");
	char *want =
	    xasprintf("%lld %lld 3", (long long)shipped, (long long)shipped);
	assert_string_equal(s, want);
	free(want);
	free(s);
	s = psql1("SELECT string_agg(serial || ':' || state, ' ' ORDER BY "
		  "serial) FROM fleet.reservations WHERE station_id = 'st-d'");
	assert_string_equal(s,
	    "SN-B3:confirmed SN-B4:confirmed "
	    "SN-B5:confirmed");
	free(s);
	/* C's FAILs reserved nothing. */
	s = psql1("SELECT string_agg(serial, ' ') FROM fleet.reservations"
		  " WHERE station_id = 'st-c'");
	assert_string_equal(s, "SN-B0");
	free(s);
	for (int i = 0; i < 6; i++)
		devsim_proc_stop(sims[i]);
	free(fx_c);
	free(fx_d);
	prov_env_free(c);
	prov_env_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_stations_race_for_one_serial),
		cmocka_unit_test(test_role_without_privileges_is_refused),
		cmocka_unit_test(test_misconfigured_connections_are_refused),
		cmocka_unit_test(
		    test_outage_required_refuses_best_effort_ships_once),
		cmocka_unit_test(test_server_stopped_mid_batch),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
