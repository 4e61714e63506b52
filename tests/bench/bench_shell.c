/*
 * Against the shell-script flow: per device
 *
 *   openssl req -new (P-256 key + CSR)      the device's part, timed apart
 *   openssl x509 -req with the local CA's intermediate
 *   openssl verify -CAfile root -untrusted intermediate
 *   mosquitto_pub (MQTT v5, QoS 1) with that certificate to the same broker
 *
 * each a separate process as a script runs them, and the station's code
 * on the same CSRs in-process: CSR policy, CA sign through the local
 * backend (issuance log fdatasync'ed), certificate checks, the ledger's
 * records of a run (begin, device, issuance, finish; durable at the
 * intent, the issuance and the finish), and the mTLS smoke
 * test (TLS 1.3 handshake whose signature comes from the device key
 * through the extkey, MQTT v5 CONNECT + QoS 1 PUBLISH).  The station side
 * never talks to a device here: the CSRs are the script's.
 *
 * The ratio compares station-side time per device: the script's x509 +
 * verify + mosquitto_pub against the station's in-process steps.
 *
 * And whole processes (issue 18): `station provision` run as a program
 * for one device (devsim over TCP, the smoke test included: start-up,
 * recovery, the whole pipeline, exit) against the script's three
 * programs, against a Mosquitto with its default configuration
 * (set_tcp_nodelay false) and against one with set_tcp_nodelay true.
 */
#include <fcntl.h>
#include <openssl/pem.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/bench/bench.h"
#include "db/ledger.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/x509/csr_policy.h"
#include "station/x509/dn.h"
#include "station/tls/extkey.h"
#include "station/tls/smoke.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"

extern char **environ;

/* Run argv quietly; abort unless it exits 0.  Returns milliseconds. */
static double
run(const char *const *argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	uint64_t t0 = clock_now_us();
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv,
		environ) != 0)
		bench_die("cannot run %s", argv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		bench_die("%s %s failed", argv[0], argv[1]);
	posix_spawn_file_actions_destroy(&fa);
	return (double)(clock_now_us() - t0) / 1000.0;
}

static void *
read_file(const char *path, const char *what)
{
	FILE *fp = fopen(path, "r");
	void *x = NULL;

	if (fp == NULL)
		bench_die("open %s", path);
	if (strcmp(what, "csr") == 0)
		x = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
	else if (strcmp(what, "key") == 0)
		x = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		bench_die("read %s", path);
	return x;
}

static void
write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0)
		bench_die("write %s", path);
}

/* Script side, one device: the CSR step (device) and the rest. */
static void
script_device(struct bench_env *e, const char *dir, const char *cn,
    double *device_ms, double *station_ms)
{
	char *key = xasprintf("%s/%s.key", dir, cn);
	char *csr = xasprintf("%s/%s.csr", dir, cn);
	char *crt = xasprintf("%s/%s.crt", dir, cn);
	char *subj = xasprintf("/CN=%s", cn);
	char *ca = xasprintf("%s/ca/intermediate.pem", e->home);
	char *cakey = xasprintf("%s/ca/intermediate.key", e->home);
	char *root = xasprintf("%s/ca/root.pem", e->home);
	char *ext = xasprintf("%s/ext.cnf", dir);
	char *port = xasprintf("%d", e->broker.port);
	char *topic = xasprintf("factory/selftest/%s", cn);
	char *bundle = xasprintf("%s/%s.bundle", dir, cn);

	const char *req[] = { "openssl", "req", "-new", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
		"-out", csr, "-subj", subj, NULL };
	*device_ms = run(req);

	const char *sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca,
		"-CAkey", cakey, "-CAcreateserial", "-days", "365", "-sha256",
		"-extfile", ext, "-out", crt, NULL };
	const char *verify[] = { "openssl", "verify", "-CAfile", root,
		"-untrusted", ca, crt, NULL };
	const char *pub[] = { "mosquitto_pub", "-h", "127.0.0.1", "-p", port,
		"--cafile", e->broker.ca_file, "--cert", bundle, "--key", key,
		"-V", "mqttv5", "-q", "1", "-t", topic, "-m", "selftest", "-i",
		cn, NULL };
	double ms = run(sign) + run(verify);
	/* The client must send the intermediate: the broker has the root. */
	const char *cat[] = { "sh", "-c", "cat \"$0\" \"$1\" > \"$2\"", crt, ca,
		bundle, NULL };
	run(cat);
	ms += run(pub);
	*station_ms = ms;
	free(key), free(csr), free(crt), free(subj), free(ca), free(cakey);
	free(root), free(ext), free(port), free(topic), free(bundle);
}

/* Station side, the same CSR and key file. */
static double
station_device(struct bench_env *e, const char *dir, const char *cn)
{
	struct station *st = e->st;
	const struct profile *prof = config_profile(st->cfg, "default");
	char *csr_path = xasprintf("%s/%s.csr", dir, cn);
	char *key_path = xasprintf("%s/%s.key", dir, cn);
	X509_REQ *file_csr = read_file(csr_path, "csr");
	EVP_PKEY *dev_key = read_file(key_path, "key");
	uint8_t *der = NULL;
	int der_len = i2d_X509_REQ(file_csr, &der);
	size_t spki_len;
	uint8_t *spki = pki_spki(dev_key, &spki_len);
	X509_REQ *csr = NULL;
	struct ca_issued issued = { 0 };
	const char *rule = NULL;
	char *cause = NULL;
	int64_t run_id = 0;
	struct test_chip chip = { .key = dev_key };
	struct extkey *xk = NULL;
	struct smoke_result sr = { 0 };

	uint64_t t0 = clock_now_us();
	struct run_start rs = { .station_id = st->cfg->station_id,
		.device_uri = "file",
		.operator_id = "bench",
		.profile = "default" };
	struct device_record dev = { .serial = cn };
	if (ledger_run_begin(st->ledger, &rs, &run_id, &cause) ||
	    ledger_run_device(st->ledger, run_id, &dev, &cause))
		bench_die("ledger: %s", cause);
	char *subject = xasprintf("CN=%s", cn);
	struct csr_expect ce = { .profile = prof,
		.subject = subject,
		.chip_spki = spki,
		.chip_spki_len = spki_len };
	if (csr_policy_check(der, (size_t)der_len, &ce, &csr, &rule, &cause))
		bench_die("CSR policy (%s): %s", rule, cause);
	struct ca_request cr = { .csr = csr,
		.profile = prof,
		.device_serial = cn,
		.deadline = deadline_in(10000) };
	if (ca_sign(st->ca, &cr, &issued, &cause))
		bench_die("CA: %s", cause);
	char fp[65];
	cert_fingerprint_sha256(issued.cert, fp);
	char *pem = cert_to_pem(issued.cert);
	char *sdn = dn_format(X509_get_subject_name(issued.cert));
	char *idn = dn_format(X509_get_issuer_name(issued.cert));
	struct cert_record rec = { .serial_hex = issued.serial_hex,
		.device_serial = (char *)cn,
		.fingerprint_sha256 = fp,
		.subject = sdn,
		.issuer = idn,
		.not_before = cert_not_before(issued.cert),
		.not_after = cert_not_after(issued.cert),
		.backend = (char *)"local",
		.pem = pem };
	if (ledger_cert_issued(st->ledger, run_id, &rec, &cause))
		bench_die("ledger: %s", cause);
	struct cert_expect cx = { .csr = csr,
		.profile = prof,
		.subject = subject,
		.root = st->root };
	if (cert_check(&issued, &cx, &rule, &cause))
		bench_die("cert check (%s): %s", rule, cause);
	if (extkey_new(spki, spki_len, test_chip_sign, &chip, &xk, &cause))
		bench_die("extkey: %s", cause);
	STACK_OF(X509) *chain = sk_X509_new_null();
	sk_X509_push(chain, sk_X509_value(issued.chain, 0));
	char *topic = xasprintf("factory/selftest/%s", cn);
	struct smoke_params sp = { .host = "127.0.0.1",
		.port = e->broker.port,
		.ca_file = e->broker.ca_file,
		.tls_version = prof->tls_min_version,
		.topic = topic,
		.client_id = cn,
		.cert = issued.cert,
		.chain = chain,
		.key = xk,
		.deadline = deadline_in(10000) };
	if (smoke_run(&sp, &sr, &cause))
		bench_die("smoke: %s", cause);
	if (ledger_run_finish(st->ledger, run_id, "PASS", NULL, NULL, NULL,
		&cause))
		bench_die("ledger: %s", cause);
	double ms = (double)(clock_now_us() - t0) / 1000.0;

	smoke_result_clear(&sr);
	sk_X509_free(chain);
	extkey_free(xk);
	free(topic), free(pem), free(sdn), free(idn), free(subject);
	ca_issued_clear(&issued);
	X509_REQ_free(csr);
	X509_REQ_free(file_csr);
	EVP_PKEY_free(dev_key);
	OPENSSL_free(der);
	free(spki), free(csr_path), free(key_path);
	return ms;
}

/* `station --broker .. --broker-ca .. provision URI --serial SN` as a
 * process in the bench's STATION_HOME; milliseconds. */
static double
process_device(struct bench_env *e, const char *uri, const char *serial)
{
	const char *bin = getenv("STATION_BIN");
	char *hp = xasprintf("127.0.0.1:%d", e->broker.port);
	const char *argv[] = { bin ? bin : "build/bin/station", "--broker", hp,
		"--broker-ca", e->broker.ca_file, "provision", uri, "--serial",
		serial, "--json", "--quiet", NULL };
	double ms = run(argv);

	free(hp);
	return ms;
}

/* One broker configuration: every figure of the table for it. */
struct shell_figs {
	struct bench_stat dev, sh, st, q, proc, pq;
};

static void
measure(const char *nodelay, size_t rounds, size_t n, struct shell_figs *out)
{
	struct bench_env env;
	double *dev = xcalloc(n, sizeof *dev), *sh = xcalloc(n, sizeof *sh);
	double *stn = xcalloc(n, sizeof *stn), *prc = xcalloc(n, sizeof *prc);
	double *r[6];

	for (int k = 0; k < 6; k++)
		r[k] = xcalloc(rounds, sizeof(double));
	if (setenv("BROKER_TCP_NODELAY", nodelay, 1) != 0)
		bench_die("setenv");
	bench_env_open(&env, 1);
	char *dir = xasprintf("%s/script", env.home);
	char *ext = xasprintf("%s/ext.cnf", dir);
	if (mkdir(dir, 0700) != 0)
		bench_die("mkdir %s", dir);
	write_text(ext,
	    "basicConstraints=critical,CA:FALSE\n"
	    "keyUsage=critical,digitalSignature\n"
	    "extendedKeyUsage=clientAuth\n"
	    "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
	for (size_t k = 0; k < rounds; k++) {
		char prefix[48];

		snprintf(prefix, sizeof prefix, "PR-%s-R%zu", nodelay, k);
		struct devsim_proc **d = bench_devices_start(n, prefix, NULL);
		for (size_t i = 0; i < n; i++) {
			char cn[48], serial[96];

			snprintf(cn, sizeof cn, "SH-%s-R%zu-%zu", nodelay, k,
			    i);
			script_device(&env, dir, cn, &dev[i], &sh[i]);
			stn[i] = station_device(&env, dir, cn);
			snprintf(serial, sizeof serial, "%s-%zu", prefix, i);
			prc[i] = process_device(&env, d[i]->uri, serial);
		}
		bench_devices_stop(d, n);
		r[0][k] = bench_stat_of(dev, n).median;
		r[1][k] = bench_stat_of(sh, n).median;
		r[2][k] = bench_stat_of(stn, n).median;
		r[3][k] = r[1][k] / r[2][k];
		r[4][k] = bench_stat_of(prc, n).median;
		r[5][k] = r[1][k] / r[4][k];
	}
	out->dev = bench_stat_of(r[0], rounds);
	out->sh = bench_stat_of(r[1], rounds);
	out->st = bench_stat_of(r[2], rounds);
	out->q = bench_stat_of(r[3], rounds);
	out->proc = bench_stat_of(r[4], rounds);
	out->pq = bench_stat_of(r[5], rounds);
	bench_env_close(&env);
	unsetenv("BROKER_TCP_NODELAY");
	for (int k = 0; k < 6; k++)
		free(r[k]);
	free(dir), free(ext), free(dev), free(sh), free(stn), free(prc);
}

int
main(void)
{
	size_t rounds = (size_t)bench_env_long("BENCH_ROUNDS", 3);
	size_t n = (size_t)bench_env_long("BENCH_DEVICES", 8);
	static const char *const cfg[2] = { "true", "false" };
	static const char *const name[2] = { "set_tcp_nodelay true",
		"Mosquitto default" };
	struct shell_figs f[2];
	char fig[256];

	for (int c = 0; c < 2; c++)
		measure(cfg[c], rounds, n, &f[c]);
	printf("SHELL_MS=%.1f\nSHELL_STATION_MS=%.2f\nSHELL_RATIO=%.1f\n",
	    f[0].sh.median, f[0].st.median, f[0].q.median);
	printf("@@table\n| Figure (ms per device) | median | min | max | "
	       "target | |\n|---|---:|---:|---:|---|---|\n");
	bench_row("script: `openssl req -new` (the device's part, not in the "
		  "ratio)",
	    &f[0].dev, 1, "", -1);
	for (int c = 0; c < 2; c++) {
		snprintf(fig, sizeof fig,
		    "%s: script `openssl x509 -req` + `openssl verify` + "
		    "`mosquitto_pub`",
		    name[c]);
		bench_row(fig, &f[c].sh, 1, "", -1);
		snprintf(fig, sizeof fig,
		    "%s: station in-process, CSR policy + CA sign + cert "
		    "check + ledger + smoke test",
		    name[c]);
		bench_row(fig, &f[c].st, 2, "", -1);
		snprintf(fig, sizeof fig,
		    "%s: ratio script / station in-process (×)", name[c]);
		bench_row(fig, &f[c].q, 1, "≥ 10×", f[c].q.median >= 10.0);
		snprintf(fig, sizeof fig,
		    "%s: `station provision` as a process, one device over "
		    "TCP, smoke test included",
		    name[c]);
		bench_row(fig, &f[c].proc, 1, "", -1);
		snprintf(fig, sizeof fig,
		    "%s: ratio script / `station provision` process (×)",
		    name[c]);
		bench_row(fig, &f[c].pq, 1, "≥ 2×", f[c].pq.median >= 2.0);
	}
	printf("@@end\n");
	return 0;
}
