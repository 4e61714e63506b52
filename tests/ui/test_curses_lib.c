/*
 * ncurses loaded on first use (ui/curses_lib.h), on the real
 * libncursesw.so.6: this program, like the station, does not link it.
 * Proves: before the load the library is not in the process; a load
 * fills every pointer of the table (a member the table forgets stays
 * NULL and fails here, not at the operator's screen), tinfo's included;
 * a second load is ST_OK and changes nothing; the names the ui files use,
 * and the curses.h macros built on them, reach the library's functions
 * and variables.
 */
#define _GNU_SOURCE /* RTLD_NOLOAD: is a library in the process */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dlfcn.h>

#include "ui/curses_lib.h"

/* struct curses_fn holds only pointers, one per symbol. */
#define N_PTRS (sizeof curses_fn / sizeof(void *))

/* How many pointers of curses_fn are NULL (members read in order, by
 * position: no name, so no member can be left out of the count). */
static size_t
null_pointers(void)
{
	void *p[N_PTRS];
	size_t n = 0;

	memcpy(p, &curses_fn, sizeof p);
	for (size_t i = 0; i < N_PTRS; i++)
		n += p[i] == NULL;
	return n;
}

static int
ncurses_in_process(void)
{
	void *h = dlopen("libncursesw.so.6", RTLD_NOW | RTLD_NOLOAD);

	if (h == NULL)
		return 0;
	dlclose(h); /* drop the reference NOLOAD took */
	return 1;
}

static void
test_load_fills_every_pointer_and_twice_is_once(void **state)
{
	struct curses_fn first;
	char *cause = NULL;

	(void)state;
	assert_int_equal(sizeof curses_fn % sizeof(void *), 0);
	/* Nothing loaded yet: the load below is a real dlopen. */
	assert_false(ncurses_in_process());
	assert_int_equal(null_pointers(), N_PTRS);

	assert_int_equal(curses_lib_load(&cause), ST_OK);
	assert_null(cause);
	assert_true(ncurses_in_process());
	assert_int_equal(null_pointers(), 0);
	memcpy(&first, &curses_fn, sizeof first);

	assert_int_equal(curses_lib_load(&cause), ST_OK);
	assert_null(cause);
	assert_memory_equal(&first, &curses_fn, sizeof first);
}

static void
test_names_reach_the_library_without_a_terminal(void **state)
{
	(void)state;
	assert_int_equal(curses_lib_load(NULL), ST_OK);
	/* The variables, read through their addresses: no initscr yet. */
	assert_null(stdscr);
	assert_null(curscr);
	assert_int_equal(LINES, 0);
	assert_int_equal(COLS, 0);
	/* Calls the library answers without a screen: no terminal, no
	 * colours; a window that does not exist refuses a move, directly
	 * and through curses.h's mvaddnstr (wmove, then waddnstr). */
	assert_int_equal(has_colors(), FALSE);
	assert_int_equal(wmove(stdscr, 0, 0), ERR);
	assert_int_equal(mvaddnstr(0, 0, "x", 1), ERR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_load_fills_every_pointer_and_twice_is_once),
		cmocka_unit_test(
		    test_names_reach_the_library_without_a_terminal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
