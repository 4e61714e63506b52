/* The batch scan-line grammar (see scan_line.h). */
#include "station/cli/scan_line.h"
#include "station/config/scan_format.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "station/config/fixture.h"
#include "station/config/profile.h"
#include "station/util/xalloc.h"

/* 1 if `text` holds only printable ASCII and the separators space and
 * tab: a scanner's control byte (ESC, a GS1 group separator) or a
 * non-ASCII byte refuses the whole scan rather than being dropped, which
 * could turn a damaged label into another device's serial. */
static int
scan_bytes_ok(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p > 0x7e)
			return 0;
	return 1;
}

/* Split `text` (modified) into at most two words; -1 for three or more. */
static int
split_scan(char *text, char **serial, char **label)
{
	char *p = text, *words[2] = { NULL };
	int n = 0;

	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == 2)
			return -1;
		words[n++] = p;
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
	*serial = words[0];
	*label = words[1];
	return n;
}

/* `word` through the rule of slot position `only` (or, when it is -1,
 * the first slot whose rule takes it) into `out`; NULL, or why not. */
static const char *
apply_rule(const struct fixture *fx, struct scan_format *const *rules,
    long only, const char *word, char *out, size_t size)
{
	const char *why = NULL, *first = NULL;
	size_t from = only >= 0 ? (size_t)only : 0;
	size_t to = only >= 0 ? from + 1 : fx->n_slots;

	if (rules == NULL || to == 0)
		return scan_format_label(NULL, word, out, size);
	for (size_t i = from; i < to; i++) {
		why = scan_format_label(rules[i], word, out, size);
		if (why == NULL)
			return NULL;
		if (first == NULL)
			first = why;
	}
	return first;
}

enum scan_verdict
scan_line_parse(const char *line, const struct fixture *fx,
    struct scan_format *const *rules, const struct scan_format *fmt,
    char **serial, unsigned *slot, const char **why)
{
	char *text = xstrdup(line), *word = NULL, *label = NULL;
	char folded[256]; /* longer: refused, no serial is near it */
	const struct fixture_slot *s = NULL;
	enum scan_verdict v = SCAN_REFUSED;
	int n;

	*serial = NULL;
	*slot = 0;
	*why = NULL;
	text[strcspn(text, "\r\n")] = '\0';
	if (!scan_bytes_ok(text)) {
		*why = "the scan holds a control or non-ASCII byte";
		goto out;
	}
	n = split_scan(text, &word, &label);
	if (n == 0) {
		v = SCAN_BLANK;
		goto out;
	}
	if (n < 0) {
		*why = "expected 'SERIAL [SLOT-LABEL]'";
		goto out;
	}
	if (label) {
		s = fixture_slot_by_label(fx, label);
		if (s == NULL) {
			*why = "no slot with this label in the fixture";
			goto out;
		}
		*slot = s->index;
	}
	*why = apply_rule(fx, rules, s ? (long)(s - fx->slots) : -1, word,
	    folded, sizeof folded);
	if (*why != NULL)
		goto out;
	if (!serial_is_valid(folded)) {
		*why = "not a valid device serial";
		goto out;
	}
	*why = scan_format_check(fmt, folded);
	if (*why != NULL)
		goto out;
	*serial = xstrdup(folded);
	v = SCAN_OK;
out:
	free(text);
	return v;
}
