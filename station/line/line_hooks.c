/*
 * Fixture hooks around a line job, and the record of a job a hook stopped
 * (line_priv.h).  A relay that does not switch is a station fault the
 * operator must see, and the device was never provisioned: the run is
 * written to the ledger as a FAIL at the connect step (the step that
 * could not start) with the hook's cause, so the ledger, the JSON lines
 * and the screen tell the same story as for any other failure.
 */
#define LOG_MODULE "line"
#include "station/line/line_priv.h"

#include <stdlib.h>
#include <string.h>

#include "station/line/hook.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

void
slot_env_init(struct slot_env *env, const struct fixture_slot *s)
{
	env->vars[0] = xasprintf("STATION_SLOT=%u", s->index);
	env->vars[1] = xasprintf("STATION_SLOT_LABEL=%s", s->label);
	env->vars[2] = xasprintf("STATION_DEVICE=%s", s->device);
	env->vars[3] = NULL;
}

void
slot_env_clear(struct slot_env *env)
{
	for (size_t i = 0; env->vars[i] != NULL; i++)
		free(env->vars[i]);
	memset(env, 0, sizeof *env);
}

st_err
slot_hooks_before(const struct fixture_slot *s, int timeout_ms,
    const struct slot_env *env, const char **hook, char **cause)
{
	const char *const *vars = (const char *const *)env->vars;
	st_err err;

	*hook = NULL;
	if (s->power_on) {
		err = hook_run(s->power_on, timeout_ms, vars, cause);
		if (err) {
			*hook = "power_on";
			return err;
		}
	}
	if (s->reset) {
		err = hook_run(s->reset, timeout_ms, vars, cause);
		if (err) {
			*hook = "reset";
			return err;
		}
	}
	return ST_OK;
}

void
slot_hook_after(const struct event_bus *bus, const struct fixture_slot *s,
    int timeout_ms, const struct slot_env *env,
    const struct provision_result *res)
{
	/* after the run: the step it ended at (event.h) */
	struct station_event ev = {
		.kind = EVENT_INFO,
		.info = EVENT_INFO_NOTE,
		.slot = (int)s->index,
		.run_id = res->run_id,
		.step = res->pass ? STEP_COMMIT : res->failed_step,
		.progress = -1,
		.serial = res->serial,
	};
	char *why = NULL, *text = NULL;
	st_err err;

	if (s->power_off == NULL)
		return;
	err = hook_run(s->power_off, timeout_ms, (const char *const *)env->vars,
	    &why);
	if (err == ST_OK)
		goto out;
	log_warn("slot %u: power_off hook failed: %s", s->index, why);
	text = xasprintf("power_off hook failed: %s", why);
	ev.text = text;
	event_emit(bus, &ev);
out:
	free(text);
	free(why);
}
