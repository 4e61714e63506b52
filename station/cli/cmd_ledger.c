/*
 * station ledger list [--limit N] [--json]
 * station ledger show SERIAL [--json]   (runs with their events, then
 *                                       certificates)
 * station ledger verify [--checkpoint MANIFEST] [--json]
 * station ledger init-key   (the ledger key, before the first open)
 *
 * Read-only views of the ledger for operators, test engineers and
 * auditors.  `verify` exits 0 when the ledger is intact (and, with
 * --checkpoint, still extends the chain head an export's manifest
 * recorded), 1 when tampering, truncation or corruption is found (and
 * names the table and row).
 */
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/cli/json_out.h"
#include "station/pipeline/station.h"
#include "station/util/clock.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct view {
	int json;
	int runs, certs;
	json_t *events;	  /* show --json: the run's events, put into its line */
	int64_t *run_ids; /* show: the device's runs, collected first */
	size_t n_run_ids;
};

static void
iso_ms(char buf[static 21], int64_t ms)
{
	if (ms <= 0) {
		memcpy(buf, "-", 2);
		return;
	}
	clock_iso8601_utc(buf, ms / 1000);
}

static int
run_cb(const struct run_record *r, void *ctx)
{
	struct view *v = ctx;
	char started[21];
	struct text_pool tp = { 0 };

	v->runs++;
	iso_ms(started, r->started_at);
	if (v->json) {
		json_t *o = json_object();

		json_object_set_new(o, "run_id", json_integer(r->id));
		json_object_set_new(o, "station",
		    json_str_or_null(r->station_id));
		json_object_set_new(o, "slot", json_integer(r->slot));
		json_object_set_new(o, "started", json_string(started));
		json_object_set_new(o, "serial",
		    json_str_or_null(r->device_serial));
		json_object_set_new(o, "result", json_str_or_null(r->result));
		json_object_set_new(o, "failed_step",
		    json_str_or_null(r->failed_step));
		json_object_set_new(o, "reason", json_str_or_null(r->reason));
		json_object_set_new(o, "cert_serial",
		    json_str_or_null(r->cert_serial));
		json_object_set_new(o, "operator",
		    json_str_or_null(r->operator_id));
		json_object_set_new(o, "batch", json_str_or_null(r->batch));
		json_object_set_new(o, "smoke",
		    json_str_or_null(r->smoke_status));
		if (v->events != NULL)
			json_object_set(o, "events", v->events);
		json_out_line(o);
		return 0;
	}
	/* Serials, reasons and notes may quote a device, a scanner or a CA:
	 * every text column goes through text_show. */
	printf("run %-6" PRId64 " %s  slot %-2d %-20s %-7s %s%s%s%s\n", r->id,
	    started, r->slot,
	    text_pool_show(&tp, r->device_serial ? r->device_serial : "-"),
	    text_pool_show(&tp, r->result), r->failed_step ? "at " : "",
	    text_pool_show(&tp, r->failed_step ? r->failed_step : ""),
	    r->failed_step && r->cert_serial ? " " : "",
	    text_pool_show(&tp, r->cert_serial ? r->cert_serial : ""));
	if (r->reason)
		printf("           %s\n", text_pool_show(&tp, r->reason));
	text_pool_clear(&tp);
	return 0;
}

static int
cert_cb(const struct cert_record *c, void *ctx)
{
	struct view *v = ctx;
	char nb[21], na[21];
	struct text_pool tp = { 0 };

	v->certs++;
	clock_iso8601_utc(nb, c->not_before);
	clock_iso8601_utc(na, c->not_after);
	if (v->json) {
		json_t *o = json_object();

		json_object_set_new(o, "cert_serial",
		    json_str_or_null(c->serial_hex));
		json_object_set_new(o, "serial",
		    json_str_or_null(c->device_serial));
		json_object_set_new(o, "run_id", json_integer(c->run_id));
		json_object_set_new(o, "status", json_str_or_null(c->status));
		json_object_set_new(o, "status_note",
		    json_str_or_null(c->status_note));
		json_object_set_new(o, "revoke_reason",
		    json_str_or_null(c->revoke_reason));
		json_object_set_new(o, "fingerprint_sha256",
		    json_str_or_null(c->fingerprint_sha256));
		json_object_set_new(o, "subject", json_str_or_null(c->subject));
		json_object_set_new(o, "issuer", json_str_or_null(c->issuer));
		json_object_set_new(o, "issuer_key_id",
		    json_str_or_null(c->issuer_key_id));
		json_object_set_new(o, "not_before", json_string(nb));
		json_object_set_new(o, "not_after", json_string(na));
		json_object_set_new(o, "backend", json_str_or_null(c->backend));
		json_out_line(o);
		return 0;
	}
	/* "revoked (superseded)": the reason the CA was (or is to be) asked
	 * for, once a revocation is recorded. */
	char *status = c->revoke_reason ?
	    xasprintf("%s (%s)", c->status, c->revoke_reason) :
	    xstrdup(c->status);
	printf("cert %s  %-8s run %" PRId64 "  %s\n     sha256 %s\n"
	       "     valid %s .. %s  issuer %s%s%s%s%s\n",
	    text_pool_show(&tp, c->serial_hex), text_pool_show(&tp, status),
	    c->run_id, text_pool_show(&tp, c->subject),
	    text_pool_show(&tp, c->fingerprint_sha256), nb, na,
	    text_pool_show(&tp, c->issuer),
	    c->issuer_key_id ? "\n     issuer key " : "",
	    text_pool_show(&tp, c->issuer_key_id ? c->issuer_key_id : ""),
	    c->status_note ? "\n     note " : "",
	    text_pool_show(&tp, c->status_note ? c->status_note : ""));
	text_pool_clear(&tp);
	free(status);
	return 0;
}

/* show: each run's events (the steps passed, the failure with its
 * detail, the CA faults), text escaped: details quote devices and CAs. */
static int
event_cb(const struct run_event *e, void *ctx)
{
	struct view *v = ctx;

	if (v->json) {
		char at[21];

		iso_ms(at, e->at_ms);
		json_array_append_new(v->events,
		    json_pack("{s:s, s:o, s:o, s:o}", "at", at, "step",
			json_str_or_null(e->step), "status",
			json_str_or_null(e->status), "detail",
			json_str_or_null(e->detail)));
		return 0;
	}
	char *step = text_escape(e->step, 32);
	char *detail = e->detail ? text_escape(e->detail, 1024) : NULL;
	if (detail != NULL)
		printf("           %-12s %-4s %s\n", step, e->status, detail);
	else
		printf("           %-12s %s\n", step, e->status);
	free(detail);
	free(step);
	return 0;
}

static int
collect_run_cb(const struct run_record *r, void *ctx)
{
	struct view *v = ctx;

	v->run_ids =
	    xrealloc(v->run_ids, (v->n_run_ids + 1) * sizeof *v->run_ids);
	v->run_ids[v->n_run_ids++] = r->id;
	return 0;
}

/* One run of `show` with its events under it (a ledger callback cannot
 * query the ledger again, hence the ids collected first). */
static st_err
show_run(struct ledger *l, struct view *v, int64_t id, char **cause)
{
	struct run_record r = { 0 };
	st_err err = ledger_run_get(l, id, &r, cause);

	if (err)
		goto out;
	if (v->json) {
		v->events = json_array();
		err = ledger_run_events(l, id, event_cb, v, cause);
		if (err)
			goto out;
		run_cb(&r, v);
	} else {
		run_cb(&r, v);
		err = ledger_run_events(l, id, event_cb, v, cause);
	}
out:
	json_decref(v->events);
	v->events = NULL;
	ledger_run_record_clear(&r);
	return err;
}

static st_err
show_device(struct ledger *l, struct view *v, const char *serial, char **cause)
{
	st_err err =
	    ledger_device_history(l, serial, collect_run_cb, NULL, v, cause);

	for (size_t i = 0; err == ST_OK && i < v->n_run_ids; i++)
		err = show_run(l, v, v->run_ids[i], cause);
	if (err == ST_OK)
		err = ledger_device_history(l, serial, NULL, cert_cb, v, cause);
	free(v->run_ids);
	v->run_ids = NULL;
	return err;
}

static int
ledger_verify_cmd(struct station *st, const char *checkpoint, int json)
{
	struct ledger_verify_report rep;
	struct ledger_checkpoint cp;
	char *cause = NULL;
	st_err err;

	memset(&rep, 0, sizeof rep);
	if (checkpoint != NULL) {
		err = ledger_checkpoint_load(checkpoint, &cp, &cause);
		if (err) {
			cmd_print_cause("ledger verify --checkpoint", cause);
			free(cause);
			return EXIT_USAGE;
		}
	}
	err = ledger_verify_checkpoint(st->ledger,
	    checkpoint != NULL ? &cp : NULL, &rep, &cause);

	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "result",
		    json_string(err ? "FAIL" : "PASS"));
		json_object_set_new(o, "problem",
		    json_string(ledger_problem_name(rep.problem)));
		json_object_set_new(o, "runs_checked",
		    json_integer(rep.runs_checked));
		json_object_set_new(o, "bad_run_id",
		    json_integer(rep.bad_run_id));
		json_object_set_new(o, "entries_checked",
		    json_integer(rep.entries_checked));
		json_object_set_new(o, "table",
		    json_str_or_null(rep.bad_table[0] ? rep.bad_table : NULL));
		json_object_set_new(o, "row",
		    json_str_or_null(rep.bad_row[0] ? rep.bad_row : NULL));
		json_object_set_new(o, "detail",
		    json_str_or_null(err ? (cause ? cause : rep.detail) : ""));
		json_out_line(o);
	} else if (err) {
		char *shown = text_show(cause ? cause : rep.detail, 4096);

		printf("FAIL  ledger %s: %s\n",
		    ledger_problem_name(rep.problem), shown);
		free(shown);
	} else {
		printf("PASS  ledger intact: %" PRId64
		       " runs in the chain, %" PRId64 " keyed entries%s\n",
		    rep.runs_checked, rep.entries_checked,
		    checkpoint != NULL ? ", extends the checkpoint" : "");
	}
	free(cause);
	if (err == ST_E_MISMATCH)
		return EXIT_FAIL;
	return err ? EXIT_STATION : EXIT_PASS;
}

struct ledger_opts {
	int json;
	long long limit;
	const char *checkpoint;
};

/* Every view takes both options; --limit counts only for `list`. */
static const struct opt ledger_opt_table[] = {
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ledger_opts, json),
	    .help = "one JSON object per line" },
	{ .name = "--limit",
	    .kind = OPT_NUMBER,
	    .value = "N",
	    .min = 0,
	    .max = INT_MAX,
	    .offset = offsetof(struct ledger_opts, limit),
	    .help = "list: the newest N runs (default 20, 0: all)" },
	{ .name = NULL },
};

static const struct opt verify_opt_table[] = {
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ledger_opts, json),
	    .help = "one JSON object per line" },
	{ .name = "--checkpoint",
	    .kind = OPT_STRING,
	    .value = "MANIFEST",
	    .offset = offsetof(struct ledger_opts, checkpoint),
	    .help = "an export's manifest: the ledger must extend its chain "
		    "head" },
	{ .name = NULL },
};

static const struct opt init_key_opt_table[] = {
	{ .name = NULL },
};

static const struct opt_template ledger_template[] = {
	{ .sub = "list", .opts = ledger_opt_table },
	{ .sub = "show",
	    .opts = ledger_opt_table,
	    .lower = 1,
	    .upper = 1,
	    .args = "SERIAL" },
	{ .sub = "verify", .opts = verify_opt_table },
	{ .sub = "init-key", .opts = init_key_opt_table },
	{ .opts = NULL },
};

/*
 * Make the ledger key where the configuration says ([ledger] key_file,
 * else the default beside the ledger's directory), before the station
 * first opens its ledger (which would make it too): for an administrator
 * who wants to back it up first.  The ledger is not opened; an existing
 * key or ledger is left alone (exit 1).
 */
static int
ledger_init_key(const struct station_opts *so)
{
	struct config *cfg = NULL;
	char *cause = NULL, *key = NULL, *shown;
	int rc = EXIT_PASS;
	st_err err = ST_OK;

	if (so->config_path != NULL)
		err = config_load(so->config_path, &cfg, &cause);
	else
		cfg = config_default(NULL);
	if (err == ST_OK) {
		key = cfg->ledger_key_path ?
		    xstrdup(cfg->ledger_key_path) :
		    ledger_key_default_path(cfg->ledger_path);
		if (access(cfg->ledger_path, F_OK) == 0)
			err = st_fail(&cause, ST_E_EXISTS,
			    "the ledger %s exists: its key was made with it; "
			    "a lost key is restored from its backup "
			    "(docs/admin.md)",
			    cfg->ledger_path);
		else
			err = ledger_key_init(key, cfg->ledger_path, &cause);
	}
	if (err) {
		cmd_print_cause("ledger init-key", cause);
		rc = err == ST_E_EXISTS ? EXIT_FAIL : EXIT_STATION;
	} else {
		shown = text_show(key, 4096);
		printf("ledger key made: %s (mode 0600); back it up now "
		       "(docs/admin.md)\n",
		    shown);
		free(shown);
	}
	free(key);
	free(cause);
	config_free(cfg);
	return rc;
}

/* A station that has recorded nothing has no ledger file yet: nothing to
 * list or show; verify has nothing to vouch for (a ledger that went
 * missing must not PASS). */
static int
no_ledger_yet(struct station *st, const char *sub, const char *serial)
{
	char *shown;

	if (strcmp(sub, "list") == 0)
		return EXIT_PASS;
	if (strcmp(sub, "show") == 0) {
		shown = text_escape(serial, 128);
		fprintf(stderr, "station: no runs or certificates for '%s'\n",
		    shown);
		free(shown);
		return EXIT_FAIL;
	}
	shown = text_show(st->cfg->ledger_path, 4096);
	fprintf(stderr,
	    "station: ledger verify: there is no ledger at %s: nothing has "
	    "been recorded there, or it was removed (restore it from its "
	    "backup; is [ledger] path right?)\n",
	    shown);
	free(shown);
	return EXIT_STATION;
}

static int
cmd_ledger_exec(const struct station_opts *so, int argc, char **argv)
{
	struct ledger_opts o = { .limit = 20 };
	struct opt_args args;
	struct view v = { 0 };
	const char *sub, *serial;
	int rc;
	struct station *st = NULL;
	char *cause = NULL;
	st_err err = ST_OK;

	rc = cmd_parse(&cmd_ledger_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	sub = argv[1];
	serial = args.arg[0];
	v.json = o.json;
	if (strcmp(sub, "init-key") == 0)
		return ledger_init_key(so);
	rc = cmd_open_ledger_ro(so, &st);
	if (rc != EXIT_PASS)
		return rc;
	if (st->ledger == NULL) {
		rc = no_ledger_yet(st, sub, serial);
		station_close(st);
		return rc;
	}
	if (strcmp(sub, "list") == 0) {
		err = ledger_list_runs(st->ledger, (int)o.limit, run_cb, &v,
		    &cause);
	} else if (strcmp(sub, "show") == 0) {
		err = show_device(st->ledger, &v, serial, &cause);
		if (err == ST_OK && v.runs == 0 && v.certs == 0) {
			char *shown = text_escape(serial, 128);

			fprintf(stderr,
			    "station: no runs or certificates for "
			    "'%s'\n",
			    shown);
			free(shown);
			rc = EXIT_FAIL;
		}
	} else {
		rc = ledger_verify_cmd(st, o.checkpoint, v.json);
	}
	if (err) {
		char *what = xasprintf("ledger %s", sub);

		cmd_print_cause(what, cause);
		free(what);
		rc = EXIT_STATION;
	}
	free(cause);
	station_close(st);
	return rc;
}

const struct cmd_entry cmd_ledger_entry = {
	.name = "ledger",
	.args = "list [--limit N] [--json] | show SERIAL [--json] | "
		"verify [--checkpoint MANIFEST] [--json] | init-key",
	.summary = "show runs and certificates; verify the keyed chain",
	.options = ledger_template,
	.exec = cmd_ledger_exec,
};
