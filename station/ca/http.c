/* HTTPS requests for the remote CA backends (see http.h). */
#include "station/ca/http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/util/dlib.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "http"
#include "station/util/log.h"

#define BACKOFF_FIRST_MS 200

/*
 * libcurl, loaded on first use (station/util/dlib.h): a station on the
 * local CA never pays for it and its dependencies (gnutls, krb5, ldap...).  Each pointer has
 * the prototype of curl.h.  curl_easy_setopt and curl_easy_getinfo are
 * variadic and are called through pointers of their variadic type
 * (curl's gcc type checks, macros around the direct calls, do not apply
 * through a pointer: keep the argument types as curl.h documents them).
 */
static struct {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_free) *free;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_header) *easy_header;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_getdate) *getdate;
} curl;

/* A row of curl_syms: the name in libcurl, the pointer it fills. */
#define CURL_SYM(f) "curl_" #f, (void **)&curl.f
static const struct dlib_sym curl_syms[] = {
	{ CURL_SYM(global_init) },
	{ CURL_SYM(easy_strerror) },
	{ CURL_SYM(url) },
	{ CURL_SYM(url_set) },
	{ CURL_SYM(url_get) },
	{ CURL_SYM(url_cleanup) },
	{ CURL_SYM(free) },
	{ CURL_SYM(easy_init) },
	{ CURL_SYM(easy_setopt) },
	{ CURL_SYM(easy_perform) },
	{ CURL_SYM(easy_getinfo) },
	{ CURL_SYM(easy_header) },
	{ CURL_SYM(easy_cleanup) },
	{ CURL_SYM(slist_append) },
	{ CURL_SYM(slist_free_all) },
	{ CURL_SYM(getdate) },
	{ NULL, NULL },
};

/* curl_global_init is not thread-safe: dlib_load runs it under its lock,
 * once, before any other call. */
static st_err
curl_start(char **cause)
{
	CURLcode rc = curl.global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		return st_fail(cause, ST_E_CA, "libcurl failed to start: %s",
		    curl.easy_strerror(rc));
	return ST_OK;
}

static struct dlib curl_lib = { .soname = "libcurl.so.4",
	.package = "libcurl4",
	.syms = curl_syms,
	.init = curl_start };

static st_err
parse_ms(const char *key, const char *v, long min, long max, int *out,
    char **cause)
{
	long long n;

	if (v == NULL)
		return ST_OK;
	/* No sign: a negative number is refused whatever min says. */
	if (v[0] == '-' || !num_valid(v, min, max, &n))
		return st_fail(cause, ST_E_CONFIG,
		    "[ca] %s = '%s': expected "
		    "an integer %ld..%ld",
		    key, v, min, max);
	*out = (int)n;
	return ST_OK;
}

/* A SHA-256 pin is 32 bytes in base64: 43 characters and one '='. */
static int
pin_is_valid(const char *b64)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";

	return strlen(b64) == 44 && strspn(b64, alphabet) == 43 &&
	    b64[43] == '=';
}

st_err
http_opts_load(const struct ca_settings *s, struct http_opts *o, char **cause)
{
	const char *bundle = ca_settings_get(s, "ca_bundle");
	const char *pin = ca_settings_get(s, "pin_sha256");
	st_err err;

	memset(o, 0, sizeof *o);
	o->timeout_ms = HTTP_TIMEOUT_DEFAULT_MS;
	o->retries = HTTP_RETRIES_DEFAULT;
	err = parse_ms("timeout_ms", ca_settings_get(s, "timeout_ms"), 1,
	    3600000, &o->timeout_ms, cause);
	if (err)
		return err;
	err = parse_ms("retries", ca_settings_get(s, "retries"), 0,
	    HTTP_RETRIES_MAX, &o->retries, cause);
	if (err)
		return err;
	if (pin != NULL) {
		const char *b64 =
		    strncmp(pin, "sha256//", 8) == 0 ? pin + 8 : pin;

		if (!pin_is_valid(b64))
			return st_fail(cause, ST_E_CONFIG,
			    "[ca] pin_sha256 = "
			    "'%s': expected the base64 SHA-256 of the server's "
			    "public key (44 characters)",
			    pin);
		o->pin = xasprintf("sha256//%s", b64);
	}
	if (bundle != NULL)
		o->ca_bundle = xstrdup(bundle);
	return ST_OK;
}

void
http_opts_clear(struct http_opts *o)
{
	if (o == NULL)
		return;
	free(o->ca_bundle);
	free(o->pin);
	memset(o, 0, sizeof *o);
}

st_err
http_check_addr(const char *key, const char *addr, char **cause)
{
	CURLU *u = NULL;
	char *scheme = NULL, *user = NULL, *query = NULL, *frag = NULL;
	char *host = NULL;
	st_err err;

	/* The backends check their address when they open, at the station's
	 * start: a missing libcurl is reported there, not at the first run. */
	err = dlib_load(&curl_lib, cause);
	if (err)
		return err;
	u = curl.url();
	if (u == NULL || curl.url_set(u, CURLUPART_URL, addr, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err = st_fail(cause, ST_E_CONFIG, "[ca] %s = '%s': not a URL",
		    key, addr);
		goto out;
	}
	/* Plain http would carry the CA credentials in clear: refused, even
	 * to loopback (the test servers speak TLS too). */
	if (strcmp(scheme, "https") != 0) {
		err = st_fail(cause, ST_E_CONFIG,
		    "[ca] %s = '%s': only "
		    "https:// is accepted",
		    key, addr);
		goto out;
	}
	curl.url_get(u, CURLUPART_USER, &user, 0);
	curl.url_get(u, CURLUPART_QUERY, &query, 0);
	curl.url_get(u, CURLUPART_FRAGMENT, &frag, 0);
	if (user != NULL || query != NULL || frag != NULL)
		err = st_fail(cause, ST_E_CONFIG,
		    "[ca] %s: credentials, "
		    "queries and fragments do not belong in the address "
		    "(use token_file or token_env)",
		    key);
out:
	curl.free(scheme);
	curl.free(user);
	curl.free(query);
	curl.free(frag);
	curl.free(host);
	curl.url_cleanup(u);
	return err;
}

struct sink {
	char *buf;
	size_t len, cap;
	int overflow;
};

static size_t
sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > HTTP_REPLY_MAX - s->len) {
		s->overflow = 1;
		return 0; /* curl aborts the transfer */
	}
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n + 1) * 2;
		s->buf = xrealloc(s->buf, s->cap);
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int
status_is_transient(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static int
curl_is_transient(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static int
curl_is_tls(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION ||
	    rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR ||
	    rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
	    rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

/* The cause for a transfer that got no reply.  errbuf is curl's detail:
 * it names the host and the TLS problem, never a header value. */
static st_err
transfer_error(CURLcode rc, const char *errbuf, const char *method,
    const char *url, const struct sink *sink, char **cause)
{
	const char *detail = errbuf[0] ? errbuf : curl.easy_strerror(rc);

	if (sink->overflow)
		return st_fail(cause, ST_E_CA,
		    "%s %s: reply larger than %d "
		    "bytes",
		    method, url, HTTP_REPLY_MAX);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return st_fail(cause, ST_E_TIMEOUT,
		    "%s %s: no reply within "
		    "the deadline (%s)",
		    method, url, detail);
	if (rc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return st_fail(cause, ST_E_CA,
		    "%s %s: TLS verification "
		    "failed: the server's public key does not match "
		    "pin_sha256",
		    method, url);
	if (curl_is_tls(rc))
		return st_fail(cause, ST_E_CA,
		    "%s %s: TLS verification of "
		    "the server failed: %s",
		    method, url, detail);
	return st_fail(cause, ST_E_HANGUP, "%s %s: %s", method, url, detail);
}

static CURL *
make_handle(const struct http_opts *o, const char *method, const char *url,
    struct curl_slist *hl, const char *body, struct sink *sink, char *errbuf)
{
	CURL *h = curl.easy_init();

	if (h == NULL)
		return NULL;
	curl.easy_setopt(h, CURLOPT_URL, url);
	curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl.easy_setopt(h, CURLOPT_PROXY, ""); /* no proxy from the env */
	curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl.easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca_bundle)
		curl.easy_setopt(h, CURLOPT_CAINFO, o->ca_bundle);
	if (o->pin)
		curl.easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, o->pin);
	curl.easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl.easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl.easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
	curl.easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl.easy_setopt(h, CURLOPT_USERAGENT, "station");
	return h;
}

static struct curl_slist *
make_headers(const struct http_header *hdrs, size_t n)
{
	struct curl_slist *hl = NULL;

	hl = curl.slist_append(hl, "Content-Type: application/json");
	hl = curl.slist_append(hl, "Accept: application/json");
	hl = curl.slist_append(hl, "Expect:");
	for (size_t i = 0; i < n; i++) {
		char *line = xasprintf("%s: %s", hdrs[i].name, hdrs[i].value);

		hl = curl.slist_append(hl, line);
		OPENSSL_cleanse(line, strlen(line));
		free(line);
	}
	return hl;
}

/* Header lines may hold a token: wipe them before they are freed. */
static void
free_headers(struct curl_slist *hl)
{
	for (struct curl_slist *p = hl; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl.slist_free_all(hl);
}

/* The reply's Date header in unix seconds, 0 when absent or unreadable:
 * the station's clock check compares it with its own (issue 15). */
static long long
reply_date(CURL *h)
{
	struct curl_header *hd = NULL;
	time_t t;

	if (curl.easy_header(h, "Date", 0, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return 0;
	t = curl.getdate(hd->value, NULL);
	return t > 0 ? (long long)t : 0;
}

/* One attempt.  *rc_out is curl's verdict; on CURLE_OK, *out holds the
 * reply. */
static st_err
attempt(const struct http_opts *o, const char *method, const char *url,
    struct curl_slist *hl, const char *body, int left_ms,
    struct http_reply *out, CURLcode *rc_out, char **cause)
{
	struct sink sink = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = make_handle(o, method, url, hl, body, &sink, errbuf);
	st_err err = ST_OK;

	if (h == NULL)
		return st_fail(cause, ST_E_NOMEM, "cannot start a request");
	curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
	curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)left_ms);
	*rc_out = curl.easy_perform(h);
	if (*rc_out != CURLE_OK) {
		err =
		    transfer_error(*rc_out, errbuf, method, url, &sink, cause);
		free(sink.buf);
		goto out;
	}
	curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	out->body = sink.buf ? sink.buf : xstrdup("");
	out->len = sink.len;
out:
	curl.easy_cleanup(h);
	return err;
}

st_err
http_call(const struct http_opts *o, const char *method, const char *url,
    const struct http_header *hdrs, size_t n_hdrs, const char *body,
    struct deadline dl, struct http_reply *out, char **cause)
{
	struct deadline cap = deadline_in((uint64_t)o->timeout_ms);
	struct curl_slist *hl = NULL;
	int backoff = BACKOFF_FIRST_MS;
	st_err err;

	memset(out, 0, sizeof *out);
	err = dlib_load(&curl_lib, cause);
	if (err)
		return err;
	err = ST_E_TIMEOUT; /* what the loop reports if no attempt runs */
	dl = dl.at_ms == 0 ? cap : deadline_min(dl, cap);
	hl = make_headers(hdrs, n_hdrs);
	for (int i = 0; i <= o->retries; i++) {
		CURLcode rc = CURLE_OK;
		int left = deadline_left_ms(dl);

		if (left <= 0) {
			if (err == ST_E_TIMEOUT)
				st_fail(cause, ST_E_TIMEOUT,
				    "%s %s: deadline "
				    "passed",
				    method, url);
			break;
		}
		http_reply_clear(out);
		err = attempt(o, method, url, hl, body, left, out, &rc, cause);
		if (err == ST_OK)
			log_debug("%s %s: HTTP %ld (%zu bytes)", method, url,
			    out->status, out->len);
		int again = err ? curl_is_transient(rc) :
				  status_is_transient(out->status);
		if (!again || i == o->retries)
			break;
		if (backoff >= deadline_left_ms(dl))
			break; /* keep what we have: no time to retry */
		log_info("%s %s: %s; retrying in %d ms", method, url,
		    err ? "unreachable" : "server busy", backoff);
		sleep_ms(backoff);
		backoff *= 2;
	}
	free_headers(hl);
	if (err)
		http_reply_clear(out);
	return err;
}

void
http_reply_clear(struct http_reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof *r);
}

st_err
http_server_date(const struct http_opts *o, const char *url, struct deadline dl,
    long long *date, char **cause)
{
	struct deadline cap = deadline_in((uint64_t)o->timeout_ms);
	struct sink sink = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = NULL;
	CURLcode rc;
	st_err err = ST_OK;

	*date = 0;
	err = dlib_load(&curl_lib, cause);
	if (err)
		return err;
	dl = dl.at_ms == 0 ? cap : deadline_min(dl, cap);
	if (deadline_passed(dl))
		return st_fail(cause, ST_E_TIMEOUT, "GET %s: deadline passed",
		    url);
	h = make_handle(o, "GET", url, NULL, NULL, &sink, errbuf);
	if (h == NULL)
		return st_fail(cause, ST_E_NOMEM, "cannot start a request");
	curl.easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)deadline_left_ms(dl));
	curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)deadline_left_ms(dl));
	rc = curl.easy_perform(h);
	if (rc != CURLE_OK)
		err = transfer_error(rc, errbuf, "GET", url, &sink, cause);
	else
		*date = reply_date(h);
	free(sink.buf);
	curl.easy_cleanup(h);
	return err;
}
