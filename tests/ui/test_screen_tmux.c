/*
 * The real `station ui` in a real terminal (screen_tmux_fixture.h: tmux,
 * send-keys, capture-pane, devsim devices): the line's behaviour on the
 * screen.  Scans by label and lone scans, refused scans, a hung or silent
 * device holding only its slot, the abort key, a closed terminal, a
 * profile's label rule and a rescan after a restart.  The screen's views
 * (sizes, colour, escaping, help, detail) are in test_screen_tmux_views.c.
 */
#include "tests/ui/screen_tmux_fixture.h"

/* Four slots: scanning the four serials provisions every device and the
 * header counts four PASSes. */
static void
test_four_slots_all_pass_after_scanning(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	for (int i = 0; i < 4; i++) {
		char label[8];

		snprintf(label, sizeof label, "S%d", i + 1);
		scan(t, label);
		scan(t, t->serial[i]);
	}
	screen = wait_for(t, "PASSED 4");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	assert_null(strstr(screen, "UI-EXIT"));
	free(screen);
}

/* Four boards, one lone scan each in an order unlike the slots': each
 * runs on the slot whose board reports it, so all four PASS. */
static void
test_four_lone_scans_in_shuffled_order_all_pass(void **state)
{
	struct ui_test *t = *state;
	static const int order[] = { 2, 0, 3, 1 };
	char *screen;

	for (int i = 0; i < 4; i++)
		add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	for (int i = 0; i < 4; i++)
		scan(t, t->serial[order[i]]);
	screen = wait_for(t, "PASSED 4");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	free(screen);
}

/* A lone scan of a serial no board reports is refused on the message
 * line: nothing runs, nothing FAILs. */
static void
test_lone_scan_of_no_board_is_refused(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "SN-NOBODY-3");
	screen = wait_for(t, "no board with serial SN-NOBODY-3");
	assert_non_null(strstr(screen, "PASSED 0"));
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_null(strstr(screen, "running"));
	free(screen);
}

/* A serial no device has, scanned onto a slot by its label: it FAILs at
 * the serial check, with the operator headline and the reason on
 * screen. */
static void
test_serial_of_no_device_fails_with_reason(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, "SN-NOBODY-1");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "FAIL"));
	assert_non_null(strstr(screen, "Label does not match"));
	assert_non_null(strstr(screen, "why:"));
	assert_non_null(strstr(screen, "next:"));
	free(screen);
}

/* Unknown scans and duplicates give a message and start nothing. */
static void
test_bad_scans_give_messages(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "hello world");
	free(wait_for(t, "unknown scan 'hello world'"));
	scan(t, t->serial[0]);
	free(wait_for(t, "PASSED 1"));
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSed in this batch");
	assert_non_null(strstr(screen, "PASSED 1"));
	free(screen);
}

/* A device that never answers holds its own slot only: the other slot
 * PASSes meanwhile and the screen still answers keys (F1 help). */
static void
test_hung_device_does_not_block_other_slot(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, "silent");
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	free(wait_for(t, "running"));
	scan(t, t->serial[1]);
	screen = wait_for(t, "PASSED 1");
	free(screen);
	tmux(t, NULL, "send-keys", "-t", "ui", "F1", NULL);
	screen = wait_for(t, "KEYS (F1");
	/* the silent device's slot was still busy while all this happened */
	assert_non_null(strstr(screen, "running"));
	free(screen);
}

/* An idle slot whose device never answers costs its own HELLO deadline
 * only: a lone scan still finds its board on another slot and PASSes,
 * and the screen answers keys (F1 help) meanwhile. */
static void
test_silent_idle_slot_does_not_stop_lone_scan(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, "silent");
	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[2]);
	tmux(t, NULL, "send-keys", "-t", "ui", "F1", NULL);
	free(wait_for(t, "KEYS (F1"));
	tmux(t, NULL, "send-keys", "-t", "ui", "Escape", NULL);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	free(screen);
	scan(t, t->serial[0]);
	screen = wait_for(t, "no board with serial");
	assert_non_null(strstr(screen, "FAILED 0"));
	free(screen);
}

/* F8 twice aborts the selected slot's run: it ends as a FAIL "aborted by
 * operator", recorded in the ledger; a long step shows its countdown
 * meanwhile. */
static void
test_abort_key_ends_the_run_as_aborted(void **state)
{
	struct ui_test *t = *state;
	char *screen, *ledger = NULL;

	add_device(t, "slow=400");
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	/* "keygen  28%  29s [": the step's time left before its deadline */
	screen = wait_for(t, "keygen");
	free(screen);
	keys(t, "F8");
	free(wait_for(t, "F8 again aborts S1"));
	keys(t, "F8");
	screen = wait_for(t, "FAILED 1");
	assert_non_null(strstr(screen, "Run aborted by the operator"));
	free(screen);
	keys(t, "Enter");
	free(wait_for_text(t, "aborted by operator"));
	for (int i = 0; i < POLL_ATTEMPTS; i++) {
		free(ledger);
		ledger = ledger_list(t);
		if (strstr(ledger, t->serial[0]) != NULL)
			break;
		nap();
	}
	assert_non_null(strstr(ledger, "FAIL"));
	assert_non_null(strstr(ledger, "aborted"));
	free(ledger);
}

/* Closing the terminal (tmux kills the session: SIGHUP, the pty hangs
 * up) lets the running slots finish, as F10 does: the station exits by
 * itself and the ledger holds both runs PASSed. */
static void
test_terminal_close_lets_running_slots_finish(void **state)
{
	struct ui_test *t = *state;
	char *screen, *ledger;

	add_device(t, "slow=150");
	add_device(t, "slow=150");
	start_ui(t, 80, 24, 0);
	scan(t, "S1");
	scan(t, t->serial[0]);
	scan(t, "S2");
	scan(t, t->serial[1]);
	screen = wait_for(t, "keygen");
	assert_non_null(strstr(screen, "PASSED 0"));
	free(screen);
	assert_true(ui_pid(t) > 0);
	assert_int_equal(tmux(t, NULL, "kill-session", "-t", "ui", NULL), 0);
	assert_true(wait_ui_exit(t));
	ledger = ledger_list(t);
	for (int i = 0; i < 2; i++) {
		const char *row = strstr(ledger, t->serial[i]);

		if (row == NULL || strstr(row, "PASS") == NULL)
			fail_msg("%s not PASSed in the ledger:\n%s",
			    t->serial[i], ledger);
	}
	assert_null(strstr(ledger, "FAIL"));
	free(ledger);
}

/* A profile's label rule on the real screen: a Caps Lock scan is folded
 * and PASSes; a label breaking the rule and a slot that does not exist
 * ("S9") are refused on the spot, leaving no run in the ledger. */
static void
test_label_rule_on_the_screen(void **state)
{
	struct ui_test *t = *state;
	char lower[32], *screen, *ledger;

	t->home = station_home_new("home");
	station_home_config(t->home, NULL,
	    "[profile default]\nlabel_trim = yes\nlabel_case = upper\n"
	    "label_pattern = SN-UI[0-9]+-[0-9]+\n");
	add_device(t, NULL);
	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, "S9");
	free(wait_for(t, "no slot S9"));
	scan(t, "XX-1234");
	free(wait_for(t, "unknown label format"));
	for (size_t i = 0; i <= strlen(t->serial[0]); i++)
		lower[i] = (char)tolower((unsigned char)t->serial[0][i]);
	scan(t, lower);
	screen = wait_for(t, "PASSED 1");
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, t->serial[0]));
	free(screen);
	ledger = ledger_list(t);
	assert_non_null(strstr(ledger, t->serial[0]));
	assert_null(strstr(ledger, "XX-1234"));
	assert_null(strstr(ledger, "S9"));
	assert_null(strstr(ledger, "FAIL"));
	free(ledger);
}

/* A board that PASSed, rescanned after the screen was restarted: ALREADY
 * PASS with the run it PASSed in, counted as a pass, no FAIL. */
static void
test_rescan_after_restart_is_already_pass(void **state)
{
	struct ui_test *t = *state;
	char *screen;

	add_device(t, NULL);
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	screen = wait_for(t, "PASSED 1");
	free(screen);
	keys(t, "F10");
	free(wait_for(t, "UI-EXIT 0"));
	assert_int_equal(tmux(t, NULL, "kill-session", "-t", "ui", NULL), 0);
	assert_true(wait_ui_exit(t));
	/* the first run is the only one of this home: run 1 */
	start_ui(t, 80, 24, 0);
	scan(t, t->serial[0]);
	screen = wait_for(t, "ALREADY PASS (run 1, ");
	assert_non_null(strstr(screen, "PASSED 1"));
	assert_non_null(strstr(screen, "FAILED 0"));
	assert_non_null(strstr(screen, "yield 100%"));
	free(screen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_four_slots_all_pass_after_scanning, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_four_lone_scans_in_shuffled_order_all_pass, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_lone_scan_of_no_board_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_serial_of_no_device_fails_with_reason, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_scans_give_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hung_device_does_not_block_other_slot, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_silent_idle_slot_does_not_stop_lone_scan, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_abort_key_ends_the_run_as_aborted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_terminal_close_lets_running_slots_finish, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_label_rule_on_the_screen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rescan_after_restart_is_already_pass, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
