/*
 * What the CSR policy (csr_policy.c) and the certificate checks
 * (cert_check.c) share: refusing a named rule, and comparing a subject
 * with the DN the profile expects.
 */
#ifndef ST_POLICY_RULE_H
#define ST_POLICY_RULE_H

#include <openssl/x509.h>

#include "station/util/err.h"

/* Fail rule `id` (*rule = id) with ST_E_POLICY and a formatted cause.
 * OpenSSL's error queue is cleared so that it does not leak into an
 * unrelated later message. */
st_err policy_refuse(const char **rule, const char *id, char **cause,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Is `have` the name `want` (NULL: the DN string `expected` parsed)?
 * Otherwise refuse rule `id` with "<whose> subject is '<have>';
 * expected '<expected>'" (`have` shown escaped: it came from outside).
 * ST_E_ARG when `want` is NULL and `expected` does not parse. */
st_err policy_subject_is(const X509_NAME *have, const X509_NAME *want,
    const char *expected, const char *whose, const char *id, const char **rule,
    char **cause);

#endif
