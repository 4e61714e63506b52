/*
 * Inside the line: the fixture hooks around a job and the ledger record of
 * a job that a hook stopped (line_hooks.c).  Not for use outside line*.c.
 */
#ifndef ST_LINE_PRIV_H
#define ST_LINE_PRIV_H

#include "event.h"
#include "fixture.h"
#include "pipeline.h"
#include "station.h"

/* What a hook learns about its slot, as environment variables:
 * STATION_SLOT, STATION_SLOT_LABEL, STATION_DEVICE. */
struct slot_env {
	char *vars[4];  /* owned strings, NULL-terminated */
};
void slot_env_init(struct slot_env *env, const struct fixture_slot *s);
void slot_env_clear(struct slot_env *env);

/* power_on then reset (each if set).  On failure *hook names the one
 * that failed ("power_on", "reset"). */
st_err slot_hooks_before(const struct fixture_slot *s, int timeout_ms,
    const struct slot_env *env, const char **hook, char **cause);
/* power_off (if set).  A failure cannot change the run any more: it is
 * logged and reported as an EVENT_INFO of the run. */
void slot_hook_after(const struct event_bus *bus,
    const struct fixture_slot *s, int timeout_ms, const struct slot_env *env,
    const struct provision_result *res);

/*
 * Record a job stopped by a failing hook as a FAILed run (failed step
 * "connect": the device was never reached) in the ledger, with the same
 * events a pipeline failure emits, and fill *res as provision_run would.
 * Returns an error only when the ledger could not record it.
 */
st_err line_record_hook_failure(struct station *st,
    const struct event_bus *bus, const struct provision_request *req,
    const char *hook, st_err hook_err, const char *hook_cause,
    struct provision_result *res, char **cause);

#endif
