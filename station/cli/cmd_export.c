/*
 * station export --out DIR [--format csv|jsonl] [--since-last | --from T --to T]
 *
 * The nightly ERP export (db/export.h, docs/export.md).  Exit 0 when the
 * export was written, even with no rows; 3 when the station could not do
 * it (destination missing, not a directory or not writable, disk full,
 * ledger locked, another export running); 2 for a bad command line.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/export.h"
#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/pipeline/station.h"
#include "station/util/text.h"

/* "2026-11-22T00:00:00Z" (or with ".123" milliseconds) -> unix ms. */
static int
parse_utc(const char *s, int64_t *ms)
{
	struct tm tm = { 0 };
	int n = 0, frac = 0, fn = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		&tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	if (s[n] == '.') {
		if (sscanf(s + n, ".%3d%n", &frac, &fn) != 1 || fn != 4)
			return -1;
		n += fn;
	}
	if (strcmp(s + n, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*ms = (int64_t)timegm(&tm) * 1000 + frac;
	return 0;
}

static const char *
problem_hint(enum export_problem p)
{
	switch (p) {
	case EXPORT_DEST_MISSING:
		return "create the export directory or fix --out";
	case EXPORT_DEST_NOT_DIR:
		return "--out must name a directory";
	case EXPORT_DEST_NOT_WRITABLE:
		return "give the station user write access to the directory";
	case EXPORT_DISK_FULL:
		return "nothing delivered; rerun once there is space";
	case EXPORT_LEDGER_BUSY:
		return "another station process held the ledger; retry later";
	case EXPORT_RUNNING:
		return "wait for the running export to finish";
	default:
		return "nothing was delivered; the watermark did not move";
	}
}

/* The command line (strings point into argv). */
struct export_opts {
	const char *dir, *from, *to;
	int format; /* index in export_format_names */
	int since_last;
};

/* Indexed by enum export_format: the parser stores the index. */
static const char *const export_format_names[] = {
	[EXPORT_CSV] = "csv",
	[EXPORT_JSONL] = "jsonl",
	NULL,
};

static const struct opt export_opt_table[] = {
	{ .name = "--out",
	    .kind = OPT_STRING,
	    .value = "DIR",
	    .offset = offsetof(struct export_opts, dir),
	    .help = "the directory the export and its manifest go to" },
	{ .name = "--format",
	    .kind = OPT_ENUM,
	    .value = "csv|jsonl",
	    .names = export_format_names,
	    .offset = offsetof(struct export_opts, format),
	    .help = "the file's format (default csv)" },
	{ .name = "--since-last",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct export_opts, since_last),
	    .help = "the runs since the last export (the default)" },
	{ .name = "--from",
	    .kind = OPT_STRING,
	    .value = "T",
	    .offset = offsetof(struct export_opts, from),
	    .help = "with --to: the runs finished in [T, T), T a UTC time "
		    "like 2026-11-22T00:00:00Z" },
	{ .name = "--to",
	    .kind = OPT_STRING,
	    .value = "T",
	    .offset = offsetof(struct export_opts, to),
	    .help = "the end of the --from window (2026-11-22T00:00:00Z)" },
	{ .name = NULL },
};

static const struct opt_template export_template[] = {
	{ .opts = export_opt_table },
	{ .opts = NULL },
};

/* --from/--to: a UTC time, else a usage error naming it. */
static int
time_opt(const char *name, const char *value, int64_t *ms)
{
	char *shown;

	if (value == NULL || parse_utc(value, ms) == 0)
		return 0;
	shown = text_escape(value, 64);
	fprintf(stderr,
	    "station: export: %s '%s' is not a UTC time: expected "
	    "YYYY-MM-DDTHH:MM:SSZ (optionally .mmm before the Z), like "
	    "2026-11-22T00:00:00Z\n",
	    name, shown);
	free(shown);
	return -1;
}

static int
cmd_export_exec(const struct station_opts *so, int argc, char **argv)
{
	struct export_request req = { .since_last = 1, .format = EXPORT_CSV };
	struct export_opts o = { .format = EXPORT_CSV };
	struct export_result res;
	struct opt_args args;
	struct station *st = NULL;
	char *cause = NULL;
	struct text_pool tp = { 0 };
	int have_from, have_to, rc;
	st_err err;

	rc = cmd_parse(&cmd_export_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	if (time_opt("--from", o.from, &req.from_ms) != 0 ||
	    time_opt("--to", o.to, &req.to_ms) != 0)
		return cmd_usage(&cmd_export_entry);
	req.dir = o.dir;
	req.format = (enum export_format)o.format;
	have_from = o.from != NULL;
	have_to = o.to != NULL;
	if (have_from != have_to)
		cmd_print_cause("export",
		    "--from and --to go together: the window [--from, --to), "
		    "each a UTC time like 2026-11-22T00:00:00Z");
	else if (o.since_last && have_from)
		cmd_print_cause("export",
		    "--since-last or a --from/--to window, not both");
	else if (have_from && req.from_ms >= req.to_ms)
		cmd_print_cause("export", "--from must be before --to");
	else if (req.dir == NULL)
		cmd_print_cause("export", "--out DIR is required");
	if (req.dir == NULL || have_from != have_to ||
	    (o.since_last && have_from) ||
	    (have_from && req.from_ms >= req.to_ms))
		return cmd_usage(&cmd_export_entry);
	req.since_last = !have_from;
	rc = cmd_open_ledger(so, &st);
	if (rc != EXIT_PASS)
		return rc;
	req.station_id = st->cfg->station_id;
	err = ledger_export(st->ledger, &req, &res, &cause);
	if (err) {
		char *shown = text_show(cause, 4096);

		fprintf(stderr, "station: export failed: %s (%s)\n", shown,
		    problem_hint(res.problem));
		free(shown);
		rc = EXIT_STATION;
		goto out;
	}
	if (res.recovered > 0)
		printf("recovered %d interrupted export(s)\n", res.recovered);
	/* The paths hold --out as given on the command line. */
	if (res.rows == 0)
		printf("export %" PRId64 ": no new runs%s; wrote %s "
		       "(no rows) and its manifest\n",
		    res.export_id,
		    req.since_last ? " since the last export" : "",
		    text_pool_show(&tp, res.file));
	else
		printf("export %" PRId64 ": %" PRId64
		       " runs (chain_seq %" PRId64 "..%" PRId64 ") to %s\n",
		    res.export_id, res.rows, res.from_chain_seq,
		    res.to_chain_seq, text_pool_show(&tp, res.file));
	printf("manifest %s\nsha256 %s\n", text_pool_show(&tp, res.manifest),
	    res.sha256);
out:
	text_pool_clear(&tp);
	export_result_clear(&res);
	free(cause);
	station_close(st);
	return rc;
}

const struct cmd_entry cmd_export_entry = {
	.name = "export",
	.args =
	    "--out DIR [--format csv|jsonl] [--since-last | --from T --to T]",
	.summary = "write finished runs for the ERP (T: 2026-11-22T00:00:00Z)",
	.options = export_template,
	.exec = cmd_export_exec,
};
