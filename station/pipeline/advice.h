/*
 * What an operator should do next when a run FAILs.  The technical cause
 * (for logs, the ledger and test engineers) comes from the error chain; this
 * table turns the failed step and the kind of error into one sentence a line
 * operator can act on.  docs/operator.md lists the same table.
 */
#ifndef ST_ADVICE_H
#define ST_ADVICE_H

#include <stddef.h>

#include "station/pipeline/event.h"
#include "station/util/err.h"

/* One row of the table: the first row matching a failed step and error
 * kind gives the advice.  `step` STEP__COUNT matches every step; `err`
 * ST_OK matches every error kind of the step. */
struct advice {
	enum step step;
	st_err err;
	const char *headline;
	const char *next;
};

/* The rows, for tests that hold docs/operator.md to the table: `i` below
 * advice_table_size(); the row is static (never freed). */
size_t advice_table_size(void);
const struct advice *advice_entry(size_t i);

/* Short headline for the screen ("Device not responding"). Never NULL. */
const char *advice_headline(enum step step, st_err err);
/* The next step for the operator ("Reseat the device and press R to
 * retry."). Never NULL. */
const char *advice_next_step(enum step step, st_err err);

#endif
