/* Rule refusals and the subject comparison (see policy_rule.h). */
#include "policy_rule.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>

#include "dn.h"
#include "util/xalloc.h"

st_err
policy_refuse(const char **rule, const char *id, char **cause,
    const char *fmt, ...)
{
	va_list ap;

	*rule = id;
	ERR_clear_error();
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	st_fail(cause, ST_E_POLICY, "%s", msg);
	free(msg);
	return ST_E_POLICY;
}

st_err
policy_subject_is(const X509_NAME *have, const char *expected,
    const char *whose, const char *id, const char **rule, char **cause)
{
	X509_NAME *want = NULL;
	st_err err = dn_parse(expected, &want, cause);

	if (err)
		return st_wrap(cause, ST_E_ARG, "the expected subject");
	if (X509_NAME_cmp(have, want) != 0) {
		char *h = dn_format(have);

		err = policy_refuse(rule, id, cause, "%s subject is '%s'; "
		    "expected '%s'", whose, h, expected);
		free(h);
	}
	X509_NAME_free(want);
	return err;
}
