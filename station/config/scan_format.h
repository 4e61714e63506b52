/*
 * The format of device labels a line accepts (optional): a pattern and a
 * check digit, from [station] serial_pattern and serial_checksum; and a
 * profile's label rule (label_trim, label_case, label_pattern,
 * label_check_digit: struct scan_rule), which first normalises what the
 * scanner typed (white space, Caps Lock) and then checks it.  Every
 * scan that should be a device serial, on the screen or in batch mode, is
 * checked before anything else happens, so a mis-scan (a neighbouring
 * label, a damaged barcode) gets an immediate message and touches no
 * device.
 */
#ifndef ST_SCAN_FORMAT_H
#define ST_SCAN_FORMAT_H

#include <stddef.h>

#include "station/util/err.h"

enum scan_checksum {
	SCAN_CHECKSUM_NONE = 0,
	SCAN_CHECKSUM_LUHN,  /* mod 10 over the label's digits; the last digit
	                       is the check digit */
	SCAN_CHECKSUM_MOD36, /* ISO/IEC 7064 MOD 37,36 over the label's
	                        letters and digits (case-insensitive); the
	                        last of them is the check character */
};

/* label_case: what a scan's letters become before any check. */
enum scan_case {
	SCAN_CASE_KEEP = 0,
	SCAN_CASE_UPPER,
	SCAN_CASE_LOWER,
};

/* A profile's label rule, as configured (strings borrowed). */
struct scan_rule {
	const char *pattern; /* POSIX ERE for the whole label; NULL/"": any */
	enum scan_checksum checksum;
	int trim;	     /* drop white space around the label */
	enum scan_case fold; /* case folding, before the checks */
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
/* The same for a whole rule; *out is NULL when the rule does nothing
 * (no trim, no folding, no pattern, no check digit). */
st_err scan_format_from_rule(const struct scan_rule *rule,
    struct scan_format **out, char **cause);
void scan_format_free(struct scan_format *f);

/* NULL when `serial` fits the format (or there is none), else the reason as
 * a static phrase: "unknown label format", "checksum failure". */
const char *scan_format_check(const struct scan_format *f, const char *serial);

/*
 * Apply the rule to a scanned `label`: trim and fold it into `out` (size
 * bytes; a label that does not fit is refused), then check it as
 * scan_format_check does.  NULL when the label is good (`out` holds the
 * label to use), else a static phrase ("unknown label format", "checksum
 * failure", "label too long").  With f NULL, `out` is a copy of `label`.
 */
const char *scan_format_label(const struct scan_format *f, const char *label,
    char *out, size_t size);

struct config;
struct fixture;

/*
 * The label rule of every slot of `fx`, from its profile in `cfg`:
 * (*out)[i] belongs to fx->slots[i], NULL where the profile has no rule
 * or is unknown (that slot's run FAILs at connect, naming it).  *out is
 * owned by the caller: scan_formats_free(*out, fx->n_slots).
 */
st_err scan_formats_for_fixture(const struct config *cfg,
    const struct fixture *fx, struct scan_format ***out, char **cause);
void scan_formats_free(struct scan_format **formats, size_t n);

/* 1 if the letters and digits of `s` pass ISO/IEC 7064 MOD 37,36 (at
 * least two of them; any other byte is skipped). */
int mod36_valid(const char *s);

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
