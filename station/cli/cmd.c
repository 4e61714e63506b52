/* What every command shares (see cmd.h): its command line, the station,
 * messages on stderr. */
#include "station/cli/cmd.h"

#include <stdio.h>
#include <stdlib.h>

#include "station/pipeline/station.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

int
cmd_open_station(const struct station_opts *so, struct station **st)
{
	char *cause = NULL;
	st_err err;

	err = station_open(so, st, &cause);
	if (err == ST_OK)
		return EXIT_PASS;
	cmd_print_cause(NULL, cause);
	free(cause);
	return err == ST_E_ARG ? EXIT_USAGE : EXIT_STATION;
}

int
cmd_open_ledger(const struct station_opts *so, struct station **st)
{
	struct station_opts lo = *so;

	lo.ledger_only = 1;
	return cmd_open_station(&lo, st);
}

int
cmd_open_ledger_ro(const struct station_opts *so, struct station **st)
{
	struct station_opts lo = *so;

	lo.ledger_only = 1;
	lo.ledger_ro = 1;
	return cmd_open_station(&lo, st);
}

void
cmd_print_cause(const char *what, const char *cause)
{
	char *shown = text_show(cause ? cause : "failed", 4096);

	if (what != NULL)
		fprintf(stderr, "station: %s: %s\n", what, shown);
	else
		fprintf(stderr, "station: %s\n", shown);
	free(shown);
}

int
cmd_arg_printable(const char *opt, const char *value)
{
	char *shown;

	if (value == NULL || text_is_printable_ascii(value))
		return 1;
	shown = text_escape(value, 128);
	fprintf(stderr,
	    "station: %s '%s' refused: it holds a byte that is "
	    "not printable ASCII (scan or type it again)\n",
	    opt, shown);
	free(shown);
	return 0;
}

void
cmd_help(FILE *fp, const struct cmd_entry *entry, const char *sub)
{
	const struct opt_template *only =
	    opt_template_find(entry->options, sub);

	fprintf(fp, "usage: station %s%s%s\n%s\n", entry->name,
	    entry->args[0] ? " " : "", entry->args, entry->summary);
	for (const struct opt_template *t = entry->options; t->opts != NULL;
	     t++) {
		if (only != NULL && t != only)
			continue;
		if (t->sub != NULL)
			fprintf(fp, "\nstation %s %s%s%s:\n", entry->name,
			    t->sub, t->args ? " " : "", t->args ? t->args : "");
		else
			fprintf(fp, "\noptions:\n");
		opt_help(fp, t);
	}
}

int
cmd_usage(const struct cmd_entry *entry)
{
	fprintf(stderr, "usage: station %s %s\n", entry->name, entry->args);
	return EXIT_USAGE;
}

int
cmd_parse(const struct cmd_entry *entry, int argc, char **argv, void *dst,
    struct opt_args *args)
{
	const struct opt_template *t = entry->options;
	char *cause = NULL, *what = NULL;
	int skip = 1, rc = EXIT_PASS;
	st_err err;

	if (t->sub != NULL) {
		/* A subcommand names its template; without one there is
		 * nothing to say but the usage. */
		t = opt_template_find(entry->options,
		    argc > 1 ? argv[1] : NULL);
		if (t == NULL) {
			rc = cmd_usage(entry);
			goto out;
		}
		skip = 2;
	}
	err = opt_parse(t, argc - skip, argv + skip, dst, args, &cause);
	if (err) {
		what = t->sub != NULL ?
		    xasprintf("%s %s", entry->name, t->sub) :
		    xstrdup(entry->name);
		cmd_print_cause(what, cause);
		rc = cmd_usage(entry);
	}
out:
	free(what);
	free(cause);
	return rc;
}
