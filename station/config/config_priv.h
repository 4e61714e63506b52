/*
 * Inside the configuration loader: the state shared by the parser
 * (config_load.c) and the per-section key tables (config_keys.c,
 * config_profile.c).  Not for use outside those files.
 */
#ifndef ST_CONFIG_PRIV_H
#define ST_CONFIG_PRIV_H

#include <stdio.h>

#include "station/config/config.h"
#include "station/config/ini_lines.h"
#include "station/x509/name_check.h"

/* Keys in the longest section: [ca]'s own three plus every key of the CA
 * backend table (test_ca_keys_come_from_the_backend_table loads each). */
#define CONFIG_KEYS_MAX 32

enum config_section {
	SECT_NONE = 0, /* before the first header */
	SECT_STATION,
	SECT_CA,
	SECT_BROKER,
	SECT_LEDGER,
	SECT_PROFILE,
	SECT_SLOT,
	SECT_FLEET,
	SECT_BAD, /* a header that failed: its keys are ignored */
};

/* A template of a [profile] section, checked once the whole file is read
 * (config_profile_check): the serial alphabet and ${station} are known
 * only then. */
struct config_tmpl {
	size_t profile; /* index in cfg->profiles */
	int line;
	const char *key;       /* "subject", "san_dns", ... (static) */
	char *value;	       /* the key's value as written */
	struct name_slot slot; /* slot.attr points into `attr` */
	char *attr;	       /* subject attribute, else NULL */
	char *tmpl;	       /* the value template of that place */
};

struct config_load {
	const char *path;
	FILE *fp;
	struct config *cfg;

	struct ini_lines rd; /* the line-counting reader (rd.line: the line
	                        last handed to inih) */

	enum config_section kind;
	char section[64]; /* as inih reports it, e.g. "profile x" */
	size_t cur;	  /* index of the current profile or slot */
	int key_line[CONFIG_KEYS_MAX]; /* where each key of this section was
	                                  set; 0 = not yet */
	int station_line, ca_line, broker_line, fleet_line, ledger_line;
	int *profile_lines; /* header line of each profile */
	int broker_host_line, broker_ca_line;

	/* Paths as written, resolved against home once the file is read. */
	char *home, *ledger, *ca_dir, *ca_root, *broker_ca, *ledger_key;
	char *fleet_ca, *fleet_password_file;

	struct config_tmpl *tmpls; /* every template seen, in file order */
	size_t n_tmpls;

	st_err err; /* the first error wins */
	int err_line;
	char *cause;
};

enum config_type {
	CONFIG_STRING, /* char *: a non-empty copy of the value */
	CONFIG_INT,    /* int: a whole number in [min, max] */
	CONFIG_ENUM,   /* int: the value's index in `names` */
	CONFIG_CUSTOM, /* `set` parses and stores (a rule of its own) */
};

/* What a key's offset is relative to. */
enum config_base {
	CONFIG_IN_CONFIG = 0, /* struct config */
	CONFIG_IN_LOAD,	      /* struct config_load (paths resolved once the
	                         file is read) */
	CONFIG_IN_SLOT,	      /* the current struct config_slot */
};

/*
 * One key of a section, as data: where the value goes and what it must
 * be.  A wrong value fails with ST_E_CONFIG and `why` saying what was
 * expected (the loader adds file:line, section and key).
 */
struct config_key {
	const char *name;
	enum config_type type;
	enum config_base base;
	size_t offset;		  /* offsetof into the base */
	long long min, max;	  /* CONFIG_INT */
	const char *const *names; /* CONFIG_ENUM, NULL-terminated */
	/* Optional, before storing: the value's own rule. */
	st_err (*check)(const char *value, char **why);
	/* CONFIG_CUSTOM only. */
	st_err (*set)(struct config_load *ld, const char *value, char **why);
	int repeatable;
	int no_echo; /* a wrong value may be a secret pasted by mistake:
	                errors name the key, never the value */
};

/* Parse `value` as key `k` says and store it. */
st_err config_key_set(struct config_load *ld, const struct config_key *k,
    const char *value, char **why);

struct ca_key;

/* A backend-specific [ca] key (from the CA backend table, ca.h): its
 * value checked by type and kept for ca_open in cfg->ca_extra. */
st_err config_ca_setting(struct config_load *ld, const struct ca_key *key,
    const char *value, char **why);

/* NULL-terminated tables, one per section kind. */
extern const struct config_key config_station_keys[];
extern const struct config_key config_ca_keys[];
extern const struct config_key config_broker_keys[];
extern const struct config_key config_ledger_keys[];
extern const struct config_key config_slot_keys[];
extern const struct config_key config_fleet_keys[];
extern const struct config_key config_profile_keys[];

/* config.c: a config with the scalar defaults and nothing else (no home,
 * paths, profiles or slots); the built-in profile appended to an empty
 * profile list; `home` if set, else $STATION_HOME, else "./var". */
struct config *config_base(void);
void config_add_default_profile(struct config *cfg);
const char *config_default_home(const char *home);

/*
 * config_profile.c: check every template of every profile against the
 * serial alphabet ([station] serial_pattern narrows it), the station id
 * and its place's rules.  On the first failure: ST_E_CONFIG, *line where
 * the key was set and *why (caller frees) the message.  The notes are
 * freed by config_profile_notes_free, whatever the outcome of the load.
 */
st_err config_profile_check(struct config_load *ld, int *line, char **why);
void config_profile_notes_free(struct config_load *ld);

/* Value parsers shared by the tables. */
st_err config_parse_int(const char *value, long min, long max, long *out,
    char **why);
/* Index of `value` in the NULL-terminated `names`; the error lists them. */
st_err config_parse_enum(const char *value, const char *const *names, int *out,
    char **why);
/* Replace *slot with a copy of `value` (which must not be empty). */
st_err config_set_string(char **slot, const char *value, char **why);

#endif
