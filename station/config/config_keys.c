/*
 * The keys of [station], [ca], [broker] and [slot N] as data: each key
 * says where its value goes (offsetof into the config, the loader or the
 * current slot), its type and its limits, and config_key_set does the
 * rest.  A key with a rule of its own names a check.  Checks that need
 * the whole file (a slot's profile exists, the broker has a host) run in
 * config_load.c once the file is read.  The backend-specific [ca] keys
 * are not here: they come from the CA backend table (station/ca/ca.c).
 */
#include "station/config/config_priv.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/ca.h"
#include "station/config/scan_format.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"

st_err
config_parse_int(const char *value, long min, long max, long *out, char **why)
{
	long long v;

	if (!num_valid(value, min, max, &v))
		return st_fail(why, ST_E_CONFIG,
		    "expected an integer "
		    "%ld..%ld",
		    min, max);
	*out = (long)v;
	return ST_OK;
}

st_err
config_parse_enum(const char *value, const char *const *names, int *out,
    char **why)
{
	char *list = xstrdup("");
	char *longer;
	st_err err = ST_OK;

	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], value) == 0) {
			*out = i;
			goto out;
		}
		longer = xasprintf("%s%s%s", list, i ? ", " : "", names[i]);
		free(list);
		list = longer;
	}
	err = st_fail(why, ST_E_CONFIG, "expected one of: %s", list);
out:
	free(list);
	return err;
}

st_err
config_set_string(char **slot, const char *value, char **why)
{
	if (value[0] == '\0')
		return st_fail(why, ST_E_CONFIG, "expected a non-empty value");
	free(*slot);
	*slot = xstrdup(value);
	return ST_OK;
}

/* Where a key's offset points. */
static void *
key_base(struct config_load *ld, const struct config_key *k)
{
	switch (k->base) {
	case CONFIG_IN_LOAD:
		return ld;
	case CONFIG_IN_SLOT:
		return &ld->cfg->slots[ld->cur];
	case CONFIG_IN_CONFIG:
		break;
	}
	return ld->cfg;
}

st_err
config_key_set(struct config_load *ld, const struct config_key *k,
    const char *value, char **why)
{
	char *field = (char *)key_base(ld, k) + k->offset;
	long v = 0;
	int i = 0;
	st_err err = ST_OK;

	if (k->check != NULL) {
		err = k->check(value, why);
		if (err)
			return err;
	}
	switch (k->type) {
	case CONFIG_STRING:
		err = config_set_string((char **)(void *)field, value, why);
		break;
	case CONFIG_INT:
		err = config_parse_int(value, k->min, k->max, &v, why);
		if (err == ST_OK)
			*(int *)(void *)field = (int)v;
		break;
	case CONFIG_ENUM:
		err = config_parse_enum(value, k->names, &i, why);
		if (err == ST_OK)
			*(int *)(void *)field = i;
		break;
	case CONFIG_CUSTOM:
		err = k->set(ld, value, why);
		break;
	}
	return err;
}

/* Checks of a value's shape, before it is stored. */

static st_err
check_id(const char *value, char **why)
{
	if (!config_id_is_valid(value))
		return st_fail(why, ST_E_CONFIG,
		    "expected 1..%d characters "
		    "of A-Z a-z 0-9 . _ -",
		    CONFIG_ID_MAX);
	return ST_OK;
}

static st_err
check_operator(const char *value, char **why)
{
	/* Operator ids end up in the ledger and in exports: same rule as
	 * serials, so they need no quoting anywhere. */
	if (!serial_is_valid(value))
		return st_fail(why, ST_E_CONFIG,
		    "expected 1..64 characters "
		    "of A-Z a-z 0-9 . _ -");
	return ST_OK;
}

static st_err
check_serial_pattern(const char *value, char **why)
{
	struct scan_format *f;
	st_err err = scan_format_new(value, SCAN_CHECKSUM_NONE, &f, why);

	scan_format_free(f);
	return err;
}

static st_err
check_host(const char *value, char **why)
{
	if (value[0] == '\0' || strpbrk(value, " \t/:@") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "expected a host name or IPv4 address");
	return ST_OK;
}

static st_err
check_device(const char *value, char **why)
{
	const char *colon = strchr(value, ':');

	/* The transport layer parses the URI when the slot is opened; here
	 * only its shape is checked, so a typo shows up at load time. */
	if (colon == NULL || colon == value || colon[1] == '\0' ||
	    strpbrk(value, " \t") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "expected a device URI such "
		    "as tcp:127.0.0.1:4000 or uart:/dev/ttyUSB0");
	return ST_OK;
}

static st_err
check_profile_name(const char *value, char **why)
{
	if (!config_id_is_valid(value))
		return st_fail(why, ST_E_CONFIG, "expected a profile name");
	return ST_OK;
}

/* [station] */

/* In the order of enum log_level (log.h), stored through an int. */
_Static_assert(sizeof(enum log_level) == sizeof(int),
    "log_level is set as a CONFIG_ENUM");
static const char *const log_level_names[] = { "error", "warn", "info", "debug",
	NULL };
static const char *const checksum_names[] = { "none", "luhn", NULL };
/* In the order of enum clock_check. */
static const char *const clock_check_names[] = { "off", "warn", "require",
	NULL };

/* Where a key's value goes: a field of the config, of the loader, of the
 * current slot. */
#define CFG(f) .base = CONFIG_IN_CONFIG, .offset = offsetof(struct config, f)
#define LOAD(f) \
	.base = CONFIG_IN_LOAD, .offset = offsetof(struct config_load, f)
#define SLOT(f) \
	.base = CONFIG_IN_SLOT, .offset = offsetof(struct config_slot, f)

const struct config_key config_station_keys[] = {
	{ .name = "id",
	    .type = CONFIG_STRING,
	    CFG(station_id),
	    .check = check_id },
	{ .name = "home", .type = CONFIG_STRING, LOAD(home) },
	{ .name = "ledger", .type = CONFIG_STRING, LOAD(ledger) },
	{ .name = "operator",
	    .type = CONFIG_STRING,
	    CFG(operator_id),
	    .check = check_operator },
	{ .name = "log_level",
	    .type = CONFIG_ENUM,
	    CFG(log_level),
	    .names = log_level_names },
	{ .name = "step_timeout_ms",
	    .type = CONFIG_INT,
	    CFG(step_timeout_ms),
	    .min = 1,
	    .max = 3600000 },
	{ .name = "clock_skew_s",
	    .type = CONFIG_INT,
	    CFG(clock_skew_s),
	    .min = 1,
	    .max = 86400 },
	{ .name = "serial_pattern",
	    .type = CONFIG_STRING,
	    CFG(serial_pattern),
	    .check = check_serial_pattern },
	{ .name = "serial_checksum",
	    .type = CONFIG_ENUM,
	    CFG(serial_checksum),
	    .names = checksum_names },
	{ .name = "clock_ca_date",
	    .type = CONFIG_ENUM,
	    CFG(clock_ca_date),
	    .names = clock_check_names },
	{ .name = "clock_broker_cert",
	    .type = CONFIG_ENUM,
	    CFG(clock_broker_cert),
	    .names = clock_check_names },
	{ .name = "clock_ntp_sync",
	    .type = CONFIG_ENUM,
	    CFG(clock_ntp_sync),
	    .names = clock_check_names },
	{ .name = NULL },
};

/* [ca]: the backend's name comes from the CA backend table. */
static st_err
set_ca_backend(struct config_load *ld, const char *value, char **why)
{
	const char *names[16];
	size_t n = 0;
	int i;
	st_err err;

	while (n + 1 < sizeof names / sizeof names[0] &&
	    ca_backend_name(n) != NULL) {
		names[n] = ca_backend_name(n);
		n++;
	}
	names[n] = NULL;
	err = config_parse_enum(value, names, &i, why);
	if (err)
		return err;
	return config_set_string(&ld->cfg->ca_backend, names[i], why);
}

static const char *const no_yes_names[] = { "no", "yes", NULL };

const struct config_key config_ca_keys[] = {
	{ .name = "backend", .type = CONFIG_CUSTOM, .set = set_ca_backend },
	{ .name = "dir", .type = CONFIG_STRING, LOAD(ca_dir) },
	{ .name = "root", .type = CONFIG_STRING, LOAD(ca_root) },
	{ .name = "allow_test_ca",
	    .type = CONFIG_ENUM,
	    CFG(ca_allow_test),
	    .names = no_yes_names },
	{ .name = NULL },
};

st_err
config_ca_setting(struct config_load *ld, const struct ca_key *key,
    const char *value, char **why)
{
	struct config *cfg = ld->cfg;
	size_t n = 0;
	st_err err;

	/* Only the value's shape here: ca_open checks that the key applies
	 * to the chosen backend and what the value says (an address, a
	 * credential file's mode). */
	err = ca_key_check(key, value, why);
	if (err)
		return err;
	while (cfg->ca_extra[n].key != NULL)
		n++;
	cfg->ca_extra =
	    xrealloc(cfg->ca_extra, (n + 2) * sizeof *cfg->ca_extra);
	cfg->ca_extra[n] =
	    (struct ca_setting){ xstrdup(key->name), xstrdup(value) };
	cfg->ca_extra[n + 1] = (struct ca_setting){ NULL, NULL };
	return ST_OK;
}

/* [broker] */

const struct config_key config_broker_keys[] = {
	{ .name = "host",
	    .type = CONFIG_STRING,
	    CFG(broker.host),
	    .check = check_host },
	{ .name = "port",
	    .type = CONFIG_INT,
	    CFG(broker.port),
	    .min = 1,
	    .max = 65535 },
	{ .name = "ca", .type = CONFIG_STRING, LOAD(broker_ca) },
	{ .name = "server_name",
	    .type = CONFIG_STRING,
	    CFG(broker.server_name),
	    .check = check_host },
	{ .name = "observer_port",
	    .type = CONFIG_INT,
	    CFG(broker.observer_port),
	    .min = 1,
	    .max = 65535 },
	{ .name = NULL },
};

/* [ledger] */

const struct config_key config_ledger_keys[] = {
	{ .name = "key_file", .type = CONFIG_STRING, LOAD(ledger_key) },
	{ .name = NULL },
};

/* [slot N] */

const struct config_key config_slot_keys[] = {
	{ .name = "device",
	    .type = CONFIG_STRING,
	    SLOT(device),
	    .check = check_device },
	{ .name = "profile",
	    .type = CONFIG_STRING,
	    SLOT(profile),
	    .check = check_profile_name },
	{ .name = NULL },
};

/* [fleet] */

/*
 * A libpq URL without a password: the password comes from a 0600 file or
 * the environment (docs/fleet.md), never from a file many people read.
 * libpq parses the rest when the station connects.
 */
static st_err
check_fleet_url(const char *value, char **why)
{
	const char *rest = NULL;
	const char *at, *slash, *colon;

	if (strncmp(value, "postgresql://", 13) == 0)
		rest = value + 13;
	else if (strncmp(value, "postgres://", 11) == 0)
		rest = value + 11;
	if (rest == NULL || strpbrk(value, " \t\r\n") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "expected postgresql://USER@HOST:PORT/DATABASE");
	slash = strchr(rest, '/');
	at = strchr(rest, '@');
	if (at != NULL && (slash == NULL || at < slash)) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon != NULL)
			return st_fail(why, ST_E_CONFIG,
			    "the URL carries a password: put it in "
			    "password_file (mode 0600) or password_env");
	}
	if (strstr(value, "password=") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "the URL carries a password: put it in password_file "
		    "(mode 0600) or password_env");
	if (strstr(value, "sslmode=") != NULL ||
	    strstr(value, "sslrootcert=") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "the URL sets TLS itself: the station always uses "
		    "sslmode=verify-full with [fleet] ca");
	return ST_OK;
}

/* The same rule as the CA's *_env keys: a name, never the secret. */
static st_err
check_env_name(const char *value, char **why)
{
	static const struct ca_key env_key = { "password_env", CA_KEY_ENV_NAME,
		0, 0 };

	return ca_key_check(&env_key, value, why);
}

const struct config_key config_fleet_keys[] = {
	{ .name = "url",
	    .type = CONFIG_STRING,
	    CFG(fleet.url),
	    .check = check_fleet_url,
	    .no_echo = 1 },
	{ .name = "ca", .type = CONFIG_STRING, LOAD(fleet_ca) },
	{ .name = "password_file",
	    .type = CONFIG_STRING,
	    LOAD(fleet_password_file) },
	{ .name = "password_env",
	    .type = CONFIG_STRING,
	    CFG(fleet.password_env),
	    .check = check_env_name,
	    .no_echo = 1 },
	{ .name = "timeout_ms",
	    .type = CONFIG_INT,
	    CFG(fleet.timeout_ms),
	    .min = 100,
	    .max = 60000 },
	{ .name = NULL },
};
