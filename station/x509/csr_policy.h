/*
 * The CSR policy: what the station accepts from a device before sending
 * anything to a CA.  A pure function over the CSR bytes and what the
 * station expects; the device is not trusted to have built the CSR the
 * station asked for.
 *
 * Rule ids (stable, for tests, the ledger and JSON output), checked in
 * this order:
 *	csr.size          empty, or larger than max_size
 *	csr.der           not exactly one canonical DER CertificationRequest
 *	csr.version       version is not 1 (value 0)
 *	csr.signature     signature does not verify, or uses a digest weaker
 *	                  than SHA-256 (no proof of possession)
 *	csr.key-mismatch  public key differs from the one the chip reported
 *	csr.key-type      algorithm not the profile's (or RSA exponent not
 *	                  65537, or EC parameters not a named curve)
 *	csr.key-size      EC curve not P-256, RSA modulus not 2048 bits
 *	csr.subject       subject differs from the expected one
 *	csr.attribute     an attribute other than one extensionRequest
 *	csr.ca            basicConstraints CA:TRUE, or keyCertSign/cRLSign
 *	csr.extension     an extension not allowed, duplicated or undecodable
 *	csr.san           subjectAltNames differ from the expected sets
 */
#ifndef ST_CSR_POLICY_H
#define ST_CSR_POLICY_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "station/config/profile.h"
#include "station/util/err.h"

#define CSR_MAX_SIZE_DEFAULT 8192

struct csr_expect {
	const struct profile *profile; /* borrowed: key algorithm */
	const char *subject;	       /* expected subject, already expanded */
	const X509_NAME *subject_name; /* the same name as built (identity.h);
	                                  NULL: parsed from `subject` */
	const char *const *san_dns;    /* NULL-terminated; NULL = none */
	const char *const *san_uri;    /* NULL-terminated; NULL = none */
	const uint8_t *chip_spki;      /* DER SubjectPublicKeyInfo the chip
	                                  reported (PUBKEY/KEYGEN) */
	size_t chip_spki_len;
	size_t max_size; /* 0 = CSR_MAX_SIZE_DEFAULT */
	/* 1: an ECDSA signature algorithm may carry a NULL parameter, as
	 * nRF91 modems' %KEYGEN CSRs do (the device dialect's choice,
	 * station/pipeline/dialect.h); 0: none, as RFC 5758 says, so any
	 * parameter is refused (csr.signature). */
	int allow_ecdsa_null_param;
};

/*
 * Check the DER CSR `der` against `exp`.  ST_OK: *out (if out is non-NULL)
 * is the parsed CSR (caller frees).  ST_E_POLICY: *rule is the id of the
 * failed rule (static string) and *cause a sentence for the operator.
 * ST_E_ARG: `exp` itself is unusable (no chip key, bad subject string).
 * rule may be NULL.
 */
st_err csr_policy_check(const uint8_t *der, size_t len,
    const struct csr_expect *exp, X509_REQ **out, const char **rule,
    char **cause);

#endif
