/*
 * Hardware-in-loop suite.  With STATION_HIL_FIXTURE naming a fixture file
 * (`make hil FIXTURE=path`), it drives that fixture's real slots; with
 * STATION_HIL_CONFIG it uses that station configuration, else a scratch
 * station under a temporary home.  Without STATION_HIL_FIXTURE the same
 * code runs against a simulated fixture (devsim processes with hooks that
 * leave marks), so `make check` exercises the suite too.
 *
 * For every slot: the power/reset hooks run, the device answers HELLO, it
 * provisions to PASS, the certificate verifies against the pinned root,
 * and the ledger row says PASS.  A slot whose serial port (uart:/dev/...)
 * is absent is skipped with a message; if every slot is, the test skips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "db/ledger.h"
#include "drivers/proto/client.h"
#include "drivers/transport/transport.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/config/fixture.h"
#include "station/line/hook.h"
#include "station/line/line.h"
#include "station/pipeline/station.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"
#include "tests/support/sim_line.h"

#define HIL_MAX_SLOTS 64

struct slot_result {
	int done, pass;
	int64_t run_id;
	char cert_serial[80];
	char reason[256];
};

struct hil {
	struct sim_line *sim; /* NULL on real hardware */
	char *home;	      /* scratch home, or NULL */
	struct station *st;
	struct fixture *fx;
	pthread_mutex_t mu;
	struct slot_result res[HIL_MAX_SLOTS];
};

/* The port a slot names is not there: say so and leave the slot out. */
static int
slot_absent(const struct fixture_slot *s)
{
	if (strncmp(s->device, "uart:/dev/", 10) != 0)
		return 0;
	char *path = xstrdup(s->device + 5);
	path[strcspn(path, "?")] = '\0';
	int absent = access(path, F_OK) != 0;
	if (absent)
		print_message("slot %u (%s): %s is absent, skipped\n", s->index,
		    s->label, path);
	free(path);
	return absent;
}

static int
group_setup(void **state)
{
	struct hil *h = xcalloc(1, sizeof *h);
	const char *fx_path = getenv("STATION_HIL_FIXTURE");
	const char *config = getenv("STATION_HIL_CONFIG");
	char *cause = NULL;

	pthread_mutex_init(&h->mu, NULL);
	if (fx_path == NULL || fx_path[0] == '\0') {
		static const char marks[] =
		    "power_on = touch \"$HIL_MARKS/on-$STATION_SLOT\"\n"
		    "reset = touch \"$HIL_MARKS/reset-$STATION_SLOT\"\n"
		    "power_off = touch \"$HIL_MARKS/off-$STATION_SLOT\"\n";
		struct sim_slot_opts opts[2] = { { .fixture_lines = marks },
			{ .fixture_lines = marks } };

		h->sim = sim_line_start(2, "HIL-SIM", 5000, opts);
		setenv("HIL_MARKS", h->sim->dir, 1);
		fx_path = h->sim->fixture_path;
		config = h->sim->config_path;
	} else if (config == NULL || config[0] == '\0') {
		h->home = scratch_dir();
		setenv("STATION_HOME", h->home, 1);
		setenv("STATION_DEMO", "1",
		    1); /* no --config: a demo station */
		config = NULL;
	}
	if (station_open(&(struct station_opts){ .config_path = config },
		&h->st, &cause) != ST_OK ||
	    fixture_load(fx_path, h->st->cfg, &h->fx, &cause) != ST_OK) {
		fprintf(stderr, "hil: %s\n", cause);
		free(cause);
		return -1;
	}
	if (h->fx->n_slots > HIL_MAX_SLOTS) {
		fprintf(stderr, "hil: more than %d slots\n", HIL_MAX_SLOTS);
		return -1;
	}
	*state = h;
	return 0;
}

static int
group_teardown(void **state)
{
	struct hil *h = *state;

	fixture_free(h->fx);
	station_close(h->st);
	sim_line_stop(h->sim);
	if (h->home) {
		scratch_rmtree(h->home);
		free(h->home);
	}
	pthread_mutex_destroy(&h->mu);
	free(h);
	return 0;
}

static const char *const hook_names[] = { "power_on", "reset", "power_off" };
/* What the simulated fixture's hooks leave behind, in the same order. */
static const char *const mark_names[] = { "on", "reset", "off" };

/* Every hook a slot names runs and exits 0 within its deadline. */
static void
test_every_slot_hooks_run(void **state)
{
	struct hil *h = *state;
	size_t tested = 0;

	for (size_t i = 0; i < h->fx->n_slots; i++) {
		const struct fixture_slot *s = &h->fx->slots[i];
		const char *cmds[] = { s->power_on, s->reset, s->power_off };
		char *env[2] = { xasprintf("STATION_SLOT=%u", s->index), NULL };

		if (slot_absent(s)) {
			free(env[0]);
			continue;
		}
		tested++;
		for (size_t k = 0; k < 3; k++) {
			char *cause = NULL;

			if (cmds[k] == NULL)
				continue;
			if (hook_run(cmds[k], h->fx->hook_timeout_ms,
				(const char *const *)env, &cause) != ST_OK)
				fail_msg("slot %u %s: %s", s->index,
				    hook_names[k], cause);
			if (h->sim) {
				char *mark = xasprintf("%s/%s-%u", h->sim->dir,
				    mark_names[k], s->index);
				assert_int_equal(access(mark, F_OK), 0);
				unlink(mark);
				free(mark);
			}
		}
		free(env[0]);
	}
	if (tested == 0)
		skip();
}

/* Every slot's device answers HELLO with a serial. */
static void
test_every_slot_answers_hello(void **state)
{
	struct hil *h = *state;
	size_t tested = 0;

	for (size_t i = 0; i < h->fx->n_slots; i++) {
		const struct fixture_slot *s = &h->fx->slots[i];
		struct transport *t = NULL;
		struct dev_info info = { 0 };
		char *cause = NULL;

		if (slot_absent(s))
			continue;
		tested++;
		if (s->power_on &&
		    hook_run(s->power_on, h->fx->hook_timeout_ms, NULL,
			&cause) != ST_OK)
			fail_msg("slot %u power_on: %s", s->index, cause);
		if (transport_open(s->device, deadline_in(5000), &t, &cause))
			fail_msg("slot %u: %s", s->index, cause);
		struct client *c = client_new(t, NULL);
		client_set_deadline(c, deadline_in(10000));
		if (dev_hello(c, &info, &cause) != ST_OK)
			fail_msg("slot %u HELLO: %s", s->index, cause);
		assert_non_null(info.serial);
		if (h->sim)
			assert_string_equal(info.serial, h->sim->serials[i]);
		dev_info_clear(&info);
		client_free(c);
	}
	if (tested == 0)
		skip();
}

/* Each run's outcome, from its EVENT_RUN_END on the line's bus. */
static void
on_result(void *ctx, const struct station_event *ev)
{
	struct hil *h = ctx;

	if (ev->kind != EVENT_RUN_END)
		return;
	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->fx->n_slots; i++) {
		struct slot_result *sr = &h->res[i];

		if ((int)h->fx->slots[i].index != ev->slot)
			continue;
		sr->done = 1;
		sr->pass = ev->station_err == ST_OK && ev->res->pass;
		sr->run_id = ev->res->run_id;
		snprintf(sr->cert_serial, sizeof sr->cert_serial, "%s",
		    ev->res->cert_serial ? ev->res->cert_serial : "");
		snprintf(sr->reason, sizeof sr->reason, "%s",
		    ev->station_cause	? ev->station_cause :
			ev->res->reason ? ev->res->reason :
					  "");
	}
	pthread_mutex_unlock(&h->mu);
}

/* The certificate in the ledger verifies to the pinned root (through the
 * local CA's intermediate when there is one). */
static void
verify_to_root(struct hil *h, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	char *inter_path = xasprintf("%s/intermediate.pem", h->st->cfg->ca_dir);
	X509 *inter = NULL;

	assert_non_null(cert);
	if (x509_load_pem_file(inter_path, &inter, NULL) == ST_OK)
		sk_X509_push(untrusted, inter);
	X509_STORE_add_cert(store, h->st->root);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, untrusted), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("certificate does not verify to the root: %s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	X509_free(cert);
	BIO_free(bio);
	free(inter_path);
}

/* Every present slot provisions to PASS at once; ledger and root agree. */
static void
test_every_slot_provisions_to_pass(void **state)
{
	struct hil *h = *state;
	struct event_bus bus = { 0 };
	struct line *l = NULL;
	char *cause = NULL;
	size_t tested = 0;

	event_bus_add(&bus, on_result, h);
	if (line_new(h->st, h->fx, &bus, &l, &cause) != ST_OK)
		fail_msg("line_new: %s", cause);
	for (size_t i = 0; i < h->fx->n_slots; i++) {
		const struct fixture_slot *s = &h->fx->slots[i];
		struct line_job job = { .slot = s->index,
			.batch = "HIL",
			.scanned_serial = h->sim ? h->sim->serials[i] : NULL };

		if (slot_absent(s))
			continue;
		tested++;
		if (line_submit(l, &job, NULL, &cause) != ST_OK)
			fail_msg("slot %u: %s", s->index, cause);
	}
	line_wait_idle(l);
	line_free(l);
	event_bus_clear(&bus);
	if (tested == 0)
		skip();
	for (size_t i = 0; i < h->fx->n_slots; i++) {
		struct slot_result *sr = &h->res[i];
		struct run_record run = { 0 };
		struct cert_record cert = { 0 };

		if (!sr->done)
			continue;
		if (!sr->pass)
			fail_msg("slot %u FAIL: %s", h->fx->slots[i].index,
			    sr->reason);
		assert_int_equal(ledger_run_get(h->st->ledger, sr->run_id, &run,
				     NULL),
		    ST_OK);
		assert_string_equal(run.result, "PASS");
		assert_int_equal(run.slot, (int)h->fx->slots[i].index);
		assert_string_equal(run.cert_serial, sr->cert_serial);
		assert_int_equal(ledger_cert_get(h->st->ledger, sr->cert_serial,
				     &cert, NULL),
		    ST_OK);
		assert_string_equal(cert.device_serial, run.device_serial);
		verify_to_root(h, cert.pem);
		ledger_cert_record_clear(&cert);
		ledger_run_record_clear(&run);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_slot_hooks_run),
		cmocka_unit_test(test_every_slot_answers_hello),
		cmocka_unit_test(test_every_slot_provisions_to_pass),
	};

	return cmocka_run_group_tests_name("hil", tests, group_setup,
	    group_teardown);
}
