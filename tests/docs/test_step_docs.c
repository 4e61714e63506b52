/*
 * The documents that name what the code defines name exactly that:
 *
 * - the steps (station/pipeline/event.c): the man page's "The steps, in
 *   order:" list, in order, and a row of docs/operator.md's failure table
 *   for every step;
 * - the operator advice (station/pipeline/advice.c): every headline and
 *   next step the code can give is a row of that failure table, under its
 *   step, and every row of the table is advice the code gives;
 * - the commands (station/cli/main.c's cmd_table, as `station --help`
 *   lists it): each has an entry in the man page's COMMANDS section, and
 *   each entry there is a command the program has.
 *
 * A step, an advice row or a command added (or renamed) without its
 * documentation fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/pipeline/advice.h"
#include "station/pipeline/event.h"
#include "station/util/xalloc.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

static char *
read_doc(const char *name)
{
	const char *dir = getenv("STATION_SRCDIR");
	char *path = xasprintf("%s/docs/%s", dir ? dir : ".", name);
	char *text = scratch_read(path);

	if (text == NULL)
		fail_msg("cannot read %s", path);
	free(path);
	return text;
}

/* The man page's list, words joined by ", " across line breaks, ends at
 * the first '.': the step names in order. */
static void
test_man_page_lists_every_step_in_order(void **state)
{
	char *man = read_doc("station.1");
	const char *intro = "The steps, in order: ";
	char *p = strstr(man, intro);

	(void)state;
	if (p == NULL)
		fail_msg("docs/station.1 has no '%s' list", intro);
	p += strlen(intro);
	for (int s = 0; s < STEP__COUNT; s++) {
		const char *name = step_name((enum step)s);
		size_t n = strlen(name);

		while (*p == ' ' || *p == '\n')
			p++;
		if (strncmp(p, name, n) != 0)
			fail_msg("docs/station.1: step %d should be '%s', the "
				 "list has '%.20s'",
			    s, name, p);
		p += n;
		if (*p != (s + 1 < STEP__COUNT ? ',' : '.'))
			fail_msg("docs/station.1: after '%s' comes '%c'", name,
			    *p);
		p++;
	}
	free(man);
}

/* Every step has a row "| step |" or "| step (case) |". */
static void
test_operator_guide_has_a_row_for_every_step(void **state)
{
	char *guide = read_doc("operator.md");

	(void)state;
	for (int s = 0; s < STEP__COUNT; s++) {
		char *row = xasprintf("\n| %s |", step_name((enum step)s));
		char *row_case = xasprintf("\n| %s (", step_name((enum step)s));

		if (strstr(guide, row) == NULL &&
		    strstr(guide, row_case) == NULL)
			fail_msg("docs/operator.md has no row for step '%s'",
			    step_name((enum step)s));
		free(row);
		free(row_case);
	}
	free(guide);
}

/* docs/operator.md's failure table, the one under this header row. */
#define FAILURE_TABLE \
	"| step | what it checks | headline you see | what to do |\n"
#define MAX_ROWS 64

struct row {
	char *step; /* "connect", "hello (garbage)", "any step (...)" */
	char *headline;
	char *next;
};

struct failure_table {
	struct row rows[MAX_ROWS];
	size_t n;
	char *text; /* the guide; the cells point into it */
};

/* Cut the cell that starts at `p` (after "| "): ends it at " |", returns
 * the start of the next cell or NULL at the end of the row. */
static char *
cut_cell(char *p, char **cell)
{
	char *end = strstr(p, " |");
	char *eol = strchr(p, '\n');

	*cell = p;
	if (end == NULL || (eol != NULL && end > eol))
		return NULL;
	*end = '\0';
	return end + 2 + (end[2] == ' ' ? 1 : 0);
}

/* Reads the rows below the header and its "| --- |" line. */
static void
failure_table_read(struct failure_table *t)
{
	char *p;

	memset(t, 0, sizeof *t);
	t->text = read_doc("operator.md");
	p = strstr(t->text, FAILURE_TABLE);
	if (p == NULL)
		fail_msg("docs/operator.md has no failure table ('%.40s...')",
		    FAILURE_TABLE);
	p = strchr(p + strlen(FAILURE_TABLE), '\n');
	assert_non_null(p);
	p++;
	while (strncmp(p, "| ", 2) == 0) {
		struct row *r = &t->rows[t->n];
		char *checks = NULL;
		char *eol = strchr(p, '\n');

		assert_true(t->n < MAX_ROWS);
		assert_non_null(eol);
		*eol = '\0';
		p = cut_cell(p + 2, &r->step);
		if (p != NULL)
			p = cut_cell(p, &checks);
		if (p != NULL)
			p = cut_cell(p, &r->headline);
		if (p != NULL)
			p = cut_cell(p, &r->next);
		if (p == NULL)
			fail_msg("docs/operator.md: failure table row '%s' has "
				 "not four cells",
			    r->step);
		t->n++;
		p = eol + 1;
	}
	if (t->n == 0)
		fail_msg("docs/operator.md: the failure table has no rows");
}

/* Does the row's step cell name `step`: "name" or "name (case)", or for
 * an advice row of any step, "any ..."? */
static int
row_is_for(const struct row *r, enum step step)
{
	const char *name;
	size_t n;

	if (step == STEP__COUNT)
		return strncmp(r->step, "any ", 4) == 0;
	name = step_name(step);
	n = strlen(name);
	if (strncmp(r->step, name, n) != 0)
		return 0;
	return r->step[n] == '\0' || strncmp(r->step + n, " (", 2) == 0;
}

static int
row_gives(const struct row *r, const struct advice *a)
{
	return row_is_for(r, a->step) &&
	    strcmp(r->headline, a->headline) == 0 &&
	    strcmp(r->next, a->next) == 0;
}

/* Every advice the code can give, headline and next step as the screen
 * shows them, is a row under its step. */
static void
test_operator_guide_gives_every_advice(void **state)
{
	struct failure_table t;

	(void)state;
	failure_table_read(&t);
	assert_true(advice_table_size() > 0);
	for (size_t i = 0; i < advice_table_size(); i++) {
		const struct advice *a = advice_entry(i);
		int found = 0;

		assert_non_null(a);
		for (size_t k = 0; k < t.n && !found; k++)
			found = row_gives(&t.rows[k], a);
		if (!found)
			fail_msg(
			    "docs/operator.md: no failure-table row for "
			    "step '%s' with headline '%s' and next step '%s'",
			    a->step == STEP__COUNT ? "any" : step_name(a->step),
			    a->headline, a->next);
	}
	assert_null(advice_entry(advice_table_size()));
	free(t.text);
}

/* Every row of the failure table is advice the code gives: nothing the
 * guide promises is missing from the screen. */
static void
test_operator_guide_names_only_the_codes_advice(void **state)
{
	struct failure_table t;

	(void)state;
	failure_table_read(&t);
	for (size_t k = 0; k < t.n; k++) {
		int found = 0;

		for (size_t i = 0; i < advice_table_size() && !found; i++)
			found = row_gives(&t.rows[k], advice_entry(i));
		if (!found)
			fail_msg("docs/operator.md: the row for '%s' ('%s' / "
				 "'%s') is no advice the code gives (station/"
				 "pipeline/advice.c)",
			    t.rows[k].step, t.rows[k].headline, t.rows[k].next);
	}
	free(t.text);
}

#define MAX_CMDS 32

struct names {
	char *v[MAX_CMDS];
	size_t n;
};

static void
names_add(struct names *names, const char *start, size_t len)
{
	assert_true(names->n < MAX_CMDS);
	names->v[names->n++] = xstrndup(start, len);
}

static int
names_has(const struct names *names, const char *name)
{
	for (size_t i = 0; i < names->n; i++) {
		if (strcmp(names->v[i], name) == 0)
			return 1;
	}
	return 0;
}

static void
names_clear(struct names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	names->n = 0;
}

/* The commands of cmd_table, from `station --help`: after "commands:",
 * each "  NAME ARGS" line until the blank line. */
static void
program_commands(struct names *cmds)
{
	const char *argv[] = { test_bin("STATION_BIN", "build/bin/station"),
		"--help", NULL };
	char *out = NULL;
	const char *p;
	int status;

	memset(cmds, 0, sizeof *cmds);
	status = proc_run_capture(argv, &out);
	assert_int_equal(status, 0);
	p = strstr(out, "\ncommands:\n");
	assert_non_null(p);
	p += strlen("\ncommands:\n");
	while (*p != '\n' && *p != '\0') {
		const char *eol = strchr(p, '\n');
		size_t len;

		if (eol == NULL)
			eol = p + strlen(p);
		if (strncmp(p, "  ", 2) == 0 && p[2] != ' ') {
			len = strcspn(p + 2, " \n");
			names_add(cmds, p + 2, len);
		}
		p = *eol ? eol + 1 : eol;
	}
	free(out);
	if (cmds->n == 0)
		fail_msg("station --help lists no command");
}

/* The man page's commands: in its COMMANDS section, the first word of the
 * line after each .TP (".B \"ledger list ...\"", ".BI \"probe \" ..."),
 * with roff's "\-" read as "-". */
static void
man_page_commands(struct names *cmds)
{
	char *man = read_doc("station.1");
	char *p = strstr(man, "\n.SH COMMANDS\n");
	char *end;

	memset(cmds, 0, sizeof *cmds);
	if (p == NULL)
		fail_msg("docs/station.1 has no COMMANDS section");
	p += strlen("\n.SH COMMANDS\n");
	end = strstr(p, "\n.SH ");
	if (end != NULL)
		*end = '\0';
	for (p = strstr(p, ".TP\n"); p != NULL; p = strstr(p, ".TP\n")) {
		char word[64];
		size_t n = 0;

		p += strlen(".TP\n");
		if (strncmp(p, ".B \"", 4) == 0)
			p += 4;
		else if (strncmp(p, ".BI \"", 5) == 0)
			p += 5;
		else
			fail_msg("docs/station.1: a COMMANDS entry starts with "
				 "'%.20s', not .B or .BI",
			    p);
		while (*p != ' ' && *p != '"' && *p != '\n' && *p != '\0' &&
		    n + 1 < sizeof word) {
			if (p[0] == '\\' && p[1] == '-')
				p++;
			word[n++] = *p++;
		}
		word[n] = '\0';
		if (!names_has(cmds, word))
			names_add(cmds, word, n);
	}
	free(man);
	if (cmds->n == 0)
		fail_msg("docs/station.1: the COMMANDS section documents no "
			 "command");
}

static void
test_man_page_documents_every_command(void **state)
{
	struct names program, man;

	(void)state;
	program_commands(&program);
	man_page_commands(&man);
	for (size_t i = 0; i < program.n; i++) {
		if (!names_has(&man, program.v[i]))
			fail_msg("docs/station.1: no COMMANDS entry for '%s'",
			    program.v[i]);
	}
	names_clear(&program);
	names_clear(&man);
}

static void
test_man_page_documents_only_real_commands(void **state)
{
	struct names program, man;

	(void)state;
	program_commands(&program);
	man_page_commands(&man);
	for (size_t i = 0; i < man.n; i++) {
		if (!names_has(&program, man.v[i]))
			fail_msg("docs/station.1 documents '%s', which is no "
				 "command of station (station --help)",
			    man.v[i]);
	}
	names_clear(&program);
	names_clear(&man);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_lists_every_step_in_order),
		cmocka_unit_test(test_operator_guide_has_a_row_for_every_step),
		cmocka_unit_test(test_operator_guide_gives_every_advice),
		cmocka_unit_test(
		    test_operator_guide_names_only_the_codes_advice),
		cmocka_unit_test(test_man_page_documents_every_command),
		cmocka_unit_test(test_man_page_documents_only_real_commands),
	};

	return cmocka_run_group_tests_name(
	    "steps, advice and commands in the documents", tests, NULL, NULL);
}
