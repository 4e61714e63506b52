/*
 * The power-cut harness itself (tests/reliability/powercut/), on a tiny
 * program whose every write is known: after the cut, an unsynced write
 * must be gone and a synced one kept; names follow the directory's
 * fsync; syncfs keeps everything; a cut at the Nth write keeps what was
 * synced before it; a torn last write keeps half of its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/reliability/powercut/powercut.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct fixture {
	char *dir;
	struct powercut *pc;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);

	f->dir = scratch_dir();
	free(scratch_write(f->dir, "renamed", "old\n", 0600));
	free(scratch_write(f->dir, "gone", "still here\n", 0600));
	f->pc = powercut_new(f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	powercut_free(f->pc);
	scratch_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/*
 * Run tiny MODE under the shim; it is killed once it says "ready" (or by
 * the shim at cut_at_write).  Returns its wait status code (128 + 9 when
 * killed); the tree is then cut.
 */
static int
run_tiny(struct fixture *f, const char *mode, long cut_at_write, int tear,
    long *torn)
{
	char *tiny = powercut_build_file("tiny");
	const char *argv[] = { tiny, mode, f->dir, NULL };
	char *line;
	int rfd = -1, rc;
	pid_t pid;

	powercut_begin(f->pc);
	powercut_arm(f->pc, cut_at_write);
	pid = proc_spawn_piped(argv, &rfd);
	powercut_disarm();
	free(tiny);
	if (pid < 0)
		return -1;
	line = proc_read_line(rfd, 30000);
	if (strcmp(line, "ready\n") == 0)
		kill(pid, SIGKILL);
	free(line);
	close(rfd);
	rc = proc_wait_ms(pid, 30000);
	if (powercut_cut(f->pc, tear, torn) != 0)
		return -1;
	return rc;
}

static char *
file_of(const struct fixture *f, const char *name)
{
	char *p = xasprintf("%s/%s", f->dir, name);
	char *text = scratch_read(p);

	free(p);
	return text;
}

static void
assert_file(const struct fixture *f, const char *name, const char *want)
{
	char *text = file_of(f, name);

	if (want == NULL) {
		if (text != NULL)
			fprintf(stderr, "%s should be gone, holds '%s'\n", name,
			    text);
		free(text);
		assert_null(text);
		return;
	}
	if (text == NULL || strcmp(text, want) != 0) {
		fprintf(stderr, "%s: want '%s', have '%s'\n", name, want,
		    text ? text : "(none)");
		free(text);
		fail();
	}
	free(text);
}

static void
test_unsynced_writes_vanish_synced_stay(void **state)
{
	struct fixture *f = *state;
	long torn = 0;

	assert_int_equal(run_tiny(f, "files", 0, 0, &torn), 128 + SIGKILL);
	assert_int_equal(torn, 0);
	assert_file(f, "kept", "synced\n"); /* "unsynced\n" gone */
	assert_file(f, "hollow", "");	    /* name durable, data not */
	assert_file(f, "dsynced", "d\n");   /* rename + directory fsync */
	assert_file(f, "d.tmp", NULL);
	assert_file(f, "lost", NULL);		/* never synced at all */
	assert_file(f, "renamed", "old\n");	/* rename not durable... */
	assert_file(f, "new.tmp", "new\n");	/* ...its fsynced source is */
	assert_file(f, "gone", "still here\n"); /* unlink not durable */
}

static void
test_syncfs_keeps_everything(void **state)
{
	struct fixture *f = *state;
	long torn = 0;

	assert_int_equal(run_tiny(f, "syncfs", 0, 0, &torn), 128 + SIGKILL);
	assert_file(f, "all", "all\n");
}

static void
test_cut_at_the_nth_write_keeps_what_was_synced(void **state)
{
	struct fixture *f = *state;
	long torn = 0;

	/* Writes 1 and 2 synced, 3 made, the 4th never happens. */
	assert_int_equal(run_tiny(f, "writes", 4, 0, &torn), 128 + SIGKILL);
	assert_true(powercut_was_cut(f->pc));
	assert_file(f, "count", "1\n2\n");
	/* Without a cut the same program keeps all five. */
	assert_int_equal(run_tiny(f, "writes", 0, 0, &torn), 128 + SIGKILL);
	assert_false(powercut_was_cut(f->pc));
	assert_file(f, "count", "1\n2\n3\n4\n5\n");
}

static void
test_torn_last_write_keeps_half_its_sectors(void **state)
{
	struct fixture *f = *state;
	char *want = xcalloc(1, 7 + 1024 + 1);
	long torn = 0;

	assert_int_equal(run_tiny(f, "tear", 0, 1, &torn), 128 + SIGKILL);
	assert_int_equal(torn, 1024);
	memcpy(want, "synced\n", 7);
	memset(want + 7, 'x', 1024);
	assert_file(f, "kept", want);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_unsynced_writes_vanish_synced_stay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syncfs_keeps_everything,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cut_at_the_nth_write_keeps_what_was_synced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_torn_last_write_keeps_half_its_sectors, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
