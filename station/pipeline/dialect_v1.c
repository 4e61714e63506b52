/*
 * The v1 dialect: the station's own device protocol (docs/protocol.md)
 * through the protocol client (drivers/proto/client.h).  The operations
 * that are more than a call live beside their steps (v1_keygen in
 * pipeline_steps.c, v1_write and v1_readback in pipeline_write.c, v1_sign
 * in pipeline_proof.c, v1_smoke in pipeline_smoke.c).
 */
#include "drivers/proto/client.h"
#include "station/config/config.h"
#include "station/pipeline/dialect.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/clock.h"

static st_err
v1_connect(struct run *r, struct transport *t)
{
	struct client_opts o;
	int budget_ms;

	/* A device gets the whole step to answer (HELLO included), as
	 * step_timeout_ms says, not a fixed count of attempts: the client
	 * retransmits until the step's deadline, which ends every call.  A
	 * run's step is step_timeout_ms long; a probe without a station
	 * (line_locate's lone scan, `station probe`) has only the deadline
	 * it was given (dialect_identify), and gets all that is left of it
	 * in the same way. */
	client_opts_default(&o);
	if (r->st != NULL)
		budget_ms = r->st->cfg->step_timeout_ms;
	else
		budget_ms = deadline_left_ms(r->deadline);
	client_opts_fit(&o, budget_ms);
	r->client = client_new(t, &o);
	return ST_OK;
}

static void
v1_set_deadline(struct run *r, struct deadline dl)
{
	if (r->client != NULL)
		client_set_deadline(r->client, dl);
}

static st_err
v1_hello(struct run *r)
{
	struct transport *t = client_transport(r->client);
	unsigned from = t->baud;
	st_err err = dev_hello(r->client, &r->info, &r->cause);

	/* A baud switch (docs/protocol.md 8.17) is in the run's events, so
	 * the ledger says at what rate the rest of the run went. */
	if (err == ST_OK && t->baud != from)
		run_info(r, "line switched from %u to %u baud (SET_BAUD)", from,
		    t->baud);
	return err;
}

/* The client is freed with the run (its counters are logged at the
 * end); a v1 device needs nothing put back. */
static void
v1_finish(struct run *r)
{
	(void)r;
}

const struct dialect_ops dialect_v1_ops = {
	.name = "v1",
	.prefix = NULL,
	.connect = v1_connect,
	.set_deadline = v1_set_deadline,
	.hello = v1_hello,
	.keygen = v1_keygen,
	.csr = v1_csr,
	.write = v1_write,
	.readback = v1_readback,
	.sign = v1_sign,
	.attest = v1_attest,
	.smoke = v1_smoke,
	.smoke_begin = v1_smoke_begin,
	.commit = v1_commit,
	.finish = v1_finish,
};
