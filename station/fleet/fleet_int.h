/*
 * Inside station/fleet/: the connection and the libpq error mapping that
 * fleet.c and fleet_drain.c share.  Not for use outside station/fleet/.
 */
#ifndef ST_FLEET_INT_H
#define ST_FLEET_INT_H

#include <libpq-fe.h>

#include "station/fleet/fleet.h"

/*
 * libpq, loaded on first use (fleet_lib_load, station/util/dlib.h): the
 * fleet's only calls into it go through these pointers, each with the
 * prototype of libpq-fe.h.  Valid once fleet_lib_load succeeded (every
 * struct fleet_conn exists only after it did).
 */
struct fleet_pq {
	__typeof__(PQconnectdbParams) *connectdbParams;
	__typeof__(PQfinish) *finish;
	__typeof__(PQstatus) *status;
	__typeof__(PQerrorMessage) *errorMessage;
	__typeof__(PQexec) *exec;
	__typeof__(PQexecParams) *execParams;
	__typeof__(PQresultStatus) *resultStatus;
	__typeof__(PQresultErrorField) *resultErrorField;
	__typeof__(PQresultErrorMessage) *resultErrorMessage;
	__typeof__(PQntuples) *ntuples;
	__typeof__(PQnfields) *nfields;
	__typeof__(PQgetvalue) *getvalue;
	__typeof__(PQclear) *clear;
};
extern struct fleet_pq fleet_pq;

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
