/*
 * ncurses, loaded on first use (station/util/dlib.h).  Only `station ui`
 * draws a screen; linked, libncursesw and libtinfo (both built BIND_NOW
 * in Debian) cost every station process about 0.17 ms of start-up, a
 * `station provision` that never draws included.
 *
 * Every ui/ file that draws includes this header instead of <curses.h>.
 * It includes <curses.h>, then makes each ncurses name the screen uses a
 * call through the table `curses_fn`, filled by curses_lib_load:
 * `wmove(w, y, x)` and the curses.h macros built on these functions
 * (attron, mvaddnstr, getch, refresh...) read as before, and the
 * library's variables (stdscr, LINES...) are read through their
 * addresses.  A name missing from the table stays an undefined reference
 * of its object (`nm -u` of the ui objects lists it), and the station,
 * which no longer links ncurses, fails to link: add it to struct
 * curses_fn, to the table in curses_lib.c and to the #defines below.
 *
 * None of these names is a macro in Debian's curses.h (NCURSES_REENTRANT
 * is 0); were one, its redefinition here would fail the build (-Werror).
 */
#ifndef UI_CURSES_LIB_H
#define UI_CURSES_LIB_H

#include <curses.h>

#include "station/util/err.h"

/* One pointer per symbol and nothing else (tests/ui/test_curses_lib.c
 * reads the struct as an array of them).  Each has the type curses.h
 * gives the name, so the compiler checks every call; a variable's is a
 * pointer to it. */
struct curses_fn {
	/* libncursesw.so.6 */
	__typeof__(beep) *beep;
	__typeof__(clearok) *clearok;
	__typeof__(endwin) *endwin;
	__typeof__(has_colors) *has_colors;
	__typeof__(init_pair) *init_pair;
	__typeof__(initscr) *initscr;
	__typeof__(mvprintw) *mvprintw;
	__typeof__(noecho) *noecho;
	__typeof__(nonl) *nonl;
	__typeof__(set_escdelay) *set_escdelay;
	__typeof__(start_color) *start_color;
	__typeof__(use_default_colors) *use_default_colors;
	__typeof__(waddch) *waddch;
	__typeof__(waddnstr) *waddnstr;
	__typeof__(wattr_off) *wattr_off;
	__typeof__(wattr_on) *wattr_on;
	__typeof__(werase) *werase;
	__typeof__(wgetch) *wgetch;
	__typeof__(whline) *whline;
	__typeof__(wmove) *wmove;
	__typeof__(wrefresh) *wrefresh;
	/* libtinfo.so.6, found through libncursesw's handle (a dependency
	 * of it: dlsym searches those too) */
	__typeof__(curs_set) *curs_set;
	__typeof__(keypad) *keypad;
	__typeof__(nodelay) *nodelay;
	__typeof__(raw) *raw;
	__typeof__(COLS) *COLS;
	__typeof__(LINES) *LINES;
	__typeof__(curscr) *curscr;
	__typeof__(stdscr) *stdscr;
};

/* All NULL until curses_lib_load succeeds; never changed after. */
extern struct curses_fn curses_fn;

/*
 * Load libncursesw.so.6 and fill curses_fn, once per process: ST_OK at
 * once after a success; thread-safe.  ST_E_CONFIG when the library or a
 * symbol is missing, the cause naming the SONAME and the fix ("apt-get
 * install libncursesw6"); the next call tries again.  Call it before any
 * other name of this header is used (ui_run does, before initscr).
 */
st_err curses_lib_load(char **cause);

/* curses_lib.c fills the table by the real names: it defines this. */
#ifndef CURSES_LIB_REAL_NAMES
#define beep (curses_fn.beep)
#define clearok (curses_fn.clearok)
#define endwin (curses_fn.endwin)
#define has_colors (curses_fn.has_colors)
#define init_pair (curses_fn.init_pair)
#define initscr (curses_fn.initscr)
#define mvprintw (curses_fn.mvprintw)
#define noecho (curses_fn.noecho)
#define nonl (curses_fn.nonl)
#define set_escdelay (curses_fn.set_escdelay)
#define start_color (curses_fn.start_color)
#define use_default_colors (curses_fn.use_default_colors)
#define waddch (curses_fn.waddch)
#define waddnstr (curses_fn.waddnstr)
#define wattr_off (curses_fn.wattr_off)
#define wattr_on (curses_fn.wattr_on)
#define werase (curses_fn.werase)
#define wgetch (curses_fn.wgetch)
#define whline (curses_fn.whline)
#define wmove (curses_fn.wmove)
#define wrefresh (curses_fn.wrefresh)
#define curs_set (curses_fn.curs_set)
#define keypad (curses_fn.keypad)
#define nodelay (curses_fn.nodelay)
#define raw (curses_fn.raw)
#define COLS (*curses_fn.COLS)
#define LINES (*curses_fn.LINES)
#define curscr (*curses_fn.curscr)
#define stdscr (*curses_fn.stdscr)
#endif

#endif
