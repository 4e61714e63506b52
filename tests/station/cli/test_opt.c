/*
 * The one option parser (station/cli/opt.h): every kind of value lands in
 * its field, every bad command line is refused with a cause that names
 * the word, the commands' own tables are complete enough to print help
 * from and agree with their usage lines, and the real program refuses a
 * bad command line the same way for every command (exit 2, the cause,
 * the usage, nothing on stdout, nothing recorded).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/cli/cmd.h"
#include "station/cli/opt.h"
#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct t_opts {
	const char *name;
	long long n;
	int color;
	int flag;
};

static const char *const colors[] = { "red", "green", "blue", NULL };

static const struct opt t_table[] = {
	{ .name = "--name",
	    .kind = OPT_STRING,
	    .value = "NAME",
	    .offset = offsetof(struct t_opts, name),
	    .help = "a name" },
	{ .name = "--n",
	    .kind = OPT_NUMBER,
	    .value = "N",
	    .min = 1,
	    .max = 10,
	    .offset = offsetof(struct t_opts, n),
	    .help = "a number" },
	{ .name = "--color",
	    .kind = OPT_ENUM,
	    .value = "C",
	    .names = colors,
	    .offset = offsetof(struct t_opts, color),
	    .help = "a color" },
	{ .name = NULL },
};

static const struct opt t_shared[] = {
	{ .name = "--flag",
	    .alias = "-f",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct t_opts, flag),
	    .help = "a flag" },
	{ .name = NULL },
};

static const struct opt_template t_one[] = {
	{ .sub = "one",
	    .opts = t_table,
	    .shared = t_shared,
	    .lower = 1,
	    .upper = 2,
	    .args = "A [B]" },
	{ .sub = "two", .opts = t_shared },
	{ .opts = NULL },
};

/* Parse the NULL-terminated `words` with template `t`. */
static st_err
parse(const struct opt_template *t, char **words, struct t_opts *o,
    struct opt_args *a, char **cause)
{
	int n = 0;

	while (words[n] != NULL)
		n++;
	return opt_parse(t, n, words, o, a, cause);
}

static void
test_every_kind_lands_in_its_field(void **state)
{
	char *w[] = { "--name", "-x", "A", "--n", "010", "--color", "blue",
		"-f", "B", "--name", "last", NULL };
	struct t_opts o = { .n = -1 };
	struct opt_args a;

	(void)state;
	assert_int_equal(parse(&t_one[0], w, &o, &a, NULL), ST_OK);
	assert_string_equal(o.name, "last"); /* the last one wins */
	assert_int_equal(o.n, 10);	     /* decimal, never octal */
	assert_int_equal(o.color, 2);
	assert_int_equal(o.flag, 1);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.arg[0], "A");
	assert_string_equal(a.arg[1], "B");
	assert_int_equal(a.next, 11);
}

/* Each refusal: ST_E_ARG and a cause naming what was wrong. */
static void
expect_refused(const struct opt_template *t, char **w, const char *want)
{
	struct t_opts o = { 0 };
	struct opt_args a;
	char *cause = NULL;

	assert_int_equal(parse(t, w, &o, &a, &cause), ST_E_ARG);
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("cause '%s', want '%s'", cause, want);
	free(cause);
}

static void
test_every_bad_command_line_is_refused_naming_it(void **state)
{
	(void)state;
	expect_refused(&t_one[0], (char *[]){ "A", "--frob", NULL },
	    "unknown option '--frob'");
	expect_refused(&t_one[0], (char *[]){ "A", "--n", NULL },
	    "--n needs a value (N)");
	expect_refused(&t_one[0], (char *[]){ "A", "--n", "11", NULL },
	    "--n: '11' is not a whole number from 1 to 10");
	expect_refused(&t_one[0], (char *[]){ "A", "--color", "re\x1b", NULL },
	    "--color: 're\\x1b' is not one of red, green, blue");
	expect_refused(&t_one[0], (char *[]){ "A", "B", "C", NULL },
	    "unexpected argument 'C'");
	expect_refused(&t_one[0], (char *[]){ "--flag", NULL },
	    "missing A [B]");
	/* Options of one subcommand are unknown to its sibling. */
	expect_refused(&t_one[1], (char *[]){ "--name", "x", NULL },
	    "unknown option '--name'");
	expect_refused(&t_one[1], (char *[]){ "-", NULL },
	    "unknown option '-'");
}

static void
test_global_options_stop_at_the_command(void **state)
{
	static const struct opt_template global = { .opts = t_shared,
		.stop_at_arg = 1 };
	char *w[] = { "-f", "probe", "--json", NULL };
	char *none[] = { "--flag", NULL };
	struct t_opts o = { 0 };
	struct opt_args a;

	(void)state;
	assert_int_equal(parse(&global, w, &o, &a, NULL), ST_OK);
	assert_int_equal(o.flag, 1);
	assert_int_equal(a.next, 1);
	assert_int_equal(parse(&global, none, &o, &a, NULL), ST_OK);
	assert_int_equal(a.next, 1); /* no command: argc */
}

static void
test_subcommands_are_found_by_name(void **state)
{
	(void)state;
	assert_ptr_equal(opt_template_find(t_one, "two"), &t_one[1]);
	assert_null(opt_template_find(t_one, "three"));
	assert_null(opt_template_find(t_one, NULL));
}

/* Every command's table is complete enough for `station CMD --help` and
 * names nothing its usage line does not.  (ui links curses: it is covered
 * by the program test below.) */
static void
test_command_tables_are_complete_and_match_their_usage(void **state)
{
	const struct cmd_entry *entries[] = { &cmd_probe_entry,
		&cmd_provision_entry, &cmd_batch_entry, &cmd_ledger_entry,
		&cmd_ca_entry, &cmd_export_entry, &cmd_list_devices_entry,
		&cmd_revoke_entry, NULL };

	(void)state;
	for (size_t i = 0; entries[i] != NULL; i++) {
		const struct cmd_entry *e = entries[i];

		assert_non_null(e->options);
		for (const struct opt_template *t = e->options; t->opts; t++) {
			const struct opt *tables[] = { t->opts, t->shared };

			if (t->sub != NULL && strstr(e->args, t->sub) == NULL)
				fail_msg("%s: '%s' not in the usage", e->name,
				    t->sub);
			if (t->lower > 0 &&
			    (t->args == NULL ||
				strstr(e->args, t->args) == NULL))
				fail_msg(
				    "%s: its arguments are not named as in "
				    "the usage",
				    e->name);
			for (size_t k = 0; k < 2; k++) {
				for (const struct opt *o = tables[k];
				     o != NULL && o->name != NULL; o++) {
					if (strstr(e->args, o->name) == NULL)
						fail_msg(
						    "%s: %s not in the usage",
						    e->name, o->name);
					assert_non_null(o->help);
					assert_int_equal(o->value == NULL,
					    o->kind == OPT_FLAG);
					assert_int_equal(o->names == NULL,
					    o->kind != OPT_ENUM);
					if (o->kind == OPT_NUMBER)
						assert_true(o->min <= o->max);
				}
			}
		}
	}
}

/* The program: one bad word per command, the same answer from each. */
static void
test_every_command_refuses_a_bad_option_the_same_way(void **state)
{
	const char *bin = test_bin("STATION_BIN", "build/bin/station");
	const char *cases[][5] = {
		{ "probe", "tcp:127.0.0.1:1", "--frobnicate", NULL },
		{ "provision", "tcp:127.0.0.1:1", "--frobnicate", NULL },
		{ "batch", "--frobnicate", NULL },
		{ "ledger", "list", "--frobnicate", NULL },
		{ "ca", "crl", "--frobnicate", NULL },
		{ "ui", "--frobnicate", NULL },
		{ "export", "--frobnicate", NULL },
		{ "list-devices", "--frobnicate", NULL },
		{ "revoke", "abcd", "--frobnicate", NULL },
	};
	char *home = scratch_dir();
	struct dirent *ent;
	DIR *dir;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *argv[7] = { bin };
		struct proc_out o = { 0 };
		char *usage = xasprintf("usage: station %s", cases[i][0]);

		for (size_t k = 0; cases[i][k] != NULL; k++)
			argv[k + 1] = cases[i][k];
		assert_int_equal(proc_run(argv, home, 30000, &o), 2);
		if (strstr(o.err, "unknown option '--frobnicate'") == NULL ||
		    strstr(o.err, usage) == NULL)
			fail_msg("%s: stderr '%s'", cases[i][0], o.err);
		assert_string_equal(o.out, "");
		free(usage);
		proc_out_clear(&o);
	}
	/* Nothing was opened: no ledger, no CA in the station's home. */
	dir = opendir(home);
	assert_non_null(dir);
	for (;;) {
		ent = readdir(dir);
		if (ent == NULL)
			break;
		if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
			fail_msg("%s/%s was created", home, ent->d_name);
	}
	closedir(dir);
	scratch_rmtree(home);
	free(home);
}

/* Before the command: a missing value is refused as such, --help still
 * answers when a bad word follows it (as it did before the table). */
static void
test_global_options_refuse_and_help_as_before(void **state)
{
	const char *bin = test_bin("STATION_BIN", "build/bin/station");
	const char *missing[] = { bin, "--config", NULL };
	const char *unknown[] = { bin, "--bogus", "ledger", "list", NULL };
	const char *help[] = { bin, "-h", "--bogus", NULL };
	struct proc_out o = { 0 };

	(void)state;
	assert_int_equal(proc_run(missing, NULL, 30000, &o), 2);
	assert_non_null(strstr(o.err, "station: --config needs a value"));
	assert_non_null(strstr(o.err, "usage: station [--config FILE]"));
	proc_out_clear(&o);
	assert_int_equal(proc_run(unknown, NULL, 30000, &o), 2);
	assert_non_null(strstr(o.err, "station: unknown option '--bogus'"));
	assert_string_equal(o.out, "");
	proc_out_clear(&o);
	assert_int_equal(proc_run(help, NULL, 30000, &o), 0);
	assert_non_null(strstr(o.out, "usage: station [--config FILE]"));
	proc_out_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_kind_lands_in_its_field),
		cmocka_unit_test(
		    test_every_bad_command_line_is_refused_naming_it),
		cmocka_unit_test(test_global_options_stop_at_the_command),
		cmocka_unit_test(test_subcommands_are_found_by_name),
		cmocka_unit_test(
		    test_command_tables_are_complete_and_match_their_usage),
		cmocka_unit_test(
		    test_every_command_refuses_a_bad_option_the_same_way),
		cmocka_unit_test(test_global_options_refuse_and_help_as_before),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
