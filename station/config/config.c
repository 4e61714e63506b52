/* The configuration's defaults, accessors and destructor (config.h); the
 * file loader is config_load.c. */
#include "station/config/config_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/x509/cert_check.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"

int
config_id_is_valid(const char *id)
{
	return serial_is_valid(id) && strlen(id) <= CONFIG_ID_MAX;
}

const char *
config_default_home(const char *home)
{
	const char *env = getenv("STATION_HOME");

	if (home != NULL && home[0] != '\0')
		return home;
	if (env != NULL && env[0] != '\0')
		return env;
	return "./var";
}

char *
config_path_join(const char *home, const char *path)
{
	size_t hl = strlen(home);

	if (path[0] == '/' || hl == 0)
		return xstrdup(path);
	if (home[hl - 1] == '/')
		return xasprintf("%s%s", home, path);
	return xasprintf("%s/%s", home, path);
}

struct config *
config_base(void)
{
	struct config *cfg = xcalloc(1, sizeof *cfg);

	cfg->station_id = xstrdup("station-1");
	cfg->log_level = LOG_LEVEL_WARN;
	cfg->step_timeout_ms = 10000;
	cfg->clock_ca_date = CLOCK_CHECK_REQUIRE;
	cfg->clock_broker_cert = CLOCK_CHECK_REQUIRE;
	cfg->clock_ntp_sync = CLOCK_CHECK_WARN;
	cfg->clock_skew_s = CERT_SKEW_DEFAULT;
	cfg->ca_backend = xstrdup("local");
	cfg->ca_extra = xcalloc(1, sizeof *cfg->ca_extra);
	cfg->broker.port = 8883;
	cfg->fleet.timeout_ms = 3000;
	return cfg;
}

void
config_add_default_profile(struct config *cfg)
{
	cfg->profiles = xcalloc(1, sizeof *cfg->profiles);
	profile_init_default(&cfg->profiles[0]);
	cfg->n_profiles = 1;
}

struct config *
config_default(const char *home)
{
	struct config *cfg = config_base();

	cfg->home = xstrdup(config_default_home(home));
	cfg->ledger_path = config_path_join(cfg->home, "ledger.db");
	cfg->ca_dir = config_path_join(cfg->home, "ca");
	cfg->ca_root = config_path_join(cfg->ca_dir, "root.pem");
	/* The demo runs on these and makes its own TEST CA; a station.ini
	 * must say allow_test_ca = yes to provision with one. */
	cfg->ca_allow_test = 1;
	config_add_default_profile(cfg);
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->station_id);
	free(cfg->home);
	free(cfg->ledger_path);
	free(cfg->ledger_key_path);
	free(cfg->operator_id);
	free(cfg->serial_pattern);
	free(cfg->ca_backend);
	free(cfg->ca_dir);
	free(cfg->ca_root);
	for (size_t i = 0; cfg->ca_extra && cfg->ca_extra[i].key; i++) {
		free((char *)cfg->ca_extra[i].key);
		free((char *)cfg->ca_extra[i].value);
	}
	free(cfg->ca_extra);
	free(cfg->broker.host);
	free(cfg->broker.ca_file);
	free(cfg->broker.server_name);
	free(cfg->fleet.url);
	free(cfg->fleet.ca_file);
	free(cfg->fleet.password_file);
	free(cfg->fleet.password_env);
	for (size_t i = 0; i < cfg->n_profiles; i++)
		profile_clear(&cfg->profiles[i]);
	free(cfg->profiles);
	for (size_t i = 0; i < cfg->n_slots; i++) {
		free(cfg->slots[i].device);
		free(cfg->slots[i].profile);
	}
	free(cfg->slots);
	free(cfg);
}

const struct profile *
config_profile(const struct config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		if (strcmp(cfg->profiles[i].name, name) == 0)
			return &cfg->profiles[i];
	}
	return NULL;
}

const struct config_slot *
config_slot(const struct config *cfg, unsigned index)
{
	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_slots; i++) {
		if (cfg->slots[i].index == index)
			return &cfg->slots[i];
	}
	return NULL;
}

st_err
config_override_broker(struct config *cfg, const char *host_port,
    const char *ca_file, char **cause)
{
	struct config_broker *b = &cfg->broker;
	const char *colon;
	long long port = 0;

	if (host_port != NULL) {
		colon = strrchr(host_port, ':');
		if (colon == NULL || colon == host_port ||
		    !num_valid(colon + 1, 1, 65535, &port))
			return st_fail(cause, ST_E_ARG,
			    "--broker '%s': expected HOST:PORT", host_port);
		free(b->host);
		b->host = xstrndup(host_port, (size_t)(colon - host_port));
		b->port = (int)port;
		/* The name checked in the broker certificate follows the host
		 * given on the command line. */
		free(b->server_name);
		b->server_name = xstrdup(b->host);
	}
	if (ca_file != NULL) {
		free(b->ca_file);
		b->ca_file = xstrdup(ca_file);
	}
	if (b->host != NULL && b->ca_file == NULL)
		return st_fail(cause, ST_E_ARG,
		    "a broker needs its CA: give --broker-ca FILE");
	if (b->host == NULL && b->ca_file != NULL)
		return st_fail(cause, ST_E_ARG,
		    "--broker-ca without a broker: give --broker HOST:PORT");
	config_smoke_defaults(cfg);
	return ST_OK;
}

void
config_smoke_defaults(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		if (!cfg->profiles[i].smoke_given)
			cfg->profiles[i].smoke_required =
			    cfg->broker.host != NULL;
	}
}

int
config_demo_asked(int demo)
{
	const char *env = getenv("STATION_DEMO");

	return demo || (env != NULL && strcmp(env, "1") == 0);
}

st_err
config_find(const char *given, int demo, struct config **out, char **cause)
{
	const char *env = getenv("STATION_CONFIG");
	st_err err;

	*out = NULL;
	if (given != NULL && demo)
		return st_fail(cause, ST_E_ARG,
		    "--demo runs on the embedded defaults and --config on a "
		    "file: give one of them");
	if (given != NULL)
		return config_load(given, out, cause);
	if (config_demo_asked(demo)) {
		*out = config_default(NULL);
		(*out)->demo = 1;
		return ST_OK;
	}
	if (env != NULL && env[0] != '\0') {
		err = config_load(env, out, cause);
		if (err)
			return st_wrap(cause, err, "$STATION_CONFIG");
		return ST_OK;
	}
	if (access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		return config_load(CONFIG_DEFAULT_PATH, out, cause);
	/* Never a silent station on whatever ./var happens to be: the
	 * embedded defaults make a TEST CA and run with no broker. */
	return st_fail(cause, ST_E_CONFIG,
	    "no configuration: no --config given, $STATION_CONFIG not set, "
	    "and %s: %s: install the station ('make install' puts an "
	    "example there; docs/admin.md, \"Installing\") and edit it, "
	    "give --config FILE, or try the simulated demo with 'station "
	    "--demo COMMAND' (embedded defaults: a TEST CA, no broker)",
	    CONFIG_DEFAULT_PATH, strerror(errno));
}
