/*
 * The long-lived station context shared by every slot: configuration,
 * ledger, CA backend and the pinned root.  Opened once per process.
 */
#ifndef ST_STATION_H
#define ST_STATION_H

#include <openssl/x509.h>

#include "station/util/err.h"

struct config;
struct ledger;
struct ca_backend;
struct scan_format;
struct owner;
struct beside;

struct station {
	struct config *cfg;		 /* owned */
	struct ledger *ledger;		 /* owned */
	struct ca_backend *ca;		 /* owned */
	X509 *root;			 /* the pinned root (owned) */
	struct scan_format *scan_format; /* label format, NULL: any (owned) */
	struct owner *owner; /* this process's run-ownership lock (owned,
	                          owner.h); NULL: runs record no token */
	int recovered;	     /* interrupted runs crash recovery settled when the
	                  station opened; -1 when recovery failed (logged) */
	char *mode_note; /* demo mode's "DEMO: TEST CA, ..." (owned), NULL on
	                    a configured station: station_mode_note() */
	/* The broker's certificate as the start check read it, for the
	 * runs' clock checks (owned; broker_cert.h). */
	struct broker_cert_memo *broker_memo;
	/* The opening's threads (the start check's, the ledger's), joined
	 * by station_close (station.c, "Work beside the opening"). */
	struct beside *beside[2];
};

/* What the command line says about the station (the CLI fills it). */
struct station_opts {
	const char *config_path; /* --config FILE, or NULL */
	const char *broker;	 /* --broker HOST:PORT, or NULL */
	const char *broker_ca;	 /* --broker-ca FILE, or NULL */
	int demo; /* --demo: the embedded defaults (also $STATION_DEMO=1;
	             config_find) */
	/* The command only reads or exports the ledger (ledger, export):
	 * the home must exist already (a missing one is an error naming
	 * its path; only the ledger file may be created), and no CA, pinned
	 * root, run-ownership lock or crash recovery is opened: a nightly
	 * export works without the CA and never settles a run. */
	int ledger_only;
	/* With ledger_only: the command only reads the ledger (ledger
	 * list, show, verify), which is opened read-only (ledger_open_ro):
	 * a user who may read the ledger but not write it can run it, and
	 * nothing is migrated or written.  A home without a ledger file yet
	 * (nothing recorded) leaves station.ledger NULL. */
	int ledger_ro;
	/* The command provisions (provision, batch, ui): station_open runs
	 * station_preflight on a thread beside the opening of the ledger
	 * and the CA and ends with its verdict (an error of the opening
	 * first), so a broker or CA that cannot serve is found before any
	 * device is touched. */
	int preflight;
};

/*
 * Find and load the configuration (config_find: `opts->config_path`,
 * demo mode, $STATION_CONFIG, CONFIG_DEFAULT_PATH; none is ST_E_CONFIG),
 * create the state directory, open the ledger and the CA backend, load
 * the pinned root.  In demo mode (the embedded defaults under
 * $STATION_HOME or ./var) a missing local CA is created (a demo needs no
 * setup step); with a config file the CA must exist (`station --config
 * FILE ca init`).  `opts->broker`/`broker_ca` override [broker];
 * `opts->ledger_only` opens the ledger alone (see above).
 */
st_err station_open(const struct station_opts *opts, struct station **out,
    char **cause);
void station_close(struct station *st);

/*
 * The start check of a station that will provision: when a broker is
 * configured and some profile requires the smoke test (smoke = required,
 * the default with a broker), the broker must answer a TLS handshake with
 * a certificate from [broker] ca for its name; a remote CA must answer
 * one request (its HTTP Date); the local CA's key was already loaded and
 * matched.  ST_E_CONFIG (broker) or ST_E_CA (CA) with a cause naming what
 * failed and what to do; nothing is recorded.
 */
st_err station_preflight(const struct station *st, char **cause);

/* What the station must say of itself in every output: "DEMO: TEST CA,
 * no broker" (or the broker it was given) in demo mode, NULL on a
 * configured station.  Borrowed from `st`. */
const char *station_mode_note(const struct station *st);

#endif
