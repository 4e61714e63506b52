/*
 * The one logger.  Every file that logs defines LOG_MODULE before including
 * this header; lines go to stderr (or the file set with log_set_file) as
 *
 *	2026-11-22T14:05:25.123Z station[1234] debug frame: ...
 *
 * Library code (drivers/, db/, station/) never prints to stdout: stdout
 * belongs to the command's own output (human text or JSON).
 *
 * A line is one line: a message that holds any byte other than printable
 * ASCII (a device's model with ESC in it, a reason with a newline) is
 * written through text_show (text.h), so no logged value can forge a
 * line or reach a terminal's control sequences.  Callers still quote
 * outside values with text_escape where they know them to be outside.
 *
 * Never log secrets: no private keys, no CA credentials, no tokens, no PINs.
 * Certificates, CSRs, public keys and digests are public and may be logged.
 */
#ifndef ST_LOG_H
#define ST_LOG_H

#include <stddef.h>
#include <stdio.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/* Default WARN; the STATION_LOG environment variable (error/warn/info/debug)
 * or log_set_level() change it. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);
/* Send log lines to `fp` (borrowed; NULL = stderr). */
void log_set_file(FILE *fp);
/* Program name shown in every line ("station", "devsim"). */
void log_set_ident(const char *ident);

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hex dump at debug level, one line per 32 bytes, prefixed by `what`. */
void log_hexdump(const char *module, const char *what, const void *buf,
    size_t len);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, LOG_MODULE, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, LOG_MODULE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, LOG_MODULE, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, LOG_MODULE, __VA_ARGS__)
#define log_debug_enabled() (log_get_level() >= LOG_LEVEL_DEBUG)

#endif
