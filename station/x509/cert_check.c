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

static st_err
check_usage(X509 *cert, const struct profile *p, const char **rule,
    char **cause)
{
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t ku = X509_get_key_usage(cert);
	uint32_t xku = X509_get_extended_key_usage(cert);

	if ((flags & EXFLAG_CA) ||
	    ((flags & EXFLAG_KUSAGE) &&
		(ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN))))
		return policy_refuse(rule, "cert.ca", cause,
		    "the certificate is a CA "
		    "certificate (CA:TRUE or keyCertSign/cRLSign)");
	if (p->key_usage != 0 &&
	    (!(flags & EXFLAG_KUSAGE) || (ku & p->key_usage) != p->key_usage))
		return policy_refuse(rule, "cert.key-usage", cause,
		    "the certificate's "
		    "keyUsage lacks bits the profile asks for (0x%x of 0x%x)",
		    (flags & EXFLAG_KUSAGE) ? (unsigned)(ku & p->key_usage) :
					      0u,
		    p->key_usage);
	if (p->eku_client_auth &&
	    (!(flags & EXFLAG_XKUSAGE) || !(xku & XKU_SSL_CLIENT)))
		return policy_refuse(rule, "cert.eku", cause,
		    "the certificate has "
		    "no extendedKeyUsage clientAuth; the profile asks for it");
	if (p->eku_server_auth &&
	    (!(flags & EXFLAG_XKUSAGE) || !(xku & XKU_SSL_SERVER)))
		return policy_refuse(rule, "cert.eku", cause,
		    "the certificate has "
		    "no extendedKeyUsage serverAuth; the profile asks for it");
	return ST_OK;
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
	const char *dummy = NULL;
	STACK_OF(X509) *built = NULL;
	time_t now = exp->now ? (time_t)exp->now : time(NULL);
	int skew = exp->skew ? exp->skew : CERT_SKEW_DEFAULT;
	st_err err;

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
	err = check_usage(issued->cert, exp->profile, rule, cause);
	if (err)
		goto out;
	err = check_sig_alg(issued->cert, rule, cause);
out:
	sk_X509_pop_free(built, X509_free);
	return err;
}
