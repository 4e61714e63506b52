/*
 * TPM key attestation (profile attestation = tpm, the attest step,
 * docs/protocol.md 8.18): was the CSR's key born in a TPM whose
 * attestation key (AK) a manufacturer certified?
 *
 * The device sends a TPM2_Certify of its key: the TPMS_ATTEST bytes the
 * TPM signed, the AK's signature over them, the key's TPMT_PUBLIC, and
 * the AK's certificate chain.  Everything in it is hostile until checked:
 * the two TPM structures are read by the bounds-checked parsers below
 * (TPM 2.0 Library, Part 2: Structures, sections 10.12.8 TPMS_ATTEST and
 * 12.2.4 TPMT_PUBLIC; big-endian, TPM2B = u16 size + bytes) and the rest
 * by OpenSSL only.  No TPM library is linked.
 *
 * attest_verify's rules, each refused under its own id (ST_E_POLICY, the
 * id in *rule and at the front of the cause):
 *   attest.format      a structure does not parse (truncated, oversized,
 *                      trailing bytes, an algorithm this reader lacks)
 *   attest.chain       the AK certificate chains to attestation_ca
 *   attest.signature   the AK certificate's key signed the TPMS_ATTEST
 *   attest.magic       magic is TPM_GENERATED_VALUE (made by a TPM)
 *   attest.type        type is TPM_ST_ATTEST_CERTIFY
 *   attest.nonce       extraData is the station's fresh nonce
 *   attest.name        the certified name is nameAlg || H(TPMT_PUBLIC)
 *   attest.attributes  fixedTPM, fixedParent and sensitiveDataOrigin set
 *   attest.key         the TPMT_PUBLIC's EC point is the CSR's key
 */
#ifndef ST_ATTEST_H
#define ST_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "station/util/err.h"

#define TPM_GENERATED_VALUE 0xff544347u
#define TPM_ST_ATTEST_CERTIFY 0x8017u
#define TPM_ALG_ECC 0x0023u
#define TPM_ALG_SHA256 0x000bu
#define TPM_ALG_NULL 0x0010u
#define TPM_ECC_NIST_P256 0x0003u
#define TPMA_FIXED_TPM 0x00000002u
#define TPMA_FIXED_PARENT 0x00000010u
#define TPMA_SENSITIVE_DATA_ORIGIN 0x00000020u

/* A TPM2B inside the parsed buffer (borrowed). */
struct tpm2b {
	const uint8_t *buf;
	size_t len;
};

/* TPMS_ATTEST with TPMS_CERTIFY_INFO (type TPM_ST_ATTEST_CERTIFY). */
struct tpm_attest {
	uint32_t magic;
	uint16_t type;
	struct tpm2b signer; /* qualifiedSigner */
	struct tpm2b extra;  /* extraData: the nonce */
	uint64_t clock, firmware;
	uint32_t reset_count, restart_count;
	uint8_t safe;
	struct tpm2b name;	     /* certified object's Name */
	struct tpm2b qualified_name; /* and its qualified name */
};

/* Every byte of buf[len] is one TPMS_ATTEST whose attested part is a
 * TPMS_CERTIFY_INFO (the type is checked by attest_verify, not here: a
 * TPMS_ATTEST of another type parses only if its body happens to read as
 * two names).  ST_E_POLICY naming what is wrong and where. */
st_err tpm_attest_parse(const uint8_t *buf, size_t len, struct tpm_attest *out,
    char **cause);

/* TPMT_PUBLIC of an ECC key. */
struct tpm_public {
	uint16_t type, name_alg;
	uint32_t attributes;
	struct tpm2b auth_policy;
	uint16_t curve;
	struct tpm2b x, y;
};

/* Every byte of buf[len] is one TPMT_PUBLIC of type ECC (another type is
 * refused: the station attests EC P-256 keys). */
st_err tpm_public_parse(const uint8_t *buf, size_t len, struct tpm_public *out,
    char **cause);

/* What the device sent (borrowed). */
struct attest_evidence {
	const uint8_t *attest;
	size_t attest_len;
	const uint8_t *sig; /* over SHA-256(attest): DER ECDSA or PKCS#1 */
	size_t sig_len;
	const uint8_t *public_area;
	size_t public_len;
	const uint8_t *const *ak_cert; /* AK certificate first, DER */
	const size_t *ak_cert_len;
	size_t n_ak_certs;
};

struct attest_result {
	/* SHA-256 of the AK certificate's DER, lower-case hex; "" if the
	 * certificate did not parse. */
	char ak_fingerprint[65];
};

/*
 * Check `ev` for `nonce` and `csr_key` (the CSR's public key) against the
 * PEM bundle `ca_file` (the profile's attestation_ca).  ST_OK when every
 * rule holds; ST_E_POLICY with *rule = the failing rule's id; ST_E_CONFIG
 * when ca_file cannot be read.  res->ak_fingerprint is filled as soon as
 * the AK certificate parses (also on failure).
 */
st_err attest_verify(const struct attest_evidence *ev, const uint8_t *nonce,
    size_t nonce_len, EVP_PKEY *csr_key, const char *ca_file,
    struct attest_result *res, const char **rule, char **cause);

/* Does `ca_file` hold at least one PEM certificate?  ST_E_CONFIG naming
 * the file otherwise (the configuration's check at load). */
st_err attest_ca_check(const char *ca_file, char **cause);

#endif
