/*
 * Optional shared libraries loaded on first use (dlopen), as systemd does
 * for its optional ones (shared/dlfcn-util.c).
 *
 * Why: the station links what every run needs; libcurl (the remote CA
 * backends) and libpq (the fleet database) and their ~30 dependencies
 * (gnutls, krb5, ldap, ...) cost every process ~3 ms of start-up, and a
 * `station provision` on the local CA never calls them.  ncurses
 * (libncursesw and libtinfo, built BIND_NOW in Debian: all their
 * relocations resolved at exec) costs every process ~0.17 ms, and only
 * `station ui` draws a screen.  libserialport and libusb-1.0 (which
 * brings libudev) cost every process another ~0.25 ms, and a provision
 * over tcp: never calls them.  Their users (station/ca/http.c,
 * station/fleet/, ui/curses_lib.c, drivers/transport/serialport_lib.c
 * and usb_lib.c) load them here the first time they need them and call
 * through a table of function pointers, each declared with the
 * library's own prototype:
 *
 *	static struct { __typeof__(curl_easy_init) *easy_init; } curl;
 *	static const struct dlib_sym curl_syms[] = {
 *		{ "curl_easy_init", (void **)&curl.easy_init },
 *		{ NULL, NULL },
 *	};
 *	static struct dlib curl_lib = { .soname = "libcurl.so.4",
 *		.package = "libcurl4", .syms = curl_syms };
 *
 *	err = dlib_load(&curl_lib, cause);
 *	if (err)
 *		return err;
 *	h = curl.easy_init();
 *
 * Each pointer is filled by POSIX's documented idiom
 * (`*(void **)&fp = dlsym(h, name)`), never by a cast between function
 * types.  A library is never unloaded.
 */
#ifndef ST_DLIB_H
#define ST_DLIB_H

#include "station/util/err.h"

/* One symbol: its name in the library and where its address goes. */
struct dlib_sym {
	const char *name;
	void **addr;
};

struct dlib {
	const char *soname;  /* "libcurl.so.4": the ABI, not the -dev link */
	const char *package; /* the Debian package that ships it: "libcurl4" */
	const struct dlib_sym *syms; /* ended by a { NULL, NULL } row */
	/* Optional: run once after every symbol resolved, under the module's
	 * lock (curl_global_init, which is not thread-safe).  A failure is
	 * the caller's cause, and the next dlib_load runs it again. */
	st_err (*init)(char **cause);
	/* Private to dlib.c, under its lock: leave them zero. */
	void *handle;
	int ready;
};

/*
 * Load `lib` once per process: open its SONAME, resolve every symbol,
 * run its init.  ST_OK at once when an earlier call succeeded;
 * thread-safe.  ST_E_CONFIG when the library is missing or lacks a
 * symbol, with a cause naming the SONAME, dlerror()'s reason or the
 * missing symbol, and the fix ("apt-get install libcurl4"); a missing
 * library or symbol leaves nothing open, so a library installed since is
 * found by the next call.  An init failure returns init's kind and cause.
 */
st_err dlib_load(struct dlib *lib, char **cause);

#endif
