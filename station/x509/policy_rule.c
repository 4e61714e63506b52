/* Rule refusals and the subject comparison (see policy_rule.h). */
#include "station/x509/policy_rule.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>

#include "station/x509/dn.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

st_err
policy_refuse(const char **rule, const char *id, char **cause, const char *fmt,
    ...)
{
	va_list ap;
	char *msg;

	*rule = id;
	ERR_clear_error();
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	st_fail(cause, ST_E_POLICY, "%s", msg);
	free(msg);
	return ST_E_POLICY;
}

st_err
policy_subject_is(const X509_NAME *have, const X509_NAME *want,
    const char *expected, const char *whose, const char *id, const char **rule,
    char **cause)
{
	X509_NAME *parsed = NULL;
	st_err err = ST_OK;

	if (want == NULL) {
		err = dn_parse(expected, &parsed, cause);
		if (err)
			return st_wrap(cause, ST_E_ARG, "the expected subject");
		want = parsed;
	}
	if (!dn_equal(have, want)) {
		char *h = dn_format(have);
		char *shown = text_escape(h, 256);

		err = policy_refuse(rule, id, cause,
		    "%s subject is '%s'; "
		    "expected '%s'",
		    whose, shown, expected);
		free(shown);
		free(h);
	}
	X509_NAME_free(parsed);
	return err;
}
