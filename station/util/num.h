/*
 * Numbers from text (configuration values, command-line options, URI
 * query values, protocol text): one parser, so every number the station
 * reads is refused the same way when it is not a whole decimal number in
 * range.  No sign but a leading '-', no spaces, no trailing text, no
 * octal or hex surprises ("010" is ten).
 */
#ifndef ST_NUM_H
#define ST_NUM_H

#include "station/util/err.h"

/*
 * Parse all of `text` as a decimal integer in [min, max] into *out.
 * ST_E_ARG otherwise, with a cause naming `what` and the allowed range,
 * e.g. "--limit: 'abc' is not a whole number from 1 to 100000" (the value
 * shown escaped).  *out is unchanged on error.
 */
st_err num_parse(const char *text, long long min, long long max, long long *out,
    const char *what, char **cause);

/* The same without a message: 1 if `text` is such a number, else 0. */
int num_valid(const char *text, long long min, long long max, long long *out);

#endif
