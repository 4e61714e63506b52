/*
 * Fixtures: which slots a station drives, how each is wired (device URI),
 * which profile it provisions, and optional power/reset hooks.  A fixture
 * file is INI (docs/fixtures.md):
 *
 *	[fixture]
 *	name = demo-4
 *	hook_timeout_ms = 10000      ; deadline of each hook (default 10 s)
 *	[slot 1]
 *	label = S1                   ; the barcode on the slot (default S<N>)
 *	device = tcp:127.0.0.1:4001
 *	profile = default
 *	power_on = /usr/local/bin/relay on 1     ; optional hooks, run with
 *	power_off = /usr/local/bin/relay off 1   ; a deadline, exit 0 = ok
 *	reset = /usr/local/bin/relay pulse 1
 *
 * The configuration's own [slot N] sections form the default fixture.
 */
#ifndef ST_FIXTURE_H
#define ST_FIXTURE_H

#include <stddef.h>

#include "station/util/err.h"

struct config;

struct fixture_slot {
	unsigned index; /* N of [slot N], >= 1 */
	char *label;	/* slot barcode label */
	char *device;	/* device URI */
	char *profile;	/* profile name (exists in the config) */
	char *power_on, *power_off, *reset; /* shell commands, or NULL */
	int line; /* line of [slot N] in the file, for messages */
};

struct fixture {
	char *path; /* NULL for the configuration's slots */
	char *name;
	int hook_timeout_ms;	    /* deadline of one hook run */
	struct fixture_slot *slots; /* sorted by index */
	size_t n_slots;
};

/* Load a fixture file; errors name file, line and key (ST_E_CONFIG);
 * profiles are checked against `cfg`. */
st_err fixture_load(const char *path, const struct config *cfg,
    struct fixture **out, char **cause);
/* The same from `len` bytes of text (tests, fuzzing); `name` stands for
 * the file name in errors and in fx->path. */
st_err fixture_load_buffer(const char *name, const char *text, size_t len,
    const struct config *cfg, struct fixture **out, char **cause);
/* The configuration's [slot N] sections as a fixture (never NULL). */
struct fixture *fixture_from_config(const struct config *cfg);
const struct fixture_slot *fixture_slot(const struct fixture *fx,
    unsigned index);
/* The slot whose label is `label`, or NULL. */
const struct fixture_slot *fixture_slot_by_label(const struct fixture *fx,
    const char *label);
void fixture_free(struct fixture *fx);

#endif
