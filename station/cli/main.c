/*
 * station: the provisioning station's command line.  Parses the global
 * options (main_template) and dispatches to the commands in cmd_table[];
 * each command parses its own options with its option table (cmd.h).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/cli/cmd.h"
#include "station/pipeline/station.h"
#include "station/util/log.h"

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
	fprintf(fp,
	    "usage: station [--config FILE] [--broker HOST:PORT --broker-ca FILE]\n               [--verbose] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		fprintf(fp, "  %-10s %s\n             %s\n", cmd_table[i]->name,
		    cmd_table[i]->args, cmd_table[i]->summary);
	fprintf(fp,
	    "\nDevice URIs: tcp:HOST:PORT, "
	    "uart:/dev/ttyUSB0?baud=115200, uart:usb=VID:PID[:SERIAL],\n"
	    "  usb:VID:PID[:SERIAL], usb:path=BUS-PORT[.PORT]...\n"
	    "Environment: STATION_LOG=error|warn|info|debug\n"
	    "See station(1) and docs/ for details.\n");
}

/* The global options, before the command. */
struct main_opts {
	struct station_opts station;
	int verbose;
	int help;
};

static const struct opt main_opt_table[] = {
	{ .name = "--config",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct main_opts, station.config_path),
	    .help = "the station's configuration (default: the embedded "
		    "defaults under $STATION_HOME, ./var)" },
	{ .name = "--broker",
	    .kind = OPT_STRING,
	    .value = "HOST:PORT",
	    .offset = offsetof(struct main_opts, station.broker),
	    .help = "the smoke test's broker, instead of [broker]" },
	{ .name = "--broker-ca",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct main_opts, station.broker_ca),
	    .help = "the CA that signed the broker's certificate" },
	{ .name = "--verbose",
	    .alias = "-v",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct main_opts, verbose),
	    .help = "log at debug level" },
	{ .name = "--help",
	    .alias = "-h",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct main_opts, help),
	    .help = "this text" },
	{ .name = NULL },
};

static const struct opt_template main_template = {
	.opts = main_opt_table,
	.stop_at_arg = 1,
};

int
main(int argc, char **argv)
{
	struct main_opts o = { .verbose = 0 };
	struct opt_args args;
	char *cause = NULL;
	const char *name;
	int rc = EXIT_USAGE;
	st_err err;

	log_set_ident("station");
	/* Peers close sockets under us (a broker refusing a certificate, a
	 * CA going away, a device server dropping the link): that is an
	 * error to report on the write, never a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	err = opt_parse(&main_template, argc - 1, argv + 1, &o, &args, &cause);
	/* --help answers even when a bad word follows it. */
	if (o.help) {
		usage(stdout);
		rc = EXIT_PASS;
		goto out;
	}
	if (err) {
		cmd_print_cause(NULL, cause);
		usage(stderr);
		goto out;
	}
	if (o.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	if (args.next + 1 >= argc) {
		usage(stderr);
		goto out;
	}
	name = argv[args.next + 1];
	for (size_t k = 0; cmd_table[k] != NULL; k++) {
		if (strcmp(cmd_table[k]->name, name) == 0) {
			rc = cmd_table[k]->exec(&o.station,
			    argc - args.next - 1, argv + args.next + 1);
			goto out;
		}
	}
	fprintf(stderr,
	    "station: unknown command '%s' (try 'station --help')\n", name);
out:
	free(cause);
	return rc;
}
