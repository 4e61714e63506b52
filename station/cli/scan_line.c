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

enum scan_verdict
scan_line_parse(const char *line, const struct fixture *fx,
    const struct scan_format *fmt, char **serial, unsigned *slot,
    const char **why)
{
	char *text = xstrdup(line), *word = NULL, *label = NULL;
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
	if (!serial_is_valid(word)) {
		*why = "not a valid device serial";
		goto out;
	}
	*why = scan_format_check(fmt, word);
	if (*why != NULL)
		goto out;
	if (label) {
		const struct fixture_slot *s = fixture_slot_by_label(fx, label);

		if (s == NULL) {
			*why = "no slot with this label in the fixture";
			goto out;
		}
		*slot = s->index;
	}
	*serial = xstrdup(word);
	v = SCAN_OK;
out:
	free(text);
	return v;
}
