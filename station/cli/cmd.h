/*
 * Commands of the `station` program: one file per command (cmd_*.c), each
 * exporting a `const struct cmd_entry`, collected in the explicit table in
 * main.c.  A command's command line is data: its option table(s)
 * (struct opt_template, opt.h), parsed by cmd_parse() at the top of its
 * exec.
 */
#ifndef ST_CMD_H
#define ST_CMD_H

#include <stdio.h>

#include "station/cli/opt.h"

struct station;
struct station_opts;

/* Exit codes, for schedulers and test engineers (see docs/station.1). */
enum {
	EXIT_PASS = 0,	  /* the job was done: device PASS, export written */
	EXIT_FAIL = 1,	  /* the device FAILed or was unreachable */
	EXIT_USAGE = 2,	  /* bad command line */
	EXIT_STATION = 3, /* the station itself could not work: config,
	                      ledger, CA, destination */
};

struct cmd_entry {
	const char *name;
	const char *args;    /* "DEVICE-URI [--json]" */
	const char *summary; /* one line for `station --help` */
	/* The command's option table: one template, or one per subcommand
	 * (each with .sub set), ended by { .opts = NULL }. */
	const struct opt_template *options;
	/* argv[0] is the command name; `so` holds the global options
	 * (--config, --broker, --broker-ca) for station_open. */
	int (*exec)(const struct station_opts *so, int argc, char **argv);
};

extern const struct cmd_entry cmd_probe_entry;
extern const struct cmd_entry cmd_provision_entry;
extern const struct cmd_entry cmd_ledger_entry;
extern const struct cmd_entry cmd_ca_entry;
extern const struct cmd_entry cmd_ui_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_batch_entry;

/*
 * Open the station context from the global options `so` (--config,
 * --broker, --broker-ca).  Returns EXIT_PASS with *st set, or prints the
 * cause and returns EXIT_USAGE (a bad option) or EXIT_STATION (config,
 * ledger, CA).
 */
int cmd_open_station(const struct station_opts *so, struct station **st);

/* cmd_open_station for a command that only reads or exports the ledger
 * (station_opts.ledger_only): nothing is created, no CA is opened. */
int cmd_open_ledger(const struct station_opts *so, struct station **st);
/* cmd_open_ledger for a command that only reads: the ledger is opened
 * read-only (station_opts.ledger_ro), for any user who may read it. */
int cmd_open_ledger_ro(const struct station_opts *so, struct station **st);
extern const struct cmd_entry cmd_list_devices_entry;
extern const struct cmd_entry cmd_revoke_entry;
extern const struct cmd_entry cmd_recover_entry;
extern const struct cmd_entry cmd_fleet_entry;

/*
 * `station NAME --help`: the usage line, the summary and every option
 * with what its value may be, on `fp`.  `sub` narrows a command with
 * subcommands to that one (NULL or unknown: all of them).
 */
void cmd_help(FILE *fp, const struct cmd_entry *entry, const char *sub);

/* Print "usage: station NAME ARGS" to stderr and return EXIT_USAGE. */
int cmd_usage(const struct cmd_entry *entry);

/*
 * Parse the command line of `entry` (argv[0] is the command name; for a
 * command with subcommands argv[1] names the template, and the options
 * follow it) into `dst`, its plain arguments into *args.  EXIT_PASS, or
 * on a bad command line "station: NAME: CAUSE" and the usage line on
 * stderr and EXIT_USAGE (2), the same for every command.
 */
int cmd_parse(const struct cmd_entry *entry, int argc, char **argv, void *dst,
    struct opt_args *args);

/*
 * Print "station: WHAT: CAUSE" (or "station: CAUSE" when `what` is NULL)
 * on stderr, CAUSE through text_show: a cause may quote a device, a
 * scanner or a CA, and no control byte of theirs reaches the terminal.
 */
void cmd_print_cause(const char *what, const char *cause);

/*
 * 1 if the value of command-line option `opt` (a scanned label, an
 * operator or batch id) is NULL or printable ASCII.  Else prints
 * "station: OPT 'ESCAPED' refused: ..." on stderr and returns 0: the
 * command then exits 2 before any run is recorded.
 */
int cmd_arg_printable(const char *opt, const char *value);

#endif
