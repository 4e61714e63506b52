/* Test support: one provisioning test's processes and files
 * (prov_case.h). */
#include "tests/support/prov_case.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

struct prov_case tc;

int
prov_case_setup(void **state)
{
	(void)state;
	tc.env = prov_env_new();
	return 0;
}

int
prov_case_teardown(void **state)
{
	(void)state;
	json_decref(tc.res);
	ledger_close(tc.led);
	devsim_proc_stop(tc.sim);
	prov_env_free(tc.env);
	tc = (struct prov_case){ 0 };
	return 0;
}

void
prov_case_device(const char *serial, const char *fault)
{
	const char *args[] = { "--serial", serial, fault ? "--fault" : NULL,
		fault, NULL };

	tc.sim = devsim_proc_start(args);
	assert_non_null(tc.sim);
}
