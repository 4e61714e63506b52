/*
 * One scan line of `station batch` (cmd_batch.c): "SERIAL [SLOT-LABEL]",
 * words separated by spaces or tabs, anything after a CR or LF ignored;
 * a scan holding any other control byte or a non-ASCII byte is refused
 * whole.  A
 * pure function, so that the grammar is tested and fuzzed without a line.
 */
#ifndef ST_SCAN_LINE_H
#define ST_SCAN_LINE_H

struct fixture;
struct scan_format;

enum scan_verdict {
	SCAN_BLANK = 0, /* nothing but white space: ignored */
	SCAN_OK,	/* a serial, and maybe the slot it goes to */
	SCAN_REFUSED,	/* *why says why, in the batch's words */
};

/*
 * Classify `line` against the labels of `fx`, the slots' label rules
 * `rules` (rules[i] for fx->slots[i], scan_formats_for_fixture; NULL or
 * a NULL entry: none) and the label format `fmt` (NULL: any serial).
 * The serial goes through the rule of the slot whose label follows it,
 * or without a label the first slot whose rule takes it.  SCAN_OK:
 * *serial (new string) is the serial as the rule made it (trimmed,
 * folded), satisfies serial_is_valid() and the format, and *slot is the
 * index of the slot whose label was scanned, or 0 when none was.
 * SCAN_REFUSED: *why is a static sentence.  *serial is NULL unless
 * SCAN_OK.
 */
enum scan_verdict scan_line_parse(const char *line, const struct fixture *fx,
    struct scan_format *const *rules, const struct scan_format *fmt,
    char **serial, unsigned *slot, const char **why);

#endif
