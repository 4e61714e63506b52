/* One JSON object per line on stdout (json_out.h). */
#include "station/cli/json_out.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/text.h"

static void
put_line(json_t *o, size_t flags)
{
	char *s = json_dumps(o, flags);

	printf("%s\n", s);
	free(s);
	json_decref(o);
}

void
json_out_line(json_t *o)
{
	put_line(o, JSON_COMPACT | JSON_ENSURE_ASCII);
}

void
json_out_line_utf8(json_t *o)
{
	put_line(o, JSON_COMPACT);
}

json_t *
json_str_or_null(const char *s)
{
	json_t *v;
	char *shown;

	if (s == NULL)
		return json_null();
	if (text_utf8_valid(s, strlen(s)))
		return json_string(s);
	/* Escaped whole, not byte by byte, so that a reader who sees "\x"
	 * knows every byte of this value was shown the same way. */
	shown = text_escape(s, SIZE_MAX);
	v = json_string(shown);
	free(shown);
	return v;
}
