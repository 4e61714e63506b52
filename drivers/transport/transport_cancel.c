/*
 * A transport that the operator can interrupt (see transport.h,
 * transport_cancellable): a decorator over any other.  Reads wait in
 * slices of CANCEL_SLICE_MS and ask `cancelled` between them, so the abort
 * key ends a hung step (a device silent in KEYGEN) within a slice instead
 * of at the step's deadline; writes ask before they start.  Everything
 * else goes to the inner transport unchanged.
 */
#include <stdlib.h>

#include "drivers/transport/transport.h"
#include "station/util/xalloc.h"

#define CANCEL_SLICE_MS 100

struct cancel_transport {
	struct transport base;
	struct transport *inner;
	int (*cancelled)(void *ctx);
	void *ctx;
};

static struct cancel_transport *
ct(struct transport *t)
{
	return (struct cancel_transport *)t;
}

static st_err
aborted(char **cause)
{
	return st_fail(cause, ST_E_ABORTED, "aborted by operator");
}

static st_err
cancel_write(struct transport *t, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct cancel_transport *c = ct(t);

	if (c->cancelled(c->ctx))
		return aborted(cause);
	return c->inner->ops->write(c->inner, buf, len, dl, cause);
}

static st_err
cancel_read(struct transport *t, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct cancel_transport *c = ct(t);
	st_err err;

	*got = 0;
	for (;;) {
		struct deadline slice =
		    deadline_min(dl, deadline_in(CANCEL_SLICE_MS));
		char *why = NULL;

		if (c->cancelled(c->ctx))
			return aborted(cause);
		err = c->inner->ops->read(c->inner, buf, cap, got, slice, &why);
		if (err != ST_E_TIMEOUT || deadline_passed(dl)) {
			if (err && cause)
				*cause = why;
			else
				free(why);
			return err;
		}
		free(why); /* a slice ran out, not the caller's deadline */
	}
}

static void
cancel_flush_input(struct transport *t)
{
	struct transport *inner = ct(t)->inner;

	inner->ops->flush_input(inner);
}

static st_err
cancel_set_baud(struct transport *t, unsigned baud, char **cause)
{
	return transport_set_baud(ct(t)->inner, baud, cause);
}

static void
cancel_close(struct transport *t)
{
	struct cancel_transport *c = ct(t);

	transport_close(c->inner);
	free(c);
}

static const struct transport_ops cancel_ops = {
	.scheme = "cancellable",
	.summary = "a transport the operator can interrupt",
	.write = cancel_write,
	.read = cancel_read,
	.flush_input = cancel_flush_input,
	.set_baud = cancel_set_baud,
	.close = cancel_close,
};

struct transport *
transport_cancellable(struct transport *inner, int (*cancelled)(void *ctx),
    void *ctx)
{
	struct cancel_transport *c = xcalloc(1, sizeof *c);

	c->base.ops = &cancel_ops;
	c->base.uri = xstrdup(inner->uri);
	c->base.describe = inner->describe ? xstrdup(inner->describe) : NULL;
	c->base.baud = inner->baud;
	c->base.max_baud = inner->max_baud;
	c->inner = inner;
	c->cancelled = cancelled;
	c->ctx = ctx;
	return &c->base;
}
