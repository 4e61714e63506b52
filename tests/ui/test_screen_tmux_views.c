/*
 * The real `station ui` in a real terminal (screen_tmux_fixture.h: tmux,
 * send-keys, capture-pane, devsim devices): the screen's views.  Resizing,
 * NO_COLOR, device bytes drawn escaped, the help and the FAIL detail
 * view.  The line's behaviour on the screen is in test_screen_tmux.c.
 */
#include "tests/ui/screen_tmux_fixture.h"

/* Resizing the terminal, down to tiny and up to large, keeps the program
 * running and drawing. */
static void
test_resize_keeps_running(void **state)
{
	struct ui_test *t = *state;
	static const char *const sizes[][2] = {
		{ "50", "15" },
		{ "20", "5" },
		{ "132", "43" },
		{ "80", "24" },
	};
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		assert_int_equal(tmux(t, NULL, "resize-window", "-t", "ui",
				     "-x", sizes[i][0], "-y", sizes[i][1],
				     NULL),
		    0);
		free(wait_for(t, "STATION"));
	}
	scan(t, "S2");
	scan(t, t->serial[1]);
	screen = wait_for(t, "PASSED 2");
	assert_null(strstr(screen, "UI-EXIT"));
	free(screen);
}

/* NO_COLOR: PASS and FAIL are still written as words, in reverse video. */
static void
test_no_color_still_shows_words(void **state)
{
	struct ui_test *t = *state;
	char *screen, *esc = NULL;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 1);
	scan(t, t->serial[0]);
	free(wait_for(t, "PASSED 1"));
	scan(t, "S2");
	scan(t, "SN-NOBODY-2");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "PASS"));
	assert_non_null(strstr(screen, "FAIL"));
	free(screen);
	tmux(t, &esc, "capture-pane", "-p", "-e", "-t", "ui", NULL);
	assert_non_null(esc);
	/* reverse video is on, and no background colour is used */
	assert_non_null(strstr(esc, "7m"));
	assert_null(strstr(esc, "[42m"));
	assert_null(strstr(esc, "[41m"));
	free(esc);
}

/* A device reporting bytes a terminal would obey (0x9b is an 8-bit CSI,
 * the next bytes a "clear screen") FAILs at hello; the panel shows the
 * reason with those bytes escaped, and the screen is still whole. */
static void
test_device_bytes_are_drawn_escaped(void **state)
{
	struct ui_test *t = *state;
	const char *args[] = { "--serial",
		"EVIL\x9b"
		"2J\xff",
		NULL };
	char *screen;

	snprintf(t->serial[0], sizeof t->serial[0], "EVIL-SCAN");
	t->dev[0] = devsim_proc_start(args);
	assert_non_null(t->dev[0]);
	t->n_dev = 1;
	start_ui(t, 100, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	screen = wait_for(t, "FAILED 1");
	free(screen);
	screen = wait_for(t, "EVIL\\x9b2J\\xff");
	assert_non_null(strstr(screen, "STATION"));
	assert_non_null(strstr(screen, "scan>"));
	free(screen);
}

/* F1 help open, then a scan: the help closes on the first character,
 * which is kept, so the whole serial runs and PASSes (before, the "S"
 * only closed the help and "N-..." was run and FAILed).  The scanner
 * ends it with CR LF: the LF opens no detail view. */
static void
test_scan_while_help_is_open_keeps_every_character(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	keys(t, "F1");
	free(wait_for(t, "KEYS (F1"));
	scan(t, t->serial[1]);
	keys(t, "C-j");
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, t->serial[1]));
	assert_null(strstr(screen, "KEYS (F1"));
	assert_null(strstr(screen, "Esc closes"));
	assert_null(strstr(screen, "unknown scan"));
	free(screen);
}

/* At 80x24 with four slots a FAIL gets block letters like a PASS, and
 * Enter on an empty scan line shows the selected slot's whole reason and
 * next step; Esc closes it.  With one device that FAILed on a wrong
 * label and then PASSed, the yield counts one device: 100%. */
static void
test_fail_detail_view_at_80x24(void **state)
{
	struct ui_test *t = *state;
	const char *next = advice_next_step(STEP_SERIAL, ST_E_MISMATCH);
	char *screen, *want;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, "SN-NOBODY-1");
	screen = wait_for(t, "FAILED 1");
	/* the first row of F, A, I, L in block letters */
	assert_non_null(strstr(screen, "#####  ###  ##### #"));
	free(screen);
	keys(t, "Enter");
	want = xasprintf("next: %s", next);
	screen = wait_for_text(t, want);
	free(screen);
	screen = wait_for_text(t, "why: ");
	assert_non_null(strstr(screen, "SN-NOBODY-1"));
	free(screen);
	keys(t, "Escape");
	scan(t, "S1");
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	assert_null(strstr(screen, want));
	free(screen);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resize_keeps_running,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_color_still_shows_words,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_device_bytes_are_drawn_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_scan_while_help_is_open_keeps_every_character, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fail_detail_view_at_80x24,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
