/* The station's start check (station.h, station_preflight): what every
 * run will need from outside, asked once before any device is touched. */
#include "station/pipeline/station.h"

#include <openssl/x509v3.h>
#include <stdlib.h>

#include "station/ca/ca.h"
#include "station/ca/http.h"
#include "station/config/config.h"
#include "station/pipeline/broker_cert.h"
#include "station/util/clock.h"
#include "station/util/xalloc.h"

/* 1 when some profile requires the smoke test. */
static int
smoke_required(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->n_profiles; i++) {
		if (cfg->profiles[i].smoke_required)
			return 1;
	}
	return 0;
}

/* As the smoke test checks it: an address as an address, else a name
 * (no partial wildcards). */
static int
cert_is_for(X509 *leaf, const char *name)
{
	int ip = X509_check_ip_asc(leaf, name, 0);

	if (ip >= 0)
		return ip == 1;
	return X509_check_host(leaf, name, 0,
		   X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* The broker answers a TLS handshake with a certificate from its CA, for
 * the name the smoke test checks. */
static st_err
check_broker(const struct station *st, char **cause)
{
	const struct config *cfg = st->cfg;
	const struct config_broker *b = &cfg->broker;
	const char *name = b->server_name ? b->server_name : b->host;
	char *why = NULL;
	X509 *leaf;
	st_err err = ST_OK;

	leaf = broker_cert_get(st->broker_memo, b,
	    deadline_in((uint64_t)cfg->step_timeout_ms), &why);
	if (leaf != NULL && !cert_is_for(leaf, name))
		why =
		    xasprintf("its certificate is not for the name '%s'", name);
	if (why != NULL)
		err = st_fail(cause, ST_E_CONFIG,
		    "start check: the smoke test's broker %s:%d does not "
		    "answer a TLS handshake with its CA %s: %s.  No device "
		    "was touched: start the broker or fix [broker] (host, "
		    "port, ca, server_name), or set smoke = optional in the "
		    "profile to provision without it",
		    b->host, b->port, b->ca_file ? b->ca_file : "(none)", why);
	X509_free(leaf);
	free(why);
	return err;
}

/* A remote CA answers one request (its HTTP Date, any status). */
static st_err
check_remote_ca(const struct config *cfg, char **cause)
{
	struct ca_settings s = { .dir = cfg->ca_dir, .extra = cfg->ca_extra };
	const char *addr = ca_settings_get(&s, "addr");
	struct http_opts o = { 0 };
	long long date = 0;
	char *why = NULL;
	st_err err;

	if (addr == NULL)
		return ST_OK;
	err = http_opts_load(&s, &o, &why);
	if (err == ST_OK)
		err = http_server_date(&o, addr,
		    deadline_in((uint64_t)cfg->step_timeout_ms), &date, &why);
	if (err)
		err = st_fail(cause, ST_E_CA,
		    "start check: the %s CA at %s does not answer: %s.  No "
		    "device was touched: check that it runs and that the "
		    "station reaches it ([ca] addr, ca_bundle), then start "
		    "again",
		    cfg->ca_backend, addr, why ? why : "no reply");
	http_opts_clear(&o);
	free(why);
	return err;
}

st_err
station_preflight(const struct station *st, char **cause)
{
	const struct config *cfg = st->cfg;
	st_err err;

	if (cfg->broker.host != NULL && smoke_required(cfg)) {
		err = check_broker(st, cause);
		if (err)
			return err;
	}
	/* The local CA's key was loaded and matched to its certificate
	 * (a token's: logged in) when station_open opened it. */
	if (!ca_backend_is_made_here(cfg->ca_backend))
		return check_remote_ca(cfg, cause);
	return ST_OK;
}
