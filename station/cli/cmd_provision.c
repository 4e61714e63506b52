/*
 * station provision DEVICE-URI [--serial SCANNED] [--profile P]
 *     [--operator ID] [--batch ID] [--broker HOST:PORT --broker-ca FILE]
 *     [--json]
 *
 * Provision one device end to end.  Exit 0 on PASS, 1 on FAIL, 2 for a
 * wrong command line (including a device URI that cannot name a device:
 * that run is still recorded as a FAIL at connect), 3 when the station
 * itself cannot work (config, ledger, CA).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/cli/cmd.h"
#include "station/cli/result_json.h"
#include "station/config/config.h"
#include "station/pipeline/event.h"
#include "station/pipeline/pipeline.h"
#include "station/pipeline/station.h"
#include "station/util/clock.h"
#include "station/util/text.h"

/* Progress lines on stderr for a person watching a terminal.  An
 * event's text may quote the device: it is shown through text_show. */
static void
progress_sink(void *ctx, const struct station_event *ev)
{
	FILE *fp = ctx;
	struct text_pool tp = { 0 };

	switch (ev->kind) {
	case EVENT_STEP_OK:
		fprintf(fp, "  %-13s %s\n", step_name(ev->step),
		    text_pool_show(&tp, ev->text ? ev->text : "ok"));
		break;
	case EVENT_STEP_FAIL:
		fprintf(fp, "  %-13s FAIL: %s\n", step_name(ev->step),
		    text_pool_show(&tp,
			ev->text ? ev->text : st_strerror(ev->err)));
		break;
	case EVENT_INFO:
		fprintf(fp, "  %-13s %s\n", "", text_pool_show(&tp, ev->text));
		break;
	default:
		break;
	}
	text_pool_clear(&tp);
}

static void
print_human(const struct station *st, const struct provision_result *res)
{
	struct text_pool tp = { 0 };

	/* A demo station's PASS is a TEST CA's: never mistaken for one of
	 * the line's. */
	if (station_mode_note(st) != NULL)
		printf("%s\n", station_mode_note(st));
	if (res->pass && res->already_run_id > 0) {
		char when[21];

		clock_iso8601_utc(when, res->already_at / 1000);
		printf("ALREADY PASS (run %lld, %s)  %s  certificate %s\n",
		    (long long)res->already_run_id, when,
		    text_pool_show(&tp, res->serial),
		    text_pool_show(&tp, res->cert_serial));
	} else if (res->pass) {
		/* a PASS without the smoke test never looks like a full one */
		printf("%s  %s  certificate %s  sha256 %s  smoke %s  %llu ms\n",
		    strcmp(res->smoke, "skipped") == 0 ?
			"PASS (no smoke test)" :
			"PASS",
		    text_pool_show(&tp, res->serial),
		    text_pool_show(&tp, res->cert_serial), res->fingerprint,
		    text_pool_show(&tp, res->smoke),
		    (unsigned long long)res->duration_ms);
	} else {
		printf("FAIL  %s  at %s: %s\n",
		    res->serial ? text_pool_show(&tp, res->serial) :
				  "(unknown)",
		    step_name(res->failed_step), res->headline);
		printf("      reason: %s\n      next:   %s\n",
		    text_pool_show(&tp, res->reason), res->advice);
	}
	text_pool_clear(&tp);
}

/* The command line; req's strings point into argv. */
struct provision_opts {
	struct provision_request req;
	struct station_opts station; /* the global options, --broker here */
	int json, quiet;
};

static const struct opt provision_opt_table[] = {
	{ .name = "--serial",
	    .kind = OPT_STRING,
	    .value = "SCANNED",
	    .offset = offsetof(struct provision_opts, req.scanned_serial),
	    .help = "the scanned serial the device must report" },
	{ .name = "--profile",
	    .kind = OPT_STRING,
	    .value = "P",
	    .offset = offsetof(struct provision_opts, req.profile),
	    .help = "the certificate profile (default: the configured one)" },
	{ .name = "--operator",
	    .kind = OPT_STRING,
	    .value = "ID",
	    .offset = offsetof(struct provision_opts, req.operator_id),
	    .help = "the operator, recorded with the run" },
	{ .name = "--batch",
	    .kind = OPT_STRING,
	    .value = "ID",
	    .offset = offsetof(struct provision_opts, req.batch),
	    .help = "the production batch, recorded with the run" },
	{ .name = "--broker",
	    .kind = OPT_STRING,
	    .value = "HOST:PORT",
	    .offset = offsetof(struct provision_opts, station.broker),
	    .help = "the smoke test's broker, instead of [broker]" },
	{ .name = "--broker-ca",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct provision_opts, station.broker_ca),
	    .help = "the CA that signed the broker's certificate" },
	{ .name = "--json",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct provision_opts, json),
	    .help = "the result as one JSON object on stdout" },
	{ .name = "--quiet",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct provision_opts, quiet),
	    .help = "no progress lines on stderr" },
	{ .name = NULL },
};

static const struct opt_template provision_template[] = {
	{ .opts = provision_opt_table,
	    .lower = 1,
	    .upper = 1,
	    .args = "DEVICE-URI" },
	{ .opts = NULL },
};

static int
cmd_provision_exec(const struct station_opts *so, int argc, char **argv)
{
	struct provision_opts o = { .station = *so };
	struct provision_request req = { 0 };
	struct provision_result res = { 0 };
	struct station *st = NULL;
	struct event_bus bus = { 0 };
	struct opt_args args;
	char *cause = NULL;
	int json, quiet, rc;

	rc = cmd_parse(&cmd_provision_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	req = o.req;
	req.device_uri = args.arg[0];
	json = o.json;
	quiet = o.quiet;
	if (!cmd_arg_printable("--serial", req.scanned_serial) ||
	    !cmd_arg_printable("--operator", req.operator_id) ||
	    !cmd_arg_printable("--batch", req.batch))
		return EXIT_USAGE;

	rc = cmd_open_station(&o.station, &st);
	if (rc != EXIT_PASS)
		return rc;
	if (!json && !quiet)
		event_bus_add(&bus, progress_sink, stderr);
	if (provision_run(st, &req, &bus, &res, &cause) != ST_OK) {
		/* A malformed request (URI, profile, serial) is the command
		 * line's mistake and was not recorded; anything else is the
		 * station's. */
		cmd_print_cause("provision", cause);
		rc = EXIT_STATION;
		if (res.err == ST_E_URI || res.err == ST_E_ARG)
			rc = EXIT_USAGE;
		goto out;
	}
	if (json) {
		char *s = provision_result_json(&res, &req);

		printf("%s\n", s);
		free(s);
	} else {
		print_human(st, &res);
	}
	/* Same rule as `station probe`: a malformed URI is the command
	 * line's fault, not the device's. */
	if (res.pass)
		rc = EXIT_PASS;
	else if (res.failed_step == STEP_CONNECT && res.err == ST_E_URI)
		rc = EXIT_USAGE;
	else
		rc = EXIT_FAIL;
out:
	fflush(stdout);
	event_bus_clear(&bus);
	provision_result_clear(&res);
	station_close(st);
	free(cause);
	return rc;
}

const struct cmd_entry cmd_provision_entry = {
	.name = "provision",
	.args = "DEVICE-URI [--serial SCANNED] [--profile P] [--operator ID] "
		"[--batch ID] [--broker HOST:PORT --broker-ca FILE] [--json] "
		"[--quiet]",
	.summary = "provision one device end to end (exit 0 PASS, 1 FAIL)",
	.options = provision_template,
	.exec = cmd_provision_exec,
};
