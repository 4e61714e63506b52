/*
 * station batch [--fixture F] [--operator ID] [--batch LOT] [--input FILE]
 *               [--hotplug [--count N]]
 *
 * Headless line: reads scans, one per line ("SERIAL [SLOT-LABEL]"), from
 * stdin or --input, provisions each on its slot (a labelled scan waits for
 * its slot to be free; a lone serial goes to the idle slot whose board
 * reports it: line_submit_located) and writes one JSON line per finished
 * run, then a summary line.  A scan that is not a serial, names an unknown
 * slot, repeats a serial that is running or has PASSed in this batch, or
 * is a lone serial no idle board (or more than one) reports is refused
 * with a JSON line of its own; a serial that FAILed may be scanned again
 * (rework).
 *
 * With --hotplug, runs are started by boards plugged into the fixture's
 * usb: slots (line_enable_hotplug: no scanned serial, no label check)
 * and scans are not read.  The batch ends after N finished runs with
 * --count N, else when the input reaches EOF and no run is going on; runs
 * that started before the end is reached are finished and reported too.
 *
 * Exit 0 when every run PASSed and no scan was refused, 1 otherwise, 2
 * for usage, 3 when the station could not work (config, ledger, CA).
 */
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/cli/cmd.h"
#include "station/cli/json_out.h"
#include "station/cli/result_json.h"
#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/line/line.h"
#include "station/config/profile.h"
#include "station/cli/scan_line.h"
#include "station/config/scan_format.h"
#include "station/pipeline/station.h"
#include "station/util/xalloc.h"

enum scan_state { SCAN_RUNNING, SCAN_PASSED };

struct scan_seen {
	char *serial;
	enum scan_state state;
};

/* Shared by the reading thread and the slot threads (results). */
struct batch {
	pthread_mutex_t mu; /* stdout, the table and the counters */
	pthread_cond_t ran; /* a run finished (for --count) */
	struct scan_seen *seen;
	size_t n_seen;
	unsigned runs, passed, failed, rejected;
	unsigned passed_no_smoke; /* PASSes whose smoke test was skipped */
	int station_error;
	const struct scan_format *format; /* label format, NULL: any */
	struct scan_format **rules;	  /* the slots' label rules (owned) */
};

/* With the lock: the entry for `serial`, or NULL. */
static struct scan_seen *
seen_find(struct batch *b, const char *serial)
{
	for (size_t i = 0; i < b->n_seen; i++) {
		if (strcmp(b->seen[i].serial, serial) == 0)
			return &b->seen[i];
	}
	return NULL;
}

static void
seen_remove(struct batch *b, struct scan_seen *e)
{
	free(e->serial);
	*e = b->seen[--b->n_seen];
}

/* With the lock: one JSON object as a line on stdout (takes `o`). */
static void
put_json(json_t *o)
{
	json_out_line(o);
	fflush(stdout);
}

static void
reject(struct batch *b, unsigned lineno, const char *scan, const char *why)
{
	json_t *o = json_object();

	json_object_set_new(o, "rejected", json_true());
	json_object_set_new(o, "line", json_integer(lineno));
	json_object_set_new(o, "scan", json_str_or_null(scan));
	json_object_set_new(o, "reason", json_string(why));
	pthread_mutex_lock(&b->mu);
	b->rejected++;
	put_json(o);
	pthread_mutex_unlock(&b->mu);
}

/* The JSON-lines sink on the line's bus (slot threads): one line per
 * finished run, from its EVENT_RUN_END (event.h). */
static void
json_sink(void *ctx, const struct station_event *ev)
{
	struct batch *b = ctx;
	const struct provision_request *req = ev->req;
	const struct provision_result *res = ev->res;
	const char *scanned = NULL;
	struct scan_seen *e = NULL;
	char *line = NULL;

	if (ev->kind != EVENT_RUN_END)
		return;
	scanned = req->scanned_serial;
	if (ev->station_err == ST_OK)
		line = provision_result_json(res, req);
	pthread_mutex_lock(&b->mu);
	b->runs++;
	pthread_cond_broadcast(&b->ran);
	if (ev->station_err) {
		json_t *o = json_object();

		json_object_set_new(o, "slot", json_integer(ev->slot));
		json_object_set_new(o, "scanned_serial",
		    json_str_or_null(scanned));
		json_object_set_new(o, "result", json_string("ERROR"));
		json_object_set_new(o, "reason",
		    json_str_or_null(ev->station_cause));
		put_json(o);
		cmd_print_cause(NULL, ev->station_cause);
		b->station_error = 1;
		b->failed++;
	} else {
		printf("%s\n", line);
		fflush(stdout);
		if (res->pass)
			b->passed++;
		if (res->pass &&
		    (res->smoke == NULL || strcmp(res->smoke, "skipped") == 0))
			b->passed_no_smoke++;
		if (!res->pass)
			b->failed++;
	}
	if (scanned)
		e = seen_find(b, scanned);
	if (e && ev->station_err == ST_OK && res->pass)
		e->state = SCAN_PASSED;
	else if (e)
		seen_remove(b, e); /* FAILed: may be scanned again */
	pthread_mutex_unlock(&b->mu);
	free(line);
}

/* A serial without a slot label: run it on the slot whose board reports
 * it, or refuse it at once (nothing started, nothing recorded). */
static void
located(struct batch *b, struct line *l, const struct line_job *job,
    unsigned lineno, const char *shown)
{
	char *why = NULL;
	st_err err;

	err = line_submit_located(l, job, NULL, &why);
	if (err == ST_OK)
		goto out;
	pthread_mutex_lock(&b->mu);
	struct scan_seen *e = seen_find(b, job->scanned_serial);
	if (e != NULL)
		seen_remove(b, e); /* no run: it may be scanned again */
	pthread_mutex_unlock(&b->mu);
	reject(b, lineno, shown, why);
out:
	free(why);
}

/* One scan line: refuse it, or start a run (waiting for a labelled slot;
 * a lone serial goes to the slot holding its board). */
static void
handle_scan(struct batch *b, struct line *l, const struct fixture *fx,
    const struct line_job *tmpl, unsigned lineno, const char *raw)
{
	struct line_job job = *tmpl;
	char *shown = xstrdup(raw), *serial = NULL, *why = NULL;
	const char *refusal = NULL;
	unsigned slot = 0;

	shown[strcspn(shown, "\r\n")] = '\0';
	switch (scan_line_parse(raw, fx, b->rules, b->format, &serial, &slot,
	    &refusal)) {
	case SCAN_BLANK:
		goto out;
	case SCAN_REFUSED:
		reject(b, lineno, shown, refusal);
		goto out;
	case SCAN_OK:
		break;
	}
	if (slot != 0)
		job.slot = slot;
	pthread_mutex_lock(&b->mu);
	struct scan_seen *e = seen_find(b, serial);
	int dup = e != NULL, dup_passed = e && e->state == SCAN_PASSED;
	if (e == NULL) {
		b->seen = xrealloc(b->seen, (b->n_seen + 1) * sizeof *b->seen);
		b->seen[b->n_seen].serial = xstrdup(serial);
		b->seen[b->n_seen].state = SCAN_RUNNING;
		b->n_seen++;
	}
	pthread_mutex_unlock(&b->mu);
	if (dup) {
		reject(b, lineno, shown,
		    dup_passed ?
			"duplicate: this serial already PASSed in this batch" :
			"duplicate: this serial is being provisioned");
		goto out;
	}
	job.scanned_serial = serial;
	if (job.slot == 0) {
		located(b, l, &job, lineno, shown);
		goto out;
	}
	for (;;) {
		line_wait_free(l, job.slot);
		free(why);
		why = NULL;
		st_err err = line_submit(l, &job, NULL, &why);
		if (err != ST_E_STATE)
			break;
	}
out:
	free(why);
	free(shown);
	free(serial);
}

struct batch_opts {
	struct line_job tmpl;
	int hotplug;
	unsigned count; /* --hotplug: stop after this many runs; 0 = EOF */
};

/* --hotplug: wait for the end (N runs, or EOF on the input). */
static void
wait_hotplug_end(struct batch *b, FILE *in, unsigned count, char **buf,
    size_t *cap)
{
	if (count == 0) {
		while (getline(buf, cap, in) >= 0)
			; /* lines are not scans here: only EOF matters */
		return;
	}
	pthread_mutex_lock(&b->mu);
	while (b->runs < count)
		pthread_cond_wait(&b->ran, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

static int
run_batch(struct station *st, const struct fixture *fx, FILE *in,
    const struct batch_opts *opts)
{
	const struct line_job *tmpl = &opts->tmpl;
	struct batch b = { .seen = NULL, .format = st->scan_format };
	struct event_bus bus = { 0 };
	struct line *l = NULL;
	char *cause = NULL, *buf = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc;

	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.ran, NULL);
	event_bus_add(&bus, json_sink, &b);
	if (scan_formats_for_fixture(st->cfg, fx, &b.rules, &cause) != ST_OK) {
		cmd_print_cause(NULL, cause);
		rc = EXIT_STATION;
		goto out;
	}
	if (line_new(st, fx, &bus, &l, &cause) != ST_OK) {
		cmd_print_cause(NULL, cause);
		rc = EXIT_STATION;
		goto out;
	}
	if (opts->hotplug) {
		if (line_enable_hotplug(l, tmpl, &cause) != ST_OK) {
			cmd_print_cause(NULL, cause);
			line_free(l);
			rc = EXIT_STATION;
			goto out;
		}
		wait_hotplug_end(&b, in, opts->count, &buf, &cap);
	} else {
		while (getline(&buf, &cap, in) >= 0)
			handle_scan(&b, l, fx, tmpl, ++lineno, buf);
	}
	line_wait_idle(l);
	line_free(l);

	json_t *o = json_object();
	json_object_set_new(o, "summary", json_true());
	json_object_set_new(o, "runs", json_integer(b.runs));
	json_object_set_new(o, "passed", json_integer(b.passed));
	json_object_set_new(o, "failed", json_integer(b.failed));
	json_object_set_new(o, "rejected_scans", json_integer(b.rejected));
	json_object_set_new(o, "passed_no_smoke",
	    json_integer(b.passed_no_smoke));
	/* a demo station's runs are a TEST CA's (station_mode_note) */
	if (station_mode_note(st) != NULL)
		json_object_set_new(o, "mode",
		    json_string(station_mode_note(st)));
	put_json(o);
	fprintf(stderr,
	    "station: batch: %u run(s): %u PASS (%u with no smoke test), %u "
	    "FAIL, %u scan(s) refused%s%s\n",
	    b.runs, b.passed, b.passed_no_smoke, b.failed, b.rejected,
	    station_mode_note(st) != NULL ? "; " : "",
	    station_mode_note(st) != NULL ? station_mode_note(st) : "");
	if (b.station_error)
		rc = EXIT_STATION;
	else if (b.failed || b.rejected)
		rc = EXIT_FAIL;
	else
		rc = EXIT_PASS;
out:
	event_bus_clear(&bus);
	scan_formats_free(b.rules, fx->n_slots);
	for (size_t i = 0; i < b.n_seen; i++)
		free(b.seen[i].serial);
	free(b.seen);
	free(buf);
	free(cause);
	pthread_cond_destroy(&b.ran);
	pthread_mutex_destroy(&b.mu);
	return rc;
}

/* The command line (strings point into argv). */
struct batch_args {
	const char *fixture_path, *operator_id, *batch, *input;
	int hotplug;
	long long count; /* 0: not given */
};

static const struct opt batch_opt_table[] = {
	{ .name = "--fixture",
	    .kind = OPT_STRING,
	    .value = "F",
	    .offset = offsetof(struct batch_args, fixture_path),
	    .help = "the fixture file (default: the configuration's slots)" },
	{ .name = "--operator",
	    .kind = OPT_STRING,
	    .value = "ID",
	    .offset = offsetof(struct batch_args, operator_id),
	    .help = "the operator, recorded with every run" },
	{ .name = "--batch",
	    .kind = OPT_STRING,
	    .value = "LOT",
	    .offset = offsetof(struct batch_args, batch),
	    .help = "the production batch, recorded with every run" },
	{ .name = "--input",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct batch_args, input),
	    .help = "read the scans from FILE instead of stdin" },
	{ .name = "--hotplug",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct batch_args, hotplug),
	    .help = "start runs on boards plugged into usb: slots, not scans" },
	{ .name = "--count",
	    .kind = OPT_NUMBER,
	    .value = "N",
	    .min = 1,
	    .max = 1000000,
	    .offset = offsetof(struct batch_args, count),
	    .help = "with --hotplug: end after N finished runs" },
	{ .name = NULL },
};

static const struct opt_template batch_template[] = {
	{ .opts = batch_opt_table },
	{ .opts = NULL },
};

static int
cmd_batch_exec(const struct station_opts *so, int argc, char **argv)
{
	struct batch_args a = { .count = 0 };
	struct batch_opts o = { .hotplug = 0 };
	struct opt_args args;
	const char *fixture_path = NULL, *input = NULL;
	struct station *st = NULL;
	struct fixture *fx = NULL;
	FILE *in = stdin;
	char *cause = NULL;
	int rc;

	rc = cmd_parse(&cmd_batch_entry, argc, argv, &a, &args);
	if (rc != EXIT_PASS)
		return rc;
	if (a.count > 0 && !a.hotplug) {
		cmd_print_cause("batch",
		    "--count counts hotplugged runs: "
		    "give --hotplug too");
		return cmd_usage(&cmd_batch_entry);
	}
	fixture_path = a.fixture_path;
	input = a.input;
	o.tmpl.operator_id = a.operator_id;
	o.tmpl.batch = a.batch;
	o.hotplug = a.hotplug;
	o.count = (unsigned)a.count;
	if (!cmd_arg_printable("--operator", o.tmpl.operator_id) ||
	    !cmd_arg_printable("--batch", o.tmpl.batch))
		return EXIT_USAGE;
	rc = EXIT_STATION;
	if (input) {
		in = fopen(input, "re");
		if (in == NULL) {
			fprintf(stderr, "station: %s: cannot open\n", input);
			return EXIT_USAGE;
		}
	}
	if (station_open(so, &st, &cause) != ST_OK)
		goto fail;
	if (fixture_path) {
		if (fixture_load(fixture_path, st->cfg, &fx, &cause) != ST_OK)
			goto fail;
	} else {
		fx = fixture_from_config(st->cfg);
	}
	rc = run_batch(st, fx, in, &o);
	goto out;
fail:
	cmd_print_cause(NULL, cause);
out:
	fixture_free(fx);
	station_close(st);
	free(cause);
	if (in != stdin)
		fclose(in);
	return rc;
}

const struct cmd_entry cmd_batch_entry = {
	.name = "batch",
	.args = "[--fixture F] [--operator ID] [--batch LOT] [--input FILE] "
		"[--hotplug [--count N]]",
	.summary =
	    "provision the scans read from stdin (SERIAL [SLOT]) on "
	    "the fixture's slots, or with --hotplug the boards plugged into "
	    "its usb: slots; JSON lines out",
	.options = batch_template,
	.exec = cmd_batch_exec,
};
