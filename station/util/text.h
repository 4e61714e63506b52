/*
 * Text that came from outside (a device, a scanner, a CA reply, a
 * configuration file) made safe to show.  Every message that quotes such
 * a value goes through text_escape, so a value can never move the
 * terminal's cursor, start an escape sequence, forge a log line or hide
 * its own end.
 */
#ifndef ST_TEXT_H
#define ST_TEXT_H

#include <stddef.h>

/*
 * A printable-ASCII copy of `s` (caller frees): bytes 0x20..0x7e are kept,
 * a backslash becomes "\\", every other byte (controls, DEL, any byte of a
 * multi-byte UTF-8 sequence) becomes "\xNN".  At most `max` bytes of `s`
 * are shown; a longer value ends in "..." so the reader sees it was cut.
 * NULL gives "(none)".
 */
char *text_escape(const char *s, size_t max);
/* The same for `len` bytes that may hold a NUL (a device's MESSAGE as it
 * came off the wire): a NUL is shown as "\x00", not an end. */
char *text_escape_bytes(const void *p, size_t len, size_t max);

/*
 * Outside text about to be printed or drawn (caller frees): a copy of `s`
 * as it is when every byte is printable ASCII (so a message that already
 * quotes values through text_escape is not escaped twice), else
 * text_escape(s, max).  NULL gives "(none)".
 */
char *text_show(const char *s, size_t max);

/*
 * Several text_show copies for one printf, freed together:
 *
 *	struct text_pool tp = { 0 };
 *	printf("%s %s\n", text_pool_show(&tp, a), text_pool_show(&tp, b));
 *	text_pool_clear(&tp);
 *
 * The strings returned stay valid until text_pool_clear.
 */
struct text_pool {
	char **kept;
	size_t n;
};

/* Max bytes shown per value by text_pool_show. */
#define TEXT_POOL_MAX 512

const char *text_pool_show(struct text_pool *tp, const char *s);
void text_pool_clear(struct text_pool *tp);

/* 1 if s[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), else 0. */
int text_utf8_valid(const char *s, size_t len);

/* 1 if every byte of `s` is printable ASCII (0x20..0x7e). */
int text_is_printable_ascii(const char *s);

#endif
