/*
 * Local CA throughput: certificates issued per second in-process through
 * the local backend (P-256 device keys, the CA's sign operation exactly as
 * the pipeline calls it: serial, extensions, signature, issuance log record
 * and its fsync).  BENCH_CA_SECONDS (default 3) per round, BENCH_ROUNDS
 * rounds (default 3).  The same figure without the issuance log's
 * fdatasync cannot be had without changing the backend, so the
 * per-certificate fsync time is measured separately (the same append + fsync on the same disk).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/bench/bench.h"
#include "station/ca/ca.h"
#include "station/config/config.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"

static double
fsync_ms(const char *dir, int n)
{
	char *path = xasprintf("%s/fsync-probe.txt", dir);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	const char line[] = "1700000000 0123456789abcdef CN=probe\n";

	if (fd < 0)
		bench_die("open %s", path);
	uint64_t t0 = clock_now_us();
	for (int i = 0; i < n; i++) {
		if (write(fd, line, sizeof line - 1) < 0 || fsync(fd) != 0)
			bench_die("fsync probe");
	}
	double ms = (double)(clock_now_us() - t0) / 1000.0 / n;
	close(fd);
	unlink(path);
	free(path);
	return ms;
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 3);
	long secs = bench_env_long("BENCH_CA_SECONDS", 3);
	struct bench_env env;
	double *rate = xcalloc(rounds, sizeof *rate);
	char *cause = NULL;

	bench_env_open(&env, 0);
	struct station *st = env.st;
	const struct profile *prof = config_profile(st->cfg, "default");
	EVP_PKEY *key = pki_key_ec("P-256");
	struct pki_csr_spec spec = { .key = key, .subject = "CN=CA-BENCH-1" };
	X509_REQ *csr = pki_make_csr(&spec);
	unsigned long total = 0;

	for (size_t r = 0; r < rounds; r++) {
		uint64_t t0 = clock_now_us(),
			 end = t0 + (uint64_t)secs * 1000000;
		unsigned long n = 0;

		while (clock_now_us() < end) {
			struct ca_request req = { .csr = csr,
				.profile = prof,
				.device_serial = "CA-BENCH-1",
				.deadline = deadline_in(10000) };
			struct ca_issued out = { 0 };

			if (ca_sign(st->ca, &req, &out, &cause))
				bench_die("CA sign: %s", cause);
			ca_issued_clear(&out);
			n++;
		}
		rate[r] = (double)n * 1e6 / (double)(clock_now_us() - t0);
		total += n;
	}
	struct bench_stat s = bench_stat_of(rate, rounds);
	double fs = fsync_ms(env.home, 50);
	printf("CA_RATE=%.0f\nCA_FSYNC_MS=%.3f\nCA_TOTAL=%lu\n", s.median, fs,
	    total);
	printf("@@table\n| Figure | median | min | max | target | |\n");
	printf("|---|---:|---:|---:|---|---|\n");
	bench_row("local CA, certificates issued per second (P-256, in-process,"
		  " issuance log fdatasync'ed)",
	    &s, 0, "(none: reported)", -1);
	printf("@@end\n");
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	bench_env_close(&env);
	free(rate);
	return 0;
}
