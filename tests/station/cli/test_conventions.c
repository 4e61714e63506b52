/*
 * The command line's conventions, through the real program: --version and
 * `version`, `help [COMMAND]`, `COMMAND --help` describing every option on
 * stdout with exit 0, global options after the command, and the exit
 * codes of the mistakes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

static const char *
station_bin(void)
{
	return test_bin("STATION_BIN", "build/bin/station");
}

static void
test_version_both_spellings(void **state)
{
	const char *a[] = { station_bin(), "--version", NULL };
	const char *b[] = { station_bin(), "version", NULL };
	struct proc_out o = { 0 }, p = { 0 };

	(void)state;
	assert_int_equal(proc_run(a, NULL, 30000, &o), 0);
	assert_int_equal(proc_run(b, NULL, 30000, &p), 0);
	assert_int_equal(strncmp(o.out, "station ", 8), 0);
	assert_non_null(strstr(o.out, "ledger schema "));
	assert_string_equal(o.out, p.out);
	assert_string_equal(o.err, "");
	proc_out_clear(&o);
	proc_out_clear(&p);
}

/* `help`, `help CMD` and `CMD --help` answer on stdout with exit 0; the
 * command's help names each of its options and a number's range. */
static void
test_help_describes_options(void **state)
{
	const char *all[] = { station_bin(), "help", NULL };
	const char *one[] = { station_bin(), "help", "ledger", NULL };
	const char *flag[] = { station_bin(), "ledger", "list", "--help",
		NULL };
	const char *bogus[] = { station_bin(), "help", "frobnicate", NULL };
	struct proc_out o = { 0 }, p = { 0 };

	(void)state;
	assert_int_equal(proc_run(all, NULL, 30000, &o), 0);
	assert_non_null(strstr(o.out, "usage: station"));
	assert_non_null(strstr(o.out, "provision"));
	proc_out_clear(&o);

	assert_int_equal(proc_run(one, NULL, 30000, &o), 0);
	assert_non_null(strstr(o.out, "usage: station ledger"));
	assert_non_null(strstr(o.out, "--limit N"));
	assert_non_null(strstr(o.out, "N: 0 to "));
	assert_string_equal(o.err, "");

	/* `ledger list --help` is the list subcommand's part of it. */
	assert_int_equal(proc_run(flag, NULL, 30000, &p), 0);
	assert_non_null(strstr(p.out, "station ledger list:"));
	assert_null(strstr(p.out, "station ledger verify:"));
	assert_string_equal(p.err, "");
	proc_out_clear(&o);
	proc_out_clear(&p);

	assert_int_equal(proc_run(bogus, NULL, 30000, &o), 2);
	assert_non_null(strstr(o.err, "unknown command 'frobnicate'"));
	assert_string_equal(o.out, "");
	proc_out_clear(&o);
}

/* --config after the command is the same as before it: a file that does
 * not exist is refused by name either way. */
static void
test_global_options_after_the_command(void **state)
{
	char *home = scratch_dir();
	const char *before[] = { station_bin(), "--config",
		"/nonexistent/station.ini", "ledger", "list", NULL };
	const char *after[] = { station_bin(), "ledger", "list", "--config",
		"/nonexistent/station.ini", NULL };
	const char *dangling[] = { station_bin(), "ledger", "list", "--config",
		NULL };
	struct proc_out o = { 0 }, p = { 0 };
	int rc;

	(void)state;
	rc = proc_run(before, home, 30000, &o);
	assert_int_equal(proc_run(after, home, 30000, &p), rc);
	assert_int_equal(rc, 3);
	assert_non_null(strstr(o.err, "/nonexistent/station.ini"));
	assert_non_null(strstr(p.err, "/nonexistent/station.ini"));
	proc_out_clear(&o);
	proc_out_clear(&p);

	assert_int_equal(proc_run(dangling, home, 30000, &o), 2);
	assert_non_null(strstr(o.err, "--config needs a value"));
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
}

/* A number option refuses a word that is not one, naming the range. */
static void
test_numbers_are_validated(void **state)
{
	const char *argv[] = { station_bin(), "ledger", "list", "--limit",
		"abc", NULL };
	char *home = scratch_dir();
	struct proc_out o = { 0 };

	(void)state;
	assert_int_equal(proc_run(argv, home, 30000, &o), 2);
	assert_non_null(strstr(o.err, "--limit"));
	assert_non_null(strstr(o.err, "'abc'"));
	proc_out_clear(&o);
	scratch_rmtree(home);
	free(home);
}

/* A read-only command on a home that does not exist (a mistyped
 * STATION_HOME) is an error naming the path, and creates nothing. */
static void
test_read_only_commands_create_nothing(void **state)
{
	char *home = scratch_dir();
	char *gone = xasprintf("%s/typo", home);
	const char *list[] = { station_bin(), "ledger", "list", NULL };
	const char *verify[] = { station_bin(), "ledger", "verify", NULL };
	struct proc_out o = { 0 };
	struct stat sb;

	(void)state;
	assert_int_equal(proc_run(list, gone, 30000, &o), 3);
	assert_non_null(strstr(o.err, gone));
	assert_non_null(strstr(o.err, "no station home"));
	proc_out_clear(&o);
	assert_int_equal(proc_run(verify, gone, 30000, &o), 3);
	proc_out_clear(&o);
	assert_int_equal(stat(gone, &sb), -1);
	free(gone);
	scratch_rmtree(home);
	free(home);
}

/* The station's files are its user's alone whatever the umask: a run
 * under umask 022 leaves the ledger 0600 and the home 0700. */
static void
test_state_is_private_whatever_the_umask(void **state)
{
	char *home = scratch_dir();
	char *led = xasprintf("%s/ledger.db", home);
	char *ca = xasprintf("%s/ca", home);
	const char *argv[] = { station_bin(), "provision", "tcp:127.0.0.1:1",
		"--quiet", NULL };
	struct proc_out o = { 0 };
	struct stat sb;
	mode_t old = umask(022);

	(void)state;
	proc_run(argv, home, 30000, &o);
	umask(old);
	proc_out_clear(&o);
	assert_int_equal(stat(led, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(ca, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	free(led);
	free(ca);
	scratch_rmtree(home);
	free(home);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_both_spellings),
		cmocka_unit_test(test_help_describes_options),
		cmocka_unit_test(test_global_options_after_the_command),
		cmocka_unit_test(test_numbers_are_validated),
		cmocka_unit_test(test_read_only_commands_create_nothing),
		cmocka_unit_test(test_state_is_private_whatever_the_umask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
