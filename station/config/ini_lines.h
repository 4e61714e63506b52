/*
 * A line-counting reader for inih's ini_parse_stream().
 *
 * inih as Debian builds it does not pass line numbers to the handler, so
 * loaders (config_load.c, fixture.c) feed it through this reader, which
 * counts lines and notices section headers as they go by: inih only calls
 * the handler for key = value lines, so an empty or repeated section would
 * otherwise go unseen.  The reader mirrors inih's rules for what is a
 * header (an indented line right after a key continues that key's value).
 *
 * The owner sets prev_key = 1 from its key handler (inih's continuation
 * rule depends on it) and reads `line` for its messages.
 */
#ifndef ST_INI_LINES_H
#define ST_INI_LINES_H

#include <stdio.h>

#include "station/util/err.h"

struct ini_lines {
	FILE *fp;     /* borrowed */
	int line;     /* line last handed to inih */
	int indented; /* that line started with white space */
	int prev_key; /* a key line since the last header */
	/* A line whose first non-blank character is '[' (prev_key is
	 * already reset); `start` points at the '['. */
	void (*on_header)(void *ctx, const char *start);
	/* A line the reader could not pass on (too long, NUL byte, read
	 * error); `msg` is a sentence without the file name. */
	void (*on_error)(void *ctx, int line, const char *msg);
	void *ctx;
	char *linebuf; /* getline() buffer, freed by ini_lines_clear */
	size_t linecap;
};

/* fgets-like reader for ini_parse_stream(); `stream` is a struct
 * ini_lines. */
char *ini_lines_read(char *str, int num, void *stream);
/* Free the line buffer (the FILE stays the caller's). */
void ini_lines_clear(struct ini_lines *r);

/* A read-only stream over `text` (borrowed until fclose), for the loaders'
 * _load_buffer entry points; an empty text reads as one empty line.
 * ST_E_IO "<name>: <reason>" when it cannot be opened. */
st_err ini_open_buffer(const char *name, const char *text, size_t len,
    FILE **fp, char **cause);

#endif
