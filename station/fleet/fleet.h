/*
 * The fleet database (docs/fleet.md): one PostgreSQL that every station
 * of a factory shares, reached with libpq over TLS with the server
 * verified (sslmode=verify-full against [fleet] ca).  Two jobs:
 *
 *  - fleet-wide serial reservation: before KEYGEN a run reserves its
 *    device serial with one INSERT on the serial's unique key (through
 *    fleet.reserve(), atomic in PostgreSQL), so two stations can never
 *    both provision a serial; the reservation is confirmed (PASS) or
 *    released (FAIL) when the run's end is shipped;
 *  - the run feed: the ledger's outbox (db/fleet.h) shipped in order,
 *    idempotent on (station id, run id, sequence), each row carrying the
 *    ledger's chain head.
 *
 * The station logs in as a role named like its station id (the functions
 * take the station from session_user, so a station can only write its
 * own rows); the password comes from [fleet] password_file (0600) or
 * password_env, and is never put in a cause, a log line or the ledger.
 *
 * A connection is used by one thread at a time; each run and each drain
 * opens its own (a failing database then costs nothing afterwards).
 */
#ifndef ST_FLEET_H
#define ST_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "station/config/config.h"
#include "station/util/err.h"

struct fleet_conn;
struct ledger;

/*
 * Load libpq (libpq.so.5, on first use: station/util/dlib.h) unless it is
 * loaded already.  ST_E_CONFIG naming the library and the fix ("apt-get
 * install libpq5") when it is missing or too old.  fleet_connect calls it
 * first; the station calls it at its start when [fleet] url is set, so a
 * PC without libpq5 stops there, not at its first run.
 */
st_err fleet_lib_load(char **cause);

/*
 * Connect within `timeout_ms` as station `station_id`.  ST_E_HANGUP when
 * the server cannot be reached (refused, timed out, shutting down: an
 * outage, the profile decides), ST_E_CONFIG for what an administrator must
 * fix (libpq5 not installed, no password, a password file readable by
 * others, a refused login, a server certificate that does not verify, a
 * role that is not the station id).  *out is owned by the caller (fleet_close).
 */
st_err fleet_connect(const struct config_fleet *f, const char *station_id,
    int timeout_ms, struct fleet_conn **out, char **cause);
void fleet_close(struct fleet_conn *c);

/* Who holds a serial fleet-wide. */
struct fleet_holder {
	char *station;
	int slot;
	int64_t run_id;
	char *state; /* "reserved" or "confirmed" */
};
void fleet_holder_clear(struct fleet_holder *h);

/*
 * Reserve `serial` for this station's run `run_id` in `slot`.  ST_OK:
 * reserved (a serial this station held before is taken over: the
 * ledger's own reservation already decided between its runs).  Held by
 * another station: ST_E_STATE while that station's run is running,
 * ST_E_EXISTS once it PASSed; *holder names the station, slot and run and
 * so does the cause.  `late` marks the check of a run that went ahead on
 * its local reservation during an outage: a refusal is then recorded in
 * fleet.conflicts for the administrator.  Errors as fleet_connect, ST_E_DB
 * for any other refusal of the server.
 */
st_err fleet_reserve(struct fleet_conn *c, const char *serial, int slot,
    int64_t run_id, int late, struct fleet_holder *holder, char **cause);

/* What one drain did. */
struct fleet_drain_result {
	size_t shipped;	  /* outbox rows sent (a resend counts) */
	size_t conflicts; /* late reservations refused (reported) */
};

/*
 * Ship the ledger's pending outbox in order, at most until `timeout_ms`
 * has passed, stopping at the first error (the rest waits for the next
 * drain).  A run's end also confirms or releases its reservation; a run
 * that went ahead on its local reservation is first reserved late, and a
 * conflict is recorded in the ledger (ledger_fleet_conflict), in
 * fleet.conflicts and in the log, for `station fleet status`.
 */
st_err fleet_drain(struct fleet_conn *c, struct ledger *l, int timeout_ms,
    struct fleet_drain_result *res, char **cause);

/* The schema, the roles and their privileges (`station fleet schema`,
 * docs/fleet.md): SQL a database owner runs once.  Static text. */
const char *fleet_schema_sql(void);

#endif
