/*
 * The keys of [station], [ca], [broker] and [slot N], and the value
 * parsers every section shares.  A setter only parses and stores; checks
 * that need the whole file (a slot's profile exists, the broker has a
 * host) run in config.c once the file is read.
 */
#include "station/config/config_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/pkcs11.h"
#include "station/config/scan_format.h"
#include "station/util/xalloc.h"

st_err
config_parse_int(const char *value, long min, long max, long *out,
    char **why)
{
	const char *p = value;
	char *end = NULL;
	long v;

	if (*p == '-')
		p++;
	/* strtol alone would accept " 12", "+12" and "0x12". */
	if (*p < '0' || *p > '9')
		goto bad;
	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		goto bad;
	*out = v;
	return ST_OK;
bad:
	return st_fail(why, ST_E_CONFIG, "expected an integer %ld..%ld", min,
	    max);
}

st_err
config_parse_enum(const char *value, const char *const *names, int *out,
    char **why)
{
	char *list = xstrdup("");

	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], value) == 0) {
			*out = i;
			free(list);
			return ST_OK;
		}
		char *longer = xasprintf("%s%s%s", list, i ? ", " : "",
		    names[i]);
		free(list);
		list = longer;
	}
	st_fail(why, ST_E_CONFIG, "expected one of: %s", list);
	free(list);
	return ST_E_CONFIG;
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

/* [station] */

static st_err
set_station_id(struct config_load *ld, const char *value, char **why)
{
	if (!config_id_is_valid(value))
		return st_fail(why, ST_E_CONFIG, "expected 1..%d characters "
		    "of A-Z a-z 0-9 . _ -", CONFIG_ID_MAX);
	return config_set_string(&ld->cfg->station_id, value, why);
}

static st_err
set_home(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&ld->home, value, why);
}

static st_err
set_ledger(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&ld->ledger, value, why);
}

static st_err
set_operator(struct config_load *ld, const char *value, char **why)
{
	/* Operator ids end up in the ledger and in exports: same rule as
	 * serials, so they need no quoting anywhere. */
	if (!serial_is_valid(value))
		return st_fail(why, ST_E_CONFIG, "expected 1..64 characters "
		    "of A-Z a-z 0-9 . _ -");
	return config_set_string(&ld->cfg->operator_id, value, why);
}

static st_err
set_log_level(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "error", "warn", "info",
		"debug", NULL };
	int level = log_level_parse(value);

	if (level < 0) {
		int unused;

		return config_parse_enum(value, names, &unused, why);
	}
	ld->cfg->log_level = (enum log_level)level;
	return ST_OK;
}

static st_err
set_step_timeout(struct config_load *ld, const char *value, char **why)
{
	long v;
	st_err err = config_parse_int(value, 1, 3600000, &v, why);

	if (err)
		return err;
	ld->cfg->step_timeout_ms = (int)v;
	return ST_OK;
}

static st_err
set_serial_pattern(struct config_load *ld, const char *value, char **why)
{
	struct scan_format *f;
	st_err err = scan_format_new(value, SCAN_CHECKSUM_NONE, &f, why);

	scan_format_free(f);
	if (err)
		return err;
	return config_set_string(&ld->cfg->serial_pattern, value, why);
}

static st_err
set_serial_checksum(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "none", "luhn", NULL };

	return config_parse_enum(value, names, &ld->cfg->serial_checksum, why);
}

const struct config_key config_station_keys[] = {
	{ "id", 0, set_station_id, 0 },
	{ "home", 0, set_home, 0 },
	{ "ledger", 0, set_ledger, 0 },
	{ "operator", 0, set_operator, 0 },
	{ "log_level", 0, set_log_level, 0 },
	{ "step_timeout_ms", 0, set_step_timeout, 0 },
	{ "serial_pattern", 0, set_serial_pattern, 0 },
	{ "serial_checksum", 0, set_serial_checksum, 0 },
	{ NULL, 0, NULL, 0 },
};

/* [ca] */

static st_err
set_ca_backend(struct config_load *ld, const char *value, char **why)
{
	static const char *const names[] = { "local", "vault", "cfssl", "hub",
		NULL };
	int i;
	st_err err = config_parse_enum(value, names, &i, why);

	if (err)
		return err;
	return config_set_string(&ld->cfg->ca_backend, names[i], why);
}

static st_err
set_ca_dir(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&ld->ca_dir, value, why);
}

static st_err
set_ca_root(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&ld->ca_root, value, why);
}

/* The remote backends' keys are kept as name/value pairs and handed to
 * ca_open, which checks that they fit the chosen backend and what they
 * say (an address, a credential file's mode).  Here only their shape. */
static st_err
ca_extra_add(struct config_load *ld, const char *key, const char *value,
    char **why)
{
	struct config *cfg = ld->cfg;
	size_t n = 0;

	if (value[0] == '\0')
		return st_fail(why, ST_E_CONFIG, "expected a non-empty value");
	while (cfg->ca_extra[n].key != NULL)
		n++;
	cfg->ca_extra = xrealloc(cfg->ca_extra, (n + 2) *
	    sizeof *cfg->ca_extra);
	cfg->ca_extra[n] = (struct ca_setting){ xstrdup(key),
		xstrdup(value) };
	cfg->ca_extra[n + 1] = (struct ca_setting){ NULL, NULL };
	return ST_OK;
}

static st_err
ca_extra_int(struct config_load *ld, const char *key, const char *value,
    long max, char **why)
{
	long v;
	st_err err = config_parse_int(value, key[0] == 'r' ? 0 : 1, max, &v,
	    why);

	return err ? err : ca_extra_add(ld, key, value, why);
}

static st_err
ca_extra_env(struct config_load *ld, const char *key, const char *value,
    char **why)
{
	static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz_";

	/* The name of the variable, never the secret itself. */
	if (strchr(first, value[0]) == NULL ||
	    strspn(value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_") != strlen(value))
		return st_fail(why, ST_E_CONFIG, "expected the name of an "
		    "environment variable (such as VAULT_TOKEN), not its "
		    "value");
	return ca_extra_add(ld, key, value, why);
}

#define CA_STR(name)                                                        \
	static st_err set_ca_##name(struct config_load *ld, const char *v,  \
	    char **why)                                                     \
	{                                                                   \
		return ca_extra_add(ld, #name, v, why);                     \
	}

CA_STR(addr)
CA_STR(mount)
CA_STR(role)
CA_STR(namespace)
CA_STR(token_file)
CA_STR(approle_role_id_file)
CA_STR(approle_secret_id_file)
CA_STR(profile)
CA_STR(auth_key_file)
CA_STR(chain_file)
CA_STR(ca_bundle)
CA_STR(pin_sha256)
CA_STR(pkcs11_module)
CA_STR(pin_file)

/* The local CA's intermediate key in a PKCS#11 token: checked here so a
 * typo in the URI is reported with its line. */
static st_err
set_ca_key(struct config_load *ld, const char *value, char **why)
{
	struct pkcs11_uri u;
	st_err err = pkcs11_uri_parse(value, &u, why);

	pkcs11_uri_clear(&u);
	if (err)
		return err;
	return ca_extra_add(ld, "key", value, why);
}

static st_err
set_ca_pin_env(struct config_load *ld, const char *value, char **why)
{
	return ca_extra_env(ld, "pin_env", value, why);
}

static st_err
set_ca_token_env(struct config_load *ld, const char *value, char **why)
{
	return ca_extra_env(ld, "token_env", value, why);
}

static st_err
set_ca_timeout_ms(struct config_load *ld, const char *value, char **why)
{
	return ca_extra_int(ld, "timeout_ms", value, 3600000, why);
}

static st_err
set_ca_retries(struct config_load *ld, const char *value, char **why)
{
	return ca_extra_int(ld, "retries", value, 10, why);
}

const struct config_key config_ca_keys[] = {
	{ "backend", 0, set_ca_backend, 0 },
	{ "dir", 0, set_ca_dir, 0 },
	{ "root", 0, set_ca_root, 0 },
	{ "addr", 0, set_ca_addr, 0 },
	{ "mount", 0, set_ca_mount, 0 },
	{ "role", 0, set_ca_role, 0 },
	{ "namespace", 0, set_ca_namespace, 0 },
	{ "token_file", 0, set_ca_token_file, 0 },
	{ "token_env", 0, set_ca_token_env, 1 },
	{ "approle_role_id_file", 0, set_ca_approle_role_id_file, 0 },
	{ "approle_secret_id_file", 0, set_ca_approle_secret_id_file, 0 },
	{ "profile", 0, set_ca_profile, 0 },
	{ "auth_key_file", 0, set_ca_auth_key_file, 0 },
	{ "chain_file", 0, set_ca_chain_file, 0 },
	{ "ca_bundle", 0, set_ca_ca_bundle, 0 },
	{ "pin_sha256", 0, set_ca_pin_sha256, 0 },
	{ "timeout_ms", 0, set_ca_timeout_ms, 0 },
	{ "retries", 0, set_ca_retries, 0 },
	{ "key", 0, set_ca_key, 0 },
	{ "pkcs11_module", 0, set_ca_pkcs11_module, 0 },
	{ "pin_file", 0, set_ca_pin_file, 0 },
	{ "pin_env", 0, set_ca_pin_env, 1 },
	{ NULL, 0, NULL, 0 },
};

/* [broker] */

static st_err
check_host(const char *value, char **why)
{
	if (value[0] == '\0' || strpbrk(value, " \t/:@") != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "expected a host name or IPv4 address");
	return ST_OK;
}

static st_err
set_broker_host(struct config_load *ld, const char *value, char **why)
{
	st_err err = check_host(value, why);

	if (err)
		return err;
	return config_set_string(&ld->cfg->broker.host, value, why);
}

static st_err
set_broker_port(struct config_load *ld, const char *value, char **why)
{
	long v;
	st_err err = config_parse_int(value, 1, 65535, &v, why);

	if (err)
		return err;
	ld->cfg->broker.port = (int)v;
	return ST_OK;
}

static st_err
set_broker_ca(struct config_load *ld, const char *value, char **why)
{
	return config_set_string(&ld->broker_ca, value, why);
}

static st_err
set_broker_server_name(struct config_load *ld, const char *value,
    char **why)
{
	st_err err = check_host(value, why);

	if (err)
		return err;
	return config_set_string(&ld->cfg->broker.server_name, value, why);
}

const struct config_key config_broker_keys[] = {
	{ "host", 0, set_broker_host, 0 },
	{ "port", 0, set_broker_port, 0 },
	{ "ca", 0, set_broker_ca, 0 },
	{ "server_name", 0, set_broker_server_name, 0 },
	{ NULL, 0, NULL, 0 },
};

/* [slot N] */

static st_err
set_slot_device(struct config_load *ld, const char *value, char **why)
{
	const char *colon = strchr(value, ':');

	/* The transport layer parses the URI when the slot is opened; here
	 * only its shape is checked, so a typo shows up at load time. */
	if (colon == NULL || colon == value || colon[1] == '\0' ||
	    strpbrk(value, " \t") != NULL)
		return st_fail(why, ST_E_CONFIG, "expected a device URI such "
		    "as tcp:127.0.0.1:4000 or uart:/dev/ttyUSB0");
	return config_set_string(&ld->cfg->slots[ld->cur].device, value, why);
}

static st_err
set_slot_profile(struct config_load *ld, const char *value, char **why)
{
	if (!config_id_is_valid(value))
		return st_fail(why, ST_E_CONFIG, "expected a profile name");
	return config_set_string(&ld->cfg->slots[ld->cur].profile, value, why);
}

const struct config_key config_slot_keys[] = {
	{ "device", 0, set_slot_device, 0 },
	{ "profile", 0, set_slot_profile, 0 },
	{ NULL, 0, NULL, 0 },
};
