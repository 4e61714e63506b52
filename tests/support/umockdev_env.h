/*
 * Test support for programs that run against a umockdev testbed: the
 * umockdev header (whose generated prototypes trip this project's
 * warnings) and the re-execution under umockdev-wrapper that makes the
 * preload library redirect /sys and /dev before main() does anything.
 */
#ifndef TEST_UMOCKDEV_ENV_H
#define TEST_UMOCKDEV_ENV_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#include <umockdev.h>
#pragma GCC diagnostic pop

/*
 * Call first in main(): unless the preload library is already active,
 * re-execute the program under umockdev-wrapper (exits on failure).
 * Child processes (e.g. $STATION_BIN) inherit LD_PRELOAD and UMOCKDEV_DIR
 * and so see the same testbed.
 */
void umockdev_env_reexec(int argc, char **argv);

#endif
