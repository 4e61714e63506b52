/*
 * Test support for whole-station tests (tests/reliability/): a private
 * station home with its own config and local CA, the station program run
 * as a child process that may be killed at any instant, and the device
 * probe that reads back what a device really holds.
 */
#ifndef TEST_STATION_ENV_H
#define TEST_STATION_ENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/support/proc.h"
#include "tests/support/station_home.h"

struct station_env {
	struct station_home *sh; /* home = dir/home, so that scanning the
	                            home does not meet the config */
	const char *dir;	 /* sh->dir: removed by station_env_free */
	const char *home;	 /* sh->home: the station's state directory */
	const char *config;	 /* sh->config: dir/station.ini */
	const char *ca_dir;	 /* sh->ca_dir: home/ca */
	char *ledger;		 /* home/ledger.db */
};

/*
 * A new station home: config with step_timeout_ms, profiles "default"
 * (EC P-256) and "rsa" (RSA-2048), both reprovision = allow, smoke
 * optional, `extra` (may be NULL) appended to the file verbatim; the local
 * CA created in home/ca.  Set-up failures abort.
 */
struct station_env *station_env_new(int step_timeout_ms, const char *extra);
void station_env_free(struct station_env *e);

/*
 * Start `station --config CONFIG args...` with stdout to out_path and
 * stderr to err_path (NULL: /dev/null); STATION_LOG=log_level when not
 * NULL.  Returns the pid, -1 on failure.
 */
pid_t station_env_spawn(const struct station_env *e, const char *const *args,
    const char *out_path, const char *err_path, const char *log_level);

/* Run the station to completion (at most 60 s); exit code as above. */
int station_env_run(const struct station_env *e, const char *const *args,
    const char *out_path);

/* Whole file, NUL-terminated (caller frees); NULL if it cannot be read. */
uint8_t *slurp(const char *path, size_t *len);

/* HELLO then READ_CERT on the device at `uri`, up to `tries` sessions (a
 * faulty line may need more than one).  0 on success (*der owned). */
int device_read_cert(const char *uri, uint8_t **der, size_t *len, int tries);

/* DER of the first certificate in a PEM string (caller frees); NULL if
 * none. */
uint8_t *pem_cert_der(const char *pem, size_t *len);

#endif
