/* Event fan-out and step names (see event.h). */
#include "station/pipeline/event.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static const char *const step_names[STEP__COUNT] = {
	[STEP_CONNECT] = "connect",
	[STEP_HELLO] = "hello",
	[STEP_SERIAL] = "serial-check",
	[STEP_LEDGER] = "ledger-check",
	[STEP_CLOCK] = "clock-check",
	[STEP_TRUST] = "server-trust",
	[STEP_KEYGEN] = "keygen",
	[STEP_CSR] = "csr",
	[STEP_CSR_POLICY] = "csr-policy",
	[STEP_ATTEST] = "attest",
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

static const char *const info_texts[] = {
	[EVENT_INFO_WAITING] = "waiting for device",
	[EVENT_INFO_REMOVED] = "device removed",
	[EVENT_INFO_ROUTED] = "scan routed",
};

const char *
event_info_text(enum event_info info)
{
	if ((unsigned)info >= sizeof info_texts / sizeof info_texts[0])
		return NULL;
	return info_texts[info];
}

void
event_bus_add(struct event_bus *bus, event_fn fn, void *ctx)
{
	if (bus->count == bus->cap) {
		bus->cap = bus->cap ? 2 * bus->cap : 4;
		bus->sinks =
		    xrealloc(bus->sinks, bus->cap * sizeof *bus->sinks);
	}
	bus->sinks[bus->count].fn = fn;
	bus->sinks[bus->count].ctx = ctx;
	bus->count++;
}

void
event_bus_clear(struct event_bus *bus)
{
	if (bus == NULL)
		return;
	free(bus->sinks);
	memset(bus, 0, sizeof *bus);
}

void
event_emit(const struct event_bus *bus, const struct station_event *ev)
{
	for (; bus != NULL; bus = bus->next) {
		for (size_t i = 0; i < bus->count; i++)
			bus->sinks[i].fn(bus->sinks[i].ctx, ev);
	}
}
