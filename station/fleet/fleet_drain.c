/*
 * Shipping the ledger's outbox to the fleet database (fleet.h).  One
 * PostgreSQL transaction per outbox row: the row, and for a run's end the
 * reservation's outcome, arrive together or not at all; the local cursor
 * moves only after the commit.  A crash between the two resends the row,
 * which fleet.ship ignores (its key is station id, run id, sequence):
 * each row is in fleet.events exactly once, in the ledger's order.
 */
#include "station/fleet/fleet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/fleet.h"
#include "station/util/clock.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "fleet"
#define DRAIN_BATCH 64

static st_err
exec_simple(struct fleet_conn *c, const char *sql, const char *what,
    char **cause)
{
	PGresult *res = fleet_pq.exec(c->pg, sql);
	st_err err = fleet_result_check(c, res, PGRES_COMMAND_OK, what, cause);

	fleet_pq.clear(res);
	return err;
}

static st_err
finish_reservation(struct fleet_conn *c, const struct fleet_item *it,
    char **cause)
{
	char run_s[24];
	const char *params[3];
	PGresult *res;
	st_err err;

	snprintf(run_s, sizeof run_s, "%lld", (long long)it->run_id);
	params[0] = it->serial;
	params[1] = run_s;
	params[2] = strcmp(it->state, "PASS") == 0 ? "true" : "false";
	res = fleet_pq.execParams(c->pg,
	    "SELECT fleet.finish($1, $2::bigint, $3::boolean)", 3, NULL, params,
	    NULL, NULL, 0);
	err = fleet_result_check(c, res, PGRES_TUPLES_OK,
	    "ending the run's fleet reservation", cause);
	fleet_pq.clear(res);
	return err;
}

/*
 * A run that PASSed on its local reservation alone (the fleet database
 * was away): reserved now.  A refusal is a conflict: two stations
 * provisioned the serial.  It is not an error of the drain: recorded
 * here, in the ledger and the log, and by fleet.reserve in
 * fleet.conflicts.  *granted says whether the reservation is ours.
 */
static st_err
late_reserve(struct fleet_conn *c, struct ledger *l,
    const struct fleet_item *it, int *granted, size_t *conflicts, char **cause)
{
	struct fleet_holder h;
	char *why = NULL;
	st_err err;

	*granted = 0;
	err = fleet_reserve(c, it->serial, it->slot, it->run_id, 1, &h, &why);
	if (err == ST_OK) {
		*granted = 1;
		goto out;
	}
	if (err != ST_E_STATE && err != ST_E_EXISTS) {
		st_fail(cause, err, "%s", why);
		goto out;
	}
	log_error("CONFLICT: run %lld provisioned during a fleet outage: %s",
	    (long long)it->run_id, why);
	(*conflicts)++;
	err = ledger_fleet_conflict(l, it->run_id, why, cause);
out:
	fleet_holder_clear(&h);
	free(why);
	return err;
}

static st_err
ship_row(struct fleet_conn *c, const struct fleet_item *it, char **cause)
{
	char run_s[24], seq_s[24], cseq_s[24], at_s[24];
	const char *params[9];
	PGresult *res;
	st_err err;

	snprintf(run_s, sizeof run_s, "%lld", (long long)it->run_id);
	snprintf(seq_s, sizeof seq_s, "%lld", (long long)it->seq);
	snprintf(cseq_s, sizeof cseq_s, "%lld", (long long)it->chain_seq);
	snprintf(at_s, sizeof at_s, "%lld", (long long)it->at_ms);
	params[0] = run_s;
	params[1] = seq_s;
	params[2] = it->kind;
	params[3] = it->serial;
	params[4] = it->state;
	params[5] = it->cert_serial;
	params[6] = it->chain_seq > 0 ? cseq_s : NULL;
	params[7] = it->chain_seq > 0 ? it->chain_hash : NULL;
	params[8] = at_s;
	res = fleet_pq.execParams(c->pg,
	    "SELECT fleet.ship($1::bigint, $2::bigint, $3, $4, $5, $6,"
	    " $7::bigint, $8, $9::bigint)",
	    9, NULL, params, NULL, NULL, 0);
	err = fleet_result_check(c, res, PGRES_TUPLES_OK,
	    "shipping the run feed", cause);
	fleet_pq.clear(res);
	return err;
}

static st_err
ship_item(struct fleet_conn *c, struct ledger *l, const struct fleet_item *it,
    struct fleet_drain_result *res, char **cause)
{
	int is_run = strcmp(it->kind, "run") == 0;
	int reserved = it->reserved == FLEET_RESERVED_FLEET;
	st_err err;

	err = exec_simple(c, "BEGIN", "starting a fleet transaction", cause);
	if (err)
		return err;
	if (is_run && it->serial != NULL &&
	    it->reserved == FLEET_RESERVED_LOCAL &&
	    strcmp(it->state, "PASS") == 0) {
		err = late_reserve(c, l, it, &reserved, &res->conflicts, cause);
		if (err)
			goto out;
	}
	if (is_run && it->serial != NULL && reserved) {
		err = finish_reservation(c, it, cause);
		if (err)
			goto out;
	}
	err = ship_row(c, it, cause);
	if (err)
		goto out;
	err =
	    exec_simple(c, "COMMIT", "committing to the fleet database", cause);
out:
	if (err) {
		fleet_pq.clear(fleet_pq.exec(c->pg, "ROLLBACK"));
		return err;
	}
	/* Durable in PostgreSQL: now the cursor. */
	err = ledger_fleet_shipped(l, it->seq, cause);
	if (err == ST_OK)
		res->shipped++;
	return err;
}

st_err
fleet_drain(struct fleet_conn *c, struct ledger *l, int timeout_ms,
    struct fleet_drain_result *res, char **cause)
{
	struct deadline dl = deadline_in((uint64_t)timeout_ms);
	struct fleet_item *items = NULL;
	size_t n = 0, i = 0;
	st_err err = ST_OK;

	memset(res, 0, sizeof *res);
	for (;;) {
		err = ledger_fleet_pending(l, DRAIN_BATCH, &items, &n, cause);
		if (err || n == 0)
			break;
		for (i = 0; i < n && err == ST_OK && !deadline_passed(dl); i++)
			err = ship_item(c, l, &items[i], res, cause);
		fleet_items_free(items, n);
		items = NULL;
		/* What is left waits for the next drain: the line does not
		 * wait on the fleet database beyond the budget. */
		if (err || deadline_passed(dl))
			break;
	}
	fleet_items_free(items, 0);
	return err;
}
