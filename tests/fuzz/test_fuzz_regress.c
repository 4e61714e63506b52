/*
 * Replays every committed fuzz input through the fuzz targets, without
 * libFuzzer: the seed corpora (tests/fuzz/corpus/<name>/) and the inputs
 * that once crashed a target (tests/fuzz/regress/<name>/).  Each target
 * must return normally on every file; under `make check-asan` this also
 * catches memory errors and leaks.  The targets are included here, not
 * linked: they are test code, not part of libstation.a.  The scan target
 * needs the screen's model and scan grammar (ui/model.o, ui/input.o),
 * which the Makefile links in for this program.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/fuzz/fuzz_attest.c"
#include "tests/fuzz/fuzz_ca_cfssl.c"
#include "tests/fuzz/fuzz_ca_hub.c"
#include "tests/fuzz/fuzz_ca_pem_chain.c"
#include "tests/fuzz/fuzz_ca_vault.c"
#include "tests/fuzz/fuzz_cert_check.c"
#include "tests/fuzz/fuzz_config.c"
#include "tests/fuzz/fuzz_csr_policy.c"
#include "tests/fuzz/fuzz_dev_info.c"
#include "tests/fuzz/fuzz_devsim.c"
#include "tests/fuzz/fuzz_dn.c"
#include "tests/fuzz/fuzz_fixture.c"
#include "tests/fuzz/fuzz_frame.c"
#include "tests/fuzz/fuzz_profile.c"
#include "tests/fuzz/fuzz_scan.c"
#include "tests/fuzz/fuzz_telnet.c"
#include "tests/fuzz/fuzz_tlv.c"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static uint8_t *
read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (fp == NULL)
		fail_msg("cannot open %s", path);
	for (;;) {
		if (*len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t n = fread(buf + *len, 1, cap - *len, fp);
		if (n == 0)
			break;
		*len += n;
	}
	assert_int_equal(ferror(fp), 0);
	fclose(fp);
	return buf;
}

/* Run `fn` on every file of tests/fuzz/<kind>/<name>/; returns how many. */
static size_t
replay_dir(const char *kind, const char *name, fuzz_fn fn)
{
	const char *src = getenv("STATION_SRCDIR");
	char dir[1024];
	struct dirent *e;
	size_t n = 0;

	snprintf(dir, sizeof dir, "%s/tests/fuzz/%s/%s", src ? src : ".", kind,
	    name);
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	for (;;) {
		char path[2048];
		size_t len;

		e = readdir(d);
		if (e == NULL)
			break;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		uint8_t *data = read_all(path, &len);
		/* An exact-size copy, so that ASan sees any over-read. */
		uint8_t *exact = malloc(len ? len : 1);
		assert_non_null(exact);
		memcpy(exact, data, len);
		free(data);
		assert_int_equal(fn(exact, len), 0);
		free(exact);
		n++;
	}
	closedir(d);
	return n;
}

static void
replay(const char *name, fuzz_fn fn)
{
	size_t seeds = replay_dir("corpus", name, fn);

	replay_dir("regress", name, fn);
	/* A target without seeds would prove nothing. */
	assert_true(seeds > 0);
	/* And every target survives the empty input. */
	assert_int_equal(fn((const uint8_t *)"", 0), 0);
}

#define REPLAY_TEST(name) \
	static void test_##name##_inputs_replay_cleanly(void **state) \
	{ \
		(void)state; \
		replay(#name, fuzz_##name); \
	}

REPLAY_TEST(frame)
REPLAY_TEST(tlv)
REPLAY_TEST(dev_info)
REPLAY_TEST(attest)
REPLAY_TEST(devsim)
REPLAY_TEST(csr_policy)
REPLAY_TEST(cert_check)
REPLAY_TEST(dn)
REPLAY_TEST(profile)
REPLAY_TEST(config)
REPLAY_TEST(ca_vault)
REPLAY_TEST(ca_cfssl)
REPLAY_TEST(ca_hub)
REPLAY_TEST(ca_pem_chain)
REPLAY_TEST(fixture)
REPLAY_TEST(scan)
REPLAY_TEST(telnet)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_inputs_replay_cleanly),
		cmocka_unit_test(test_tlv_inputs_replay_cleanly),
		cmocka_unit_test(test_dev_info_inputs_replay_cleanly),
		cmocka_unit_test(test_attest_inputs_replay_cleanly),
		cmocka_unit_test(test_devsim_inputs_replay_cleanly),
		cmocka_unit_test(test_csr_policy_inputs_replay_cleanly),
		cmocka_unit_test(test_cert_check_inputs_replay_cleanly),
		cmocka_unit_test(test_dn_inputs_replay_cleanly),
		cmocka_unit_test(test_profile_inputs_replay_cleanly),
		cmocka_unit_test(test_config_inputs_replay_cleanly),
		cmocka_unit_test(test_ca_vault_inputs_replay_cleanly),
		cmocka_unit_test(test_ca_cfssl_inputs_replay_cleanly),
		cmocka_unit_test(test_ca_hub_inputs_replay_cleanly),
		cmocka_unit_test(test_ca_pem_chain_inputs_replay_cleanly),
		cmocka_unit_test(test_fixture_inputs_replay_cleanly),
		cmocka_unit_test(test_scan_inputs_replay_cleanly),
		cmocka_unit_test(test_telnet_inputs_replay_cleanly),
	};

	return cmocka_run_group_tests_name("fuzz corpora and regressions",
	    tests, NULL, NULL);
}
