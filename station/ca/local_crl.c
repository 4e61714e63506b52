/* The local CA's certificate revocation list and AWS IoT verification
 * certificates: the two things signed by the intermediate that are not
 * device certificates (see local.h). */
#include "station/ca/local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "station/util/num.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"

#define LOG_MODULE "ca"
#include "station/util/log.h"

#define VERIFICATION_DAYS 30

/* RFC 5280 5.3.1; 7 is unused. */
static const char *const reason_names[] = { "unspecified", "keyCompromise",
	"cACompromise", "affiliationChanged", "superseded",
	"cessationOfOperation", "certificateHold", NULL, "removeFromCRL",
	"privilegeWithdrawn", "aACompromise" };

int
local_crl_reason_code(const char *name)
{
	for (size_t i = 0; i < sizeof reason_names / sizeof *reason_names;
	     i++) {
		if (reason_names[i] != NULL &&
		    strcmp(reason_names[i], name) == 0)
			return (int)i;
	}
	return -1;
}

/* DIR/crlnumber + 1, stored (fsync'ed) before it is used: a number is
 * never issued twice, even if writing the CRL fails afterwards. */
static st_err
next_crl_number(const char *dir, long *out, char **cause)
{
	char *path = xasprintf("%s/crlnumber", dir);
	char *tmp = xasprintf("%s/crlnumber.tmp", dir);
	FILE *fp = fopen(path, "r");
	char buf[32] = "";
	char *line = NULL;
	long long v = 0;
	long n;
	st_err err = ST_OK;

	if (fp != NULL) {
		if (fgets(buf, sizeof buf, fp) == NULL)
			buf[0] = '\0';
		fclose(fp);
		buf[strcspn(buf, "\n")] = '\0';
		if (!num_valid(buf, 0, LONG_MAX, &v)) {
			err = st_fail(cause, ST_E_CA, "%s is malformed", path);
			goto out;
		}
	} else if (errno != ENOENT) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	n = (long)v + 1;
	unlink(tmp);
	line = xasprintf("%ld\n", n);
	err = local_append_line(tmp, line, cause);
	free(line);
	if (err == ST_OK && rename(tmp, path) != 0)
		err = st_fail(cause, ST_E_IO, "cannot replace %s: %s", path,
		    strerror(errno));
	*out = n;
out:
	free(tmp);
	free(path);
	return err;
}

/* "2026-11-22T14:05:25Z" -> ASN1_TIME; NULL if malformed. */
static ASN1_TIME *
iso_to_asn1(const char *iso)
{
	char g[16];
	ASN1_TIME *t;

	if (strlen(iso) != 20 || iso[4] != '-' || iso[10] != 'T' ||
	    iso[19] != 'Z')
		return NULL;
	snprintf(g, sizeof g, "%.4s%.2s%.2s%.2s%.2s%.2sZ", iso, iso + 5,
	    iso + 8, iso + 11, iso + 14, iso + 17);
	t = ASN1_TIME_new();
	if (t != NULL && !ASN1_TIME_set_string_X509(t, g)) {
		ASN1_TIME_free(t);
		t = NULL;
	}
	return t;
}

static int
already_listed(X509_CRL *crl, const ASN1_INTEGER *serial)
{
	STACK_OF(X509_REVOKED) *rs = X509_CRL_get_REVOKED(crl);

	for (int i = 0; i < sk_X509_REVOKED_num(rs); i++) {
		if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
					 sk_X509_REVOKED_value(rs, i)),
			serial) == 0)
			return 1;
	}
	return 0;
}

/* One revoked.txt line "SERIAL TIME REASON" into the CRL. */
static st_err
add_entry(X509_CRL *crl, char *line, const char *path, unsigned lineno,
    char **cause)
{
	char *serial = line, *when, *reason;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;
	ASN1_TIME *t = NULL;
	ASN1_ENUMERATED *code = NULL;
	X509_REVOKED *rev = NULL;
	int rc;
	st_err err = ST_OK;

	when = strchr(serial, ' ');
	reason = when ? strchr(when + 1, ' ') : NULL;
	if (reason != NULL) {
		*when++ = '\0';
		*reason++ = '\0';
		if (BN_hex2bn(&bn, serial) == (int)strlen(serial))
			t = iso_to_asn1(when);
	}
	if (t == NULL) {
		err = st_fail(cause, ST_E_CA, "%s line %u is malformed", path,
		    lineno);
		goto out;
	}
	rc = local_crl_reason_code(reason);
	if (rc < 0)
		rc = 0; /* free text (older entries, other tools) */
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai == NULL || already_listed(crl, ai))
		goto out; /* revoked twice: listed once */
	rev = X509_REVOKED_new();
	if (rev == NULL || !X509_REVOKED_set_serialNumber(rev, ai) ||
	    !X509_REVOKED_set_revocationDate(rev, t)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "adding a CRL entry");
		goto out;
	}
	/* RFC 5280: the reason code is omitted for unspecified. */
	if (rc != 0) {
		code = ASN1_ENUMERATED_new();
		if (code == NULL || !ASN1_ENUMERATED_set(code, rc) ||
		    !X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, code, 0,
			0)) {
			err = st_fail_ssl(cause, ST_E_CRYPTO,
			    "adding a CRL "
			    "entry");
			goto out;
		}
	}
	if (!X509_CRL_add0_revoked(crl, rev)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "adding a CRL entry");
		goto out;
	}
	rev = NULL;
out:
	X509_REVOKED_free(rev);
	ASN1_ENUMERATED_free(code);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return err;
}

static st_err
revoked_line(char *line, const char *path, unsigned lineno, void *arg,
    int *stop, char **cause)
{
	(void)stop;
	return add_entry(arg, line, path, lineno, cause);
}

static st_err
add_revoked(X509_CRL *crl, const char *dir, char **cause)
{
	return local_each_line(dir, "revoked.txt", revoked_line, crl, cause);
}

static st_err
crl_exts(X509_CRL *crl, X509 *issuer, long number, char **cause)
{
	X509V3_CTX ctx;
	X509_EXTENSION *aki;
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	st_err err = ST_OK;

	X509V3_set_ctx(&ctx, issuer, NULL, NULL, crl, 0);
	aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always");
	if (num == NULL || aki == NULL || !ASN1_INTEGER_set(num, number) ||
	    !X509_CRL_add_ext(crl, aki, -1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		err = st_fail_ssl(cause, ST_E_CRYPTO, "adding CRL extensions");
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	return err;
}

static X509_CRL *
make_crl(struct local_ca *ca, int days, long number, char **cause)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
	ASN1_TIME *next = X509_time_adj_ex(NULL, days, 0, NULL);

	if (crl == NULL || now == NULL || next == NULL ||
	    !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->inter)) ||
	    !X509_CRL_set1_lastUpdate(crl, now) ||
	    !X509_CRL_set1_nextUpdate(crl, next)) {
		st_fail_ssl(cause, ST_E_CRYPTO, "filling the CRL");
		goto fail;
	}
	if (add_revoked(crl, ca->dir, cause) ||
	    crl_exts(crl, ca->inter, number, cause))
		goto fail;
	X509_CRL_sort(crl);
	if (X509_CRL_sign(crl, local_signing_key(ca), EVP_sha256()) <= 0) {
		st_fail_ssl(cause, ST_E_CA, "signing the CRL");
		goto fail;
	}
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	return crl;
fail:
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	return NULL;
}

/* Write to PATH.tmp, fsync, rename: a reader sees the old or the new. */
static st_err
write_crl_file(const char *path, X509_CRL *crl, int pem, char **cause)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp = fopen(tmp, "w");
	st_err err = ST_OK;
	int ok;

	if (fp == NULL) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	ok = pem ? PEM_write_X509_CRL(fp, crl) : i2d_X509_CRL_fp(fp, crl);
	if (!ok || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		err = st_fail_ssl(cause, ST_E_IO, "writing %s", tmp);
	if (fclose(fp) != 0 && err == ST_OK)
		err = st_fail(cause, ST_E_IO, "writing %s: %s", tmp,
		    strerror(errno));
	if (err == ST_OK && rename(tmp, path) != 0)
		err = st_fail(cause, ST_E_IO, "cannot replace %s: %s", path,
		    strerror(errno));
	if (err)
		unlink(tmp);
out:
	free(tmp);
	return err;
}

st_err
local_ca_crl(struct ca_backend *base, const char *out_dir, int days,
    long *number, char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	X509_CRL *crl = NULL;
	char *pem = NULL, *der = NULL;
	long n = 0;
	st_err err;

	if (!local_ca_is(base))
		return st_fail(cause, ST_E_ARG,
		    "only the local CA keeps a CRL "
		    "here; %s publishes its own",
		    base->describe);
	if (days < 1)
		days = LOCAL_CRL_DAYS;
	if (out_dir == NULL)
		out_dir = ca->dir;
	pthread_mutex_lock(&ca->lock);
	err = next_crl_number(ca->dir, &n, cause);
	if (err)
		goto out;
	crl = make_crl(ca, days, n, cause);
	if (crl == NULL) {
		err = ST_E_CA;
		goto out;
	}
	pem = xasprintf("%s/crl.pem", out_dir);
	der = xasprintf("%s/crl.der", out_dir);
	err = write_crl_file(pem, crl, 1, cause);
	if (err)
		goto out;
	err = write_crl_file(der, crl, 0, cause);
	if (err)
		goto out;
	log_info("CRL %ld: %d revoked certificate(s)", n,
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
	if (number != NULL)
		*number = n;
out:
	pthread_mutex_unlock(&ca->lock);
	free(pem);
	free(der);
	X509_CRL_free(crl);
	return err;
}

static X509 *
make_verification(struct local_ca *ca, X509_NAME *name, EVP_PKEY *key,
    char **cause)
{
	X509 *cert = X509_new();
	ASN1_INTEGER *serial = NULL;

	if (cert == NULL || local_rand_serial(&serial, cause) ||
	    !X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_serialNumber(cert, serial) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(ca->inter)) ||
	    !X509_set_subject_name(cert, name) || !X509_set_pubkey(cert, key) ||
	    local_set_validity(cert, VERIFICATION_DAYS, cause) ||
	    local_add_ext(cert, ca->inter, NID_basic_constraints,
		"critical,CA:FALSE", cause) ||
	    local_add_ext(cert, ca->inter, NID_authority_key_identifier,
		"keyid:always", cause) ||
	    X509_sign(cert, local_signing_key(ca), EVP_sha256()) <= 0) {
		if (cause != NULL && *cause == NULL)
			st_fail_ssl(cause, ST_E_CA,
			    "making the verification "
			    "certificate");
		X509_free(cert);
		cert = NULL;
	}
	ASN1_INTEGER_free(serial);
	return cert;
}

st_err
local_ca_verification_cert(struct ca_backend *base, const char *cn, X509 **out,
    char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *key = NULL;
	st_err err = ST_OK;

	*out = NULL;
	if (!local_ca_is(base)) {
		err = st_fail(cause, ST_E_ARG,
		    "only the local CA can sign a "
		    "verification certificate here");
		goto out;
	}
	if (cn == NULL || cn[0] == '\0' || strlen(cn) > 64 ||
	    strspn(cn, "0123456789abcdefABCDEF") != strlen(cn)) {
		err = st_fail(cause, ST_E_ARG,
		    "'%s' is not a registration "
		    "code (1..64 hex digits, as AWS IoT prints it)",
		    cn ? cn : "");
		goto out;
	}
	/* Throwaway: proves nothing by itself, is never stored, and dies
	 * with this function. */
	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (name == NULL || key == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
		(const unsigned char *)cn, -1, -1, 0)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "preparing the "
		    "verification certificate");
		goto out;
	}
	pthread_mutex_lock(&ca->lock);
	*out = make_verification(ca, name, key, cause);
	pthread_mutex_unlock(&ca->lock);
	if (*out == NULL)
		err = ST_E_CA;
out:
	EVP_PKEY_free(key);
	X509_NAME_free(name);
	return err;
}
