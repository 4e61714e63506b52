/*
 * The provisioning pipeline's orchestration (see pipeline.h): runs the
 * steps in order under their deadlines, emits events, and on failure leaves
 * the ledger saying exactly what happened to the device.
 */
#include "station/pipeline/pipeline.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/pipeline/advice.h"
#include "station/config/config.h"
#include "station/pipeline/owner.h"
#include "station/pipeline/pipeline_run.h"
#include "station/pipeline/settle.h"
#include "station/pipeline/recover.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "pipeline"

/* Steps that talk to a chip or a CA get more time than the default. */
static const struct {
	enum step step;
	st_err (*fn)(struct run *r);
	int timeout_factor; /* multiples of the configured step timeout */
} step_table[] = {
	{ STEP_CONNECT, step_connect, 1 },
	{ STEP_HELLO, step_hello, 1 },
	{ STEP_SERIAL, step_serial, 1 },
	{ STEP_LEDGER, step_ledger, 1 },
	{ STEP_CLOCK, step_clock, 1 },
	{ STEP_TRUST, step_trust, 2 },
	{ STEP_KEYGEN, step_keygen, 3 },
	{ STEP_CSR, step_csr, 1 },
	{ STEP_CSR_POLICY, step_csr_policy, 1 },
	{ STEP_ATTEST, step_attest, 2 },
	{ STEP_CA_SIGN, step_ca_sign, 3 },
	{ STEP_CA_BIND, step_ca_bind, 1 },
	{ STEP_RECORD, step_record, 1 },
	{ STEP_CERT_CHECK, step_cert_check, 1 },
	{ STEP_WRITE, step_write, 2 },
	{ STEP_READBACK, step_readback, 2 },
	{ STEP_PROOF, step_proof, 2 },
	{ STEP_SMOKE, step_smoke, 2 },
	{ STEP_COMMIT, step_commit, 1 },
};

#define STEP_COUNT (sizeof step_table / sizeof step_table[0])

/* The deadline factors of the steps after step_table[i], summed. */
static uint64_t
factors_after(size_t i)
{
	uint64_t sum = 0;

	while (++i < STEP_COUNT)
		sum += (uint64_t)step_table[i].timeout_factor;
	return sum;
}

void
provision_result_clear(struct provision_result *res)
{
	free(res->reason);
	free(res->serial);
	free(res->cert_serial);
	free(res->smoke_detail);
	memset(res, 0, sizeof *res);
}

/* The operator asked to abort this run (provision_request.aborted). */
static int
run_aborted(const struct run *r)
{
	return r->req->aborted != NULL && r->req->aborted(r->req->aborted_ctx);
}

/* An event of the run, as every sink sees it. */
static struct station_event
run_event_of(const struct run *r, enum event_kind kind, enum step step,
    int progress, const char *text, st_err err)
{
	struct station_event ev = {
		.kind = kind,
		.slot = r->req->slot,
		.run_id = r->res->run_id,
		.step = step,
		.progress = progress,
		.serial = r->res->serial,
		.text = text,
		.err = err,
		.pass = r->res->pass,
		.deadline_ms = kind == EVENT_STEP_START ? r->deadline.at_ms : 0,
	};

	return ev;
}

/* Report one transition of the run, once: on the run's bus, whose first
 * sink is the ledger's (see struct run). */
static void
emit(struct run *r, enum event_kind kind, enum step step, int progress,
    const char *text, st_err err)
{
	struct station_event ev =
	    run_event_of(r, kind, step, progress, text, err);

	event_emit(&r->bus, &ev);
}

/* The run's end, with its whole outcome (event.h).  `station_err` is what
 * provision_run returns, its cause in *cause. */
static void
emit_end(struct run *r, enum step step, st_err err, st_err station_err,
    char **cause)
{
	const char *text = r->res->reason;
	struct station_event ev;

	if (station_err && r->res->run_id == 0)
		text = cause ? *cause : NULL; /* the run never began */
	ev = run_event_of(r, EVENT_RUN_END, step, 100, text, err);
	ev.req = r->req;
	ev.res = r->res;
	ev.station_err = station_err;
	ev.station_cause = station_err && cause ? *cause : NULL;
	event_emit(&r->bus, &ev);
}

void
run_info(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	log_info("slot %d run %" PRId64 ": %s", r->req->slot, r->res->run_id,
	    text);
	emit(r, EVENT_INFO, r->step, -1, text, ST_OK);
	free(text);
}

/*
 * After a failure: a certificate the CA issued for this run must not stay
 * live.  Ledger first (settle.h): orphaned (or revoking, if it was proven
 * on the device), then revoked where the backend can.
 */
static void
settle_certificate(struct run *r, enum step failed)
{
	const char *serial = r->res->cert_serial;
	enum settle_outcome outcome;
	char *why = NULL, *err_cause = NULL;

	if (!r->cert_recorded || serial == NULL)
		return;
	char *note = xasprintf("run %" PRId64 " failed at %s", r->res->run_id,
	    step_name(failed));
	if (cert_settle(r->st, serial, note, &outcome, &why, &err_cause))
		log_error("cannot settle certificate %s: %s", serial,
		    err_cause);
	else if (outcome == SETTLE_REVOKED)
		run_info(r, "certificate %s revoked (the run failed at %s)",
		    serial, step_name(failed));
	else if (outcome == SETTLE_NOT_REVOKED)
		run_info(r, "certificate %s could not be revoked: %s", serial,
		    why);
	free(why);
	free(err_cause);
	free(note);
}

/*
 * After the run has ended: the certificate it superseded (its key went at
 * KEYGEN) is revoked at the CA whatever the result.  After the run's end
 * is recorded, so that a crash here leaves a finished run, which recovery
 * does not touch, and the 'superseded' intent, which it finishes.
 */
static void
revoke_superseded(struct run *r)
{
	enum settle_outcome outcome;
	char *why = NULL, *err_cause = NULL, *text = NULL;
	st_err ca_err = ST_OK;
	st_err err;

	if (!r->superseding)
		return;
	err = cert_revoke_finish(r->st, r->previous_cert, &outcome, &ca_err,
	    &why, &err_cause);
	if (err)
		text = xasprintf("superseded certificate %s: %s",
		    r->previous_cert, err_cause);
	else if (outcome == SETTLE_NOT_REVOKED && ca_err == ST_E_UNSUPPORTED)
		text = xasprintf("superseded certificate %s not revoked (%s): "
				 "revoke it at the CA",
		    r->previous_cert, why);
	else if (outcome == SETTLE_NOT_REVOKED)
		text = xasprintf("superseded certificate %s not revoked yet "
				 "(%s): the next station start retries",
		    r->previous_cert, why);
	else
		text = xasprintf("superseded certificate %s revoked",
		    r->previous_cert);
	/* After the run's end is recorded: the ledger sink is closed, so
	 * this is shown, not recorded as a run event. */
	run_info(r, "%s", text);
	free(text);
	free(why);
	free(err_cause);
}

static void
run_clear(struct run *r)
{
	client_free(r->client);
	dev_info_clear(&r->info);
	free(r->spki);
	free(r->csr_der);
	identity_clear(&r->id);
	X509_REQ_free(r->csr);
	ca_issued_clear(&r->issued);
	X509_free(r->held_cert);
	sk_X509_pop_free(r->held_chain, X509_free);
	free(r->previous_cert);
	free(r->cause);
	ledger_sink_clear(&r->ledger);
	event_bus_clear(&r->bus);
}

static st_err
run_begin(struct run *r, char **cause)
{
	const struct config *cfg = r->st->cfg;
	const struct provision_request *req = r->req;
	const char *pname = req->profile ? req->profile : "default";
	struct run_start s = {
		.station_id = cfg->station_id,
		.slot = req->slot,
		.operator_id =
		    req->operator_id ? req->operator_id : cfg->operator_id,
		.batch = req->batch,
		.device_uri = req->device_uri,
		.scanned_serial = req->scanned_serial,
		.profile = pname,
		/* Who owns the run, so that crash recovery leaves it alone
		 * while this process lives (recover.h). */
		.owner_pid = (int64_t)getpid(),
		.owner_start = proc_start_time(getpid()),
		.owner_token = owner_token(r->st->owner),
		/* A clock gone backwards is refused here (ledger.h). */
		.max_skew_ms = (int64_t)cfg->clock_skew_s * 1000,
	};

	r->profile = config_profile(cfg, pname);
	st_err err =
	    ledger_run_begin(r->st->ledger, &s, &r->res->run_id, cause);
	if (err)
		return st_wrap(cause, err, "recording the start of the run");
	return ST_OK;
}

st_err
provision_run(struct station *st, const struct provision_request *req,
    const struct event_bus *bus, struct provision_result *res, char **cause)
{
	struct run r = { .st = st,
		.req = req,
		.res = res,
		.step = STEP_CONNECT };
	uint64_t started = clock_now_ms();
	int step_ms = st->cfg->step_timeout_ms;
	enum step failed = STEP_CONNECT;
	char *why = NULL;
	st_err err = ST_OK, ferr;

	memset(res, 0, sizeof *res);
	res->smoke = "skipped";
	r.bus.next = bus;
	ferr = provision_request_check(st, req, cause);
	if (ferr) {
		/* A mistake of the command line or the scanner, not a run. */
		res->err = ferr;
		emit_end(&r, STEP_CONNECT, ferr, ferr, cause);
		goto out;
	}
	ferr = run_begin(&r, cause);
	if (ferr) {
		/* Nothing of the run is on record: its end alone says so. */
		emit_end(&r, STEP_CONNECT, ferr, ferr, cause);
		goto out;
	}
	ledger_sink_init(&r.ledger, st->ledger, res->run_id);
	event_bus_add(&r.bus, ledger_sink_fn, &r.ledger);
	emit(&r, EVENT_RUN_START, STEP_CONNECT, 0, req->device_uri, ST_OK);

	if (req->before_connect != NULL)
		err = req->before_connect(req->before_connect_ctx, &r.cause);
	if (err) {
		/* Failed before the first step ran: recorded as the connect
		 * step's failure, the device was never reached. */
		emit(&r, EVENT_STEP_FAIL, STEP_CONNECT, 0, r.cause, err);
	}
	for (size_t i = 0; err == ST_OK && i < STEP_COUNT; i++) {
		enum step s = step_table[i].step;
		int progress = (int)(i * 100 / STEP_COUNT);

		failed = s;
		r.step = s;
		if (run_aborted(&r)) {
			err = st_fail(&r.cause, ST_E_ABORTED,
			    "aborted by operator before step %s", step_name(s));
			emit(&r, EVENT_STEP_FAIL, s, progress, r.cause, err);
			break;
		}
		r.deadline = deadline_in(
		    (uint64_t)step_ms * (uint64_t)step_table[i].timeout_factor);
		if (r.dialect != NULL)
			r.dialect->set_deadline(&r, r.deadline);
		/* Cheap (no fsync): a crash report names this step; a
		 * failure to note it costs only that (logged). */
		if (ledger_run_step(st->ledger, res->run_id, step_name(s),
			&why) != ST_OK)
			log_warn("run %lld: %s", (long long)res->run_id, why);
		free(why);
		why = NULL;
		emit(&r, EVENT_STEP_START, s, progress, NULL, ST_OK);
		r.step_note = NULL;
		err = step_table[i].fn(&r);
		if (err == ST_OK && deadline_passed(r.deadline))
			err = st_fail(&r.cause, ST_E_TIMEOUT,
			    "step took longer than its %d ms deadline",
			    step_ms * step_table[i].timeout_factor);
		if (err && run_aborted(&r))
			err = st_wrap(&r.cause, ST_E_ABORTED,
			    "aborted by operator during step %s", step_name(s));
		if (err) {
			emit(&r, EVENT_STEP_FAIL, s, progress, r.cause, err);
			break;
		}
		emit(&r, EVENT_STEP_OK, s, progress, r.step_note, ST_OK);
		if (r.finished_early)
			break; /* ALREADY PASS: nothing left to do */
		/* durable point: the issuance and its narrative so far */
		if (s == STEP_RECORD)
			ledger_sink_flush(&r.ledger);
		/* Once the CA has issued (and named its broker, if it
		 * does), the broker's part of the smoke test goes on while
		 * the certificate is recorded, checked, written and read
		 * back; it waits, for as long as the steps up to its own may
		 * take, for what the device read. */
		if (s == STEP_CA_SIGN)
			run_smoke_begin(&r,
			    deadline_in((uint64_t)step_ms * factors_after(i)));
	}
	run_smoke_abandon(&r);

	if (r.dialect != NULL) {
		/* The device as it was found, PASS or FAIL (the modem's
		 * CFUN): with a deadline of its own. */
		r.deadline = deadline_in((uint64_t)step_ms);
		r.dialect->set_deadline(&r, r.deadline);
		r.dialect->finish(&r);
	}
	if (err) {
		res->pass = 0;
		res->failed_step = failed;
		res->err = err;
		res->reason =
		    r.cause ? xstrdup(r.cause) : xstrdup(st_strerror(err));
		res->headline = advice_headline(failed, err);
		res->advice = advice_next_step(failed, err);
		settle_certificate(&r, failed);
	} else {
		res->pass = 1;
	}
	res->duration_ms = clock_now_ms() - started;
	/* durable point: the run's narrative, then its end */
	ledger_sink_close(&r.ledger);
	ferr = ledger_run_finish(st->ledger, res->run_id,
	    res->pass ? "PASS" : "FAIL", res->pass ? NULL : step_name(failed),
	    res->pass ? NULL : st_errname(err), res->reason, cause);
	revoke_superseded(&r);
	if (ferr)
		ferr = st_wrap(cause, ferr,
		    "recording the end of run %" PRId64 "", res->run_id);
	emit_end(&r, res->pass ? STEP__COUNT : failed, err, ferr, cause);
	if (r.client != NULL) {
		struct client_stats cs;

		/* Line quality, for soak figures and a failing fixture. */
		client_get_stats(r.client, &cs);
		log_info("run %" PRId64 " link: %lu requests, %lu retransmits, "
			 "%lu naks, %lu bad frames",
		    res->run_id, cs.requests, cs.retransmits, cs.naks,
		    cs.bad_frames);
	}
	/* After the result is out: the operator never waits for the feed. */
	run_fleet_drain(st);
out:
	run_clear(&r);
	return ferr;
}
