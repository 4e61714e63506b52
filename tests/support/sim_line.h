/*
 * Test support: a simulated line.  A scratch station (config file with a
 * short step timeout, a local CA created in place) and N devsim processes
 * described by a fixture file, so tests can drive the line, the batch
 * command and the HIL suite against real processes.  Failures abort: a
 * line that cannot be built is a broken test, not a result.
 */
#ifndef TEST_SIM_LINE_H
#define TEST_SIM_LINE_H

#include <stddef.h>

#include "station/pipeline/event.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/station_home.h"

#define SIM_LINE_MAX 8

struct sim_line {
	struct station_home *sh; /* home = the scratch directory */
	const char *dir;	 /* sh->dir (removed by sim_line_stop) */
	const char *config_path; /* sh->config: <dir>/station.ini */
	char *fixture_path;	 /* <dir>/fixture.ini */
	size_t n;
	struct devsim_proc *sims[SIM_LINE_MAX];
	char serials[SIM_LINE_MAX][32]; /* serial of slot i+1's device */
};

/* Per-slot extras: devsim options (NULL-terminated, may be NULL) and
 * fixture lines appended to the slot's section (may be NULL). */
struct sim_slot_opts {
	const char *const *devsim_args;
	const char *fixture_lines;
};

/*
 * Start `n` devsims (serials "<prefix>-<i>", slot labels S1..Sn) and write
 * the config (step_timeout_ms) and the fixture.  `opts` may be NULL or
 * hold n entries.
 */
struct sim_line *sim_line_start(size_t n, const char *prefix,
    int step_timeout_ms, const struct sim_slot_opts *opts);
/* Stop the devsims, remove the directory, free.  Accepts NULL. */
void sim_line_stop(struct sim_line *sl);

/* Write `text` to <dir>/<name>; returns the path (caller frees). */
char *sim_line_write(struct sim_line *sl, const char *name, const char *text);

/* A run's outcome as the line tests keep it, copied from its
 * EVENT_RUN_END (whose pointers are borrowed for the sink's call). */
struct sim_result {
	unsigned slot;
	int pass; /* PASS, and recorded by the station */
	int64_t run_id;
	enum step failed_step;
	st_err err; /* the station's error, else the run's */
	char reason[256];
	char serial[32];  /* the device's */
	char scanned[32]; /* the request's scanned serial, "" if none */
	char headline[128];
};

/* Copy the outcome an EVENT_RUN_END carries. */
void sim_result_from_event(struct sim_result *out,
    const struct station_event *ev);

#endif
