/*
 * station: the provisioning station's command line.  Parses the global
 * options (main_template) and dispatches to the commands in cmd_table[];
 * each command parses its own options with its option table (cmd.h).
 */
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "db/ledger.h"
#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/pipeline/station.h"
#include "station/util/log.h"
#include "station/util/rng.h"
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
	&cmd_recover_entry,
	&cmd_fleet_entry,
	NULL,
};

/* The program's version, bumped at release (the ledger's schema version
 * is its own and printed beside it). */
#define STATION_VERSION "0.9.0"

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: station [--config FILE] [--broker HOST:PORT "
	    "--broker-ca FILE]\n               [--demo] [--verbose] COMMAND "
	    "[ARGS]\n"
	    "\ncommands:\n");
	for (size_t i = 0; cmd_table[i] != NULL; i++)
		fprintf(fp, "  %-10s %s\n             %s\n", cmd_table[i]->name,
		    cmd_table[i]->args, cmd_table[i]->summary);
	fprintf(fp,
	    "\nDevice URIs: tcp:HOST:PORT, "
	    "uart:/dev/ttyUSB0?baud=115200, uart:usb=VID:PID[:SERIAL],\n"
	    "  usb:VID:PID[:SERIAL], usb:path=BUS-PORT[.PORT]...,\n"
	    "  rfc2217:HOST:PORT?baud=115200 (ser2net telnet(rfc2217));\n"
	    "  nrf91:URI: an nRF91 modem over AT commands on that transport\n"
	    "Environment: STATION_LOG=error|warn|info|debug, "
	    "STATION_CONFIG=FILE, STATION_DEMO=1,\n"
	    "  STATION_HOME=DIR (demo mode's state directory)\n"
	    "\n'station help COMMAND' or 'station COMMAND --help' describes "
	    "a command's options.\n"
	    "See station(1) and docs/ for details.\n");
}

/* The global options, before the command. */
struct main_opts {
	struct station_opts station;
	int verbose;
	int help;
	int version;
};

static const struct opt main_opt_table[] = {
	{ .name = "--config",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct main_opts, station.config_path),
	    .help = "the station's configuration (default: $STATION_CONFIG, "
		    "then " CONFIG_DEFAULT_PATH ")" },
	{ .name = "--demo",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct main_opts, station.demo),
	    .help = "the simulated demo: embedded defaults under "
		    "$STATION_HOME or ./var, a TEST CA, no broker (also "
		    "STATION_DEMO=1)" },
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
	{ .name = "--version",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct main_opts, version),
	    .help = "the program's and the ledger schema's versions" },
	{ .name = NULL },
};

static const struct opt_template main_templates[] = {
	{ .opts = main_opt_table, .stop_at_arg = 1 },
	{ .opts = NULL },
};

static const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t k = 0; cmd_table[k] != NULL; k++) {
		if (strcmp(cmd_table[k]->name, name) == 0)
			return cmd_table[k];
	}
	return NULL;
}

static void
version(void)
{
	printf("station %s (ledger schema %d)\n", STATION_VERSION,
	    LEDGER_SCHEMA_VERSION);
}

/* `station help [COMMAND [SUB]]`: on stdout, exit 0; an unknown command
 * is a usage error. */
static int
help(int argc, char **argv)
{
	const struct cmd_entry *e;
	char *shown;

	if (argc < 2) {
		usage(stdout);
		return EXIT_PASS;
	}
	e = cmd_find(argv[1]);
	if (e == NULL) {
		shown = text_escape(argv[1], 64);
		fprintf(stderr,
		    "station: help: unknown command '%s' (try 'station "
		    "help')\n",
		    shown);
		free(shown);
		return EXIT_USAGE;
	}
	cmd_help(stdout, e, argc > 2 ? argv[2] : NULL);
	return EXIT_PASS;
}

/* 1 if the command's words ask for its help. */
static int
asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return 0;
}

/*
 * The global options may also follow the command (`station ledger list
 * --config F`): take out of argv those the command does not take itself
 * (provision has its own --broker), store them in *o and leave the rest,
 * in order, for the command.  ST_E_ARG when one lacks its value.
 */
static st_err
take_global_options(const struct cmd_entry *e, int *argc, char **argv,
    struct main_opts *o, char **cause)
{
	struct opt_args unused;
	int in, out = 1, words;
	st_err err;

	for (in = 1; in < *argc; in++) {
		if (!opt_templates_take(main_templates, argv[in]) ||
		    opt_templates_take(e->options, argv[in])) {
			argv[out++] = argv[in];
			continue;
		}
		words = in + 1 < *argc ? 2 : 1;
		err = opt_parse(main_templates, words, argv + in, o, &unused,
		    cause);
		if (err)
			return err;
		/* A flag took one word; an option with a value, two. */
		if (unused.next == 2)
			in++;
	}
	*argc = out;
	return ST_OK;
}

int
main(int argc, char **argv)
{
	struct main_opts o = { .verbose = 0 };
	const struct cmd_entry *e;
	struct opt_args args;
	char *cause = NULL, *shown = NULL;
	char **cmd_argv;
	const char *name;
	int rc = EXIT_USAGE, cmd_argc;
	st_err err;

	log_set_ident("station");
	/* Peers close sockets under us (a broker refusing a certificate, a
	 * CA going away, a device server dropping the link): that is an
	 * error to report on the write, never a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	/* The ledger, the CA's files and the locks are the station user's
	 * alone whatever the caller's umask (docs/admin.md, "State
	 * directory"); what is meant to be shared (exports, published CRLs)
	 * sets its mode itself. */
	umask(077);
	/* glibc gives the top of the heap back to the kernel once 128 KiB
	 * of it is free: SQLite opens and closes a temporary b-tree (about
	 * 170 KiB of page cache) for each trigger program, so a run grew
	 * and trimmed the heap some forty times, each growth a fresh set of
	 * page faults.  Keep what was freed up to a few MiB. */
	mallopt(M_TRIM_THRESHOLD, 4 << 20);
	/* OpenSSL frees its tables at exit unless told not to: the process
	 * ends right after, and the kernel takes the memory back at once
	 * (about 0.2 ms of every `station provision`).  Its state stays
	 * reachable to the end, so leak checkers count it as in use. */
	(void)OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
	/* Before anything draws a random number (station/util/rng.h: the
	 * default generator's set-up costs a fresh process about 0.5 ms).
	 * A refusal only leaves OpenSSL's default, which is slower. */
	(void)rng_prefer_hash_drbg();
	err = opt_parse(main_templates, argc - 1, argv + 1, &o, &args, &cause);
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
	if (o.version) {
		version();
		rc = EXIT_PASS;
		goto out;
	}
	if (args.next + 1 >= argc) {
		usage(stderr);
		goto out;
	}
	name = argv[args.next + 1];
	cmd_argc = argc - args.next - 1;
	cmd_argv = argv + args.next + 1;
	if (strcmp(name, "help") == 0) {
		rc = help(cmd_argc, cmd_argv);
		goto out;
	}
	if (strcmp(name, "version") == 0) {
		version();
		rc = EXIT_PASS;
		goto out;
	}
	e = cmd_find(name);
	if (e == NULL) {
		shown = text_escape(name, 64);
		fprintf(stderr,
		    "station: unknown command '%s' (try 'station --help')\n",
		    shown);
		goto out;
	}
	if (asks_help(cmd_argc, cmd_argv)) {
		cmd_help(stdout, e, cmd_argc > 1 ? cmd_argv[1] : NULL);
		rc = EXIT_PASS;
		goto out;
	}
	err = take_global_options(e, &cmd_argc, cmd_argv, &o, &cause);
	if (err) {
		cmd_print_cause(name, cause);
		rc = cmd_usage(e);
		goto out;
	}
	if (o.verbose)
		log_set_level(LOG_LEVEL_DEBUG);
	/* The commands that provision check the broker and the CA at start
	 * (station_preflight). */
	o.station.preflight = e == &cmd_provision_entry ||
	    e == &cmd_batch_entry || e == &cmd_ui_entry;
	rc = e->exec(&o.station, cmd_argc, cmd_argv);
out:
	free(shown);
	free(cause);
	return rc;
}
