/*
 * Distinguished names as the station writes them in profiles and sends to
 * devices: "C=US,O=Example-Org,OU=IoT-Device,CN=SN0001" — comma-separated
 * attribute=value pairs in order, most significant first, the same string
 * form mbedTLS's x509write_csr_set_subject_name() and `openssl req -subj`
 * (with commas) accept.  Values may not contain ',', '=', '+', '\\', '"',
 * '<', '>', ';' or control characters: there is no escaping, so there is
 * nothing to get wrong (docs/protocol.md section 8.5).
 *
 * Each attribute has a string type and an upper bound (RFC 5280 appendix
 * A, never more than the wire's 64 bytes): C and serialNumber are
 * PrintableString, DC and emailAddress IA5String, the others UTF8String
 * limited to what the wire allows.  A name is built entry by entry with
 * exactly that type, so the station's expected name and the device's
 * CSR (devsim builds it with dn_parse too) encode the same way.
 */
#ifndef ST_DN_H
#define ST_DN_H

#include <stddef.h>

#include <openssl/x509.h>

#include "station/util/err.h"

#define DN_MAX_LEN 1024 /* the whole subject string on the wire */
#define DN_MAX_VALUE 64 /* one value on the wire, in bytes */

/* One attribute=value pair of a subject string (both owned). */
struct dn_pair {
	char *attr;
	char *value;
};

/*
 * Split "A=v,B=w" into pairs (*pairs, *n; free with dn_pairs_free) without
 * looking at the values beyond the first '=' of each part: a value may
 * still be a template.  ST_E_POLICY names the bad part: empty subject,
 * longer than DN_MAX_LEN, a part without attribute=value, an unknown
 * attribute.
 */
st_err dn_split(const char *text, struct dn_pair **pairs, size_t *n,
    char **cause);
void dn_pairs_free(struct dn_pair *pairs, size_t n);

/* 1 if `attr` is an attribute a device identity may carry ("CN"). */
int dn_attr_known(const char *attr);

/*
 * Can the bytes s[0..len) appear in a value of `attr`?  Checks only the
 * characters (string type, the wire's forbidden characters, UTF-8), not
 * the length, so that a piece of a value can be checked on its own.
 * ST_E_POLICY with *why a short phrase ("',' is not allowed", "'_' is not
 * a PrintableString character", "byte 0x1b is not allowed", "not valid
 * UTF-8").
 */
st_err dn_value_check_chars(const char *attr, const char *s, size_t len,
    char **why);

/* The whole value: dn_value_check_chars plus the attribute's bounds
 * (1..upper bound; C exactly two letters).  ST_E_POLICY, *why a phrase. */
st_err dn_value_check(const char *attr, const char *value, char **why);

/* Append attr=value as its own RDN with the attribute's string type.
 * The value must have passed dn_value_check (ST_E_POLICY otherwise). */
st_err dn_add(X509_NAME *name, const char *attr, const char *value,
    char **cause);

/* Parse into a new X509_NAME (caller frees): dn_split, dn_value_check
 * and dn_add for every pair.  ST_E_POLICY names the bad part. */
st_err dn_parse(const char *text, X509_NAME **out, char **cause);

/*
 * 1 if the two names hold the same attributes in the same RDNs and order
 * with byte-identical values, 0 otherwise.  The string type does not count
 * (a device library that writes C as UTF8String is accepted), but unlike
 * X509_NAME_cmp (RFC 5280 7.1) case and spaces do: "CN=sn0001" is not
 * "CN=SN0001", whose identity may be another device's.
 */
int dn_equal(const X509_NAME *a, const X509_NAME *b);

/* One-line form of a name in the same syntax (caller frees). */
char *dn_format(const X509_NAME *name);

#endif
