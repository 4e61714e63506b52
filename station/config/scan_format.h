/*
 * The format of device labels a line accepts (optional): a pattern and a
 * check digit, from [station] serial_pattern and serial_checksum.  Every
 * scan that should be a device serial, on the screen or in batch mode, is
 * checked before anything else happens, so a mis-scan (a neighbouring
 * label, a damaged barcode) gets an immediate message and touches no
 * device.
 */
#ifndef ST_SCAN_FORMAT_H
#define ST_SCAN_FORMAT_H

#include "station/util/err.h"

enum scan_checksum {
	SCAN_CHECKSUM_NONE = 0,
	SCAN_CHECKSUM_LUHN, /* mod 10 over the label's digits; the last digit
	                       is the check digit */
};

struct scan_format;

/*
 * Compile a format.  `pattern` is a POSIX extended regular expression the
 * whole serial must match (NULL or "": any serial); ST_E_CONFIG names a
 * pattern that does not compile.  *out is NULL when neither a pattern nor
 * a checksum is set.  Free with scan_format_free (accepts NULL).
 */
st_err scan_format_new(const char *pattern, enum scan_checksum checksum,
    struct scan_format **out, char **cause);
void scan_format_free(struct scan_format *f);

/* NULL when `serial` fits the format (or there is none), else the reason as
 * a static phrase: "unknown label format", "checksum failure". */
const char *scan_format_check(const struct scan_format *f, const char *serial);

/* 1 if the digits of `s` pass the Luhn check (at least two digits). */
int luhn_valid(const char *s);

/*
 * The bytes a label matching `pattern` may hold (may[c] = 1), as far as a
 * simple reading of the pattern proves (scan_alphabet.c; docs/admin.md):
 * literal characters, escaped punctuation ("\."), bracket expressions
 * with single characters, ranges and the classes alpha, upper, lower,
 * digit, alnum and xdigit count; '.' outside brackets, a negated bracket
 * "[^...]", any other escape or class, collating elements and
 * equivalence classes count as "any byte".  NULL or "": any byte.  The
 * configuration uses it to prove that a template can hold every serial.
 */
void scan_format_alphabet(const char *pattern, unsigned char may[256]);

/*
 * About how many nodes a regex compiler builds for `pattern`: glibc's
 * regcomp copies the operand of every repeat ("a+" is "aa*", "a{n,m}" up
 * to m + 1 copies), so stacked or nested repeats multiply and
 * "a++++++++++++++++++++++++++++++" alone takes gigabytes.
 * scan_format_new refuses a pattern above SCAN_PATTERN_COST_MAX.
 */
#define SCAN_PATTERN_COST_MAX 100000.0
double scan_pattern_cost(const char *pattern);

#endif
