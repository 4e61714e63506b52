/* Label formats: pattern and check digit (see scan_format.h). */
#include "station/config/scan_format.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>
#include <stdlib.h>

#include "station/util/text.h"
#include "station/util/xalloc.h"

struct scan_format {
	int has_pattern;
	regex_t re;
	enum scan_checksum checksum;
};

st_err
scan_format_new(const char *pattern, enum scan_checksum checksum,
    struct scan_format **out, char **cause)
{
	struct scan_format *f;

	*out = NULL;
	if ((pattern == NULL || pattern[0] == '\0') &&
	    checksum == SCAN_CHECKSUM_NONE)
		return ST_OK;
	f = xcalloc(1, sizeof *f);
	f->checksum = checksum;
	if (pattern != NULL && pattern[0] != '\0' &&
	    scan_pattern_cost(pattern) > SCAN_PATTERN_COST_MAX) {
		char *shown = text_escape(pattern, 64);
		st_err err = st_fail(cause, ST_E_CONFIG,
		    "serial_pattern '%s': "
		    "too many repeats of repeats to compile",
		    shown);

		free(shown);
		free(f);
		return err;
	}
	if (pattern != NULL && pattern[0] != '\0') {
		/* Anchored: the pattern describes the whole label. */
		char *anchored = xasprintf("^(%s)$", pattern);
		int rc = regcomp(&f->re, anchored, REG_EXTENDED | REG_NOSUB);

		free(anchored);
		if (rc != 0) {
			char msg[128];

			regerror(rc, &f->re, msg, sizeof msg);
			free(f);
			return st_fail(cause, ST_E_CONFIG,
			    "serial_pattern '%s': %s", pattern, msg);
		}
		f->has_pattern = 1;
	}
	*out = f;
	return ST_OK;
}

void
scan_format_free(struct scan_format *f)
{
	if (f == NULL)
		return;
	if (f->has_pattern)
		regfree(&f->re);
	free(f);
}

int
luhn_valid(const char *s)
{
	int sum = 0, digits = 0;

	/* From the right: the check digit counts as is, every second digit
	 * before it is doubled (minus 9 when over 9). */
	for (const char *p = s + strlen(s); p-- > s;) {
		if (!isdigit((unsigned char)*p))
			continue;
		int d = *p - '0';

		if (digits % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
		digits++;
	}
	return digits >= 2 && sum % 10 == 0;
}

const char *
scan_format_check(const struct scan_format *f, const char *serial)
{
	if (f == NULL)
		return NULL;
	if (f->has_pattern && regexec(&f->re, serial, 0, NULL, 0) != 0)
		return "unknown label format";
	if (f->checksum == SCAN_CHECKSUM_LUHN && !luhn_valid(serial))
		return "checksum failure";
	return NULL;
}
