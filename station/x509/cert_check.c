/* Checks on an issued certificate (see cert_check.h for the rules). */
#include "station/x509/cert_check.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "station/x509/dn.h"
#include "station/x509/policy_rule.h"
#include "station/x509/san.h"
#include "station/x509/usage.h"
#include "station/util/xalloc.h"

#define DAY_SECONDS 86400

/* The CA certificates of a verified chain must be in their validity at
 * `now`; the leaf's own window is checked separately with its rules. */
static st_err
check_chain_times(STACK_OF(X509) * chain, time_t now, int skew,
    const char **rule, char **cause)
{
	for (int i = 1; i < sk_X509_num(chain); i++) {
		X509 *ca = sk_X509_value(chain, i);
		char *name = dn_format(X509_get_subject_name(ca));
		st_err err = ST_OK;

		if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(ca), now + skew) >
		    0)
			err = policy_refuse(rule, "cert.chain", cause,
			    "the issuing "
			    "CA '%s' is not valid yet",
			    name);
		else if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca), now) <= 0)
			err = policy_refuse(rule, "cert.chain", cause,
			    "the issuing "
			    "CA '%s' has expired",
			    name);
		free(name);
		if (err)
			return err;
	}
	return ST_OK;
}

/* Verify the signatures up to the pinned root; *built (caller frees) is
 * the chain found, leaf first. */
static st_err
check_chain(const struct ca_issued *issued, const struct cert_expect *exp,
    STACK_OF(X509) * *built, const char **rule, char **cause)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	st_err err = ST_OK;

	if (store == NULL || ctx == NULL || exp->root == NULL ||
	    !X509_STORE_add_cert(store, exp->root) ||
	    !X509_STORE_CTX_init(ctx, store, issued->cert, issued->chain)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "setting up chain "
		    "verification");
		goto out;
	}
	/* Trust is the pinned root alone.  Times are checked separately so
	 * that an expired leaf is reported as such, not as a chain error. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		ERR_clear_error();
		err = policy_refuse(rule, "cert.chain", cause,
		    "the certificate does "
		    "not verify to the pinned root: %s (depth %d)",
		    X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	*built = X509_STORE_CTX_get1_chain(ctx);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

static st_err
check_subject_and_key(X509 *cert, const struct cert_expect *exp,
    const char **rule, char **cause)
{
	if (EVP_PKEY_eq(X509_get0_pubkey(cert),
		X509_REQ_get0_pubkey(exp->csr)) != 1) {
		ERR_clear_error();
		return policy_refuse(rule, "cert.key", cause,
		    "the certificate's "
		    "public key is not the CSR's");
	}
	return policy_subject_is(X509_get_subject_name(cert), exp->subject_name,
	    exp->subject, "the certificate's", "cert.subject", rule, cause);
}

static st_err
check_san(X509 *cert, X509_REQ *csr, const char **rule, char **cause)
{
	STACK_OF(X509_EXTENSION) *req_exts = X509_REQ_get_extensions(csr);
	struct san_set want = { 0 }, have = { 0 };
	char *why = NULL;
	st_err err;

	err = san_set_from_exts(req_exts, &want, &why);
	if (err == ST_OK)
		err =
		    san_set_from_exts(X509_get0_extensions(cert), &have, &why);
	if (err) {
		err = policy_refuse(rule, "cert.san", cause,
		    "subjectAltName: %s", why);
		goto out;
	}
	/* Compare as NULL-terminated lists: the CSR's set is the expected. */
	want.dns = xrealloc(want.dns, (want.n_dns + 1) * sizeof *want.dns);
	want.dns[want.n_dns] = NULL;
	want.uri = xrealloc(want.uri, (want.n_uri + 1) * sizeof *want.uri);
	want.uri[want.n_uri] = NULL;
	if (!san_set_equal(&have, (const char *const *)want.dns,
		(const char *const *)want.uri, &why))
		err = policy_refuse(rule, "cert.san", cause,
		    "the certificate's "
		    "subjectAltNames differ from the CSR's: %s",
		    why);
out:
	free(why);
	san_set_clear(&want);
	san_set_clear(&have);
	sk_X509_EXTENSION_pop_free(req_exts, X509_EXTENSION_free);
	return err;
}

static st_err
check_validity(X509 *cert, const struct profile *p, time_t now, int skew,
    const char **rule, char **cause)
{
	const ASN1_TIME *nb = X509_get0_notBefore(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	time_t limit =
	    now + (time_t)p->validity_days * DAY_SECONDS + DAY_SECONDS;
	char t[32];

	if (ASN1_TIME_cmp_time_t(nb, now + skew) > 0) {
		cert_time_str(nb, t, sizeof t);
		return policy_refuse(rule, "cert.not-yet-valid", cause,
		    "the "
		    "certificate is valid only from %s (is the CA's clock "
		    "right?)",
		    t);
	}
	if (ASN1_TIME_cmp_time_t(na, now) <= 0) {
		cert_time_str(na, t, sizeof t);
		return policy_refuse(rule, "cert.expired", cause,
		    "the certificate "
		    "expired at %s",
		    t);
	}
	if (ASN1_TIME_cmp_time_t(na, limit) > 0) {
		cert_time_str(na, t, sizeof t);
		return policy_refuse(rule, "cert.validity", cause,
		    "the certificate "
		    "is valid until %s, longer than the profile's %d days",
		    t, p->validity_days);
	}
	return ST_OK;
}

/* An extra usage, named with the profile key that would accept it, so
 * the administrator can choose between the CA's role and the profile. */
static st_err
refuse_extra(const char **rule, const char *id, char **cause, const char *what,
    const char *name, const char *key)
{
	return policy_refuse(rule, id, cause,
	    "the certificate has %s %s, "
	    "which the profile does not ask for; a CA must not widen a device "
	    "certificate (narrow the CA's role, or accept it in the profile "
	    "with %s = %s)",
	    what, name, key, name);
}

/* keyUsage must hold the profile's bits and nothing beyond them and
 * allow_key_usage. */
static st_err
check_key_usage(X509 *cert, const struct profile *p, const char **rule,
    char **cause)
{
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t ku = X509_get_key_usage(cert);
	unsigned extra;

	if (p->key_usage != 0 &&
	    (!(flags & EXFLAG_KUSAGE) || (ku & p->key_usage) != p->key_usage))
		return policy_refuse(rule, "cert.key-usage", cause,
		    "the certificate's "
		    "keyUsage lacks bits the profile asks for (0x%x of 0x%x)",
		    (flags & EXFLAG_KUSAGE) ? (unsigned)(ku & p->key_usage) :
					      0u,
		    p->key_usage);
	if (!(flags & EXFLAG_KUSAGE))
		return ST_OK;
	extra = ku & ~(p->key_usage | p->allow_key_usage);
	for (size_t i = 0; usage_ku[i].name != NULL; i++) {
		if (extra & usage_ku[i].bit)
			return refuse_extra(rule, "cert.key-usage", cause,
			    "keyUsage", usage_ku[i].name, "allow_key_usage");
	}
	return ST_OK;
}

/* extendedKeyUsage must hold the profile's purposes and nothing beyond
 * them and allow_ext_key_usage; a purpose the station has no name for is
 * named by its OID. */
static st_err
check_eku(X509 *cert, const struct profile *p, const char **rule, char **cause)
{
	unsigned want = (p->eku_client_auth ? PROFILE_EKU_CLIENT_AUTH : 0) |
	    (p->eku_server_auth ? PROFILE_EKU_SERVER_AUTH : 0);
	int crit = 0;
	EXTENDED_KEY_USAGE *eku =
	    X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
	unsigned have = 0;
	char oid[80];
	st_err err = ST_OK;

	if (eku == NULL && crit != -1) {
		ERR_clear_error();
		err = policy_refuse(rule, "cert.eku", cause,
		    "the certificate's "
		    "extendedKeyUsage cannot be read");
		goto out;
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		ASN1_OBJECT *obj = sk_ASN1_OBJECT_value(eku, i);
		int nid = OBJ_obj2nid(obj);
		const char *name = NULL;
		unsigned bit = 0;

		for (size_t j = 0; usage_eku[j].name != NULL; j++) {
			if (usage_eku[j].nid == nid) {
				name = usage_eku[j].name;
				bit = usage_eku[j].bit;
			}
		}
		if (name == NULL) {
			OBJ_obj2txt(oid, sizeof oid, obj, 1);
			name = oid;
		}
		if (bit == 0 || !(bit & (want | p->allow_eku))) {
			err = refuse_extra(rule, "cert.eku", cause,
			    "extendedKeyUsage", name, "allow_ext_key_usage");
			goto out;
		}
		have |= bit;
	}
	for (size_t j = 0; usage_eku[j].name != NULL; j++) {
		if ((want & ~have) & usage_eku[j].bit) {
			err = policy_refuse(rule, "cert.eku", cause,
			    "the certificate has no extendedKeyUsage %s; the "
			    "profile asks for it",
			    usage_eku[j].name);
			goto out;
		}
	}
out:
	EXTENDED_KEY_USAGE_free(eku);
	return err;
}

static st_err
check_usage(X509 *cert, const struct profile *p, const char **rule,
    char **cause)
{
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t ku = X509_get_key_usage(cert);
	st_err err;

	if ((flags & EXFLAG_CA) ||
	    ((flags & EXFLAG_KUSAGE) &&
		(ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))))
		return policy_refuse(rule, "cert.ca", cause,
		    "the certificate is a CA "
		    "certificate (CA:TRUE or keyCertSign/cRLSign)");
	err = check_key_usage(cert, p, rule, cause);
	if (err)
		return err;
	return check_eku(cert, p, rule, cause);
}

/* A leaf valid after its issuer expires would be refused by relying
 * parties for that last stretch: the CA must cap it (chain[1] is the
 * issuer of the verified chain). */
static st_err
check_outlives_issuer(X509 *cert, STACK_OF(X509) * chain, const char **rule,
    char **cause)
{
	X509 *issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : NULL;
	char t[32], it[32];
	char *name;
	st_err err;

	if (issuer == NULL ||
	    ASN1_TIME_compare(X509_get0_notAfter(cert),
		X509_get0_notAfter(issuer)) <= 0)
		return ST_OK;
	cert_time_str(X509_get0_notAfter(cert), t, sizeof t);
	cert_time_str(X509_get0_notAfter(issuer), it, sizeof it);
	name = dn_format(X509_get_subject_name(issuer));
	err = policy_refuse(rule, "cert.outlives-issuer", cause,
	    "the certificate "
	    "is valid until %s, after its issuer '%s' expires (%s); the CA "
	    "must cap a leaf at its own notAfter (renew the intermediate or "
	    "shorten the CA's TTL)",
	    t, name, it);
	free(name);
	return err;
}

static st_err
check_sig_alg(X509 *cert, const char **rule, char **cause)
{
	int md = NID_undef, pk = NID_undef;

	if (!X509_get_signature_info(cert, &md, &pk, NULL, NULL) ||
	    !sig_digest_acceptable(md)) {
		ERR_clear_error();
		return policy_refuse(rule, "cert.signature-alg", cause,
		    "the "
		    "certificate is signed with %s; SHA-256 or stronger is "
		    "required",
		    OBJ_nid2ln(X509_get_signature_nid(cert)));
	}
	return ST_OK;
}

st_err
cert_bind_check(const struct ca_issued *issued, const struct cert_expect *exp,
    const char **rule, char **cause)
{
	const char *dummy = NULL;
	st_err err;

	if (rule == NULL)
		rule = &dummy;
	*rule = NULL;
	if (exp->csr == NULL || exp->subject == NULL)
		return st_fail(cause, ST_E_ARG,
		    "binding check: the CSR and "
		    "the expected subject are required");
	if (issued->cert == NULL)
		return policy_refuse(rule, "cert.missing", cause,
		    "the CA returned no certificate");
	err = check_subject_and_key(issued->cert, exp, rule, cause);
	if (err)
		return err;
	return check_san(issued->cert, exp->csr, rule, cause);
}

st_err
cert_check(const struct ca_issued *issued, const struct cert_expect *exp,
    const char **rule, char **cause)
{
	return cert_check_path(issued, exp, NULL, rule, cause);
}

st_err
cert_check_path(const struct ca_issued *issued, const struct cert_expect *exp,
    STACK_OF(X509) * *path, const char **rule, char **cause)
{
	const char *dummy = NULL;
	STACK_OF(X509) *built = NULL;
	time_t now = exp->now ? (time_t)exp->now : time(NULL);
	int skew = exp->skew ? exp->skew : CERT_SKEW_DEFAULT;
	st_err err;

	if (path != NULL)
		*path = NULL;
	if (rule == NULL)
		rule = &dummy;
	*rule = NULL;
	if (exp->csr == NULL || exp->profile == NULL || exp->subject == NULL ||
	    exp->root == NULL)
		return st_fail(cause, ST_E_ARG,
		    "certificate check: the CSR, "
		    "profile, expected subject and pinned root are required");
	if (issued->cert == NULL)
		return policy_refuse(rule, "cert.missing", cause,
		    "the CA returned no certificate");
	/* Chain first: nothing else about a certificate from an unknown
	 * issuer is worth reporting. */
	err = check_chain(issued, exp, &built, rule, cause);
	if (err)
		goto out;
	err = cert_bind_check(issued, exp, rule, cause);
	if (err)
		goto out;
	err =
	    check_validity(issued->cert, exp->profile, now, skew, rule, cause);
	if (err)
		goto out;
	err = check_chain_times(built, now, skew, rule, cause);
	if (err)
		goto out;
	err = check_outlives_issuer(issued->cert, built, rule, cause);
	if (err)
		goto out;
	err = check_usage(issued->cert, exp->profile, rule, cause);
	if (err)
		goto out;
	err = check_sig_alg(issued->cert, rule, cause);
	if (err)
		goto out;
	if (path != NULL) {
		/* The verified path without the leaf: issuer first, the
		 * pinned root last, whatever order the backend sent. */
		X509_free(sk_X509_shift(built));
		*path = built;
		built = NULL;
	}
out:
	sk_X509_pop_free(built, X509_free);
	return err;
}
