/* Label formats: pattern and check digit (see scan_format.h). */
#include "station/config/scan_format.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>
#include <stdlib.h>

#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/config/profile.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

struct scan_format {
	int has_pattern;
	regex_t re;
	enum scan_checksum checksum;
	int trim;
	enum scan_case fold;
};

st_err
scan_format_new(const char *pattern, enum scan_checksum checksum,
    struct scan_format **out, char **cause)
{
	struct scan_rule rule = { .pattern = pattern, .checksum = checksum };

	return scan_format_from_rule(&rule, out, cause);
}

st_err
scan_format_from_rule(const struct scan_rule *rule, struct scan_format **out,
    char **cause)
{
	const char *pattern = rule->pattern;
	struct scan_format *f;

	*out = NULL;
	if ((pattern == NULL || pattern[0] == '\0') &&
	    rule->checksum == SCAN_CHECKSUM_NONE && !rule->trim &&
	    rule->fold == SCAN_CASE_KEEP)
		return ST_OK;
	f = xcalloc(1, sizeof *f);
	f->checksum = rule->checksum;
	f->trim = rule->trim;
	f->fold = rule->fold;
	if (pattern != NULL && pattern[0] != '\0' &&
	    scan_pattern_cost(pattern) > SCAN_PATTERN_COST_MAX) {
		char *shown = text_escape(pattern, 64);
		st_err err = st_fail(cause, ST_E_CONFIG,
		    "pattern '%s': "
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
			return st_fail(cause, ST_E_CONFIG, "pattern '%s': %s",
			    pattern, msg);
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
	if (f->checksum == SCAN_CHECKSUM_MOD36 && !mod36_valid(serial))
		return "checksum failure";
	return NULL;
}

/* 0..35 for 0-9, A-Z (any case); -1 for any other byte. */
static int
mod36_value(unsigned char c)
{
	if (isdigit(c))
		return c - '0';
	if (isalpha(c))
		return toupper(c) - 'A' + 10;
	return -1;
}

int
mod36_valid(const char *s)
{
	int p = 36, sum = 0, n = 0;

	/* ISO/IEC 7064 hybrid system, M = 36: over every character, the
	 * check character included, the last running sum must be 1. */
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		int v = mod36_value(*c);

		if (v < 0)
			continue;
		sum = (p + v) % 36;
		if (sum == 0)
			sum = 36;
		p = (sum * 2) % 37;
		n++;
	}
	return n >= 2 && sum % 36 == 1;
}

const char *
scan_format_label(const struct scan_format *f, const char *label, char *out,
    size_t size)
{
	const char *start = label;
	size_t len;

	if (size == 0)
		return "label too long";
	if (f != NULL && f->trim) {
		while (isspace((unsigned char)*start))
			start++;
	}
	len = strlen(start);
	if (f != NULL && f->trim) {
		while (len > 0 && isspace((unsigned char)start[len - 1]))
			len--;
	}
	if (len >= size)
		return "label too long";
	memcpy(out, start, len);
	out[len] = '\0';
	for (size_t i = 0; f != NULL && i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (f->fold == SCAN_CASE_UPPER)
			out[i] = (char)toupper(c);
		else if (f->fold == SCAN_CASE_LOWER)
			out[i] = (char)tolower(c);
	}
	return scan_format_check(f, out);
}

st_err
scan_formats_for_fixture(const struct config *cfg, const struct fixture *fx,
    struct scan_format ***out, char **cause)
{
	struct scan_format **formats =
	    xcalloc(fx->n_slots + 1, sizeof *formats);
	st_err err = ST_OK;

	for (size_t i = 0; i < fx->n_slots; i++) {
		const char *name =
		    fx->slots[i].profile ? fx->slots[i].profile : "default";
		const struct profile *p = config_profile(cfg, name);
		struct scan_rule rule;

		if (p == NULL)
			continue;
		rule = (struct scan_rule){
			.pattern = p->label_pattern,
			.checksum = (enum scan_checksum)p->label_check_digit,
			.trim = p->label_trim,
			.fold = (enum scan_case)p->label_case,
		};
		err = scan_format_from_rule(&rule, &formats[i], cause);
		if (err) {
			err = st_wrap(cause, err, "[profile %s] label rule",
			    p->name);
			break;
		}
	}
	*out = formats;
	return err;
}

void
scan_formats_free(struct scan_format **formats, size_t n)
{
	for (size_t i = 0; formats != NULL && i < n; i++)
		scan_format_free(formats[i]);
	free(formats);
}
