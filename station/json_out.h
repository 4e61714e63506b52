/*
 * The --json output of the commands: one compact JSON object per line on
 * stdout.  For cmd_*.c only (library code never prints).
 */
#ifndef STATION_JSON_OUT_H
#define STATION_JSON_OUT_H

#include <jansson.h>

/* Print `o` as one line, non-ASCII characters escaped, and release it
 * (takes the reference). */
void json_out_line(json_t *o);
/* The same with UTF-8 kept as it is (strings read from devices as they
 * were given). */
void json_out_line_utf8(json_t *o);

/* A new JSON string holding `s`, or JSON null when `s` is NULL. */
json_t *json_str_or_null(const char *s);

#endif
