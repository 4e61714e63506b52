/* Numbers from text (see num.h). */
#include "station/util/num.h"

#include <errno.h>
#include <stdlib.h>

#include "station/util/text.h"

int
num_valid(const char *text, long long min, long long max, long long *out)
{
	const char *p = text;
	char *end = NULL;
	long long v;

	if (text == NULL)
		return 0;
	if (*p == '-')
		p++;
	/* strtoll alone would take spaces, '+' and an empty string. */
	if (*p < '0' || *p > '9')
		return 0;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return 0;
	*out = v;
	return 1;
}

st_err
num_parse(const char *text, long long min, long long max, long long *out,
    const char *what, char **cause)
{
	char *shown = NULL;
	st_err err;

	if (num_valid(text, min, max, out))
		return ST_OK;
	shown = text_escape(text, 32);
	err = st_fail(cause, ST_E_ARG,
	    "%s: '%s' is not a whole number from "
	    "%lld to %lld",
	    what, shown, min, max);
	free(shown);
	return err;
}
