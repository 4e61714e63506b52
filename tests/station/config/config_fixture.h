/*
 * Shared by the configuration tests (test_config.c, test_config_errors.c):
 * a fresh directory per test holding station.ini, a loader that must
 * succeed, and one that must fail with ST_E_CONFIG naming given strings.
 */
#ifndef TESTS_STATION_CONFIG_CONFIG_FIXTURE_H
#define TESTS_STATION_CONFIG_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "station/config/config.h"
#include "tests/support/scratch.h"

struct fx {
	char dir[64];
	char path[128];
};

static inline int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof *fx);

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof fx->dir, "/tmp/st-config-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/station.ini", fx->dir);
	*state = fx;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fx *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static inline void
write_ini(struct fx *fx, const char *text, mode_t mode)
{
	scratch_put(fx->path, text, mode);
}

static inline struct config *
load_ok(struct fx *fx, const char *text)
{
	struct config *cfg = NULL;
	char *cause = NULL;

	write_ini(fx, text, 0644);
	st_err err = config_load(fx->path, &cfg, &cause);
	if (err)
		fail_msg("config_load: %s", cause);
	assert_non_null(cfg);
	return cfg;
}

/* Loading `text` fails with ST_E_CONFIG and a cause holding each of the
 * NULL-terminated strings. */
static inline void
expect_config_error(struct fx *fx, const char *text, ...)
{
	struct config *cfg = NULL;
	char *cause = NULL;
	va_list ap;

	write_ini(fx, text, 0644);
	assert_int_equal(config_load(fx->path, &cfg, &cause), ST_E_CONFIG);
	assert_null(cfg);
	assert_non_null(cause);
	if (getenv("SHOW_CAUSES"))
		print_message("%s\n", cause);
	va_start(ap, text);
	for (const char *s = va_arg(ap, const char *); s != NULL;
	     s = va_arg(ap, const char *)) {
		if (strstr(cause, s) == NULL)
			fail_msg("cause '%s' lacks '%s'", cause, s);
	}
	va_end(ap);
	free(cause);
}

#endif
