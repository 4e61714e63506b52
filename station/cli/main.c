/*
 * station: the provisioning station's command line.  Dispatches to the
 * commands in cmd_table[]; each command parses its own options.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/cli/cmd.h"
#include "station/pipeline/station.h"
#include "station/util/log.h"
#include "station/util/text.h"

static const struct cmd_entry *const cmd_table[] = {
	&cmd_probe_entry,
	&cmd_provision_entry,
	&cmd_batch_entry,
	&cmd_ledger_entry,
	&cmd_ca_entry,
	&cmd_ui_entry,
	&cmd_export_entry,
	&cmd_list_devices_entry,
	&cmd_revoke_entry,
	NULL,
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: station [--config FILE] [--broker HOST:PORT --broker-ca FILE]\n               [--verbose] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		fprintf(fp, "  %-10s %s\n             %s\n", cmd_table[i]->name,
		    cmd_table[i]->args, cmd_table[i]->summary);
	fprintf(fp, "\nDevice URIs: tcp:HOST:PORT, "
	    "uart:/dev/ttyUSB0?baud=115200, uart:usb=VID:PID[:SERIAL],\n"
	    "  usb:VID:PID[:SERIAL], usb:path=BUS-PORT[.PORT]...\n"
	    "Environment: STATION_LOG=error|warn|info|debug\n"
	    "See station(1) and docs/ for details.\n");
}

int
cmd_open_station(struct station **st)
{
	char *cause = NULL;
	st_err err = station_open(station_globals.config_path, st, &cause);

	if (err == ST_OK)
		return EXIT_PASS;
	cmd_print_cause(NULL, cause);
	free(cause);
	return err == ST_E_ARG ? EXIT_USAGE : EXIT_STATION;
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
	fprintf(stderr, "station: %s '%s' refused: it holds a byte that is "
	    "not printable ASCII (scan or type it again)\n", opt, shown);
	free(shown);
	return 0;
}

int
cmd_usage(const struct cmd_entry *entry)
{
	fprintf(stderr, "usage: station %s %s\n", entry->name, entry->args);
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	int i = 1;

	log_set_ident("station");
	/* Peers close sockets under us (a broker refusing a certificate, a
	 * CA going away, a device server dropping the link): that is an
	 * error to report on the write, never a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return EXIT_PASS;
		}
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			station_globals.config_path = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc) {
			station_globals.broker = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--broker-ca") == 0 && i + 1 < argc) {
			station_globals.broker_ca = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			log_set_level(LOG_LEVEL_DEBUG);
			continue;
		}
		fprintf(stderr, "station: unknown option '%s'\n", argv[i]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t k = 0; cmd_table[k] != NULL; k++) {
		if (strcmp(cmd_table[k]->name, argv[i]) == 0)
			return cmd_table[k]->exec(argc - i, argv + i);
	}
	fprintf(stderr, "station: unknown command '%s' (try 'station --help')\n",
	    argv[i]);
	return EXIT_USAGE;
}
