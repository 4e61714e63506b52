/* ncurses, loaded on first use (see curses_lib.h). */
#define CURSES_LIB_REAL_NAMES /* `curses_fn.wmove` is the member here */
#include "ui/curses_lib.h"

#include <stddef.h>

#include "station/util/dlib.h"

struct curses_fn curses_fn;

/* A row of curses_syms: the name in the library, the pointer it fills. */
#define CURSES_SYM(f) #f, (void **)&curses_fn.f
static const struct dlib_sym curses_syms[] = {
	{ CURSES_SYM(beep) },
	{ CURSES_SYM(clearok) },
	{ CURSES_SYM(endwin) },
	{ CURSES_SYM(has_colors) },
	{ CURSES_SYM(init_pair) },
	{ CURSES_SYM(initscr) },
	{ CURSES_SYM(mvprintw) },
	{ CURSES_SYM(noecho) },
	{ CURSES_SYM(nonl) },
	{ CURSES_SYM(set_escdelay) },
	{ CURSES_SYM(start_color) },
	{ CURSES_SYM(use_default_colors) },
	{ CURSES_SYM(waddch) },
	{ CURSES_SYM(waddnstr) },
	{ CURSES_SYM(wattr_off) },
	{ CURSES_SYM(wattr_on) },
	{ CURSES_SYM(werase) },
	{ CURSES_SYM(wgetch) },
	{ CURSES_SYM(whline) },
	{ CURSES_SYM(wmove) },
	{ CURSES_SYM(wrefresh) },
	{ CURSES_SYM(curs_set) },
	{ CURSES_SYM(keypad) },
	{ CURSES_SYM(nodelay) },
	{ CURSES_SYM(raw) },
	{ CURSES_SYM(COLS) },
	{ CURSES_SYM(LINES) },
	{ CURSES_SYM(curscr) },
	{ CURSES_SYM(stdscr) },
	{ NULL, NULL },
};

static struct dlib curses_lib = { .soname = "libncursesw.so.6",
	.package = "libncursesw6",
	.syms = curses_syms };

st_err
curses_lib_load(char **cause)
{
	return dlib_load(&curses_lib, cause);
}
