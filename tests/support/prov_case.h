/*
 * Test support: what one end-to-end provisioning test starts (a station
 * home, a devsim, the ledger opened to check, the last JSON result), held
 * in `tc` so that the teardown stops and frees it even after a failed
 * assert has left the test.
 */
#ifndef TEST_PROV_CASE_H
#define TEST_PROV_CASE_H

#include <jansson.h>

#include "db/ledger.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/provision_env.h"

struct prov_case {
	struct prov_env *env;	 /* fresh for every test */
	struct devsim_proc *sim; /* NULL until a test starts one */
	struct ledger *led;	 /* NULL until a test opens it */
	json_t *res;		 /* NULL until a test keeps one */
};

extern struct prov_case tc;

/* cmocka fixtures: a fresh home in tc.env / everything in tc released. */
int prov_case_setup(void **state);
int prov_case_teardown(void **state);
#define PROV_CASE_TEST(f) \
	cmocka_unit_test_setup_teardown(f, prov_case_setup, prov_case_teardown)

/* Start devsim in tc.sim reporting `serial`, with `--fault fault` if not
 * NULL (asserts it came up). */
void prov_case_device(const char *serial, const char *fault);

#endif
