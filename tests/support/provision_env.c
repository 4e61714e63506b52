/* Test support: station home, station process, ledger checks
 * (provision_env.h). */
#include "tests/support/provision_env.h"

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/support/devsim_proc.h"
#include "tests/support/loopback.h"
#include "tests/support/pki.h"
#include "station/ca/local.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

struct prov_env *
prov_env_new(void)
{
	struct prov_env *e = xcalloc(1, sizeof *e);

	e->sh = station_home_new(NULL);
	e->home = e->sh->home;
	return e;
}

void
prov_env_free(struct prov_env *e)
{
	if (e == NULL)
		return;
	station_home_free(e->sh);
	free(e);
}

char *
prov_env_write(struct prov_env *e, const char *name, const char *text)
{
	return station_home_write(e->sh, name, text);
}

void
prov_env_config(struct prov_env *e, const char *station_extra, const char *rest)
{
	station_home_config(e->sh, station_extra, rest);
	e->config = e->sh->config;
}

int
prov_station(struct prov_env *e, const char *const *args, struct proc_out *o)
{
	const char *argv[32];
	size_t n = 0;

	argv[n++] = test_bin("STATION_BIN", "build/bin/station");
	if (e->config) {
		argv[n++] = "--config";
		argv[n++] = e->config;
	}
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return proc_run_env(argv, e->home, o);
}

json_t *
prov_provision(struct prov_env *e, const char *uri, const char *const *extra,
    int *status)
{
	const char *args[24] = { "provision", uri, "--json" };
	size_t n = 3;
	struct proc_out o;
	json_error_t jerr;

	for (size_t i = 0; extra && extra[i] && n < 23; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	*status = prov_station(e, args, &o);
	json_t *j = json_loads(o.out, 0, &jerr);
	if (j == NULL || !json_is_object(j))
		fprintf(stderr,
		    "provision printed no JSON object (exit %d): "
		    "%s\nstderr: %s\n",
		    o.status, o.out, o.err);
	proc_out_clear(&o);
	return j;
}

char *
prov_probe_state(struct prov_env *e, const char *uri)
{
	const char *args[] = { "probe", uri, "--json", NULL };
	struct proc_out o;
	char *state = NULL;

	prov_station(e, args, &o);
	json_t *j = json_loads(o.out, 0, NULL);
	if (j && json_is_string(json_object_get(j, "state")))
		state = xstrdup(json_string_value(json_object_get(j, "state")));
	json_decref(j);
	proc_out_clear(&o);
	return state;
}

struct ledger *
prov_ledger(struct prov_env *e)
{
	char *path = xasprintf("%s/ledger.db", e->home);
	struct ledger *l = NULL;
	char *cause = NULL;

	if (ledger_open(path, &l, &cause) != ST_OK)
		fprintf(stderr, "ledger_open %s: %s\n", path, cause);
	assert_non_null(l);
	free(cause);
	free(path);
	return l;
}

struct count_ctx {
	const char *status;
	int n;
};

static int
is_live(const char *status)
{
	return strcmp(status, "issued") == 0 ||
	    strcmp(status, "written") == 0 || strcmp(status, "verified") == 0;
}

static int
count_cb(const struct cert_record *c, void *arg)
{
	struct count_ctx *ctx = arg;

	if (ctx->status == NULL || strcmp(ctx->status, c->status) == 0 ||
	    (strcmp(ctx->status, "live") == 0 && is_live(c->status)))
		ctx->n++;
	return 0;
}

int
prov_count_certs(struct ledger *l, const char *device_serial,
    const char *status)
{
	struct count_ctx ctx = { .status = status };

	assert_int_equal(ledger_device_history(l, device_serial, NULL, count_cb,
			     &ctx, NULL),
	    ST_OK);
	return ctx.n;
}

/* Serials (and fingerprints) collected first: a ledger callback must not
 * call back into the ledger. */
struct list {
	char *item[64][2];
	int n;
};

static int
index_cb(const struct local_ca_record *rec, void *arg)
{
	struct list *li = arg;

	assert_true(li->n < 64);
	li->item[li->n][0] = xstrdup(rec->serial_hex);
	li->item[li->n][1] = xstrdup(rec->fingerprint);
	li->n++;
	return 0;
}

static int
failed_run_cb(const struct run_record *r, void *arg)
{
	struct list *li = arg;

	if (strcmp(r->result, "FAIL") == 0 && r->cert_serial != NULL) {
		assert_true(li->n < 64);
		li->item[li->n][0] = xstrdup(r->cert_serial);
		li->item[li->n][1] = NULL;
		li->n++;
	}
	return 0;
}

static void
list_clear(struct list *li)
{
	for (int i = 0; i < li->n; i++) {
		free(li->item[i][0]);
		free(li->item[i][1]);
	}
	li->n = 0;
}

int
prov_audit(struct prov_env *e, struct ledger *l)
{
	struct list issued = { .n = 0 }, failed = { .n = 0 };
	struct cert_record c;

	assert_int_equal(local_ca_read_index(e->sh->ca_dir, index_cb, &issued,
			     NULL),
	    ST_OK);
	for (int i = 0; i < issued.n; i++) {
		memset(&c, 0, sizeof c);
		if (ledger_cert_get(l, issued.item[i][0], &c, NULL) != ST_OK)
			fail_msg(
			    "the CA issued %s but the ledger does not know "
			    "it",
			    issued.item[i][0]);
		assert_string_equal(c.fingerprint_sha256, issued.item[i][1]);
		ledger_cert_record_clear(&c);
	}
	assert_int_equal(ledger_list_runs(l, 0, failed_run_cb, &failed, NULL),
	    ST_OK);
	for (int i = 0; i < failed.n; i++) {
		memset(&c, 0, sizeof c);
		assert_int_equal(ledger_cert_get(l, failed.item[i][0], &c,
				     NULL),
		    ST_OK);
		if (is_live(c.status))
			fail_msg("certificate %s of a FAILed run is still '%s'",
			    c.serial_hex, c.status);
		ledger_cert_record_clear(&c);
	}
	int n = issued.n;
	list_clear(&issued);
	list_clear(&failed);
	return n;
}

static void
assert_opt_str(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else
		assert_string_equal(got ? got : "(null)", want);
}

void
prov_assert_run(struct ledger *l, int64_t run_id, const char *result,
    const char *failed_step, const char *error_kind)
{
	struct run_record r;

	memset(&r, 0, sizeof r);
	assert_int_equal(ledger_run_get(l, run_id, &r, NULL), ST_OK);
	assert_string_equal(r.result, result);
	assert_opt_str(r.failed_step, failed_step);
	assert_opt_str(r.error_kind, error_kind);
	/* Finished runs are sealed into the hash chain. */
	assert_true(r.chain_seq > 0);
	assert_non_null(r.row_hash);
	ledger_run_record_clear(&r);
}

const char *
prov_jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "";
}

char *
prov_closed_port_uri(void)
{
	return xasprintf("tcp:127.0.0.1:%d", loopback_free_port());
}
