/* The transport table and device-URI helpers (see transport.h). */
#include "drivers/transport/transport.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"

/* Explicit registration: adding a transport means adding a line here. */
const struct transport_ops *const transport_table[] = {
	&transport_tcp_ops,
	&transport_uart_ops,
	&transport_usb_ops,
	&transport_rfc2217_ops,
	NULL,
};

static void
known_schemes(char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; transport_table[i] != NULL; i++) {
		const char *s = transport_table[i]->scheme;
		size_t n = strlen(s);

		if (used + n + 3 >= cap)
			break;
		if (used) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		memcpy(buf + used, s, n + 1);
		used += n;
	}
}

/* The transport of `uri`'s scheme; *spec is what follows "scheme:". */
static st_err
transport_find(const char *uri, const struct transport_ops **ops,
    const char **spec, char **cause)
{
	const char *colon = strchr(uri, ':');
	char known[128];

	known_schemes(known, sizeof known);
	if (colon == NULL || colon == uri)
		return st_fail(cause, ST_E_URI,
		    "device URI '%s' has no scheme (expected e.g. "
		    "tcp:127.0.0.1:4000 or uart:/dev/ttyUSB0; known: %s)",
		    uri, known);
	for (size_t i = 0; transport_table[i] != NULL; i++) {
		if (strlen(transport_table[i]->scheme) ==
			(size_t)(colon - uri) &&
		    strncmp(transport_table[i]->scheme, uri,
			(size_t)(colon - uri)) == 0) {
			*ops = transport_table[i];
			*spec = colon + 1;
			return ST_OK;
		}
	}
	return st_fail(cause, ST_E_URI,
	    "unknown scheme '%.*s' in '%s' (known: %s)", (int)(colon - uri),
	    uri, uri, known);
}

st_err
transport_open(const char *uri, struct deadline dl, struct transport **out,
    char **cause)
{
	const struct transport_ops *ops;
	const char *spec;
	st_err err;

	*out = NULL;
	err = transport_find(uri, &ops, &spec, cause);
	if (err)
		return err;
	err = ops->open(spec, dl, out, cause);
	if (err)
		return st_wrap(cause, err, "opening %s", uri);
	return ST_OK;
}

st_err
transport_check(const char *uri, char **cause)
{
	const struct transport_ops *ops;
	const char *spec;
	st_err err;

	err = transport_find(uri, &ops, &spec, cause);
	if (err)
		return err;
	err = ops->check(spec, cause);
	if (err)
		return st_wrap(cause, err, "device URI %s", uri);
	return ST_OK;
}

st_err
transport_prepare(const char *uri, char **cause)
{
	const struct transport_ops *ops;
	const char *spec;
	st_err err;

	err = transport_find(uri, &ops, &spec, cause);
	if (err || ops->prepare == NULL)
		return err;
	return ops->prepare(cause);
}

void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	char *uri = t->uri, *describe = t->describe;

	t->ops->close(t);
	free(uri);
	free(describe);
}

void
transport_init(struct transport *t, const struct transport_ops *ops,
    const char *scheme, const char *spec)
{
	t->ops = ops;
	t->uri = xasprintf("%s:%s", scheme, spec);
	t->describe = NULL;
	t->baud = 0;
	t->max_baud = 0;
}

st_err
transport_set_baud(struct transport *t, unsigned baud, char **cause)
{
	st_err err;

	if (t->ops->set_baud == NULL || t->max_baud == 0)
		return st_fail(cause, ST_E_UNSUPPORTED,
		    "%s offers no baud switch (add max_baud= to the device URI)",
		    t->uri);
	if (baud == 0 || baud > t->max_baud)
		return st_fail(cause, ST_E_ARG,
		    "baud %u is outside 1..%u (max_baud)", baud, t->max_baud);
	err = t->ops->set_baud(t, baud, cause);
	if (err)
		return err;
	t->baud = baud;
	return ST_OK;
}

char *
transport_split_query(const char *spec, const char **query)
{
	const char *q = strchr(spec, '?');

	if (q == NULL) {
		*query = "";
		return xstrdup(spec);
	}
	*query = q + 1;
	return xstrndup(spec, (size_t)(q - spec));
}

char *
transport_query_get(const char *query, const char *key)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
			return xstrndup(p + klen + 1, len - klen - 1);
		if (end == NULL)
			break;
		p = end + 1;
	}
	return NULL;
}

st_err
transport_query_check(const char *query, const char *const *known, char **cause)
{
	const char *p = query;

	while (*p != '\0') {
		const char *end = strchr(p, '&');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;
		int ok = 0;

		for (size_t i = 0; known[i] != NULL; i++) {
			if (strlen(known[i]) == klen &&
			    strncmp(known[i], p, klen) == 0)
				ok = 1;
		}
		if (!ok || eq == NULL)
			return st_fail(cause, ST_E_URI, "%s option '%.*s'",
			    ok ? "no value for" : "unknown", (int)len, p);
		if (end == NULL)
			break;
		p = end + 1;
	}
	return ST_OK;
}

/* One rate option: absent leaves *out alone. */
static st_err
query_rate(const char *query, const char *key, unsigned *out, char **cause)
{
	char *v = transport_query_get(query, key);
	long long b;
	st_err err = ST_OK;

	if (v == NULL)
		return ST_OK;
	if (!num_valid(v, 1, 4000000, &b))
		err = st_fail(cause, ST_E_URI,
		    "option %s: '%s' is not a baud rate (1..4000000)", key, v);
	else
		*out = (unsigned)b;
	free(v);
	return err;
}

st_err
transport_query_rates(const char *query, unsigned *baud, unsigned *max_baud,
    char **cause)
{
	char *given = transport_query_get(query, "baud");
	st_err err;

	*max_baud = 0;
	err = query_rate(query, "baud", baud, cause);
	if (err == ST_OK)
		err = query_rate(query, "max_baud", max_baud, cause);
	if (err == ST_OK && *max_baud != 0 && given == NULL)
		err = st_fail(cause, ST_E_URI,
		    "option max_baud needs baud= too (the rate the link "
		    "starts at)");
	if (err == ST_OK && *max_baud != 0 && *max_baud < *baud)
		err = st_fail(cause, ST_E_URI,
		    "option max_baud: %u is below baud %u", *max_baud, *baud);
	free(given);
	return err;
}
