/* The CSR policy (see csr_policy.h for the rules and their ids). */
#include "station/x509/csr_policy.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/x509/policy_rule.h"
#include "station/x509/san.h"
#include "station/util/xalloc.h"

static st_err
check_der(const uint8_t *der, size_t len, X509_REQ **out, const char **rule,
    char **cause)
{
	const unsigned char *p = der;
	unsigned char *again = NULL;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	st_err err = ST_OK;
	int n;

	*out = NULL;
	if (req == NULL)
		return policy_refuse(rule, "csr.der", cause,
		    "the CSR is not a DER "
		    "certification request (%zu bytes do not parse)",
		    len);
	if ((size_t)(p - der) != len) {
		err = policy_refuse(rule, "csr.der", cause,
		    "the CSR has %zu bytes "
		    "of trailing data after the request",
		    len - (size_t)(p - der));
		goto out;
	}
	/* BER tricks (indefinite lengths, long-form small lengths) parse but
	 * do not re-encode to the same bytes: only canonical DER is signed
	 * data we can reason about. */
	n = i2d_X509_REQ(req, &again);
	if (n < 0 || (size_t)n != len || memcmp(again, der, len) != 0) {
		err = policy_refuse(rule, "csr.der", cause,
		    "the CSR is not in "
		    "canonical DER (re-encoding it gives different bytes)");
		goto out;
	}
	*out = req;
	req = NULL;
out:
	OPENSSL_free(again);
	X509_REQ_free(req);
	return err;
}

/* RFC 5758: an ecdsa-with-SHA* AlgorithmIdentifier has no parameters;
 * a NULL one only where the dialect says its devices write it. */
static st_err
check_sig_params(X509_REQ *req, int pk, const struct csr_expect *exp,
    const char **rule, char **cause)
{
	const X509_ALGOR *alg = NULL;
	int ptype = V_ASN1_UNDEF;

	if (pk != EVP_PKEY_EC)
		return ST_OK;
	X509_REQ_get0_signature(req, NULL, &alg);
	X509_ALGOR_get0(NULL, &ptype, NULL, alg);
	if (ptype == V_ASN1_UNDEF ||
	    (ptype == V_ASN1_NULL && exp->allow_ecdsa_null_param))
		return ST_OK;
	return policy_refuse(rule, "csr.signature", cause,
	    "the CSR's ECDSA signature algorithm carries a parameter (ASN.1 "
	    "type %d); RFC 5758 says none",
	    ptype);
}

static st_err
check_signature(X509_REQ *req, const struct csr_expect *exp, const char **rule,
    char **cause)
{
	int sig_nid = X509_REQ_get_signature_nid(req), md = NID_undef, pk;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	st_err err;

	if (!OBJ_find_sigid_algs(sig_nid, &md, &pk) ||
	    !sig_digest_acceptable(md))
		return policy_refuse(rule, "csr.signature", cause,
		    "the CSR is signed "
		    "with %s; SHA-256 or stronger is required",
		    OBJ_nid2ln(sig_nid));
	err = check_sig_params(req, pk, exp, rule, cause);
	if (err)
		return err;
	if (pub == NULL)
		return policy_refuse(rule, "csr.key-type", cause,
		    "the CSR's public key cannot be decoded");
	if (X509_REQ_verify(req, pub) != 1)
		return policy_refuse(rule, "csr.signature", cause,
		    "the CSR's "
		    "signature does not verify with its own public key (no "
		    "proof that the device holds the private key)");
	return ST_OK;
}

static st_err
check_key_match(X509_REQ *req, const struct csr_expect *exp, const char **rule,
    char **cause)
{
	unsigned char *spki = NULL;
	int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &spki);
	int same = n > 0 && (size_t)n == exp->chip_spki_len &&
	    memcmp(spki, exp->chip_spki, exp->chip_spki_len) == 0;

	OPENSSL_free(spki);
	if (!same)
		return policy_refuse(rule, "csr.key-mismatch", cause,
		    "the CSR's "
		    "public key is not the key the chip reported: the CSR was "
		    "not made with this device's key");
	return ST_OK;
}

static st_err
check_ec(X509_PUBKEY *xpk, const char **rule, char **cause)
{
	const X509_ALGOR *alg = NULL;
	const void *pval = NULL;
	int ptype = 0, curve;

	X509_PUBKEY_get0_param(NULL, NULL, NULL, (X509_ALGOR **)&alg, xpk);
	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT)
		return policy_refuse(rule, "csr.key-type", cause,
		    "the CSR's EC key "
		    "carries explicit curve parameters; a named curve "
		    "(prime256v1) is required");
	curve = OBJ_obj2nid(pval);
	if (curve != NID_X9_62_prime256v1)
		return policy_refuse(rule, "csr.key-size", cause,
		    "the CSR's EC key "
		    "is on curve %s; the profile requires prime256v1 (P-256)",
		    curve == NID_undef ? "(unknown)" : OBJ_nid2sn(curve));
	return ST_OK;
}

static st_err
check_rsa(EVP_PKEY *pub, const char **rule, char **cause)
{
	BIGNUM *e = NULL;
	int bits = EVP_PKEY_get_bits(pub);
	st_err err = ST_OK;

	if (bits != 2048)
		return policy_refuse(rule, "csr.key-size", cause,
		    "the CSR's RSA key "
		    "has %d bits; the profile requires exactly 2048",
		    bits);
	if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    !BN_is_word(e, 65537))
		err = policy_refuse(rule, "csr.key-type", cause,
		    "the CSR's RSA key "
		    "has a public exponent other than 65537");
	BN_free(e);
	return err;
}

static st_err
check_key_type(X509_REQ *req, const struct csr_expect *exp, const char **rule,
    char **cause)
{
	X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(req);
	ASN1_OBJECT *alg_obj = NULL;
	int want = exp->profile->key_alg == KEY_ALG_RSA_2048 ?
	    NID_rsaEncryption :
	    NID_X9_62_id_ecPublicKey;
	int have;

	X509_PUBKEY_get0_param(&alg_obj, NULL, NULL, NULL, xpk);
	have = OBJ_obj2nid(alg_obj);
	if (have != want)
		return policy_refuse(rule, "csr.key-type", cause,
		    "the CSR's key is "
		    "%s; the profile requires %s",
		    have == NID_undef ? "of an unknown type" : OBJ_nid2ln(have),
		    want == NID_rsaEncryption ? "RSA-2048" : "EC P-256");
	if (want == NID_X9_62_id_ecPublicKey)
		return check_ec(xpk, rule, cause);
	return check_rsa(X509_REQ_get0_pubkey(req), rule, cause);
}

static st_err
check_subject(X509_REQ *req, const struct csr_expect *exp, const char **rule,
    char **cause)
{
	return policy_subject_is(X509_REQ_get_subject_name(req),
	    exp->subject_name, exp->subject, "the CSR's", "csr.subject", rule,
	    cause);
}

static st_err
check_attributes(X509_REQ *req, const char **rule, char **cause)
{
	int seen_ext_req = 0;

	for (int i = 0; i < X509_REQ_get_attr_count(req); i++) {
		X509_ATTRIBUTE *a = X509_REQ_get_attr(req, i);
		int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a));

		if (nid != NID_ext_req) {
			char name[80];

			OBJ_obj2txt(name, sizeof name,
			    X509_ATTRIBUTE_get0_object(a), 0);
			return policy_refuse(rule, "csr.attribute", cause,
			    "the CSR "
			    "carries the attribute %s; only extensionRequest "
			    "is allowed",
			    name);
		}
		/* OpenSSL reads only the first value of the first
		 * extensionRequest: anything more would go unchecked. */
		if (seen_ext_req++ || X509_ATTRIBUTE_count(a) != 1)
			return policy_refuse(rule, "csr.attribute", cause,
			    "the CSR "
			    "carries more than one extensionRequest");
	}
	return ST_OK;
}

/* basicConstraints CA:TRUE or a CA-only key usage: the device would get a
 * certificate able to issue others, if a CA honoured the request. */
static st_err
check_ca(STACK_OF(X509_EXTENSION) * exts, const char **rule, char **cause)
{
	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));

		if (nid == NID_basic_constraints) {
			BASIC_CONSTRAINTS *bc = X509V3_EXT_d2i(ext);
			int ca = bc == NULL || bc->ca;

			BASIC_CONSTRAINTS_free(bc);
			if (ca)
				return policy_refuse(rule, "csr.ca", cause,
				    "the CSR "
				    "asks for a CA certificate "
				    "(basicConstraints CA:TRUE)");
		} else if (nid == NID_key_usage) {
			ASN1_BIT_STRING *ku = X509V3_EXT_d2i(ext);
			int ca = ku == NULL || ASN1_BIT_STRING_get_bit(ku, 5) ||
			    ASN1_BIT_STRING_get_bit(ku, 6);

			ASN1_BIT_STRING_free(ku);
			if (ca)
				return policy_refuse(rule, "csr.ca", cause,
				    "the CSR "
				    "asks for keyCertSign or cRLSign (or its "
				    "keyUsage does not decode)");
		}
	}
	return ST_OK;
}

static int
ext_decodes(X509_EXTENSION *ext, int nid)
{
	void *v = X509V3_EXT_d2i(ext);

	if (v == NULL)
		return 0;
	if (nid == NID_subject_alt_name)
		GENERAL_NAMES_free(v);
	else if (nid == NID_ext_key_usage)
		EXTENDED_KEY_USAGE_free(v);
	else if (nid == NID_key_usage)
		ASN1_BIT_STRING_free(v);
	else
		BASIC_CONSTRAINTS_free(v);
	return 1;
}

static st_err
check_extensions(STACK_OF(X509_EXTENSION) * exts, const char **rule,
    char **cause)
{
	static const int allowed[] = { NID_subject_alt_name, NID_key_usage,
		NID_ext_key_usage, NID_basic_constraints };
	unsigned seen = 0;

	for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *ext = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *obj = X509_EXTENSION_get_object(ext);
		int nid = OBJ_obj2nid(obj);
		size_t k = 0;

		while (k < 4 && allowed[k] != nid)
			k++;
		if (k == 4) {
			char name[80];

			OBJ_obj2txt(name, sizeof name, obj, 0);
			return policy_refuse(rule, "csr.extension", cause,
			    "the CSR "
			    "requests the extension %s; only subjectAltName, "
			    "keyUsage, extendedKeyUsage and basicConstraints "
			    "CA:FALSE are allowed",
			    name);
		}
		if (seen & (1u << k))
			return policy_refuse(rule, "csr.extension", cause,
			    "the CSR "
			    "requests %s twice",
			    OBJ_nid2ln(nid));
		seen |= 1u << k;
		if (!ext_decodes(ext, nid))
			return policy_refuse(rule, "csr.extension", cause,
			    "the CSR's "
			    "%s extension does not decode",
			    OBJ_nid2ln(nid));
	}
	return ST_OK;
}

static st_err
check_san(STACK_OF(X509_EXTENSION) * exts, const struct csr_expect *exp,
    const char **rule, char **cause)
{
	struct san_set have;
	char *why = NULL;
	st_err err;

	/* On failure the set is left empty: clearing it is harmless. */
	err = san_set_from_exts(exts, &have, &why);
	if (err) {
		err =
		    policy_refuse(rule, "csr.san", cause, "the CSR's %s", why);
		goto out;
	}
	if (!san_set_equal(&have, exp->san_dns, exp->san_uri, &why))
		err = policy_refuse(rule, "csr.san", cause,
		    "the CSR's "
		    "subjectAltNames differ from the profile's: %s",
		    why);
out:
	free(why);
	san_set_clear(&have);
	return err;
}

/* The rules that look at the extension request. */
static st_err
check_request_exts(X509_REQ *req, const struct csr_expect *exp,
    const char **rule, char **cause)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	st_err err;

	if (exts == NULL)
		return policy_refuse(rule, "csr.extension", cause,
		    "the CSR's extensionRequest does not decode");
	err = check_ca(exts, rule, cause);
	if (err)
		goto out;
	err = check_extensions(exts, rule, cause);
	if (err)
		goto out;
	err = check_san(exts, exp, rule, cause);
out:
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return err;
}

st_err
csr_policy_check(const uint8_t *der, size_t len, const struct csr_expect *exp,
    X509_REQ **out, const char **rule, char **cause)
{
	const char *dummy = NULL;
	size_t max = exp->max_size ? exp->max_size : CSR_MAX_SIZE_DEFAULT;
	X509_REQ *req = NULL;
	st_err err;

	if (rule == NULL)
		rule = &dummy;
	*rule = NULL;
	if (out != NULL)
		*out = NULL;
	if (exp->profile == NULL || exp->subject == NULL ||
	    exp->chip_spki == NULL || exp->chip_spki_len == 0)
		return st_fail(cause, ST_E_ARG,
		    "CSR policy: the profile, the "
		    "expected subject and the chip's public key are required");
	if (len == 0 || len > max)
		return policy_refuse(rule, "csr.size", cause,
		    "the CSR is %zu bytes; "
		    "the limit is 1..%zu",
		    len, max);
	err = check_der(der, len, &req, rule, cause);
	if (err)
		return err;
	if (X509_REQ_get_version(req) != X509_REQ_VERSION_1) {
		err = policy_refuse(rule, "csr.version", cause,
		    "the CSR has version "
		    "value %ld; only 0 (version 1) exists",
		    X509_REQ_get_version(req));
		goto out;
	}
	err = check_signature(req, exp, rule, cause);
	if (err)
		goto out;
	err = check_key_match(req, exp, rule, cause);
	if (err)
		goto out;
	err = check_key_type(req, exp, rule, cause);
	if (err)
		goto out;
	err = check_subject(req, exp, rule, cause);
	if (err)
		goto out;
	err = check_attributes(req, rule, cause);
	if (err)
		goto out;
	err = check_request_exts(req, exp, rule, cause);
	if (err)
		goto out;
	if (out != NULL) {
		*out = req;
		req = NULL;
	}
out:
	X509_REQ_free(req);
	return err;
}
