/* The error-kind table and the cause-string helpers (see err.h). */
#include "station/util/err.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"

static const struct {
	const char *text;
	const char *name;
} err_table[ST_E__COUNT] = {
	[ST_OK] = { "success", "ok" },
	[ST_E_NOMEM] = { "out of memory", "nomem" },
	[ST_E_ARG] = { "invalid argument", "arg" },
	[ST_E_IO] = { "input/output error", "io" },
	[ST_E_TIMEOUT] = { "timed out", "timeout" },
	[ST_E_HANGUP] = { "connection lost", "hangup" },
	[ST_E_URI] = { "bad device URI", "uri" },
	[ST_E_FRAME] = { "bad frame", "frame" },
	[ST_E_PROTO] = { "protocol error", "protocol" },
	[ST_E_DEVICE] = { "device reported an error", "device" },
	[ST_E_UNSUPPORTED] = { "not supported", "unsupported" },
	[ST_E_CONFIG] = { "configuration error", "config" },
	[ST_E_CRYPTO] = { "cryptographic error", "crypto" },
	[ST_E_POLICY] = { "refused by policy", "policy" },
	[ST_E_CA] = { "certificate authority error", "ca" },
	[ST_E_DB] = { "ledger error", "ledger" },
	[ST_E_STATE] = { "not allowed in this state", "state" },
	[ST_E_NOTFOUND] = { "not found", "notfound" },
	[ST_E_EXISTS] = { "already exists", "exists" },
	[ST_E_MISMATCH] = { "mismatch", "mismatch" },
	[ST_E_ABORTED] = { "aborted by operator", "aborted" },
};

const char *
st_strerror(st_err err)
{
	if ((unsigned)err >= ST_E__COUNT)
		return "unknown error";
	return err_table[err].text;
}

const char *
st_errname(st_err err)
{
	if ((unsigned)err >= ST_E__COUNT)
		return "unknown";
	return err_table[err].name;
}

st_err
st_fail(char **cause, st_err err, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (cause == NULL)
		return err;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	free(*cause);
	*cause = msg;
	return err;
}

st_err
st_wrap(char **cause, st_err err, const char *fmt, ...)
{
	va_list ap;
	char *ctx, *msg;

	if (cause == NULL)
		return err;
	va_start(ap, fmt);
	ctx = xvasprintf(fmt, ap);
	va_end(ap);
	msg = xasprintf("%s: %s", ctx, *cause ? *cause : st_strerror(err));
	free(ctx);
	free(*cause);
	*cause = msg;
	return err;
}

st_err
st_fail_ssl(char **cause, st_err err, const char *fmt, ...)
{
	va_list ap;
	char reasons[512] = "";
	char one[256];
	char *ctx, *msg;
	size_t used = 0;
	unsigned long e;
	int n;

	/* Drain the whole queue so a later failure does not report ours. */
	for (;;) {
		e = ERR_get_error();
		if (e == 0)
			break;
		ERR_error_string_n(e, one, sizeof one);
		n = snprintf(reasons + used, sizeof reasons - used, "%s%s",
		    used ? "; " : "", one);
		if (n > 0 && (size_t)n < sizeof reasons - used)
			used += (size_t)n;
	}
	if (cause == NULL)
		return err;
	va_start(ap, fmt);
	ctx = xvasprintf(fmt, ap);
	va_end(ap);
	msg = used ? xasprintf("%s: %s", ctx, reasons) : xstrdup(ctx);
	free(ctx);
	free(*cause);
	*cause = msg;
	return err;
}
