/*
 * station ui [--fixture F] [--operator ID] [--batch LOT] [--slot-scan]
 *            [--no-hotplug]
 *
 * The operator screen: one panel per fixture slot, driven by scans (a
 * serial scanned without a slot label goes to the slot whose board reports
 * it: line_locate_start).  This
 * is the only core file that calls into ui/; the screen gets its jobs
 * started through struct ui_ops and its events through a ui_queue on the
 * line's event bus.  Log lines go to <home>/station-ui.log, never over the
 * screen.
 *
 * When the fixture has usb: slots, a board plugged into one starts its run
 * (line_enable_hotplug) and those slots show "waiting for device" and
 * "device removed"; scans still work on every slot.  --no-hotplug leaves
 * every run to scans.
 */
#define LOG_MODULE "ui"
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/config/scan_format.h"
#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/pipeline/station.h"
#include "ui/ui.h"
#include "station/util/clock.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

#include "station/config/fixture.h"
#include "station/line/line.h"

struct ui_opts {
	const char *fixture_path;
	const char *operator_id;
	const char *batch;
	int slot_scan;
	int no_hotplug;
};

static const struct opt ui_opt_table[] = {
	{ .name = "--fixture",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ui_opts, fixture_path),
	    .help = "the fixture file (default: the configuration's slots)" },
	{ .name = "--operator",
	    .kind = OPT_STRING,
	    .value = "ID",
	    .offset = offsetof(struct ui_opts, operator_id),
	    .help = "the operator (default: the configured one)" },
	{ .name = "--batch",
	    .kind = OPT_STRING,
	    .value = "LOT",
	    .offset = offsetof(struct ui_opts, batch),
	    .help = "the production batch, recorded with every run" },
	{ .name = "--slot-scan",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ui_opts, slot_scan),
	    .help = "every serial must be followed by its slot's label" },
	{ .name = "--no-hotplug",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ui_opts, no_hotplug),
	    .help = "boards plugged into usb: slots wait for a scan" },
	{ .name = NULL },
};

static const struct opt_template ui_template[] = {
	{ .opts = ui_opt_table },
	{ .opts = NULL },
};

static int
ledger_tail_cb(const struct run_record *r, void *ctx)
{
	struct ui_model *m = ctx;
	char line[UI_TEXT_MAX];
	const char *serial = r->device_serial ? r->device_serial :
	    r->scanned_serial		      ? r->scanned_serial :
						"-";

	if (r->result != NULL && strcmp(r->result, "FAIL") == 0)
		ui_fmt(line, sizeof line,
		    "#%" PRId64 " S%-3d %-20s FAIL at %s: %s", r->id, r->slot,
		    serial, r->failed_step ? r->failed_step : "?",
		    r->reason ? r->reason : "");
	else
		ui_fmt(line, sizeof line, "#%" PRId64 " S%-3d %-20s %s", r->id,
		    r->slot, serial, r->result ? r->result : "?");
	ui_model_ledger_append(m, line);
	return 0;
}

/* Header and panels from the station and the fixture. */
static void
model_setup(struct ui_model *m, const struct station *st,
    const struct fixture *fx, const struct ui_opts *o)
{
	const struct config *cfg = st->cfg;
	size_t plen = 0;

	ui_model_init(m, fx->n_slots, clock_now_ms());
	ui_copy(m->station_id, sizeof m->station_id, cfg->station_id);
	ui_copy(m->operator_id, sizeof m->operator_id,
	    o->operator_id ? o->operator_id : cfg->operator_id);
	ui_copy(m->batch, sizeof m->batch, o->batch);
	ui_copy(m->ca, sizeof m->ca, st->ca ? st->ca->describe : "?");
	if (cfg->broker.host != NULL)
		ui_fmt(m->broker, sizeof m->broker, "%s:%d", cfg->broker.host,
		    cfg->broker.port);
	m->require_slot_scan = o->slot_scan;
	m->format = st->scan_format;
	for (size_t i = 0; i < fx->n_slots; i++) {
		const struct fixture_slot *s = &fx->slots[i];
		const char *p = s->profile ? s->profile : "default";

		ui_model_set_slot(m, i, s->index, s->label, s->device, p);
		if (strstr(m->profiles, p) == NULL && plen < sizeof m->profiles)
			plen += (size_t)snprintf(m->profiles + plen,
			    sizeof m->profiles - plen, "%s%s", plen ? ", " : "",
			    p);
	}
	ledger_list_runs(st->ledger, UI_LEDGER_LINES, ledger_tail_cb, m, NULL);
}

static st_err
submit(void *ctx, unsigned slot_index, const char *serial,
    const char *operator_id, const char *batch, char **cause)
{
	struct line_job job = {
		.slot = slot_index,
		.scanned_serial = serial,
		.operator_id = operator_id,
		.batch = batch,
	};

	return line_submit(ctx, &job, NULL, cause);
}

/* A lone scan: the line asks the idle slots off the screen's thread. */
static st_err
locate(void *ctx, const char *serial, const char *operator_id,
    const char *batch, char **cause)
{
	struct line_job job = {
		.scanned_serial = serial,
		.operator_id = operator_id,
		.batch = batch,
	};

	return line_locate_start(ctx, &job, cause);
}

/* The abort key: the run ends as a FAIL "aborted by operator". */
static st_err
abort_slot(void *ctx, unsigned slot_index, char **cause)
{
	return line_abort(ctx, slot_index, cause);
}

/* Boards plugged into usb: slots start runs.  Without hotplug here the
 * screen still works by scans: say so on the message line. */
static void
enable_hotplug(struct line *line, struct ui_model *m, const struct ui_opts *o)
{
	struct line_job defaults = {
		.operator_id = o->operator_id,
		.batch = o->batch,
	};
	char *why = NULL;

	if (line_enable_hotplug(line, &defaults, &why) != ST_OK) {
		log_warn("hotplug: %s", why);
		ui_model_message(m, 1,
		    "no auto-start on plug (%s): scan to "
		    "start",
		    why);
	}
	free(why);
}

static int
cmd_ui_exec(const struct station_opts *so, int argc, char **argv)
{
	struct ui_opts o = { 0 };
	struct opt_args args;
	struct station *st = NULL;
	struct fixture *fx = NULL;
	struct ui_queue *q = NULL;
	struct line *line = NULL;
	struct event_bus bus = { 0 };
	struct ui_model m = { 0 };
	struct scan_format **formats = NULL;
	char *cause = NULL, *log_path = NULL;
	FILE *log_fp = NULL;
	int rc;

	rc = cmd_parse(&cmd_ui_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr,
		    "station: ui: the operator screen needs a "
		    "terminal (for scripts use 'station provision')\n");
		return EXIT_USAGE;
	}
	rc = EXIT_STATION;
	/* Before the station opens and the line starts: without ncurses
	 * there is no screen to show them on. */
	if (ui_load(&cause) != ST_OK)
		goto fail;
	if (station_open(so, &st, &cause) != ST_OK)
		goto fail;
	if (o.fixture_path != NULL) {
		if (fixture_load(o.fixture_path, st->cfg, &fx, &cause) != ST_OK)
			goto fail;
	} else {
		fx = fixture_from_config(st->cfg);
	}
	if (fx->n_slots == 0) {
		st_fail(&cause, ST_E_CONFIG,
		    "no slots: pass --fixture FILE or "
		    "add [slot N] sections to the configuration");
		goto fail;
	}
	log_path = config_path_join(st->cfg->home, "station-ui.log");
	log_fp = fopen(log_path, "a");
	log_set_file(log_fp); /* NULL (cannot open) keeps stderr */
	if (ui_queue_new(&q, &cause) != ST_OK)
		goto fail;
	event_bus_add(&bus, ui_queue_sink, q);
	if (line_new(st, fx, &bus, &line, &cause) != ST_OK)
		goto fail;
	model_setup(&m, st, fx, &o);
	if (scan_formats_for_fixture(st->cfg, fx, &formats, &cause) != ST_OK)
		goto fail;
	for (size_t i = 0; i < fx->n_slots; i++)
		m.slots[i].label_format = formats[i];
	if (!o.no_hotplug && line_usb_slots(fx) > 0)
		enable_hotplug(line, &m, &o);

	struct ui_ops ops = { .ctx = line,
		.submit = submit,
		.locate = locate,
		.abort = abort_slot };
	if (ui_run(&m, q, &ops, &cause) != ST_OK)
		goto fail;
	if (ui_model_running(&m) > 0)
		fprintf(stderr,
		    "station: ui: waiting for %zu running slot(s)\n",
		    ui_model_running(&m));
	rc = EXIT_PASS;
	goto out;
fail:
	cmd_print_cause("ui", cause);
out:
	line_free(line); /* waits for running jobs: before the queue goes */
	event_bus_clear(&bus);
	ui_queue_free(q);
	ui_model_free(&m);
	if (fx != NULL)
		scan_formats_free(formats, fx->n_slots);
	fixture_free(fx);
	station_close(st);
	log_set_file(NULL);
	if (log_fp != NULL)
		fclose(log_fp);
	free(log_path);
	free(cause);
	return rc;
}

const struct cmd_entry cmd_ui_entry = {
	.name = "ui",
	.args = "[--fixture FILE] [--operator ID] [--batch LOT] [--slot-scan] "
		"[--no-hotplug]",
	.summary = "the operator screen: scan devices, see PASS/FAIL per slot",
	.options = ui_template,
	.exec = cmd_ui_exec,
};
