/*
 * Checks on what a CA backend returned, the same for every backend: the
 * chain leads to the pinned root, the certificate is for the CSR's key and
 * the expected subject, and says what the profile asked for.  A backend
 * that ignores part of the request (or a CA that was tampered with) is
 * caught here, before anything is written to the device.  Usages must
 * equal the profile's: a remote CA's wider role (Vault's default adds
 * keyEncipherment, keyAgreement and serverAuth) is refused unless the
 * profile allows the extra by name.  The rules that
 * bind the reply to the request (key, subject, SAN) are also available on
 * their own (cert_bind_check).
 *
 * Rule ids (stable, for tests, the ledger and JSON output):
 *	cert.missing       no certificate in the reply
 *	cert.chain         does not verify to the pinned root with the chain
 *	                   given, or a CA in it is outside its validity
 *	cert.key           public key differs from the CSR's
 *	cert.subject       subject differs from the expected one
 *	cert.san           subjectAltNames differ from the CSR's
 *	cert.not-yet-valid notBefore later than now + skew
 *	cert.expired       notAfter not after now
 *	cert.validity      notAfter later than now + validity_days + 1 day
 *	cert.ca            a CA certificate (CA:TRUE or keyCertSign)
 *	cert.outlives-issuer notAfter later than the issuing CA's notAfter
 *	cert.key-usage     keyUsage lacks a bit the profile asks for, or holds
 *	                   one beyond key_usage and allow_key_usage
 *	cert.eku           extendedKeyUsage lacks a purpose the profile asks
 *	                   for (clientAuth/serverAuth), or holds one beyond
 *	                   eku and allow_ext_key_usage
 *	cert.signature-alg signed with a digest weaker than SHA-256
 */
#ifndef ST_CERT_CHECK_H
#define ST_CERT_CHECK_H

#include <openssl/x509.h>
#include <stdint.h>

#include "station/ca/ca.h"
#include "station/config/profile.h"
#include "station/util/err.h"

#define CERT_SKEW_DEFAULT 300 /* seconds of clock difference allowed */

struct cert_expect {
	X509_REQ *csr;		       /* borrowed: the CSR that was sent */
	const struct profile *profile; /* borrowed */
	const char *subject;	       /* expected subject, expanded DN */
	const X509_NAME *subject_name; /* the same name as built (identity.h);
	                                  NULL: parsed from `subject` */
	X509 *root;		       /* borrowed: the pinned root */
	int64_t now;		       /* unix seconds; 0 = time(NULL) */
	int skew; /* seconds ([station] clock_skew_s); 0 = CERT_SKEW_DEFAULT */
};

/*
 * Check `issued` against `exp`.  ST_OK, or ST_E_POLICY with *rule set to
 * the failed rule's id (static string) and *cause to a sentence;
 * ST_E_ARG when `exp` itself is unusable (bad subject string).  rule may
 * be NULL.
 */
st_err cert_check(const struct ca_issued *issued, const struct cert_expect *exp,
    const char **rule, char **cause);

/*
 * cert_check, and on success *path (caller frees with
 * sk_X509_pop_free): the verified path above the certificate, its issuer
 * first and the pinned root last, whatever order (and whatever extra
 * certificates) the backend returned.  This is the chain the device gets
 * (all of it, or without the root, by the profile's `chain`).  *path is
 * NULL on failure; path may be NULL.
 */
st_err cert_check_path(const struct ca_issued *issued,
    const struct cert_expect *exp, STACK_OF(X509) * *path, const char **rule,
    char **cause);

/*
 * The binding rules alone (cert.missing, cert.key, cert.subject, cert.san):
 * is `issued` a certificate for the CSR's public key, the expected subject
 * and the CSR's subjectAltNames?  Only exp->csr and exp->subject are used.
 * The pipeline runs this before the issuance is recorded, so that a
 * certificate for another key or name (another device's) is never taken
 * as this device's; cert_check repeats it.  Same results as cert_check.
 */
st_err cert_bind_check(const struct ca_issued *issued,
    const struct cert_expect *exp, const char **rule, char **cause);

/* Helpers for the pipeline (cert_util.c). */

/* SHA-256 of the DER encoding, lower-case hex, NUL-terminated. */
void cert_fingerprint_sha256(X509 *cert, char hex[65]);
/* SHA-256 of a DER SubjectPublicKeyInfo, lower-case hex: how the ledger
 * and the CA backends name a key (crash recovery, docs/reliability.md). */
void spki_sha256_hex(const uint8_t *spki, size_t len, char hex[65]);
/* The same for a certificate's public key ("" if it cannot be encoded). */
void cert_key_sha256(X509 *cert, char hex[65]);
/* The authority key identifier (the issuer's key), lower-case hex; NULL
 * when the certificate has none (caller frees). */
char *cert_issuer_key_id_hex(X509 *cert);
/* Serial number, lower-case hex without leading zeros (caller frees). */
char *cert_serial_hex(X509 *cert);
/* PEM text of the certificate (caller frees). */
char *cert_to_pem(X509 *cert);
/* Read the first certificate of a PEM file.  ST_E_IO if the file cannot
 * be opened, ST_E_CRYPTO if it holds no certificate. */
st_err x509_load_pem_file(const char *path, X509 **out, char **cause);
/* 1 if a signature made with digest `md_nid` is acceptable (SHA-256 or
 * stronger: SHA-256/384/512, SHA3-256/384/512). */
int sig_digest_acceptable(int md_nid);
/* Validity bounds in unix seconds (0 if unreadable). */
int64_t cert_not_before(X509 *cert);
int64_t cert_not_after(X509 *cert);
/* "2026-11-22T14:05:25Z" for an ASN1_TIME, into buf (at least 32 bytes). */
void cert_time_str(const ASN1_TIME *t, char *buf, size_t len);

#endif
