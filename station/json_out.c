/* One JSON object per line on stdout (json_out.h). */
#include "json_out.h"

#include <stdio.h>
#include <stdlib.h>

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
	return s ? json_string(s) : json_null();
}
