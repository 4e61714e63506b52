/*
 * `make install` into a DESTDIR, checked file by file: the program, the
 * man page, the units, sysusers.d and tmpfiles.d entries and an example
 * configuration that a second install never overwrites.  Then the units
 * through `systemd-analyze verify`, and the nightly export's command run
 * as the station user against a root laid out by systemd-sysusers and
 * systemd-tmpfiles from the installed entries (docs/admin.md,
 * "Installing"), and `ledger verify` (read-only) on what it left.  The systemd tools are Debian's systemd package; a part
 * whose tool is missing, or that needs root to switch users, is skipped
 * and says so.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

static char *destdir;

static const char *
srcdir(void)
{
	const char *s = getenv("STATION_SRCDIR");

	return s != NULL ? s : ".";
}

static int
have(const char *tool)
{
	const char *argv[] = { "sh", "-c", NULL, NULL };
	struct proc_out o = { 0 };
	char *cmd = xasprintf("command -v %s", tool);
	int rc;

	argv[2] = cmd;
	rc = proc_run(argv, NULL, 30000, &o);
	proc_out_clear(&o);
	free(cmd);
	return rc == 0;
}

static void
run_ok(const char *const *argv)
{
	struct proc_out o = { 0 };

	if (proc_run(argv, NULL, 120000, &o) != 0)
		fail_msg("%s %s: exit %d\nstdout: %s\nstderr: %s", argv[0],
		    argv[1] ? argv[1] : "", o.status, o.out, o.err);
	proc_out_clear(&o);
}

static void
make_install(void)
{
	const char *build = getenv("BUILD");
	char *d = xasprintf("DESTDIR=%s", destdir);
	char *b = xasprintf("BUILD=%s", build ? build : "build");
	const char *argv[] = { "make", "-s", "-C", srcdir(), "install", d,
		"PREFIX=/usr", b, NULL };

	run_ok(argv);
	free(d);
	free(b);
}

static int
setup(void **state)
{
	(void)state;
	destdir = scratch_dir();
	/* Like /, traversable by the station user. */
	chmod(destdir, 0755);
	make_install();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scratch_rmtree(destdir);
	free(destdir);
	return 0;
}

/* Entries of `dir` not starting with '.'. */
static int
count_files(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	for (;;) {
		e = readdir(d);
		if (e == NULL)
			break;
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

static void
assert_mode(const char *rel, mode_t want)
{
	char *path = xasprintf("%s%s", destdir, rel);
	struct stat sb;

	if (stat(path, &sb) != 0)
		fail_msg("%s was not installed", rel);
	if ((sb.st_mode & 07777) != want)
		fail_msg("%s: mode %04o, expected %04o", rel,
		    (unsigned)(sb.st_mode & 07777), (unsigned)want);
	free(path);
}

static void
test_every_file_in_its_place_with_its_mode(void **state)
{
	char *path, *man;

	(void)state;
	assert_mode("/usr/bin/station", 0755);
	assert_mode("/usr/bin/station-devsim", 0755);
	assert_mode("/usr/share/man/man1/station.1", 0644);
	assert_mode("/usr/share/doc/station/admin.md", 0644);
	assert_mode("/usr/lib/systemd/system/station-export.service", 0644);
	assert_mode("/usr/lib/systemd/system/station-export.timer", 0644);
	assert_mode("/usr/lib/systemd/system/station-crl.service", 0644);
	assert_mode("/usr/lib/systemd/system/station-crl.timer", 0644);
	assert_mode("/usr/lib/sysusers.d/station.conf", 0644);
	assert_mode("/usr/lib/tmpfiles.d/station.conf", 0644);
	assert_mode("/etc/station", 0750);
	assert_mode("/etc/station/station.ini", 0640);

	/* The man page points at the installed documentation. */
	path = xasprintf("%s/usr/share/man/man1/station.1", destdir);
	man = scratch_read(path);
	assert_non_null(strstr(man, "/usr/share/doc/station/"));
	free(man);
	free(path);
}

/* The administrator's configuration survives a reinstall. */
static void
test_reinstall_keeps_the_configuration(void **state)
{
	char *ini = xasprintf("%s/etc/station/station.ini", destdir);
	char *text;

	(void)state;
	scratch_put(ini, "; edited by the administrator\n", 0640);
	make_install();
	text = scratch_read(ini);
	assert_string_equal(text, "; edited by the administrator\n");
	free(text);
	free(ini);
}

/* The installed units, with ExecStart pointing into DESTDIR, pass
 * systemd-analyze verify without a word. */
static void
test_units_verify(void **state)
{
	const char *units[] = { "station-export.service",
		"station-export.timer", "station-crl.service",
		"station-crl.timer", NULL };
	char *dir = scratch_dir();

	(void)state;
	if (!have("systemd-analyze")) {
		free(dir);
		skip();
	}
	for (size_t i = 0; units[i] != NULL; i++) {
		char *from = xasprintf("%s/usr/lib/systemd/system/%s", destdir,
		    units[i]);
		char *to = xasprintf("%s/%s", dir, units[i]);
		char *text = scratch_read(from);
		char *bin = xasprintf("%s/usr/bin/station", destdir);
		char *at = strstr(text, "/usr/bin/station");
		char *fixed;
		const char *argv[] = { "systemd-analyze", "verify", "--man=no",
			to, NULL };
		struct proc_out o = { 0 };

		fixed = at == NULL ?
		    xstrdup(text) :
		    xasprintf("%.*s%s%s", (int)(at - text), text, bin,
			at + strlen("/usr/bin/station"));
		scratch_put(to, fixed, 0644);
		assert_int_equal(proc_run(argv, NULL, 60000, &o), 0);
		if (o.err[0] != '\0')
			fail_msg("systemd-analyze verify %s: %s", units[i],
			    o.err);
		proc_out_clear(&o);
		free(fixed);
		free(bin);
		free(text);
		free(to);
		free(from);
	}
	scratch_rmtree(dir);
	free(dir);
}

/* sysusers.d and tmpfiles.d lay out the root; the export unit's command,
 * run as the station user with the installed configuration (its home
 * moved into DESTDIR), writes the nightly export. */
static void
test_export_runs_as_the_station_user(void **state)
{
	char *sysusers =
	    xasprintf("%s/usr/lib/sysusers.d/station.conf", destdir);
	char *tmpfiles =
	    xasprintf("%s/usr/lib/tmpfiles.d/station.conf", destdir);
	char *root = xasprintf("--root=%s", destdir);
	char *ini = xasprintf("%s/etc/station/station.ini", destdir);
	char *state_dir = xasprintf("%s/var/lib/station", destdir);
	char *out = xasprintf("%s/var/lib/station/export", destdir);
	char *example, *home_line, *config, *passwd, *line, *bin;
	const char *su[] = { "systemd-sysusers", root, sysusers, NULL };
	const char *tf[] = { "systemd-tmpfiles", "--create", root, tmpfiles,
		NULL };
	struct proc_out o = { 0 };
	struct stat sb;
	unsigned uid, gid;

	(void)state;
	if (!have("systemd-sysusers") || !have("systemd-tmpfiles") ||
	    !have("setpriv") || geteuid() != 0)
		skip();
	run_ok(su);
	line = xasprintf("%s/etc/passwd", destdir);
	passwd = scratch_read(line);
	free(line);
	line = strstr(passwd, "station:x:");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "station:x:%u:%u:", &uid, &gid), 2);

	/* The example configuration, with its home inside DESTDIR, goes
	 * where the installed one is (tmpfiles.d gives it to the group). */
	example = xasprintf("%s/fixtures/etc/station.ini", srcdir());
	config = scratch_read(example);
	home_line = strstr(config, "home = /var/lib/station");
	assert_non_null(home_line);
	line = xasprintf("%.*shome = %s%s", (int)(home_line - config), config,
	    state_dir, home_line + strlen("home = /var/lib/station"));
	scratch_put(ini, line, 0640);
	free(line);
	run_ok(tf);

	assert_int_equal(stat(state_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(sb.st_uid, uid);
	assert_int_equal(stat(ini, &sb), 0);
	assert_int_equal(sb.st_gid, gid);

	{
		char *ruid = xasprintf("--reuid=%u", uid);
		char *rgid = xasprintf("--regid=%u", gid);
		const char *argv[] = { "setpriv", ruid, rgid, "--clear-groups",
			bin = xasprintf("%s/usr/bin/station", destdir),
			"--config", ini, "export", "--out", out, "--since-last",
			NULL };

		const char *verify[] = { "setpriv", ruid, rgid,
			"--clear-groups", bin, "--config", ini, "ledger",
			"verify", NULL };

		if (proc_run(argv, NULL, 60000, &o) != 0)
			fail_msg("export as uid %u: exit %d: %s", uid, o.status,
			    o.err);
		proc_out_clear(&o);
		/* A read-only command on the ledger the export left (its
		 * WAL kept beside it), as the station user. */
		if (proc_run(verify, NULL, 60000, &o) != 0)
			fail_msg("ledger verify as uid %u: exit %d: %s", uid,
			    o.status, o.err);
		assert_non_null(strstr(o.out, "PASS  ledger intact"));
		proc_out_clear(&o);
		free(ruid);
		free(rgid);
		free(bin);
	}
	/* The ledger it made is the station user's alone, and so are the
	 * WAL and its index it keeps beside it. */
	line = xasprintf("%s/ledger.db", state_dir);
	assert_int_equal(stat(line, &sb), 0);
	assert_int_equal(sb.st_uid, uid);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(line);
	line = xasprintf("%s/ledger.db-wal", state_dir);
	assert_int_equal(stat(line, &sb), 0);
	assert_int_equal(sb.st_uid, uid);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(line);
	assert_true(count_files(out) >= 1);

	free(example);
	free(config);
	free(passwd);
	free(out);
	free(state_dir);
	free(ini);
	free(root);
	free(tmpfiles);
	free(sysusers);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_file_in_its_place_with_its_mode),
		cmocka_unit_test(test_reinstall_keeps_the_configuration),
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_export_runs_as_the_station_user),
	};

	return cmocka_run_group_tests_name("make install", tests, setup,
	    teardown);
}
