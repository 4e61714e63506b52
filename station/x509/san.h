/*
 * subjectAltName sets, as the CSR policy and the certificate checks compare
 * them: DNS names and URIs only, compared byte for byte as sets (order does
 * not matter, duplicates do).
 */
#ifndef ST_SAN_H
#define ST_SAN_H

#include <openssl/x509.h>
#include <stddef.h>

#include "station/util/err.h"

struct san_set {
	char **dns; /* n_dns strings (owned) */
	size_t n_dns;
	char **uri; /* n_uri strings (owned) */
	size_t n_uri;
};

/*
 * Collect the subjectAltName entries of `exts` (may be NULL: empty set).
 * ST_E_POLICY when there is more than one subjectAltName extension, it
 * does not decode, an entry is not DNS/URI, or an entry holds a NUL or
 * control byte.
 */
st_err san_set_from_exts(const STACK_OF(X509_EXTENSION) * exts,
    struct san_set *out, char **cause);

/*
 * Compare `have` with the NULL-terminated lists `dns` and `uri` (either may
 * be NULL: none).  Returns 1 if equal; else 0 and *diff (caller frees) says
 * the first difference ("unexpected SAN DNS:x", "missing SAN URI:y").
 */
int san_set_equal(const struct san_set *have, const char *const *dns,
    const char *const *uri, char **diff);

/* Free the strings and zero the set (accepts a zeroed set). */
void san_set_clear(struct san_set *set);

#endif
