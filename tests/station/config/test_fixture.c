/* Fixture files: a good file, defaults, and each error naming file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/util/xalloc.h"
#include "tests/support/scratch.h"

struct fx {
	char dir[64];
	char path[128];
	struct config *cfg;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof fx->dir, "/tmp/st-fixture-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/line.ini", fx->dir);
	fx->cfg = config_default(fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	config_free(fx->cfg);
	free(fx);
	return 0;
}

static void
write_file(struct fx *fx, const char *text)
{
	scratch_put(fx->path, text, 0644);
}

/* Loading `text` fails with ST_E_CONFIG and a cause starting with
 * "<path>:<line>: " and holding `needle`. */
static void
expect_error(struct fx *fx, const char *text, int line, const char *needle)
{
	struct fixture *f = NULL;
	char *cause = NULL;

	write_file(fx, text);
	assert_int_equal(fixture_load(fx->path, fx->cfg, &f, &cause),
	    ST_E_CONFIG);
	assert_null(f);
	assert_non_null(cause);
	char *prefix = xasprintf("%s:%d: ", fx->path, line);
	if (strncmp(cause, prefix, strlen(prefix)) != 0 ||
	    strstr(cause, needle) == NULL)
		fail_msg("expected '%s...%s', got '%s'", prefix, needle, cause);
	free(prefix);
	free(cause);
}

static const char good[] = "; two slots, listed out of order\n"
			   "[fixture]\n"
			   "name = bench-2\n"
			   "hook_timeout_ms = 2500\n"
			   "\n"
			   "[slot 2]\n"
			   "device = uart:/dev/ttyUSB1?baud=115200\n"
			   "power_on = relay on 2\n"
			   "power_off = relay off 2\n"
			   "reset = relay pulse 2\n"
			   "[slot 1]\n"
			   "label = LEFT\n"
			   "device = tcp:127.0.0.1:4001\n"
			   "profile = default\n";

/* Every key lands in its field, slots come out sorted, defaults fill in. */
static void
test_good_file_loads_every_key_sorted_with_defaults(void **state)
{
	struct fx *fx = *state;
	struct fixture *f = NULL;
	char *cause = NULL;

	write_file(fx, good);
	if (fixture_load(fx->path, fx->cfg, &f, &cause) != ST_OK)
		fail_msg("fixture_load: %s", cause);
	assert_string_equal(f->name, "bench-2");
	assert_string_equal(f->path, fx->path);
	assert_int_equal(f->hook_timeout_ms, 2500);
	assert_int_equal(f->n_slots, 2);
	assert_int_equal(f->slots[0].index, 1);
	assert_string_equal(f->slots[0].label, "LEFT");
	assert_string_equal(f->slots[0].device, "tcp:127.0.0.1:4001");
	assert_null(f->slots[0].power_on);
	assert_int_equal(f->slots[0].line, 11);
	assert_int_equal(f->slots[1].index, 2);
	assert_string_equal(f->slots[1].label, "S2");
	assert_string_equal(f->slots[1].profile, "default");
	assert_string_equal(f->slots[1].power_on, "relay on 2");
	assert_string_equal(f->slots[1].power_off, "relay off 2");
	assert_string_equal(f->slots[1].reset, "relay pulse 2");
	assert_ptr_equal(fixture_slot(f, 2), &f->slots[1]);
	assert_null(fixture_slot(f, 3));
	assert_ptr_equal(fixture_slot_by_label(f, "LEFT"), &f->slots[0]);
	assert_ptr_equal(fixture_slot_by_label(f, "S2"), &f->slots[1]);
	assert_null(fixture_slot_by_label(f, "S1"));
	fixture_free(f);
}

/* A missing file is an I/O error naming the file. */
static void
test_missing_file_is_io_error(void **state)
{
	struct fx *fx = *state;
	struct fixture *f = NULL;
	char *cause = NULL;

	assert_int_equal(fixture_load("/nonexistent/f.ini", fx->cfg, &f,
			     &cause),
	    ST_E_IO);
	assert_non_null(strstr(cause, "/nonexistent/f.ini"));
	free(cause);
}

static void
test_unknown_key_names_line_and_key(void **state)
{
	expect_error(*state,
	    "[slot 1]\ndevice = tcp:127.0.0.1:1\n"
	    "powr_on = x\n",
	    3, "[slot 1] key 'powr_on': unknown key");
}

static void
test_duplicate_key_names_both_lines(void **state)
{
	expect_error(*state,
	    "[slot 1]\ndevice = tcp:127.0.0.1:1\n\n"
	    "device = tcp:127.0.0.1:2\n",
	    4, "first set on line 2");
}

static void
test_duplicate_slot_names_first_line(void **state)
{
	expect_error(*state,
	    "[slot 1]\ndevice = tcp:127.0.0.1:1\n"
	    "[slot 1]\ndevice = tcp:127.0.0.1:2\n",
	    3, "[slot 1]: duplicate slot (first defined on line 1)");
}

static void
test_duplicate_label_is_refused(void **state)
{
	expect_error(*state,
	    "[slot 1]\nlabel = A\ndevice = tcp:127.0.0.1:1\n"
	    "[slot 2]\nlabel = A\ndevice = tcp:127.0.0.1:2\n",
	    4, "label = 'A': already the label of [slot 1] (line 1)");
}

/* An explicit label may not take the default label of another slot. */
static void
test_label_colliding_with_default_is_refused(void **state)
{
	expect_error(*state,
	    "[slot 1]\ndevice = tcp:127.0.0.1:1\n"
	    "[slot 2]\nlabel = S1\ndevice = tcp:127.0.0.1:2\n",
	    3, "already the label of [slot 1]");
}

static void
test_unknown_profile_is_refused(void **state)
{
	expect_error(*state,
	    "[fixture]\nname = x\n[slot 7]\n"
	    "device = tcp:127.0.0.1:1\nprofile = rsa-line\n",
	    3, "[slot 7] profile = 'rsa-line': no such profile");
}

static void
test_missing_device_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\nlabel = A\n", 1,
	    "[slot 1] key 'device': missing");
}

static void
test_device_without_scheme_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\ndevice = /dev/ttyUSB0\n", 2,
	    "device = '/dev/ttyUSB0': expected a device URI");
}

static void
test_label_with_space_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\nlabel = slot one\n", 2,
	    "it is scanned as one word");
}

static void
test_bad_slot_number_is_refused(void **state)
{
	expect_error(*state, "[fixture]\n[slot 0]\n", 2,
	    "[slot 0]: slot number");
	expect_error(*state, "[slot x1]\n", 1, "[slot x1]: slot number");
}

static void
test_unknown_section_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\ndevice = tcp:127.0.0.1:1\n[station]\n",
	    3, "[station]: unknown section");
}

static void
test_key_outside_section_is_refused(void **state)
{
	expect_error(*state, "; comment\nname = x\n", 2,
	    "key 'name' outside any section");
}

static void
test_bad_hook_timeout_is_refused(void **state)
{
	expect_error(*state, "[fixture]\nhook_timeout_ms = 0\n", 2,
	    "hook_timeout_ms = '0'");
}

static void
test_empty_hook_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\ndevice = tcp:127.0.0.1:1\npower_on =\n",
	    3, "expected a non-empty value");
}

static void
test_file_without_slots_is_refused(void **state)
{
	expect_error(*state, "[fixture]\nname = empty\n", 2, "no [slot N]");
}

static void
test_line_without_equals_is_refused(void **state)
{
	expect_error(*state, "[slot 1]\ndevice = tcp:127.0.0.1:1\nrubbish\n", 3,
	    "expected 'key = value'");
}

/* The configuration's [slot N] sections make the default fixture. */
static void
test_fixture_from_config_takes_the_config_slots(void **state)
{
	struct fx *fx = *state;
	struct config *cfg = NULL;
	char *cause = NULL;

	write_file(fx,
	    "[station]\nhome = /tmp\n[slot 3]\n"
	    "device = tcp:127.0.0.1:4003\n[slot 1]\ndevice = tcp:127.0.0.1:4001\n");
	if (config_load(fx->path, &cfg, &cause) != ST_OK)
		fail_msg("config_load: %s", cause);
	struct fixture *f = fixture_from_config(cfg);
	assert_int_equal(f->n_slots, 2);
	assert_null(f->path);
	assert_int_equal(f->slots[0].index, 1);
	assert_string_equal(f->slots[0].label, "S1");
	assert_string_equal(f->slots[1].device, "tcp:127.0.0.1:4003");
	assert_string_equal(f->slots[1].profile, "default");
	assert_null(f->slots[1].power_on);
	fixture_free(f);
	config_free(cfg);

	f = fixture_from_config(fx->cfg); /* no slots at all */
	assert_non_null(f);
	assert_int_equal(f->n_slots, 0);
	fixture_free(f);
	fixture_free(NULL);
}

/* The example fixture shipped in fixtures/ loads. */
static void
test_shipped_example_fixture_loads(void **state)
{
	struct fx *fx = *state;
	const char *src = getenv("STATION_SRCDIR");
	char *path = xasprintf("%s/fixtures/sim-4.ini", src ? src : ".");
	struct fixture *f = NULL;
	char *cause = NULL;

	if (fixture_load(path, fx->cfg, &f, &cause) != ST_OK)
		fail_msg("%s", cause);
	assert_int_equal(f->n_slots, 4);
	assert_non_null(fixture_slot_by_label(f, "S4"));
	fixture_free(f);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_good_file_loads_every_key_sorted_with_defaults),
		T(test_missing_file_is_io_error),
		T(test_unknown_key_names_line_and_key),
		T(test_duplicate_key_names_both_lines),
		T(test_duplicate_slot_names_first_line),
		T(test_duplicate_label_is_refused),
		T(test_label_colliding_with_default_is_refused),
		T(test_unknown_profile_is_refused),
		T(test_missing_device_is_refused),
		T(test_device_without_scheme_is_refused),
		T(test_label_with_space_is_refused),
		T(test_bad_slot_number_is_refused),
		T(test_unknown_section_is_refused),
		T(test_key_outside_section_is_refused),
		T(test_bad_hook_timeout_is_refused),
		T(test_empty_hook_is_refused),
		T(test_file_without_slots_is_refused),
		T(test_line_without_equals_is_refused),
		T(test_fixture_from_config_takes_the_config_slots),
		T(test_shipped_example_fixture_loads),
#undef T
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
