/*
 * Fixture hooks around a line job, and the record of a job a hook stopped
 * (line_priv.h).  A relay that does not switch is a station fault the
 * operator must see, and the device was never provisioned: the run is
 * written to the ledger as a FAIL at the connect step (the step that
 * could not start) with the hook's cause, so the ledger, the JSON lines
 * and the screen tell the same story as for any other failure.
 */
#define LOG_MODULE "line"
#include "line_priv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../db/ledger.h"
#include "advice.h"
#include "config.h"
#include "hook.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/xalloc.h"

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
	char *why = NULL;

	if (s->power_off == NULL)
		return;
	if (hook_run(s->power_off, timeout_ms, (const char *const *)env->vars,
	    &why) == ST_OK)
		return;
	log_warn("slot %u: power_off hook failed: %s", s->index, why);
	char *text = xasprintf("power_off hook failed: %s", why);
	struct station_event ev = {
		.kind = EVENT_INFO,
		.slot = (int)s->index,
		.run_id = res->run_id,
		.progress = -1,
		.serial = res->serial,
		.text = text,
	};
	if (bus)
		event_emit(bus, &ev);
	free(text);
	free(why);
}

static void
emit(const struct event_bus *bus, enum event_kind kind,
    const struct provision_request *req, const struct provision_result *res,
    int progress, const char *text)
{
	struct station_event ev = {
		.kind = kind,
		.slot = req->slot,
		.run_id = res->run_id,
		.step = STEP_CONNECT,
		.progress = progress,
		.text = text,
		.err = res->err,
	};

	if (bus)
		event_emit(bus, &ev);
}

st_err
line_record_hook_failure(struct station *st, const struct event_bus *bus,
    const struct provision_request *req, const char *hook, st_err hook_err,
    const char *hook_cause, struct provision_result *res, char **cause)
{
	const struct config *cfg = st->cfg;
	struct run_start s = {
		.station_id = cfg->station_id,
		.slot = req->slot,
		.operator_id = req->operator_id ? req->operator_id :
		    cfg->operator_id,
		.batch = req->batch,
		.device_uri = req->device_uri,
		.scanned_serial = req->scanned_serial,
		.profile = req->profile ? req->profile : "default",
	};
	uint64_t started = clock_now_ms();
	st_err err;

	memset(res, 0, sizeof *res);
	res->smoke = "skipped";
	res->failed_step = STEP_CONNECT;
	res->err = hook_err;
	res->reason = xasprintf("%s hook failed: %s", hook, hook_cause);
	res->headline = advice_headline(STEP_CONNECT, hook_err);
	res->advice = advice_next_step(STEP_CONNECT, hook_err);
	err = ledger_run_begin(st->ledger, &s, &res->run_id, cause);
	if (err)
		return st_wrap(cause, err, "recording the start of the run");
	emit(bus, EVENT_RUN_START, req, res, 0, req->device_uri);
	emit(bus, EVENT_STEP_START, req, res, 0, NULL);
	emit(bus, EVENT_STEP_FAIL, req, res, 0, res->reason);
	ledger_run_event(st->ledger, res->run_id, step_name(STEP_CONNECT),
	    LEDGER_EV_FAIL, res->reason, NULL);
	res->duration_ms = clock_now_ms() - started;
	err = ledger_run_finish(st->ledger, res->run_id, "FAIL",
	    step_name(STEP_CONNECT), st_errname(hook_err), res->reason, cause);
	emit(bus, EVENT_RUN_END, req, res, 100, res->reason);
	if (err)
		return st_wrap(cause, err, "recording the end of run %" PRId64,
		    res->run_id);
	return ST_OK;
}
