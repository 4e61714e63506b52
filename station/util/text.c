/* Showing outside text safely (see text.h). */
#include "station/util/text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

char *
text_escape(const char *s, size_t max)
{
	if (s == NULL)
		return xstrdup("(none)");
	return text_escape_bytes(s, strlen(s), max);
}

char *
text_escape_bytes(const void *p, size_t n, size_t max)
{
	const unsigned char *s = p;
	size_t shown = n > max ? max : n, o = 0;
	char *out;

	/* Worst case: every byte becomes \xNN, plus "..." and the NUL. */
	out = xmalloc(shown * 4 + 4);
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = s[i];

		if (c == '\\') {
			out[o++] = '\\';
			out[o++] = '\\';
		} else if (c >= 0x20 && c <= 0x7e) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, 5, "\\x%02x", c);
			o += 4;
		}
	}
	if (shown < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

char *
text_show(const char *s, size_t max)
{
	if (s != NULL && text_is_printable_ascii(s))
		return xstrdup(s);
	return text_escape(s, max);
}

const char *
text_pool_show(struct text_pool *tp, const char *s)
{
	tp->kept = xrealloc(tp->kept, (tp->n + 1) * sizeof *tp->kept);
	tp->kept[tp->n] = text_show(s, TEXT_POOL_MAX);
	return tp->kept[tp->n++];
}

void
text_pool_clear(struct text_pool *tp)
{
	for (size_t i = 0; i < tp->n; i++)
		free(tp->kept[i]);
	free(tp->kept);
	tp->kept = NULL;
	tp->n = 0;
}

int
text_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t extra;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return 0; /* continuation byte, overlong lead or > U+10FFFF */
		}
		if (len - i <= extra)
			return 0;
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((extra == 2 && cp < 0x800) ||
		    (extra == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return 0;
		i += extra + 1;
	}
	return 1;
}

int
text_is_printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}
