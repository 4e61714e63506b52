/*
 * Test support for `station provision` end to end with a remote CA
 * backend (vault, cfssl, hub): on top of provision_env.h, a TLS PKI made
 * at test time whose root is the pinned `[ca] root` and the CA bundle,
 * credential files outside the station home, devsim as the device, every
 * run's stderr at STATION_LOG=debug kept, and the checks every such test
 * makes (PASS with a certificate verifying to the root; FAIL at ca-sign
 * with the device unwritten; no credential anywhere the station writes).
 * A real `cfssl serve -db-config` is started here too.  Set-up failures
 * abort.
 */
#ifndef TEST_REMOTE_CA_ENV_H
#define TEST_REMOTE_CA_ENV_H

#include <jansson.h>
#include <sys/types.h>

#include "tests/support/cfssl_serve.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/pki.h"
#include "tests/support/provision_env.h"

struct rca_env {
	struct prov_env *env; /* the station home */
	char *tmp;	      /* PKI, secrets/, cfssl files, exports:
	                           outside the home, which is scanned */
	struct pki_chain *pki;
	struct devsim_proc *sim;
	json_t *res; /* JSON result of the last run */
	int status;  /* its exit status */
	char *log;   /* stderr of every station run, debug level */
	struct cfssl_serve cfssl;
};

/* `name` goes into the PKI's subjects. */
struct rca_env *rca_env_new(const char *name);
/* Stops devsim and removes both directories (accepts NULL). */
void rca_env_free(struct rca_env *r);

/* <tmp>/secrets/<name> holding `text`, mode 0600; its path (new). */
char *rca_secret(struct rca_env *r, const char *name, const char *text);
/* "[ca]\nbackend = B\nca_bundle = ROOT\nroot = ROOT\n" + the printf
 * text (new string); under STATION_TEST_SLOW, when the text sets no
 * timeout_ms, "timeout_ms = test_ms(10000)\n" before it (proc.h). */
char *rca_ca_section(struct rca_env *r, const char *backend, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* Write station.ini (see prov_env_config). */
void rca_config(struct rca_env *r, const char *station_extra, const char *rest);

/* Start devsim reporting `serial` (asserts it came up); the device
 * started by an earlier call is stopped first. */
void rca_device(struct rca_env *r, const char *serial);
/* `station provision URI --json` at STATION_LOG=debug: sets res and
 * status, appends stderr to log.  Returns the exit status. */
int rca_provision(struct rca_env *r);

/* `station provision` refused at start (station_preflight): exit 3, no
 * result, stderr naming the start check and holding `err_part`, and the
 * device untouched (devsim still "blank"). */
void rca_provision_refused(struct rca_env *r, const char *err_part);

/* PASS, the certificate in the ledger verifies to the PKI's root, its
 * ledger row names `backend` and is 'verified', devsim committed it. */
void rca_assert_pass(struct rca_env *r, const char *backend);
/* FAIL at ca-sign with `error_kind`, the reason holding `reason_part`, no
 * certificate in the ledger, devsim still "keyed" (nothing written). */
void rca_assert_fail(struct rca_env *r, const char *error_kind,
    const char *reason_part);
/* Neither secret (s2 may be NULL) is in the station home (ledger, wal,
 * everything), the captured stderr, or a CSV and a JSONL export made now
 * with `station export`. */
void rca_assert_no_secret(struct rca_env *r, const char *s1, const char *s2);

/* A loopback port nobody listens on (bound and closed). */
int rca_free_port(void);

/* 1 when `cfssl` is on PATH. */
int rca_have_cfssl(void);
/* `cfssl serve` over TLS with the PKI's intermediate; profile "device"
 * needs `auth_key` (hex) through authsign.  Waits until it listens;
 * returns its pid (0 if it did not come up). */
pid_t rca_cfssl_start(struct rca_env *r, const char *auth_key);
const char *rca_cfssl_addr(struct rca_env *r);
/* SIGTERM and reap (accepts 0). */
void rca_cfssl_stop(pid_t pid);

#endif
