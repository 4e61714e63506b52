/*
 * Fuzz targets: one tests/fuzz/fuzz_<name>.c per parser fed from outside
 * the station (device bytes, configuration and fixture files, CSRs,
 * certificates, CA replies, scans).
 *
 * Each file defines `int fuzz_<name>(const uint8_t *data, size_t size)`,
 * which must neither crash nor leak on any input and aborts (FUZZ_CHECK)
 * when a property that must hold for every input is broken.  Built with
 * -DFUZZ_MAIN (make fuzz), a file also defines libFuzzer's entry point;
 * without it, tests/fuzz/test_fuzz_regress.c includes the files and replays
 * the committed corpora and crash inputs through the same functions, so
 * `make check` needs no clang.
 */
#ifndef TEST_FUZZ_H
#define TEST_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: property broken: %s\n", \
			    __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

int fuzz_frame(const uint8_t *data, size_t size);
int fuzz_tlv(const uint8_t *data, size_t size);
int fuzz_dev_info(const uint8_t *data, size_t size);
int fuzz_attest(const uint8_t *data, size_t size);
int fuzz_devsim(const uint8_t *data, size_t size);
int fuzz_csr_policy(const uint8_t *data, size_t size);
int fuzz_cert_check(const uint8_t *data, size_t size);
int fuzz_dn(const uint8_t *data, size_t size);
int fuzz_profile(const uint8_t *data, size_t size);
int fuzz_config(const uint8_t *data, size_t size);
int fuzz_ca_vault(const uint8_t *data, size_t size);
int fuzz_ca_cfssl(const uint8_t *data, size_t size);
int fuzz_ca_hub(const uint8_t *data, size_t size);
int fuzz_ca_pem_chain(const uint8_t *data, size_t size);
int fuzz_fixture(const uint8_t *data, size_t size);
int fuzz_scan(const uint8_t *data, size_t size);
int fuzz_telnet(const uint8_t *data, size_t size);

#ifdef FUZZ_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
#endif

#endif
