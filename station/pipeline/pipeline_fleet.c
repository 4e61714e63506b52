/*
 * The fleet database in a run (docs/fleet.md): the fleet-wide
 * reservation at the ledger step, after the ledger's own and before
 * anything is done to the board, and the outbox drain once the run's end
 * is recorded.  The line waits on the fleet database for the reservation
 * only, and never beyond [fleet] timeout_ms or the step's deadline.
 */
#include <pthread.h>
#include <stdlib.h>

#include "db/fleet.h"
#include "db/ledger.h"
#include "station/config/config.h"
#include "station/fleet/fleet.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/log.h"

#define LOG_MODULE "fleet"

/* One drain at a time in this process: the others skip it (the rows they
 * would ship are in the outbox for the next drain). */
static pthread_mutex_t drain_mu = PTHREAD_MUTEX_INITIALIZER;

static int
budget_ms(const struct config *cfg, struct deadline dl)
{
	int left = deadline_left_ms(dl);

	if (left > 0 && left < cfg->fleet.timeout_ms)
		return left;
	return cfg->fleet.timeout_ms;
}

/* The fleet database is away: the profile says whether the run goes on. */
static st_err
fleet_away(struct run *r, st_err err)
{
	if (r->profile->fleet == FLEET_BEST_EFFORT) {
		run_info(r,
		    "%s; fleet = best-effort: running on the ledger's "
		    "reservation, checked fleet-wide when the database is "
		    "back",
		    r->cause);
		free(r->cause);
		r->cause = NULL;
		return ledger_fleet_note(r->st->ledger, r->res->run_id,
		    r->info.serial, FLEET_RESERVED_LOCAL, &r->cause);
	}
	return st_wrap(&r->cause, err,
	    "fleet database unreachable — call the line lead");
}

st_err
run_fleet_reserve(struct run *r)
{
	const struct config *cfg = r->st->cfg;
	struct fleet_conn *c = NULL;
	struct fleet_holder h = { 0 };
	st_err err;

	if (cfg->fleet.url == NULL)
		return ST_OK;
	err = fleet_connect(&cfg->fleet, cfg->station_id,
	    budget_ms(cfg, r->deadline), &c, &r->cause);
	if (err == ST_OK)
		err = fleet_reserve(c, r->info.serial, r->req->slot,
		    r->res->run_id, 0, &h, &r->cause);
	if (err == ST_E_HANGUP || err == ST_E_TIMEOUT) {
		err = fleet_away(r, err);
		goto out;
	}
	if (err)
		goto out;
	err = ledger_fleet_note(r->st->ledger, r->res->run_id, r->info.serial,
	    FLEET_RESERVED_FLEET, &r->cause);
	if (err == ST_OK)
		run_info(r, "serial %s reserved fleet-wide", r->info.serial);
out:
	fleet_holder_clear(&h);
	fleet_close(c);
	return err;
}

void
run_fleet_drain(struct station *st)
{
	const struct config *cfg = st->cfg;
	struct fleet_conn *c = NULL;
	struct fleet_drain_result res = { 0, 0 };
	char *cause = NULL;
	st_err err;

	if (cfg->fleet.url == NULL || pthread_mutex_trylock(&drain_mu) != 0)
		return;
	err = fleet_connect(&cfg->fleet, cfg->station_id, cfg->fleet.timeout_ms,
	    &c, &cause);
	if (err == ST_OK)
		err = fleet_drain(c, st->ledger, cfg->fleet.timeout_ms, &res,
		    &cause);
	if (err)
		log_warn("run feed not shipped yet (the outbox keeps it): %s",
		    cause);
	fleet_close(c);
	pthread_mutex_unlock(&drain_mu);
	free(cause);
}
