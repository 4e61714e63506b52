/*
 * CA credentials (Vault tokens, AppRole ids, CFSSL HMAC keys, hub tokens):
 * read from a file that only its owner may read, or from an environment
 * variable whose name the configuration gives.  A secret never appears in
 * the configuration file itself, in a log line or in a cause.
 */
#ifndef ST_CA_CRED_H
#define ST_CA_CRED_H

#include "station/util/err.h"
#include "station/ca/ca.h"

#define CRED_MAX 4096 /* bytes of one secret */

/*
 * Read the secret in `path` (surrounding white space removed) into *out
 * (free with cred_free).  ST_E_CONFIG when the file is readable or
 * writable by group or others (the cause names the file and its mode),
 * is not a regular file, is empty or is larger than CRED_MAX; ST_E_IO when
 * it cannot be read.
 */
st_err cred_read_file(const char *path, char **out, char **cause);

/*
 * The secret configured by the setting `file_key` (a file, see above) or
 * `env_key` (the name of an environment variable).  Both set: ST_E_CONFIG.
 * Neither set: ST_OK with *out = NULL; the caller decides whether the
 * secret is optional.  An env variable that is unset or empty: ST_E_CONFIG.
 */
st_err cred_from_settings(const struct ca_settings *s, const char *file_key,
    const char *env_key, char **out, char **cause);

/* Wipe and free a secret (accepts NULL). */
void cred_free(char *secret);

/* Overwrite every occurrence of `secret` in `text` with '*' (defence in
 * depth for messages quoted from a server).  Either may be NULL. */
void cred_scrub(char *text, const char *secret);

#endif
