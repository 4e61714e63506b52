/* Event fan-out and step names (see event.h). */
#include "station/pipeline/event.h"

#include <stdlib.h>

static const char *const step_names[STEP__COUNT] = {
	[STEP_CONNECT] = "connect",
	[STEP_HELLO] = "hello",
	[STEP_SERIAL] = "serial-check",
	[STEP_LEDGER] = "ledger-check",
	[STEP_KEYGEN] = "keygen",
	[STEP_CSR] = "csr",
	[STEP_CSR_POLICY] = "csr-policy",
	[STEP_CA_SIGN] = "ca-sign",
	[STEP_CA_BIND] = "ca-bind",
	[STEP_RECORD] = "record",
	[STEP_CERT_CHECK] = "cert-check",
	[STEP_WRITE] = "write",
	[STEP_READBACK] = "readback",
	[STEP_PROOF] = "proof",
	[STEP_SMOKE] = "smoke",
	[STEP_COMMIT] = "commit",
};

const char *
step_name(enum step s)
{
	if ((unsigned)s >= STEP__COUNT)
		return "unknown";
	return step_names[s];
}

void
event_bus_add(struct event_bus *bus, event_fn fn, void *ctx)
{
	/* A fixed handful of consumers exist; more is a programming error. */
	if (bus->count == EVENT_MAX_SINKS)
		abort();
	bus->sinks[bus->count].fn = fn;
	bus->sinks[bus->count].ctx = ctx;
	bus->count++;
}

void
event_emit(const struct event_bus *bus, const struct station_event *ev)
{
	for (int i = 0; i < bus->count; i++)
		bus->sinks[i].fn(bus->sinks[i].ctx, ev);
}
