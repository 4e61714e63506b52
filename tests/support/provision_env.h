/*
 * Test support for end-to-end provisioning tests: a fresh station home per
 * test, the real `station` program run as a process with STATION_HOME set,
 * its --json result parsed, and the ledger and the local CA's index opened
 * afterwards to check what was recorded.
 *
 * Helpers that cannot go on (mkdtemp fails, a file cannot be written)
 * abort the test program: they are set-up, not the thing under test.
 */
#ifndef TEST_PROVISION_ENV_H
#define TEST_PROVISION_ENV_H

#include <jansson.h>

#include "db/ledger.h"
#include "tests/support/proc.h"
#include "tests/support/station_home.h"

struct prov_env {
	struct station_home *sh; /* home = the scratch directory itself */
	const char *home;	 /* sh->home (borrowed) */
	const char *config;	 /* sh->config: <home>/station.ini once
	                            written, else NULL (the station then runs
	                            on its embedded defaults) */
};

struct prov_env *prov_env_new(void);
void prov_env_free(struct prov_env *e);

/* Write <home>/station.ini and create the local CA unless it exists
 * (station_home_config). */
void prov_env_config(struct prov_env *e, const char *station_extra,
    const char *rest);

/* Write an arbitrary file under home; returns its path (caller frees). */
char *prov_env_write(struct prov_env *e, const char *name, const char *text);

/* Run `station [--config F] ARGS...` (args NULL-terminated). */
int prov_station(struct prov_env *e, const char *const *args,
    struct proc_out *o);

/*
 * `station provision URI --json [extra...]`: returns the parsed JSON
 * object (caller json_decref) or NULL if stdout held none; *status gets
 * the exit status.
 */
json_t *prov_provision(struct prov_env *e, const char *uri,
    const char *const *extra, int *status);

/* The devsim state a `station probe --json` reports ("blank", ...);
 * caller frees; NULL if the probe failed. */
char *prov_probe_state(struct prov_env *e, const char *uri);

/* Open <home>/ledger.db (asserts success). */
struct ledger *prov_ledger(struct prov_env *e);

/* Certificates of a device, and how many of them have `status` (NULL:
 * all; "live": issued, written or verified). */
int prov_count_certs(struct ledger *l, const char *device_serial,
    const char *status);

/*
 * The audit every run must leave true: every serial in the local CA's
 * issued.txt is in the ledger with the same fingerprint, and no
 * certificate of a FAILed run is 'verified' or still live.  Returns how
 * many certificates the CA issued.
 */
int prov_audit(struct prov_env *e, struct ledger *l);

/* Check the run row: result, failed_step and error_kind (NULL = must be
 * NULL in the ledger). */
void prov_assert_run(struct ledger *l, int64_t run_id, const char *result,
    const char *failed_step, const char *error_kind);

/* JSON field as string, "" if absent or not a string. */
const char *prov_jstr(json_t *o, const char *key);

/* Bind and close a loopback port: "tcp:127.0.0.1:PORT" where nobody
 * listens (caller frees). */
char *prov_closed_port_uri(void);

#endif
