/*
 * Line-rate efficiency: a 2 KB certificate chain written to the device and
 * read back (WRITE_CHAIN + READ_CHAIN through drivers/client.h) over a
 * simulated 115200 baud UART, against the physical minimum: the chain's
 * payload bytes, both ways, at 10 bits per byte.
 *
 * devsim paces what the device sends (--baud).  A real UART paces the
 * station's transmissions too, so the station's side of the link is
 * wrapped here in the same pacer: every byte the client writes leaves at
 * 10 bits/baud.  Everything else (frames, COBS, CRC, TLV headers, reply
 * headers, turnarounds, acknowledgements) counts against the efficiency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/bench/bench.h"
#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "fixtures/devsim/faults.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

#define BAUD 115200
#define CHAIN_BYTES 2048

struct paced {
	struct transport base;
	struct transport *inner;
	struct pacer pacer;
};

static st_err
paced_write(struct transport *t, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct paced *p = (struct paced *)t;

	pacer_burst(&p->pacer);
	for (size_t i = 0; i < len; i++) {
		pacer_wait_byte(&p->pacer);
		st_err err =
		    p->inner->ops->write(p->inner, buf + i, 1, dl, cause);
		if (err)
			return err;
	}
	return ST_OK;
}

static st_err
paced_read(struct transport *t, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct paced *p = (struct paced *)t;

	return p->inner->ops->read(p->inner, buf, cap, got, dl, cause);
}

static void
paced_flush(struct transport *t)
{
	struct paced *p = (struct paced *)t;

	p->inner->ops->flush_input(p->inner);
}

static void
paced_close(struct transport *t)
{
	struct paced *p = (struct paced *)t;

	transport_close(p->inner);
	free(p);
}

static const struct transport_ops paced_ops = {
	.scheme = "paced",
	.summary = "a transport paced like a UART (benchmarks)",
	.write = paced_write,
	.read = paced_read,
	.flush_input = paced_flush,
	.close = paced_close,
};

static struct client *
open_paced(const char *uri)
{
	struct transport *inner = NULL;
	char *cause = NULL;

	if (transport_open(uri, deadline_in(5000), &inner, &cause))
		bench_die("open %s: %s", uri, cause);
	struct paced *p = xcalloc(1, sizeof *p);
	transport_init(&p->base, &paced_ops, "paced", uri);
	p->base.baud = BAUD;
	p->inner = inner;
	pacer_init(&p->pacer, BAUD);
	return client_new(&p->base, NULL);
}

/* One round: seconds for WRITE_CHAIN + READ_CHAIN; the client's byte
 * counts of the two calls in *wire. */
static double
one_round(const char *uri, unsigned long *wire)
{
	struct client *c = open_paced(uri);
	struct dev_info info = { 0 };
	uint8_t *spki = NULL, *back = NULL;
	size_t spki_len = 0, back_len = 0;
	uint8_t *der[2];
	size_t len[2] = { CHAIN_BYTES / 2, CHAIN_BYTES / 2 };
	struct client_stats s0, s1;
	char *cause = NULL;

	client_set_deadline(c, deadline_in(60000));
	if (dev_hello(c, &info, &cause) ||
	    dev_keygen(c, PROTO_ALG_EC_P256, 0, &spki, &spki_len, &cause))
		bench_die("preparing the device: %s", cause);
	for (int i = 0; i < 2; i++) {
		der[i] = xmalloc(len[i]);
		for (size_t j = 0; j < len[i]; j++)
			der[i][j] = (uint8_t)(j * 7 + (size_t)i);
		der[i][0] = 0x30; /* looks like DER; devsim stores it as is */
	}
	client_get_stats(c, &s0);
	uint64_t t0 = clock_now_us();
	if (dev_write_chain(c, (const uint8_t *const *)der, len, 2, &cause) ||
	    dev_read_chain(c, &back, &back_len, &cause))
		bench_die("chain transfer: %s", cause);
	double secs = (double)(clock_now_us() - t0) / 1e6;
	client_get_stats(c, &s1);
	if (back_len < CHAIN_BYTES)
		bench_die("READ_CHAIN returned %zu bytes", back_len);
	if (s1.retransmits != s0.retransmits)
		bench_die("retransmissions during the transfer");
	*wire = (s1.bytes_out - s0.bytes_out) + (s1.bytes_in - s0.bytes_in);
	free(back);
	free(spki);
	free(der[0]);
	free(der[1]);
	dev_info_clear(&info);
	client_free(c);
	return secs;
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 5);
	const char *frames[] = { "4096", "256" };
	double min_s = 2.0 * CHAIN_BYTES * 10.0 / BAUD;

	printf("LINE_MIN_MS=%.1f\n@@table\n", min_s * 1000);
	printf("| Figure | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	for (size_t f = 0; f < 2; f++) {
		const char *opts[] = { "--baud", "115200", "--max-frame",
			frames[f], NULL };
		struct devsim_proc **d =
		    bench_devices_start(rounds, "LINE", opts);
		double *eff = xcalloc(rounds, sizeof *eff);
		double *ms = xcalloc(rounds, sizeof *ms);
		unsigned long wire = 0;

		for (size_t r = 0; r < rounds; r++) {
			double s = one_round(d[r]->uri, &wire);

			eff[r] = 100.0 * min_s / s;
			ms[r] = s * 1000;
		}
		bench_devices_stop(d, rounds);
		struct bench_stat se = bench_stat_of(eff, rounds);
		struct bench_stat sm = bench_stat_of(ms, rounds);
		char fig[200];

		snprintf(fig, sizeof fig,
		    "max frame %s: WRITE_CHAIN + "
		    "READ_CHAIN, ms (minimum %.1f ms; %lu bytes on the wire "
		    "for %d payload bytes)",
		    frames[f], min_s * 1000, wire, 2 * CHAIN_BYTES);
		bench_row(fig, &sm, 1, "", -1);
		snprintf(fig, sizeof fig, "max frame %s: efficiency, %%",
		    frames[f]);
		bench_row(fig, &se, 1, "≥ 95 %", se.median >= 95.0);
		printf("LINE_EFF_%s=%.1f\nLINE_WIRE_%s=%lu\n", frames[f],
		    se.median, frames[f], wire);
		free(eff);
		free(ms);
	}
	printf("@@end\n");
	return 0;
}
