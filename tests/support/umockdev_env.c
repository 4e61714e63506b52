/* Re-execution under umockdev-wrapper (see umockdev_env.h). */
#include "tests/support/umockdev_env.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
umockdev_env_reexec(int argc, char **argv)
{
	const char *preload = getenv("LD_PRELOAD");
	const char *asan;
	char **args;
	char *opts;

	if (preload != NULL && strstr(preload, "libumockdev-preload") != NULL)
		return;
	if (getenv("STATION_TEST_UMOCKDEV_REEXEC") != NULL) {
		fprintf(stderr, "umockdev preload not active after re-exec\n");
		exit(1);
	}
	setenv("STATION_TEST_UMOCKDEV_REEXEC", "1", 1);
	/* AddressSanitizer wants to be first in the library list; the
	 * preload library comes before it here. */
	asan = getenv("ASAN_OPTIONS");
	opts = g_strdup_printf("%s%sverify_asan_link_order=0", asan ? asan : "",
	    asan && asan[0] ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	g_free(opts);
	args = calloc((size_t)argc + 2, sizeof *args);
	if (args == NULL)
		exit(1);
	args[0] = (char *)"umockdev-wrapper";
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	execvp(args[0], args);
	fprintf(stderr, "cannot run umockdev-wrapper: %s\n", strerror(errno));
	exit(1);
}
