/*
 * Command-line options as data.  Each command (and each subcommand that
 * takes other options) describes its command line once, as a const
 * template: its option table and how many plain arguments it takes.
 * opt_parse() is the only loop over argv in the program, so every command
 * refuses an unknown option, a missing value, a number out of range or a
 * name not in its list the same way (tmux parses an argument template
 * the same way, once, in args_parse).
 *
 * Rules, the same for every command:
 *   - options and arguments may come in any order; the last of a repeated
 *     option wins;
 *   - an option's value is the next word, whatever it looks like
 *     ("--serial -x" gives "-x"); there is no "--name=value" form;
 *   - a word starting with '-' that is not in the table is an unknown
 *     option; any other word is a plain argument.
 *
 * The tables hold everything `station CMD --help` would need to print (the
 * names, the values' names, one line of help each); that is why help and
 * value names live here and not in the usage strings alone.
 */
#ifndef ST_OPT_H
#define ST_OPT_H

#include <stddef.h>

#include <stdio.h>

#include "station/util/err.h"

/* What an option's value is, and so the type of the field it goes to. */
enum opt_kind {
	OPT_FLAG,   /* no value; sets an int to 1 */
	OPT_STRING, /* const char *, borrowed from argv */
	OPT_NUMBER, /* long long, a whole number in [min, max] (num_parse) */
	OPT_ENUM,   /* int: the index of the value in names[] */
};

/* One option of a command. */
struct opt {
	const char *name;  /* "--limit" */
	const char *alias; /* another spelling ("-v"), or NULL */
	enum opt_kind kind;
	size_t offset;	    /* where the value goes: offsetof(the command's
	                       options struct, field) */
	const char *value;  /* the value's name in help ("N", "FILE"); NULL
	                       for a flag */
	long long min, max; /* OPT_NUMBER: the allowed range */
	const char *const *names; /* OPT_ENUM: the allowed values, ended by
	                             NULL */
	const char *help;	  /* one line for `station CMD --help` */
};

/* The arguments of one command or subcommand. */
struct opt_template {
	const char *sub;	  /* the subcommand ("init"), or NULL */
	const struct opt *opts;	  /* the option table, ended by { NULL } */
	const struct opt *shared; /* options shared with sibling
	                             subcommands (same ending), or NULL */
	unsigned lower, upper;	  /* how many plain arguments: [lower, upper] */
	const char *args;	  /* their names for messages and help
	                           ("DEVICE-URI"), or NULL */
	int stop_at_arg;	  /* stop at the first plain argument (the
	                           global options before the command) */
};

/* Plain arguments are few: a device URI, a serial, the command. */
#define OPT_ARGS_MAX 4

/* What opt_parse found besides the options. */
struct opt_args {
	const char *arg[OPT_ARGS_MAX]; /* the plain arguments (borrowed) */
	unsigned n;
	int next; /* stop_at_arg: index in argv of the first plain argument,
	             argc if none */
};

/*
 * Parse argv[0..argc) against `t`, writing each option's value into
 * `dst` (the command's options struct; fields not named on the command
 * line are left as they are, so set defaults first) and the plain
 * arguments into *args.  ST_E_ARG with a cause for the operator on a bad
 * command line: "unknown option '--frob'", "--serial needs a value
 * (SCANNED)", "--days: 'x' is not a whole number from 1 to 3650",
 * "--format: 'xml' is not one of csv, jsonl", "unexpected argument 'b'",
 * "missing DEVICE-URI" (the template's args, else "missing argument").  Options before the bad word are already written.
 */
st_err opt_parse(const struct opt_template *t, int argc, char **argv, void *dst,
    struct opt_args *args, char **cause);

/*
 * Describe `t`'s options on `fp`, one per line: the name, its alias and
 * value, the help text, and what a value may be (a number's range, an
 * enum's names).  Nothing when the template has no options.
 */
void opt_help(FILE *fp, const struct opt_template *t);

/* 1 if any template of `ts` (ended by { .opts = NULL }) takes option
 * `word` (by name or alias), else 0. */
int opt_templates_take(const struct opt_template *ts, const char *word);

/* The template of subcommand `sub` in `ts` (ended by { .opts = NULL }),
 * or NULL when `sub` is NULL or not one of them. */
const struct opt_template *opt_template_find(const struct opt_template *ts,
    const char *sub);

#endif
