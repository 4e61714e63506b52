/*
 * Simple readings of a serial_pattern (see scan_format.h): which
 * characters it lets through, and how much a regex compiler would build
 * for it.  The alphabet reading errs towards "any byte": a profile is
 * refused when the pattern does not visibly exclude a character the
 * profile cannot hold, never accepted on a guess.
 */
#include "station/config/scan_format.h"

#include <stdlib.h>
#include <string.h>

static void
mark_all(unsigned char may[256])
{
	memset(may, 1, 256);
}

static void
mark_range(unsigned char may[256], unsigned char lo, unsigned char hi)
{
	for (unsigned c = lo; c <= hi; c++)
		may[c] = 1;
}

/* "[:name:]" at p (p[0] == '[', p[1] == ':'); returns the length eaten,
 * 0 if it is not a complete class. */
static size_t
mark_class(unsigned char may[256], const char *p)
{
	static const struct {
		const char *name;
		const char *ranges; /* pairs lo, hi */
	} classes[] = {
		{ "alpha", "AZaz" },
		{ "upper", "AZ" },
		{ "lower", "az" },
		{ "digit", "09" },
		{ "alnum", "AZaz09" },
		{ "xdigit", "AFaf09" },
	};
	const char *end = strstr(p + 2, ":]");

	if (end == NULL)
		return 0;
	size_t nlen = (size_t)(end - (p + 2));
	for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
		if (strlen(classes[i].name) != nlen ||
		    memcmp(classes[i].name, p + 2, nlen) != 0)
			continue;
		for (const char *r = classes[i].ranges; *r; r += 2)
			mark_range(may, (unsigned char)r[0],
			    (unsigned char)r[1]);
		return nlen + 4;
	}
	mark_all(may); /* punct, graph, print, ...: may hold anything */
	return nlen + 4;
}

/* A bracket expression starting at p (p[0] == '['); returns the length
 * eaten (to the end of the string if it is not closed). */
static size_t
mark_bracket(unsigned char may[256], const char *p)
{
	size_t i = 1;

	if (p[i] == '^') {
		mark_all(may);
		i++;
	}
	/* A ']' first in the list is a literal. */
	if (p[i] == ']') {
		may[']'] = 1;
		i++;
	}
	while (p[i] != '\0' && p[i] != ']') {
		if (p[i] == '[' && p[i + 1] == ':') {
			size_t n = mark_class(may, p + i);

			if (n == 0) {
				mark_all(may);
				return strlen(p);
			}
			i += n;
			continue;
		}
		if (p[i] == '[' && (p[i + 1] == '.' || p[i + 1] == '=')) {
			mark_all(
			    may); /* collating element, equivalence class */
			i += 2;
			continue;
		}
		if (p[i + 1] == '-' && p[i + 2] != ']' && p[i + 2] != '\0') {
			unsigned char lo = (unsigned char)p[i];
			unsigned char hi = (unsigned char)p[i + 2];

			if (lo <= hi)
				mark_range(may, lo, hi);
			i += 3;
			continue;
		}
		may[(unsigned char)p[i]] = 1;
		i++;
	}
	if (p[i] != ']') {
		mark_all(may); /* not closed: not a pattern to reason about */
		return i;
	}
	return i + 1;
}

void
scan_format_alphabet(const char *pattern, unsigned char may[256])
{
	const char *p = pattern;

	memset(may, 0, 256);
	if (pattern == NULL || pattern[0] == '\0') {
		mark_all(may);
		return;
	}
	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			unsigned char x = (unsigned char)p[1];

			/* "\." is a literal; "\w", "\d" and friends are not
			 * something this reading proves anything about. */
			if (x != '\0' &&
			    strchr(".-_^$*+?()[]{}|\\/", x) != NULL)
				may[x] = 1;
			else
				mark_all(may);
			p += x != '\0' ? 2 : 1;
			continue;
		}
		if (c == '[') {
			p += mark_bracket(may, p);
			continue;
		}
		if (c == '{') {
			/* A repeat count: digits and ',' are not characters
			 * of the label. */
			const char *end = strchr(p, '}');

			p = end ? end + 1 : p + strlen(p);
			continue;
		}
		if (c == '.')
			mark_all(may);
		else if (strchr("()|*+?^$", c) == NULL)
			may[c] = 1;
		p++;
	}
}

#define COST_DEPTH 32

/* Length of the bracket expression at p (p[0] == '['), to its ']'. */
static size_t
bracket_len(const char *p)
{
	size_t i = 1;

	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++;
	while (p[i] != '\0' && p[i] != ']') {
		if (p[i] == '[' && p[i + 1] != '\0' &&
		    strchr(":.=", p[i + 1]) != NULL) {
			const char *end = strchr(p + i + 2, p[i + 1]);

			if (end == NULL || end[1] != ']')
				return strlen(p);
			i = (size_t)(end + 2 - p);
			continue;
		}
		i++;
	}
	return p[i] == ']' ? i + 1 : i;
}

double
scan_pattern_cost(const char *pattern)
{
	double seq[COST_DEPTH], last[COST_DEPTH];
	int d = 0;
	const char *p = pattern;

	seq[0] = last[0] = 0;
	while (*p != '\0') {
		char c = *p;

		if (c == '(') {
			if (d + 1 == COST_DEPTH)
				return 1e300;
			d++;
			seq[d] = last[d] = 0;
			p++;
		} else if (c == ')' && d > 0) {
			double group = seq[d];

			d--;
			seq[d] += group;
			last[d] = group;
			p++;
		} else if (c == '|') {
			last[d] = 0;
			p++;
		} else if (c == '*' || c == '?') {
			p++;
		} else if (c == '+') {
			/* a+ is built as a a*: one more copy of the operand. */
			seq[d] += last[d];
			last[d] *= 2;
			p++;
		} else if (c == '{') {
			/* a{n,m} is built as up to max(n, m) + 1 copies. */
			char *end;
			double n = strtod(p + 1, &end);
			double m = n;

			if (*end == ',')
				m = end[1] == '}' ? n + 1 :
						    strtod(end + 1, &end);
			if (m < n)
				m = n;
			seq[d] += last[d] * m;
			last[d] *= m + 1;
			end = strchr(p, '}');
			p = end ? end + 1 : p + strlen(p);
		} else {
			size_t n = c == '['	      ? bracket_len(p) :
			    c == '\\' && p[1] != '\0' ? 2 :
							1;

			seq[d] += 1;
			last[d] = 1;
			p += n;
		}
	}
	while (d > 0) {
		seq[d - 1] += seq[d];
		d--;
	}
	return seq[0];
}
