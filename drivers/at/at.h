/*
 * A line-oriented AT command channel over a transport, for devices that
 * already speak AT (the nRF91 dialect: station/pipeline/dialect_nrf91.c).
 *
 * A command is sent with "\r\n" (the Serial LTE Modem runs a command only
 * on CR LF).  The answer is read line by line up to its final result:
 * "OK", "ERROR" (the modem before AT+CMEE=1) or "+CME ERROR: <n>".  Lines
 * whose prefix the caller names ("%KEYGEN:") are the command's answer;
 * any other line is unsolicited (+CEREG, #XMQTTEVT) and is queued for
 * at_wait_urc, so an unsolicited line between a command and its answer
 * never shifts the answer.  Every line is hostile: at most AT_LINE_MAX
 * bytes, and the channel never prints it (callers show it with
 * text_escape).
 */
#ifndef ST_AT_H
#define ST_AT_H

#include "drivers/transport/transport.h"
#include "station/util/clock.h"
#include "station/util/err.h"

#define AT_LINE_MAX 4096

struct at_chan;

/* Takes ownership of `t` (closed by at_free). */
struct at_chan *at_new(struct transport *t);
/* Accepts NULL. */
void at_free(struct at_chan *a);
/* The deadline of every following call. */
void at_set_deadline(struct at_chan *a, struct deadline dl);

/* The final result of the last command that failed: the +CME ERROR code,
 * or -1 for a plain ERROR or no final result at all. */
int at_last_cme(const struct at_chan *a);

/*
 * Send `cmd` ("AT%KEYGEN=16842753,2,0") and read its answer.  Lines that
 * start with `prefix` (may be NULL: the command has no answer lines) are
 * returned in *lines (NULL-terminated; free with at_lines_free), with the
 * prefix and the blank after it removed.  ST_OK on "OK"; ST_E_DEVICE
 * naming the command and the error ("+CME ERROR: 514") otherwise;
 * ST_E_TIMEOUT past the deadline, ST_E_HANGUP when the device is gone,
 * ST_E_PROTO for a line longer than AT_LINE_MAX.  `lines` may be NULL.
 */
st_err at_cmd(struct at_chan *a, const char *cmd, const char *prefix,
    char ***lines, char **cause);
void at_lines_free(char **lines);

/*
 * The next unsolicited line that starts with `prefix`, queued or still to
 * come before the deadline: *line (caller frees) without the prefix and the
 * blank after it.  Unsolicited lines of other prefixes stay queued.
 */
st_err at_wait_urc(struct at_chan *a, const char *prefix, char **line,
    char **cause);

/* Split an answer's comma-separated fields, honouring double quotes (the
 * quotes removed).  Returns the count; *fields is NULL-terminated (free
 * with at_lines_free).  -1 for an unterminated quote. */
int at_fields(const char *line, char ***fields);

#endif
