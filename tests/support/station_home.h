/*
 * Test support: a scratch station home.  One scratch directory holding
 * the config file (station.ini) and the station's home (the directory
 * itself, or a subdirectory of it when the tests must scan the home
 * without finding the config), with the local CA in <home>/ca.  The
 * whole-station layers (provision_env.h, station_env.h, sim_line.h,
 * remote_ca_env.h) are built on it.  Failures abort: a home that cannot
 * be built is a broken test, not a result.
 */
#ifndef TEST_STATION_HOME_H
#define TEST_STATION_HOME_H

struct station_home {
	char *dir;    /* scratch directory, removed by station_home_free */
	char *home;   /* the station's home: dir or dir/<sub> */
	char *config; /* dir/station.ini once written, else NULL */
	char *ca_dir; /* home/ca */
};

/* A new scratch directory; home = dir/<sub> (created 0700) when `sub` is
 * not NULL, else dir itself.  No config and no CA yet. */
struct station_home *station_home_new(const char *sub);
/* Remove the directory and free (accepts NULL). */
void station_home_free(struct station_home *h);

/*
 * Write dir/station.ini (mode 0600): "[station]\nhome = <home>\n", then
 * `station_extra` (more [station] lines, may be NULL), a newline, and
 * `rest` (further sections, may be NULL), with "allow_test_ca = yes" in
 * its [ca] section (a [ca] of its own at the end if there is none)
 * unless `rest` sets allow_test_ca itself: the CA made here is a TEST CA.  Then create the local CA in
 * <home>/ca unless one is there (a station started with a config file
 * refuses to create it).  May be called again to rewrite the config.
 * A `step_timeout_ms = N` line in `station_extra` is written as
 * test_ms(N) (proc.h); without one, under STATION_TEST_SLOW, the
 * station's default 10 s is written stretched: every station a test
 * starts through this home gets step deadlines that fit valgrind.
 */
void station_home_config(struct station_home *h, const char *station_extra,
    const char *rest);

/* Write `text` to dir/<name> (mode 0600); returns the path (caller
 * frees). */
char *station_home_write(struct station_home *h, const char *name,
    const char *text);

#endif
