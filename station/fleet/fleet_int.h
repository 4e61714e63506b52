/*
 * Inside station/fleet/: the connection and the libpq error mapping that
 * fleet.c and fleet_drain.c share.  Not for use outside station/fleet/.
 */
#ifndef ST_FLEET_INT_H
#define ST_FLEET_INT_H

#include <libpq-fe.h>

#include "station/fleet/fleet.h"

struct fleet_conn {
	PGconn *pg;
	char *station_id;
};

/*
 * A statement's result that is not `want` (PGRES_TUPLES_OK,
 * PGRES_COMMAND_OK) as an error: ST_E_HANGUP when the connection broke
 * or the server is going away, ST_E_TIMEOUT for a statement timeout,
 * ST_E_CONFIG for a privilege the role lacks (the cause says which role
 * to grant), ST_E_DB otherwise.  `what` is what the station was doing.
 * ST_OK when res is `want`.
 */
st_err fleet_result_check(struct fleet_conn *c, PGresult *res,
    ExecStatusType want, const char *what, char **cause);

#endif
