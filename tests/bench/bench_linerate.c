/*
 * Line-rate efficiency: a 2 KB certificate chain written to the device and
 * read back (WRITE_CHAIN + READ_CHAIN through drivers/client.h) over a
 * simulated UART, against the physical minimum: the chain's payload bytes,
 * both ways, at 10 bits per byte.  At 115200 baud with 4096- and 256-byte
 * frames, each with and without the window (docs/protocol.md 6.3), and
 * at 256 with and without compact frames (6.4); and
 * after the baud switch (8.17) to 921600 and 3000000 baud, against the
 * same transfer held at 115200.
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

	/* In chunks of a millisecond's worth, on the byte-by-byte schedule
	 * (fixtures/devsim/faults.h): at 3000000 baud a sleep per byte would
	 * cost more than the byte. */
	pacer_burst(&p->pacer);
	for (size_t i = 0; i < len;) {
		size_t n = pacer_wait_chunk(&p->pacer, len - i);
		st_err err =
		    p->inner->ops->write(p->inner, buf + i, n, dl, cause);

		if (err)
			return err;
		i += n;
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

/* The line follows the device (devsim --max-baud): pace at the new rate. */
static st_err
paced_set_baud(struct transport *t, unsigned baud, char **cause)
{
	struct paced *p = (struct paced *)t;

	(void)cause;
	pacer_init(&p->pacer, baud);
	return ST_OK;
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
	.set_baud = paced_set_baud,
	.close = paced_close,
};

static struct client *
open_paced(const char *uri, unsigned max_baud)
{
	struct transport *inner = NULL;
	char *cause = NULL;

	if (transport_open(uri, deadline_in(5000), &inner, &cause))
		bench_die("open %s: %s", uri, cause);
	struct paced *p = xcalloc(1, sizeof *p);
	transport_init(&p->base, &paced_ops, "paced", uri);
	p->base.baud = BAUD;
	p->base.max_baud = max_baud;
	p->inner = inner;
	pacer_init(&p->pacer, BAUD);
	return client_new(&p->base, NULL);
}

/* One round: seconds for WRITE_CHAIN + READ_CHAIN after HELLO (and the
 * switch up to max_baud); the client's byte counts of the two calls in
 * *wire, the rate they ran at in *baud. */
static double
one_round(const char *uri, unsigned max_baud, unsigned long *wire,
    unsigned *baud)
{
	struct client *c = open_paced(uri, max_baud);
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
	*baud = client_transport(c)->baud;
	free(back);
	free(spki);
	free(der[0]);
	free(der[1]);
	dev_info_clear(&info);
	client_free(c);
	return secs;
}

/* One configuration of the table. */
struct line_case {
	const char *frame, *window, *max_baud; /* devsim options */
	const char *fault;		       /* devsim --fault, or "" */
	unsigned switch_to; /* the URI's max_baud (0: no switch) */
	const char *label;
	int target; /* 1: the ≥ 95 % target applies */
};

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 5);
	static const struct line_case cases[] = {
		{ "4096", "1", "0", "", 0, "max frame 4096, no window, 115200",
		    1 },
		{ "4096", "4", "0", "", 0, "max frame 4096, window 4, 115200",
		    1 },
		{ "256", "1", "0", "", 0, "max frame 256, no window, 115200",
		    1 },
		{ "256", "4", "0", "no-compact", 0,
		    "max frame 256, window 4, full frames (no CAP_COMPACT), "
		    "115200",
		    0 },
		{ "256", "4", "0", "", 0,
		    "max frame 256, window 4, compact frames, 115200", 1 },
		{ "4096", "4", "3000000", "", 921600,
		    "max frame 4096, window 4, switched to 921600", 0 },
		{ "4096", "4", "3000000", "", 3000000,
		    "max frame 4096, window 4, switched to 3000000", 0 },
	};
	enum { N_CASES = sizeof cases / sizeof cases[0], FIRST_SWITCHED = 5 };
	double held_ms = 0, ms_of[N_CASES];

	printf("LINE_MIN_MS=%.1f\n@@table\n",
	    2.0 * CHAIN_BYTES * 10.0 / BAUD * 1000);
	printf("| Figure | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	for (size_t k = 0; k < N_CASES; k++) {
		const struct line_case *lc = &cases[k];
		const char *opts[] = { "--baud", "115200", "--max-frame",
			lc->frame, "--window", lc->window, "--max-baud",
			lc->max_baud, lc->fault[0] ? "--fault" : NULL,
			lc->fault, NULL };
		struct devsim_proc **d =
		    bench_devices_start(rounds, "LINE", opts);
		double *eff = xcalloc(rounds, sizeof *eff);
		double *ms = xcalloc(rounds, sizeof *ms);
		unsigned long wire = 0;
		unsigned baud = 0;
		double min_s = 0;

		for (size_t r = 0; r < rounds; r++) {
			double s =
			    one_round(d[r]->uri, lc->switch_to, &wire, &baud);

			min_s = 2.0 * CHAIN_BYTES * 10.0 / baud;
			eff[r] = 100.0 * min_s / s;
			ms[r] = s * 1000;
		}
		bench_devices_stop(d, rounds);
		if (lc->switch_to && baud != lc->switch_to)
			bench_die("%s: the link ran at %u baud", lc->label,
			    baud);
		struct bench_stat se = bench_stat_of(eff, rounds);
		struct bench_stat sm = bench_stat_of(ms, rounds);
		char fig[240];

		snprintf(fig, sizeof fig,
		    "%s: WRITE_CHAIN + READ_CHAIN, ms (minimum %.1f ms; %lu "
		    "bytes on the wire for %d payload bytes)",
		    lc->label, min_s * 1000, wire, 2 * CHAIN_BYTES);
		bench_row(fig, &sm, 1, "", -1);
		snprintf(fig, sizeof fig, "%s: efficiency, %%", lc->label);
		bench_row(fig, &se, 1, lc->target ? "≥ 95 %" : "",
		    lc->target ? se.median >= 95.0 : -1);
		ms_of[k] = sm.median;
		if (k == 1)
			held_ms = sm.median;
		printf("LINE_EFF_%zu=%.1f\n", k, se.median);
		free(eff);
		free(ms);
	}
	for (size_t k = FIRST_SWITCHED; k < N_CASES; k++) {
		double q = ms_of[k] / held_ms;
		struct bench_stat sq = { q, q, q, 1 };
		char fig[160];

		snprintf(fig, sizeof fig,
		    "switched to %u / held at 115200 (window 4, 4096), "
		    "write + read-back time",
		    cases[k].switch_to);
		bench_row(fig, &sq, 3, k == FIRST_SWITCHED ? "≤ 0.2" : "",
		    k == FIRST_SWITCHED ? q <= 0.2 : -1);
	}
	printf("@@end\n");
	return 0;
}
