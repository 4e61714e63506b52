/*
 * The names of keyUsage bits and extendedKeyUsage purposes, once: the
 * profile keys (key_usage, eku, allow_key_usage, allow_ext_key_usage)
 * parse them from here, and the certificate checks name an extra usage
 * with them ("keyEncipherment", "serverAuth").
 */
#ifndef ST_USAGE_H
#define ST_USAGE_H

#include "station/util/err.h"

struct usage_name {
	const char *name; /* RFC 5280 / OpenSSL short name */
	unsigned bit;	  /* keyUsage: OpenSSL's KU_* bit (= PROFILE_KU_*);
	                     extendedKeyUsage: a PROFILE_EKU_* bit */
	int nid;	  /* extendedKeyUsage only: the purpose's NID */
};

/* Every keyUsage bit, and the extendedKeyUsage purposes a profile may
 * name; both ended by { NULL }. */
extern const struct usage_name usage_ku[];
extern const struct usage_name usage_eku[];

/*
 * A comma list of names of `table` into a bit mask (*out).  Only names
 * whose bit is in `accepted` are taken; "none" gives 0 when `allow_none`,
 * and only on its own.  ST_E_CONFIG with *why (caller frees) listing the
 * accepted names.
 */
st_err usage_parse(const struct usage_name *table, unsigned accepted,
    int allow_none, const char *value, unsigned *out, char **why);

/* The name of `bit` in `table`, or NULL. */
const char *usage_name_of(const struct usage_name *table, unsigned bit);

#endif
