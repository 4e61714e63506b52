/*
 * Distinguished names as the station writes them in profiles and sends to
 * devices: "C=US,O=Example-Org,OU=IoT-Device,CN=SN0001" — comma-separated
 * attribute=value pairs in order, most significant first, the same string
 * form mbedTLS's x509write_csr_set_subject_name() and `openssl req -subj`
 * (with commas) accept.  Values may not contain ',', '=', '+', '\\', '"'
 * or control characters: there is no escaping, so there is nothing to
 * get wrong.
 */
#ifndef ST_DN_H
#define ST_DN_H

#include <openssl/x509.h>

#include "util/err.h"

/* Parse into a new X509_NAME (caller frees).  ST_E_POLICY names the bad
 * part: unknown attribute, empty value, forbidden character, too long. */
st_err dn_parse(const char *text, X509_NAME **out, char **cause);

/* One-line form of a name in the same syntax (caller frees). */
char *dn_format(const X509_NAME *name);

#endif
