/*
 * No secrets on disk: after real provisioning runs (EC and RSA profiles,
 * failures, the mTLS smoke test through a real Mosquitto when it can be
 * started) with STATION_LOG=debug, no file under the station's state
 * directory and no line of its logs holds a device private key, in DER,
 * hex, base64 or as the bare private scalar, nor a PEM "PRIVATE KEY" block
 * other than the local CA's own two key files, which must be mode 0600.
 *
 * The device keys come from devsim's --state files (the simulated chip's
 * storage), kept outside the station's state directory.  CA-backend tests
 * add their credentials to a secret_set and scan the same way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drivers/proto/tlv.h"
#include "station/util/xalloc.h"
#include "tests/support/broker.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/secret_scan.h"
#include "tests/support/station_env.h"

#define STATE_TAG_CHIP 1 /* devsim --state file: the chip's blob */

/* Add every key the simulated chip holds (its --state file). */
static int
add_chip_keys(struct secret_set *s, const char *state_path)
{
	size_t len = 0, pos = 0;
	uint8_t *file = slurp(state_path, &len);
	struct tlv chip, key;
	int n = 0;

	if (file == NULL || tlv_validate(file, len, NULL) != ST_OK ||
	    !tlv_find(file, len, STATE_TAG_CHIP, &chip)) {
		free(file);
		return 0;
	}
	while (tlv_next(chip.val, chip.len, &pos, &key)) {
		char *what = xasprintf("a device private key (%s slot %u)",
		    state_path, key.tag);

		if (secret_set_add_key_der(s, what, key.val, key.len) == 0)
			n++;
		free(what);
	}
	free(file);
	return n;
}

struct scene {
	struct station_env *e;
	char *logs;
	int run_no;
	struct test_broker broker;
	int have_broker;
};

/* Provision with debug logging; stdout and stderr kept under logs/. */
static int
provision(struct scene *sc, const char *uri, const char *profile)
{
	char port[16];
	char *out = xasprintf("%s/run-%d.out", sc->logs, sc->run_no);
	char *err = xasprintf("%s/run-%d.log", sc->logs, sc->run_no);
	const char *args[12] = { "provision", uri, "--json", "--profile",
		profile };
	size_t n = 5;

	sc->run_no++;
	if (sc->have_broker) {
		snprintf(port, sizeof port, "127.0.0.1:%d", sc->broker.port);
		args[n++] = "--broker";
		args[n++] = port;
		args[n++] = "--broker-ca";
		args[n++] = sc->broker.ca_file;
	}
	args[n] = NULL;
	pid_t pid = station_env_spawn(sc->e, args, out, err, "debug");
	int rc = proc_wait_ms(pid, 60000);
	free(out);
	free(err);
	return rc;
}

static void
run_ledger_commands(struct scene *sc)
{
	const char *cmds[][4] = {
		{ "ledger", "list", "--json", NULL },
		{ "ledger", "show", "NS-EC", "--json" },
		{ "ledger", "verify", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *out = xasprintf("%s/ledger-%zu.out", sc->logs, i);
		char *err = xasprintf("%s/ledger-%zu.log", sc->logs, i);
		const char *args[5] = { cmds[i][0], cmds[i][1], cmds[i][2],
			cmds[i][3], NULL };
		pid_t pid = station_env_spawn(sc->e, args, out, err, "debug");

		assert_int_equal(proc_wait_ms(pid, 60000), 0);
		free(out);
		free(err);
	}
}

static void
test_no_device_key_or_stray_private_key_in_state_or_logs(void **state)
{
	(void)state;
	struct scene sc = { 0 };
	struct secret_set *secrets = secret_set_new();
	int files = 0;

	sc.e = station_env_new(5000, NULL);
	assert_non_null(sc.e);
	sc.logs = xasprintf("%s/logs", sc.e->dir);
	assert_int_equal(mkdir(sc.logs, 0700), 0);
	char *root = xasprintf("%s/root.pem", sc.e->ca_dir);
	char *bdir = xasprintf("%s/broker", sc.e->dir);
	mkdir(bdir, 0700);
	/* The smoke test signs through the chip: its logs are worth
	 * scanning, but a machine without Mosquitto still runs the rest. */
	sc.have_broker = test_broker_start(&sc.broker, bdir, root, 120) == 0;
	if (!sc.have_broker)
		fprintf(stderr, "no test broker: smoke test skipped\n");

	char *good_state = xasprintf("%s/dev-good.state", sc.e->dir);
	char *lie_state = xasprintf("%s/dev-lie.state", sc.e->dir);
	char *sig_state = xasprintf("%s/dev-sig.state", sc.e->dir);
	const char *good_args[] = { "--serial", "NS-EC", "--state", good_state,
		NULL };
	const char *lie_args[] = { "--serial", "NS-LIE", "--state", lie_state,
		"--fault", "readback-lie", NULL };
	const char *sig_args[] = { "--serial", "NS-SIG", "--state", sig_state,
		"--fault", "csr-bad-sig", NULL };
	struct devsim_proc *good = devsim_proc_start(good_args);
	struct devsim_proc *lie = devsim_proc_start(lie_args);
	struct devsim_proc *sig = devsim_proc_start(sig_args);
	assert_non_null(good);
	assert_non_null(lie);
	assert_non_null(sig);

	/* Keys change with every KEYGEN: collect them after each run. */
	assert_int_equal(provision(&sc, good->uri, "default"), 0);
	assert_true(add_chip_keys(secrets, good_state) > 0);
	if (sc.have_broker) {
		char *path = xasprintf("%s/run-0.out", sc.logs);
		char *json = (char *)slurp(path, NULL);

		/* The chip signed a TLS handshake: that path was exercised. */
		assert_non_null(json);
		assert_non_null(strstr(json, "\"smoke\":\"passed\""));
		free(json);
		free(path);
	}
	assert_int_equal(provision(&sc, good->uri, "rsa"), 0);
	assert_true(add_chip_keys(secrets, good_state) > 0);
	assert_int_equal(provision(&sc, lie->uri, "default"), 1);
	assert_true(add_chip_keys(secrets, lie_state) > 0);
	assert_int_equal(provision(&sc, sig->uri, "rsa"), 1);
	assert_true(add_chip_keys(secrets, sig_state) > 0);
	run_ledger_commands(&sc);
	devsim_proc_stop(good);
	devsim_proc_stop(lie);
	devsim_proc_stop(sig);
	if (sc.have_broker)
		test_broker_stop(&sc.broker);

	/* The scanner finds what it looks for (control: the chip's own file,
	 * outside the state directory; its findings are printed above). */
	assert_true(secret_scan_control(secrets, good_state) > 0);

	const char *const allowed[] = { "/ca/intermediate.key", NULL };
	assert_int_equal(secret_scan(secrets, sc.e->home, allowed, &files), 0);
	assert_int_equal(secret_scan(secrets, sc.logs, NULL, &files), 0);
	fprintf(stderr, "scanned %d files for %zu secret forms\n", files,
	    secret_set_count(secrets));
	/* The ledger, its WAL and the logs were all among them. */
	assert_true(files >= 8);

	/* The root's key is gone once the TEST CA's intermediate is signed
	 * (in production it never was here). */
	struct stat sb;
	char *rk = xasprintf("%s/root.key", sc.e->ca_dir);
	char *ik = xasprintf("%s/intermediate.key", sc.e->ca_dir);
	assert_int_not_equal(stat(rk, &sb), 0);
	assert_int_equal(stat(ik, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	free(rk);
	free(ik);
	free(good_state);
	free(lie_state);
	free(sig_state);
	free(root);
	free(bdir);
	free(sc.logs);
	secret_set_free(secrets);
	station_env_free(sc.e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_no_device_key_or_stray_private_key_in_state_or_logs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
