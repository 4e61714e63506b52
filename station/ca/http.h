/*
 * The one HTTP client of the remote CA backends (vault, cfssl, hub), on
 * libcurl.  What it guarantees, so the backends need not:
 *
 *	- https only; the server certificate is always verified (chain and
 *	  host name), against `ca_bundle` if set, else the system store;
 *	  optionally pinned by the SHA-256 of its public key (`pin_sha256`);
 *	- no redirects, no proxies from the environment, no other protocol;
 *	- every attempt bounded by the caller's deadline and `timeout_ms`;
 *	- retries (at most `retries`, exponential backoff from 200 ms) only
 *	  where the request cannot have been acted on or the server said to
 *	  come back: connection refused or unresolvable, HTTP 429/502/503/504;
 *	  never after a timeout or a 4xx refusal;
 *	- replies capped at HTTP_REPLY_MAX bytes;
 *	- nothing about a request is logged but its method, URL and status;
 *	  header values and bodies (tokens, HMACs) never reach a log or a
 *	  cause.  URLs carry no credentials (http_check_addr refuses them).
 *
 * libcurl is loaded on first use (station/util/dlib.h): every function
 * below that talks HTTP or parses a URL loads it first, and fails with
 * ST_E_CONFIG naming libcurl.so.4 and 'apt-get install libcurl4' where it
 * is missing.  The backends call http_check_addr when they open, so that
 * happens at the station's start.
 */
#ifndef ST_CA_HTTP_H
#define ST_CA_HTTP_H

#include <stddef.h>

#include "station/util/clock.h"
#include "station/util/err.h"
#include "station/ca/ca.h"

#define HTTP_REPLY_MAX (256 * 1024)
#define HTTP_TIMEOUT_DEFAULT_MS 10000
#define HTTP_RETRIES_DEFAULT 2
#define HTTP_RETRIES_MAX 10

struct http_opts {
	char *ca_bundle; /* PEM file of trusted CAs; NULL: system store */
	char *pin;	 /* "sha256//BASE64" for curl, or NULL */
	int timeout_ms;	 /* cap of one call when the caller has no sooner
	                     deadline */
	int retries;	 /* extra attempts on transient failures */
};

/*
 * Fill `o` from the settings ca_bundle, pin_sha256, timeout_ms, retries
 * (defaults above).  ST_E_CONFIG naming the key on a bad value.  Free with
 * http_opts_clear.
 */
st_err http_opts_load(const struct ca_settings *s, struct http_opts *o,
    char **cause);
void http_opts_clear(struct http_opts *o);

/*
 * Check a CA address ("https://host[:port][/prefix]"): https only, no
 * user:password@, no query or fragment.  `key` names the setting in the
 * message.
 */
st_err http_check_addr(const char *key, const char *addr, char **cause);

struct http_header {
	const char *name;
	const char *value; /* may be a credential: never logged */
};

struct http_reply {
	long status;
	char *body; /* NUL-terminated (owned) */
	size_t len;
};

/*
 * One request: `method` ("POST", "DELETE"), `url`, `n_hdrs` headers,
 * `body` (JSON, may be NULL) sent with Content-Type: application/json.
 * ST_OK once an HTTP reply arrived, whatever its status (the backend
 * reads it): *out is filled (free with http_reply_clear).  Otherwise
 * ST_E_TIMEOUT (deadline), ST_E_HANGUP (unreachable, connection lost),
 * ST_E_CA (TLS verification or pin failed, reply too big), with a cause
 * naming the URL.
 */
st_err http_call(const struct http_opts *o, const char *method, const char *url,
    const struct http_header *hdrs, size_t n_hdrs, const char *body,
    struct deadline dl, struct http_reply *out, char **cause);
void http_reply_clear(struct http_reply *r);

/*
 * The server's clock: one GET of `url` (any status will do), bounded like
 * http_call but never retried; *date receives its Date header in unix
 * seconds, 0 when it sent none.  Errors as http_call's.  For the
 * station's clock check (station/pipeline/clock_check.h).
 */
st_err http_server_date(const struct http_opts *o, const char *url,
    struct deadline dl, long long *date, char **cause);

#endif
