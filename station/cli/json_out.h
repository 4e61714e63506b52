/*
 * The --json output of the commands: one compact JSON object per line on
 * stdout (json_out_line*: for cmd_*.c only, library code never prints),
 * and the one way any C string becomes a JSON value (json_str_or_null:
 * for everything that builds JSON).
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

/*
 * A new JSON string holding `s`, or JSON null when `s` is NULL.  Never
 * NULL itself: jansson refuses a string that is not valid UTF-8 (and
 * json_object_set_new then silently drops the key), so such a value is
 * given as text_escape(s) instead: printable ASCII, every byte other than
 * 0x20..0x7e as the four characters "\xNN", a backslash doubled.  Valid
 * UTF-8 is kept as it is (the JSON encoder escapes its control
 * characters).  Use it for every string that may come from outside: a
 * device, a scanner, a CA, a configuration file, the command line, a
 * cause quoting any of them.
 */
json_t *json_str_or_null(const char *s);

#endif
