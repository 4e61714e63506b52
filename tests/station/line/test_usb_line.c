/*
 * Hotplug-driven slots: a line whose slot is a usb: port path starts a run
 * when a board is plugged in and fails it, "device removed", when the
 * board is pulled mid-run.  Boards are usb_model devices in a umockdev
 * testbed bridged to devsim processes, the ledger is a real SQLite file
 * and the CA the local one; `station batch --hotplug` runs as a child
 * process sharing the testbed.  The program re-executes itself under
 * umockdev-wrapper.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "db/ledger.h"
#include "drivers/proto/proto.h"
#include "station/config/fixture.h"
#include "station/line/line.h"
#include "station/pipeline/station.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/provision_env.h"
#include "tests/support/sim_line.h"
#include "tests/support/umockdev_env.h"
#include "tests/support/usb_model.h"

#define WAIT_MS 60000 /* bound on every wait: a lost event fails, not hangs */
#define MAX_RESULTS 8

#define SLOT_FIXTURE \
	"[fixture]\nname = usb-line\n[slot 1]\nlabel = S1\n" \
	"device = usb:path=1-4?timeout_ms=2000\nprofile = default\n"

struct hl {
	UMockdevTestbed *tb;
	struct sim_line *sim;
	struct station *st;
	struct fixture *fx;
	struct event_bus bus;
	struct line *line;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned waiting, removed; /* EVENT_INFO seen */
	struct sim_result got[MAX_RESULTS];
	size_t n_got;
};

static void
on_event(void *ctx, const struct station_event *ev)
{
	struct hl *h = ctx;

	if (ev->kind != EVENT_INFO || ev->slot != 1)
		return;
	pthread_mutex_lock(&h->mu);
	if (ev->info == EVENT_INFO_WAITING)
		h->waiting++;
	else if (ev->info == EVENT_INFO_REMOVED)
		h->removed++;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Each run's outcome, from its EVENT_RUN_END on the line's bus. */
static void
on_result(void *ctx, const struct station_event *ev)
{
	struct hl *h = ctx;

	if (ev->kind != EVENT_RUN_END)
		return;
	pthread_mutex_lock(&h->mu);
	if (h->n_got < MAX_RESULTS)
		sim_result_from_event(&h->got[h->n_got++], ev);
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* Wait until *counter reaches `want`; 0 if it did not in WAIT_MS. */
static int
wait_count(struct hl *h, const void *counter, int is_size, size_t want)
{
	struct timespec until;
	size_t now;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_MS / 1000;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		now = is_size ? *(const size_t *)counter :
				*(const unsigned *)counter;
		if (now >= want ||
		    pthread_cond_timedwait(&h->cv, &h->mu, &until) != 0)
			break;
	}
	now = is_size ? *(const size_t *)counter : *(const unsigned *)counter;
	pthread_mutex_unlock(&h->mu);
	return now >= want;
}

static struct usb_model *
plug(struct hl *h, int address, const char *devsim_uri)
{
	struct usb_model_desc d = { .vid = 0xcafe,
		.pid = 0x4001,
		.manufacturer = "Station Labs",
		.product = "Secure Element Board",
		.serial = "SIM-HPL",
		.port = "1-4",
		.bus = 1,
		.address = address };
	struct usb_model *m = usb_model_new(h->tb, &d, devsim_uri);

	assert_non_null(m);
	return m;
}

static struct hl *
hl_start(size_t n_sims)
{
	struct hl *h = xcalloc(1, sizeof *h);
	char *cause = NULL, *fx_path;

	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->tb = umockdev_testbed_new();
	h->sim = sim_line_start(n_sims, "DEV-HPL", 10000, NULL);
	fx_path = sim_line_write(h->sim, "usb-fixture.ini", SLOT_FIXTURE);
	if (station_open(&(struct station_opts){ .config_path =
						     h->sim->config_path },
		&h->st, &cause) != ST_OK)
		fail_msg("station_open: %s", cause);
	if (fixture_load(fx_path, h->st->cfg, &h->fx, &cause) != ST_OK)
		fail_msg("fixture_load: %s", cause);
	free(fx_path);
	event_bus_add(&h->bus, on_event, h);
	event_bus_add(&h->bus, on_result, h);
	return h;
}

static void
hl_stop(struct hl *h)
{
	line_free(h->line);
	fixture_free(h->fx);
	station_close(h->st);
	sim_line_stop(h->sim);
	g_object_unref(h->tb);
	event_bus_clear(&h->bus);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* The ledger row of a run: result, device serial, reason. */
static void
assert_ledger_run(struct hl *h, int64_t run_id, const char *result,
    const char *serial, const char *reason_part)
{
	struct run_record r = { 0 };
	char *cause = NULL;

	if (ledger_run_get(h->st->ledger, run_id, &r, &cause) != ST_OK)
		fail_msg("run %lld: %s", (long long)run_id, cause);
	assert_string_equal(r.result, result);
	assert_non_null(r.device_serial);
	assert_string_equal(r.device_serial, serial);
	assert_null(r.scanned_serial);
	assert_string_equal(r.operator_id, "op-hp");
	if (reason_part != NULL) {
		assert_non_null(r.reason);
		if (strstr(r.reason, reason_part) == NULL)
			fail_msg("ledger reason '%s' lacks '%s'", r.reason,
			    reason_part);
	}
	ledger_run_record_clear(&r);
}

/*
 * Plugging a board into the watched port starts a run that PASSes with
 * the serial the device reports; a board pulled while its certificate is
 * written FAILs "removed", with the removed advice and no live
 * certificate; plugged back in, it gets a new run that PASSes.
 */
static void
test_plug_starts_run_and_unplug_mid_run_fails_removed(void **state)
{
	struct hl *h = hl_start(2);
	struct line_job defaults = { .operator_id = "op-hp" };
	struct usb_model *m;
	char *cause = NULL;
	struct sim_result g;

	(void)state;
	if (line_new(h->st, h->fx, &h->bus, &h->line, &cause) != ST_OK)
		fail_msg("line_new: %s", cause);
	if (line_enable_hotplug(h->line, &defaults, &cause) != ST_OK)
		fail_msg("line_enable_hotplug: %s", cause);
	assert_int_equal(h->waiting, 1);
	assert_int_equal(line_enable_hotplug(h->line, &defaults, &cause),
	    ST_E_STATE);
	free(cause);
	cause = NULL;

	/* 1: the first board arrives and PASSes. */
	m = plug(h, 8, h->sim->sims[0]->uri);
	assert_true(wait_count(h, &h->n_got, 1, 1));
	g = h->got[0];
	if (!g.pass)
		fail_msg("first run failed: %s", g.reason);
	assert_string_equal(g.serial, h->sim->serials[0]);
	assert_string_equal(g.scanned, "");
	assert_ledger_run(h, g.run_id, "PASS", h->sim->serials[0], NULL);
	usb_model_unplug(m);
	assert_true(wait_count(h, &h->removed, 0, 1));
	usb_model_free(m);

	/* 2: the next board is pulled when its certificate is written. */
	m = plug(h, 9, h->sim->sims[1]->uri);
	usb_model_unplug_at_cmd(m, PROTO_CMD_WRITE_CERT);
	assert_true(wait_count(h, &h->n_got, 1, 2));
	g = h->got[1];
	assert_false(g.pass);
	if (strstr(g.reason, "removed") == NULL)
		fail_msg("reason does not say removed: %s", g.reason);
	assert_int_equal(g.err, ST_E_HANGUP);
	assert_int_equal(g.failed_step, STEP_WRITE);
	assert_string_equal(g.headline,
	    "Device was removed during provisioning");
	assert_false(usb_model_plugged(m));
	usb_model_unplug(m); /* the "remove" uevent of the pulled board */
	assert_true(wait_count(h, &h->removed, 0, 2));
	assert_ledger_run(h, g.run_id, "FAIL", h->sim->serials[1], "removed");
	assert_int_equal(prov_count_certs(h->st->ledger, h->sim->serials[1],
			     "live"),
	    0);
	assert_true(
	    prov_count_certs(h->st->ledger, h->sim->serials[1], NULL) >= 1);
	/* Gone: no run restarts on the empty slot. */
	line_wait_idle(h->line);
	assert_int_equal(line_slot_busy(h->line, 1), 0);
	usb_model_free(m);

	/* 3: plugged back in, the same board gets a new run that PASSes. */
	m = plug(h, 10, h->sim->sims[1]->uri);
	assert_true(wait_count(h, &h->n_got, 1, 3));
	g = h->got[2];
	if (!g.pass)
		fail_msg("run after re-plug failed: %s", g.reason);
	assert_string_equal(g.serial, h->sim->serials[1]);
	assert_true(g.run_id > h->got[1].run_id);
	assert_ledger_run(h, g.run_id, "PASS", h->sim->serials[1], NULL);
	assert_int_equal(prov_count_certs(h->st->ledger, h->sim->serials[1],
			     "live"),
	    1);

	line_free(h->line); /* stops the watcher from this thread */
	h->line = NULL;
	usb_model_free(m);
	hl_stop(h);
}

/* Only usb: slots can be watched: a TCP fixture is a config error. */
static void
test_hotplug_needs_a_usb_slot(void **state)
{
	struct hl *h = hl_start(1);
	struct fixture *tcp = NULL;
	struct line *l = NULL;
	char *cause = NULL;

	(void)state;
	if (fixture_load(h->sim->fixture_path, h->st->cfg, &tcp, &cause))
		fail_msg("fixture_load: %s", cause);
	assert_int_equal(line_usb_slots(tcp), 0);
	assert_int_equal(line_usb_slots(h->fx), 1);
	assert_int_equal(line_new(h->st, tcp, &h->bus, &l, &cause), ST_OK);
	assert_int_equal(line_enable_hotplug(l, NULL, &cause), ST_E_CONFIG);
	assert_non_null(strstr(cause, "usb:"));
	free(cause);
	line_free(l);
	fixture_free(tcp);
	hl_stop(h);
}

struct child {
	const char *argv[12];
	char *out;
	int rc;
};

static void *
run_child(void *arg)
{
	struct child *c = arg;

	c->rc = proc_run_capture(c->argv, &c->out);
	return NULL;
}

/* `station batch --hotplug --count 1`: the board plugged in while the
 * batch watches is provisioned and reported as a PASS JSON line; exit 0. */
static void
test_batch_hotplug_runs_plugged_board(void **state)
{
	struct hl *h = hl_start(1);
	char *fx_path = sim_line_write(h->sim, "usb-fixture.ini", SLOT_FIXTURE);
	struct child c = { .argv = {
			       test_bin("STATION_BIN", "build/bin/station"),
			       "--config", h->sim->config_path, "batch",
			       "--hotplug", "--count", "1", "--fixture",
			       fx_path, "--operator", "op-hp", NULL } };
	struct usb_model *m;
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, run_child, &c), 0);
	/* Plugged while the child starts: it either sees the board arrive or
	 * finds it present when its watcher starts; both start the run. */
	m = plug(h, 11, h->sim->sims[0]->uri);
	pthread_join(th, NULL);
	if (c.rc != 0)
		fail_msg("batch --hotplug exited %d: %s", c.rc, c.out);
	assert_non_null(c.out);
	if (strstr(c.out, "\"result\":\"PASS\"") == NULL)
		fail_msg("no PASS line: %s", c.out);
	char want[64];
	snprintf(want, sizeof want, "\"serial\":\"%s\"", h->sim->serials[0]);
	assert_non_null(strstr(c.out, want));
	assert_non_null(strstr(c.out, "\"summary\":true"));
	assert_non_null(strstr(c.out, "\"runs\":1"));
	free(c.out);
	free(fx_path);
	usb_model_free(m);
	hl_stop(h);
}

/* Without --count the batch ends when its input ends and no run is
 * going on (no board here: no run, exit 0); a fixture without usb:
 * slots cannot be watched (exit 3); --count needs --hotplug (exit 2). */
static void
test_batch_hotplug_ends_at_eof_and_needs_usb_slot(void **state)
{
	struct hl *h = hl_start(1);
	char *fx_path = sim_line_write(h->sim, "usb-fixture.ini", SLOT_FIXTURE);
	char *empty = sim_line_write(h->sim, "empty.txt", "");
	const char *bin = test_bin("STATION_BIN", "build/bin/station");
	const char *eof[] = { bin, "--config", h->sim->config_path, "batch",
		"--hotplug", "--fixture", fx_path, "--input", empty, NULL };
	const char *tcp[] = { bin, "--config", h->sim->config_path, "batch",
		"--hotplug", "--fixture", h->sim->fixture_path, "--input",
		empty, NULL };
	const char *usage[] = { bin, "--config", h->sim->config_path, "batch",
		"--count", "1", NULL };
	char *out = NULL;

	(void)state;
	assert_int_equal(proc_run_capture(eof, &out), 0);
	assert_non_null(strstr(out, "\"summary\":true,\"runs\":0"));
	free(out);
	assert_int_equal(proc_run_capture(tcp, &out), 3);
	free(out);
	assert_int_equal(proc_run_capture(usage, &out), 2);
	free(out);
	free(empty);
	free(fx_path);
	hl_stop(h);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_plug_starts_run_and_unplug_mid_run_fails_removed),
		cmocka_unit_test(test_hotplug_needs_a_usb_slot),
		cmocka_unit_test(test_batch_hotplug_runs_plugged_board),
		cmocka_unit_test(
		    test_batch_hotplug_ends_at_eof_and_needs_usb_slot),
	};

	umockdev_env_reexec(argc, argv);
	return cmocka_run_group_tests_name("usb_line", tests, NULL, NULL);
}
