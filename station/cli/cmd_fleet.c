/*
 * station fleet schema | status [--json] | drain
 *
 * The fleet database (docs/fleet.md).  `schema` prints the SQL of the
 * schema and its roles.  `drain` ships the ledger's outbox now.  `status`
 * drains first (a reconnection is when conflicts of an outage are found),
 * then shows the outbox and every conflict recorded.  Exit 0; 1 when a
 * conflict is recorded (status); 3 when the station cannot work (no
 * [fleet], the ledger) or, for drain, the fleet database is unreachable.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/fleet.h"
#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/fleet/fleet.h"
#include "station/pipeline/station.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct fleet_opts {
	int json;
};

static const struct opt fleet_opt_table[] = {
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct fleet_opts, json),
	    .help = "status: one JSON object" },
	{ .name = NULL },
};

static const struct opt no_opts[] = { { .name = NULL } };

static const struct opt_template fleet_template[] = {
	{ .sub = "schema", .opts = no_opts },
	{ .sub = "status", .opts = fleet_opt_table },
	{ .sub = "drain", .opts = no_opts },
	{ .opts = NULL },
};

/* Connect and ship the outbox: ST_OK with *res, or the cause. */
static st_err
drain_now(struct station *st, struct fleet_drain_result *res, char **cause)
{
	const struct config *cfg = st->cfg;
	struct fleet_conn *c = NULL;
	st_err err;

	memset(res, 0, sizeof *res);
	err = fleet_connect(&cfg->fleet, cfg->station_id, cfg->fleet.timeout_ms,
	    &c, cause);
	if (err == ST_OK)
		err = fleet_drain(c, st->ledger, 60000, res, cause);
	fleet_close(c);
	return err;
}

static void
print_status_json(const struct fleet_local_status *s, st_err derr,
    const char *dcause, const struct fleet_drain_result *res)
{
	json_t *o = json_object();
	json_t *list = json_array();
	char *text;

	json_object_set_new(o, "reachable", json_boolean(derr == ST_OK));
	if (derr)
		json_object_set_new(o, "error",
		    json_string(dcause ? dcause : ""));
	json_object_set_new(o, "shipped_now",
	    json_integer((json_int_t)res->shipped));
	json_object_set_new(o, "pending", json_integer(s->pending));
	json_object_set_new(o, "shipped", json_integer(s->shipped));
	for (size_t i = 0; i < s->n_conflicts; i++)
		json_array_append_new(list, json_string(s->conflicts[i]));
	json_object_set_new(o, "conflicts", list);
	text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	printf("%s\n", text ? text : "{}");
	free(text);
	json_decref(o);
}

static void
print_status_text(const struct fleet_local_status *s, st_err derr,
    const char *dcause, const struct fleet_drain_result *res)
{
	char *shown;

	if (derr == ST_OK) {
		printf(
		    "fleet database: reachable, %zu outbox rows shipped now\n",
		    res->shipped);
	} else {
		shown = text_show(dcause ? dcause : "failed", 1024);
		printf("fleet database: %s\n", shown);
		free(shown);
	}
	printf("outbox: %lld pending, %lld shipped\n", (long long)s->pending,
	    (long long)s->shipped);
	printf("conflicts: %zu\n", s->n_conflicts);
	for (size_t i = 0; i < s->n_conflicts; i++) {
		shown = text_show(s->conflicts[i], 1024);
		printf("  CONFLICT %s\n", shown);
		free(shown);
	}
}

static int
fleet_status(struct station *st, int json)
{
	struct fleet_local_status s;
	struct fleet_drain_result res;
	char *dcause = NULL, *cause = NULL;
	st_err derr, err;
	int rc = EXIT_PASS;

	derr = drain_now(st, &res, &dcause);
	err = ledger_fleet_status(st->ledger, &s, &cause);
	if (err) {
		cmd_print_cause("fleet status", cause);
		rc = EXIT_STATION;
		goto out;
	}
	if (json)
		print_status_json(&s, derr, dcause, &res);
	else
		print_status_text(&s, derr, dcause, &res);
	if (s.n_conflicts > 0)
		rc = EXIT_FAIL;
	fleet_local_status_clear(&s);
out:
	free(dcause);
	free(cause);
	return rc;
}

static int
cmd_fleet_exec(const struct station_opts *so, int argc, char **argv)
{
	struct fleet_opts o = { 0 };
	struct opt_args args;
	struct fleet_drain_result res;
	struct station *st = NULL;
	char *cause = NULL;
	int rc;

	rc = cmd_parse(&cmd_fleet_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	if (strcmp(argv[1], "schema") == 0) {
		fputs(fleet_schema_sql(), stdout);
		return EXIT_PASS;
	}
	rc = cmd_open_ledger(so, &st);
	if (rc != EXIT_PASS)
		return rc;
	if (st->cfg->fleet.url == NULL) {
		cmd_print_cause("fleet",
		    "no [fleet] section in the configuration (docs/fleet.md)");
		rc = EXIT_STATION;
	} else if (strcmp(argv[1], "status") == 0) {
		rc = fleet_status(st, o.json);
	} else if (drain_now(st, &res, &cause) != ST_OK) {
		cmd_print_cause("fleet drain", cause);
		rc = EXIT_STATION;
	} else {
		printf("%zu outbox rows shipped, %zu conflicts found\n",
		    res.shipped, res.conflicts);
	}
	free(cause);
	station_close(st);
	return rc;
}

const struct cmd_entry cmd_fleet_entry = {
	.name = "fleet",
	.args = "schema | status [--json] | drain",
	.summary = "the fleet database: its schema, the run feed, conflicts",
	.options = fleet_template,
	.exec = cmd_fleet_exec,
};
