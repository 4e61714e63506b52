/*
 * Fixture hooks: a shell command (power relay, reset line) run with
 * /bin/sh -c under a deadline.  The hook's stdout goes to the station's
 * stderr (stdout may carry JSON lines), stdin is /dev/null, and it runs in
 * its own process group so that a hook that overstays its deadline is
 * killed together with whatever it started.
 */
#ifndef ST_HOOK_H
#define ST_HOOK_H

#include "station/util/err.h"

/*
 * Run `cmd` with the variables in `env` ("NAME=value" strings,
 * NULL-terminated, may be NULL) added to the environment.  ST_OK when it
 * exits 0 within `timeout_ms`; ST_E_TIMEOUT when it had to be killed;
 * ST_E_IO when it could not start, exited non-zero or died of a signal.
 */
st_err hook_run(const char *cmd, int timeout_ms, const char *const *env,
    char **cause);

#endif
