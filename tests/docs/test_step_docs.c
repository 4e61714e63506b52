/*
 * The documents that list the pipeline's steps name exactly the steps the
 * code has (station/event.c): the man page's "The steps, in order:" list,
 * in order, and a row of docs/operator.md's failure table for every step.
 * A step added to the pipeline without its documentation fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/pipeline/event.h"
#include "station/util/xalloc.h"
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
			    "list has '%.20s'", s, name, p);
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

		if (strstr(guide, row) == NULL && strstr(guide, row_case) == NULL)
			fail_msg("docs/operator.md has no row for step '%s'",
			    step_name((enum step)s));
		free(row);
		free(row_case);
	}
	free(guide);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_page_lists_every_step_in_order),
		cmocka_unit_test(test_operator_guide_has_a_row_for_every_step),
	};

	return cmocka_run_group_tests_name("step names in the documents",
	    tests, NULL, NULL);
}
