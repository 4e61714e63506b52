/*
 * The station's configuration: one INI file (fixtures/station.ini is the
 * commented example), parsed with inih.  Sections:
 *
 *	[station]        id, home, ledger, operator, log_level, step_timeout_ms,
 *	                 serial_pattern, serial_checksum (scan_format.h),
 *	                 clock_ca_date, clock_broker_cert, clock_ntp_sync,
 *	                 clock_skew_s
 *	[ca]             backend, dir, root, and the backends' own keys, from
 *	                 the CA backend table (station/ca/ca.c,
 *	                 docs/ca-backends.md)
 *	[broker]         host, port, ca, server_name   (optional)
 *	[fleet]          url, ca, password_file, password_env, timeout_ms
 *	                 (optional; docs/fleet.md)
 *	[ledger]         key_file: the ledger key (db/ledger.h; optional)
 *	[profile NAME]   any number; see struct profile
 *	[slot N]         fixture slots: device, profile (optional)
 *
 * Everything is checked at load time, and every error names the file, the
 * line, the section and the key:
 *
 *	station.ini:12: [profile default] key 'validty_days': unknown key
 *
 * Paths in the loaded config are already resolved: a relative path is
 * relative to `home`, and `home` itself (if relative) to the working
 * directory.  A config is immutable once loaded; everything it points to is
 * owned by it and freed by config_free().
 */
#ifndef ST_CONFIG_H
#define ST_CONFIG_H

#include <stddef.h>

#include "station/ca/ca.h"
#include "station/config/profile.h"
#include "station/util/err.h"
#include "station/util/log.h"

#define CONFIG_ID_MAX 32 /* station ids and profile names */
#define CONFIG_SLOT_MAX 999

struct config_broker {
	char *host;    /* NULL: no broker configured (no [broker]) */
	int port;      /* default 8883 */
	char *ca_file; /* CA that signed the broker certificate (resolved) */
	char *server_name; /* name checked in the broker certificate; = host
	                      unless set */
	int observer_port; /* the device-driven smoke test's subscriber
	                      (docs/smoke.md): a TLS listener of the same
	                      broker that takes a client without a
	                      certificate and lets it read the test topics;
	                      0: none */
};

/* What a clock check does when it finds the clock implausible
 * (station/pipeline/clock_check.h): nothing, a note, or FAIL the run
 * before anything is issued. */
enum clock_check {
	CLOCK_CHECK_OFF = 0,
	CLOCK_CHECK_WARN,
	CLOCK_CHECK_REQUIRE,
};

/* [fleet]: the fleet database (docs/fleet.md).  url NULL: no fleet. */
struct config_fleet {
	char *url; /* postgresql://USER@HOST:PORT/DB, never with a password */
	char *ca_file;	     /* CA of the server's certificate (resolved);
	                        required with url: the server is verified */
	char *password_file; /* resolved; mode 0600 or stricter, or NULL */
	char *password_env;  /* environment variable with the password, or
	                        NULL */
	int timeout_ms;	     /* budget of the reservation and of a drain
	                        at run end; default 3000 */
};

struct config_slot {
	unsigned index; /* N of [slot N] */
	char *device;	/* device URI, e.g. "tcp:127.0.0.1:4000" */
	char *profile;	/* name of an existing profile; default "default" */
	int line;	/* line of the [slot N] header, for messages */
};

struct config {
	char *path;	       /* the file loaded; NULL for the defaults */
	int demo;	       /* the embedded defaults, asked for by demo mode
	                          (config_find): a TEST CA and a station that
	                          says so */
	char *station_id;      /* [A-Za-z0-9._-]{1,32} */
	char *home;	       /* state directory */
	char *ledger_path;     /* resolved; default <home>/ledger.db */
	char *ledger_key_path; /* [ledger] key_file, resolved; NULL: the
	                          default (ledger_key_default_path) */
	char *operator_id;     /* default operator; NULL if none */
	enum log_level log_level; /* default warn; the caller applies it */
	int step_timeout_ms;	  /* default deadline of a pipeline step */
	int clock_skew_s;     /* clock difference tolerated between the station
	                     and a CA (a certificate's notBefore, the clock
	                     checks, the ledger's run order), seconds;
	                     default CERT_SKEW_DEFAULT (300) */
	char *serial_pattern; /* labels must match (POSIX ERE); NULL: any */
	int serial_checksum;  /* enum scan_checksum */
	char *ca_backend;     /* a name of the CA backend table (ca.c);
	                            default "local" */
	char *ca_dir;	      /* resolved; default <home>/ca */
	char *ca_root;	      /* the pinned root; default <ca_dir>/root.pem */
	int ca_allow_test;    /* [ca] allow_test_ca: provision with a TEST CA
	                      (a root the station made itself, local.h);
	                      no in a file, yes in the embedded defaults */
	struct ca_setting *ca_extra; /* the other [ca] keys, for ca_open's
	                                settings.extra: ended by { NULL, NULL };
	                                *_file and ca_bundle resolved; strings
	                                owned by the config */
	struct config_broker broker;
	struct config_fleet fleet;
	struct profile *profiles; /* n_profiles >= 1 */
	size_t n_profiles;
	struct config_slot *slots; /* may be empty */
	size_t n_slots;

	/* Clock sanity, checked before each run's key and certificate
	 * ([station] clock_*; docs/admin.md): enum clock_check each. */
	int clock_ca_date;     /* the remote CA's HTTP Date; require */
	int clock_broker_cert; /* the broker certificate's validity; require */
	int clock_ntp_sync;    /* the kernel's synchronised flag; warn */
};

/*
 * Load `path` into a new config (*out, free with config_free).  ST_E_IO
 * when the file cannot be read, ST_E_CONFIG for anything wrong in it
 * (including a world-writable file: the station acts on what the file
 * says, so only its owners may change it).  A file with no [profile]
 * section gets the built-in "default" profile.  `home` defaults to
 * $STATION_HOME, then "./var".
 */
st_err config_load(const char *path, struct config **out, char **cause);

/*
 * The same parser and checks over `len` bytes of text in memory (NUL bytes
 * are refused as in a file); `name` stands for the file name in messages
 * and in cfg->path.  No file permission check: there is no file.
 */
st_err config_load_buffer(const char *name, const char *text, size_t len,
    struct config **out, char **cause);

/*
 * The embedded defaults: station id "station-1", home from `home` (may be
 * NULL: $STATION_HOME, then "./var"), ledger <home>/ledger.db, local CA in
 * <home>/ca (a TEST CA allowed: the demo's), no broker, one profile
 * "default" (profile_init_default), no slots.  Never NULL; free with config_free().
 */
struct config *config_default(const char *home);

void config_free(struct config *cfg);

/* Where a station without --config looks for its configuration (make
 * install puts the example there, never overwriting it). */
#ifndef CONFIG_DEFAULT_PATH
#define CONFIG_DEFAULT_PATH "/etc/station/station.ini"
#endif

/* What a demo station says of itself in every output (the screen's
 * header, provision's text, batch's summary). */
#define CONFIG_DEMO_NOTE "DEMO: TEST CA"

/*
 * The station's configuration, from the first of: `given` (--config);
 * in demo mode (`demo`, or $STATION_DEMO=1) the embedded defaults
 * (config_default, cfg->demo set); $STATION_CONFIG; CONFIG_DEFAULT_PATH.
 * Demo mode never reads $STATION_CONFIG or the default path, so a demo
 * on an installed station cannot touch its configuration.  No
 * configuration anywhere is ST_E_CONFIG naming the places tried and how
 * to start (install, --config, --demo); `demo` (the --demo option, not
 * the environment) together with `given` is ST_E_ARG.  *out is owned by
 * the caller (config_free).
 */
st_err config_find(const char *given, int demo, struct config **out,
    char **cause);

/* 1 when demo mode is asked for: `demo` (--demo) or $STATION_DEMO=1. */
int config_demo_asked(int demo);

/*
 * Command-line overrides of [broker] (--broker HOST:PORT, --broker-ca
 * FILE); either may be NULL.  ST_E_ARG for a malformed address or a broker
 * left without its CA.
 */
st_err config_override_broker(struct config *cfg, const char *host_port,
    const char *ca_file, char **cause);

/* A profile that does not say `smoke` itself requires the smoke test
 * when a broker is configured, and not otherwise (config_load and
 * config_override_broker call it). */
void config_smoke_defaults(struct config *cfg);

/* The profile called `name` (borrowed from cfg), or NULL. */
const struct profile *config_profile(const struct config *cfg,
    const char *name);

/* The slot [slot index] (borrowed from cfg), or NULL. */
const struct config_slot *config_slot(const struct config *cfg, unsigned index);

/* `path` if absolute, else "<home>/<path>" (new string, caller frees). */
char *config_path_join(const char *home, const char *path);

/* A station id or profile name: 1..32 characters of [A-Za-z0-9._-]. */
int config_id_is_valid(const char *id);

#endif
