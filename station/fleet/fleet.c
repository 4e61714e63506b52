/*
 * The fleet database connection and the fleet-wide reservation
 * (fleet.h).  Every parameter reaches the server out of band
 * (PQexecParams), so a serial or a station id is never part of SQL text.
 */
#include "station/fleet/fleet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/cred.h"
#include "station/util/dlib.h"
#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct fleet_pq fleet_pq;

/* A row of pq_syms: the name in libpq, the pointer it fills. */
#define PQ_SYM(f) "PQ" #f, (void **)&fleet_pq.f
static const struct dlib_sym pq_syms[] = {
	{ PQ_SYM(connectdbParams) },
	{ PQ_SYM(finish) },
	{ PQ_SYM(status) },
	{ PQ_SYM(errorMessage) },
	{ PQ_SYM(exec) },
	{ PQ_SYM(execParams) },
	{ PQ_SYM(resultStatus) },
	{ PQ_SYM(resultErrorField) },
	{ PQ_SYM(resultErrorMessage) },
	{ PQ_SYM(ntuples) },
	{ PQ_SYM(nfields) },
	{ PQ_SYM(getvalue) },
	{ PQ_SYM(clear) },
	{ NULL, NULL },
};

static struct dlib pq_lib = { .soname = "libpq.so.5",
	.package = "libpq5",
	.syms = pq_syms };

st_err
fleet_lib_load(char **cause)
{
	return dlib_load(&pq_lib, cause);
}

void
fleet_holder_clear(struct fleet_holder *h)
{
	if (h == NULL)
		return;
	free(h->station);
	free(h->state);
	memset(h, 0, sizeof *h);
}

void
fleet_close(struct fleet_conn *c)
{
	if (c == NULL)
		return;
	fleet_pq.finish(c->pg);
	free(c->station_id);
	free(c);
}

/* libpq's message, one line, without a password that might be quoted. */
static char *
pg_message(const char *msg, const char *password)
{
	char *copy = xstrdup(msg ? msg : "");
	size_t n = strlen(copy);
	char *shown;

	while (n > 0 && (copy[n - 1] == '\n' || copy[n - 1] == ' '))
		copy[--n] = '\0';
	for (char *p = copy; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	cred_scrub(copy, password);
	shown = text_escape(copy, 400);
	free(copy);
	return shown;
}

/* A failed connection: an outage, or something an administrator fixes. */
static st_err
connect_failure(PGconn *pg, const char *password, char **cause)
{
	char *msg = pg_message(fleet_pq.errorMessage(pg), password);
	st_err err = ST_E_HANGUP;

	/* The server answered and refused us, or its certificate failed:
	 * waiting does not help.  A server starting or shutting down did
	 * answer, but it is an outage. */
	if ((strstr(msg, "FATAL") != NULL || strstr(msg, "SSL") != NULL ||
		strstr(msg, "certificate") != NULL ||
		strstr(msg, "password") != NULL) &&
	    strstr(msg, "the database system is") == NULL)
		err = ST_E_CONFIG;
	if (err == ST_E_HANGUP)
		st_fail(cause, err, "fleet database unreachable: %s", msg);
	else
		st_fail(cause, err,
		    "the fleet database refused the station: %s "
		    "(check [fleet] url, ca and the password, docs/fleet.md)",
		    msg);
	free(msg);
	return err;
}

st_err
fleet_result_check(struct fleet_conn *c, PGresult *res, ExecStatusType want,
    const char *what, char **cause)
{
	const char *state;
	char *msg;
	st_err err = ST_E_DB;

	if (res != NULL && fleet_pq.resultStatus(res) == want)
		return ST_OK;
	state = res ? fleet_pq.resultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	msg = pg_message(res ? fleet_pq.resultErrorMessage(res) :
			       fleet_pq.errorMessage(c->pg),
	    NULL);
	if (fleet_pq.status(c->pg) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		err = ST_E_HANGUP;
	else if (strcmp(state, "57014") == 0 || strcmp(state, "55P03") == 0)
		err = ST_E_TIMEOUT;
	else if (strcmp(state, "42501") == 0)
		err = ST_E_CONFIG;
	if (err == ST_E_CONFIG)
		st_fail(cause, err,
		    "%s: the fleet database refuses role '%s': %s (grant it "
		    "fleet_station, docs/fleet.md)",
		    what, c->station_id, msg);
	else if (err == ST_E_HANGUP)
		st_fail(cause, err, "%s: fleet database unreachable: %s", what,
		    msg);
	else
		st_fail(cause, err, "%s: the fleet database said: %s", what,
		    msg);
	free(msg);
	return err;
}

/* The role we logged in as must be the station id: the functions write
 * rows in session_user's name. */
static st_err
check_role(struct fleet_conn *c, char **cause)
{
	PGresult *res = fleet_pq.exec(c->pg, "SELECT session_user::text");
	st_err err = fleet_result_check(c, res, PGRES_TUPLES_OK,
	    "asking the fleet database who we are", cause);
	char *shown = NULL;

	if (err)
		goto out;
	if (fleet_pq.ntuples(res) != 1 ||
	    strcmp(fleet_pq.getvalue(res, 0, 0), c->station_id) != 0) {
		shown = text_escape(fleet_pq.ntuples(res) == 1 ?
			fleet_pq.getvalue(res, 0, 0) :
			"",
		    64);
		err = st_fail(cause, ST_E_CONFIG,
		    "the fleet database role is '%s', not the station id "
		    "'%s': log in as the station's own role (docs/fleet.md)",
		    shown, c->station_id);
	}
out:
	free(shown);
	fleet_pq.clear(res);
	return err;
}

static st_err
fleet_password(const struct config_fleet *f, char **out, char **cause)
{
	const char *v;

	*out = NULL;
	if (f->password_file != NULL && f->password_env != NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "[fleet] sets both password_file and password_env: "
		    "keep one");
	if (f->password_file != NULL)
		return cred_read_file(f->password_file, out, cause);
	if (f->password_env != NULL) {
		v = getenv(f->password_env);
		if (v == NULL || *v == '\0')
			return st_fail(cause, ST_E_CONFIG,
			    "[fleet] password_env names %s, which is not set",
			    f->password_env);
		*out = xstrdup(v);
	}
	/* Neither: libpq may still find one (~/.pgpass, a client
	 * certificate is not used); a refusal then says so. */
	return ST_OK;
}

st_err
fleet_connect(const struct config_fleet *f, const char *station_id,
    int timeout_ms, struct fleet_conn **out, char **cause)
{
	struct fleet_conn *c = NULL;
	char *password = NULL;
	char secs[16], options[96];
	const char *keys[8], *vals[8];
	int n = 0;
	st_err err;

	*out = NULL;
	if (f->url == NULL)
		return st_fail(cause, ST_E_CONFIG, "no [fleet] url configured");
	err = fleet_lib_load(cause);
	if (err)
		return err;
	err = fleet_password(f, &password, cause);
	if (err)
		goto out;
	/* libpq counts whole seconds, and 1 as 2. */
	snprintf(secs, sizeof secs, "%d",
	    timeout_ms < 2000 ? 2 : timeout_ms / 1000);
	/* The server stops a statement (or a wait for another station's
	 * reservation of the same serial) at our budget too. */
	snprintf(options, sizeof options,
	    "-c statement_timeout=%d -c lock_timeout=%d", timeout_ms,
	    timeout_ms);
	keys[n] = "dbname"; /* expanded: the URL */
	vals[n++] = f->url;
	keys[n] = "sslmode";
	vals[n++] = "verify-full";
	keys[n] = "sslrootcert";
	vals[n++] = f->ca_file;
	keys[n] = "connect_timeout";
	vals[n++] = secs;
	keys[n] = "options";
	vals[n++] = options;
	keys[n] = "application_name";
	vals[n++] = "station";
	if (password != NULL) {
		keys[n] = "password";
		vals[n++] = password;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	c = xcalloc(1, sizeof *c);
	c->station_id = xstrdup(station_id);
	c->pg = fleet_pq.connectdbParams(keys, vals, 1);
	if (c->pg == NULL || fleet_pq.status(c->pg) != CONNECTION_OK) {
		err = connect_failure(c->pg, password, cause);
		goto out;
	}
	err = check_role(c, cause);
	if (err)
		goto out;
	*out = c;
	c = NULL;
out:
	fleet_close(c);
	cred_free(password);
	return err;
}

st_err
fleet_reserve(struct fleet_conn *c, const char *serial, int slot,
    int64_t run_id, int late, struct fleet_holder *holder, char **cause)
{
	char slot_s[16], run_s[24];
	const char *params[4];
	PGresult *res = NULL;
	char *shown = NULL, *station = NULL;
	long long n = 0;
	st_err err;

	memset(holder, 0, sizeof *holder);
	snprintf(slot_s, sizeof slot_s, "%d", slot);
	snprintf(run_s, sizeof run_s, "%lld", (long long)run_id);
	params[0] = serial;
	params[1] = slot_s;
	params[2] = run_s;
	params[3] = late ? "true" : "false";
	res = fleet_pq.execParams(c->pg,
	    "SELECT granted, holder_station, holder_slot, holder_run,"
	    " holder_state FROM fleet.reserve($1, $2::integer, $3::bigint,"
	    " $4::boolean)",
	    4, NULL, params, NULL, NULL, 0);
	err = fleet_result_check(c, res, PGRES_TUPLES_OK,
	    "reserving the serial fleet-wide", cause);
	if (err)
		goto out;
	if (fleet_pq.ntuples(res) != 1 || fleet_pq.nfields(res) != 5) {
		err = st_fail(cause, ST_E_DB,
		    "fleet.reserve answered %d rows: is the schema of "
		    "`station fleet schema` loaded?",
		    fleet_pq.ntuples(res));
		goto out;
	}
	if (strcmp(fleet_pq.getvalue(res, 0, 0), "t") == 0)
		goto out;
	holder->station = xstrdup(fleet_pq.getvalue(res, 0, 1));
	if (num_valid(fleet_pq.getvalue(res, 0, 2), 0, 1000000, &n))
		holder->slot = (int)n;
	if (num_valid(fleet_pq.getvalue(res, 0, 3), 0, INT64_MAX, &n))
		holder->run_id = (int64_t)n;
	holder->state = xstrdup(fleet_pq.getvalue(res, 0, 4));
	/* Another station's id, from the database: shown, not trusted. */
	shown = text_escape(serial, 64);
	station = text_escape(holder->station, 64);
	if (strcmp(holder->state, "confirmed") == 0)
		err = st_fail(cause, ST_E_EXISTS,
		    "serial %s was already provisioned by station %s in slot "
		    "%d, run %lld (fleet database)",
		    shown, station, holder->slot, (long long)holder->run_id);
	else
		err = st_fail(cause, ST_E_STATE,
		    "serial %s is being provisioned by station %s in slot %d, "
		    "run %lld (fleet database)",
		    shown, station, holder->slot, (long long)holder->run_id);
out:
	free(shown);
	free(station);
	fleet_pq.clear(res);
	return err;
}
