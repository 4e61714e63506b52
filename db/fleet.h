/*
 * The ledger's side of the fleet database (docs/fleet.md): the outbox
 * the ledger fills by itself and the note of how each run's serial was
 * reserved.  The outbox is filled by triggers (db/schema.c), in the very
 * transaction that finished a run or changed a certificate's state, so
 * the ledger stays the station's durable record and nothing recorded can
 * be left out of the feed; station/fleet/ ships it to PostgreSQL.
 */
#ifndef ST_DB_FLEET_H
#define ST_DB_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "station/util/err.h"

struct ledger;

/* How a run's serial was reserved (fleet_runs.reserved). */
enum fleet_reserved {
	FLEET_RESERVED_NONE = 0, /* no fleet configured for the run */
	FLEET_RESERVED_FLEET,	 /* fleet-wide, before KEYGEN */
	FLEET_RESERVED_LOCAL,	 /* best-effort: only the ledger's own */
};

/* One outbox row still to ship, with what the run's reservation was. */
struct fleet_item {
	int64_t seq;
	char *kind;	/* "run" or "cert" */
	int64_t run_id; /* 0 when the certificate names no run */
	char *serial;	/* device serial, NULL if unknown */
	char *state;	/* PASS / FAIL, or the certificate's status */
	char *cert_serial;
	int64_t chain_seq; /* the chain head it carries; 0: none yet */
	char *chain_hash;  /* NULL with chain_seq 0 */
	int64_t at_ms;
	int slot;		      /* the run's slot */
	enum fleet_reserved reserved; /* of the run */
};

void fleet_item_clear(struct fleet_item *it);
void fleet_items_free(struct fleet_item *items, size_t n);

/*
 * Note how run `run_id`'s serial is reserved.  Once per run; a second
 * note for the same run replaces the first.
 */
st_err ledger_fleet_note(struct ledger *l, int64_t run_id, const char *serial,
    enum fleet_reserved how, char **cause);

/* How run `run_id` was reserved (FLEET_RESERVED_NONE when never noted). */
st_err ledger_fleet_reserved(struct ledger *l, int64_t run_id,
    enum fleet_reserved *how, char **cause);

/*
 * Up to `max` unshipped outbox rows, oldest first, into *items (caller
 * frees with fleet_items_free; *n may be 0).
 */
st_err ledger_fleet_pending(struct ledger *l, size_t max,
    struct fleet_item **items, size_t *n, char **cause);

/* Mark outbox row `seq` shipped (durably: a resend after a crash is
 * harmless, but the cursor is what makes the next drain start after it). */
st_err ledger_fleet_shipped(struct ledger *l, int64_t seq, char **cause);

/* Record the conflict a late (best-effort) reservation found for the
 * run: `text` names the other station, slot and run. */
st_err ledger_fleet_conflict(struct ledger *l, int64_t run_id, const char *text,
    char **cause);

/* What `station fleet status` shows. */
struct fleet_local_status {
	int64_t pending;	   /* outbox rows not shipped */
	int64_t shipped;	   /* outbox rows shipped */
	int64_t oldest_pending_ms; /* at_ms of the oldest pending, 0: none */
	size_t n_conflicts;
	char **conflicts; /* "run N serial S: text", owned */
};

st_err ledger_fleet_status(struct ledger *l, struct fleet_local_status *out,
    char **cause);
void fleet_local_status_clear(struct fleet_local_status *s);

#endif
