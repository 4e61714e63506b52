/* The local CA's certificate revocation list and AWS IoT verification
 * certificates: the two things signed by the intermediate that are not
 * device certificates (see local.h). */
#include "station/ca/local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/*
 * The issuing distribution point: critical (RFC 5280 5.2.5), this CRL
 * covers only end-entity certificates (the intermediate has pathlen 0),
 * and with crl_url its name is the leaves' distribution point: relying
 * parties that match the two (OpenSSL, EMQX) accept it for those leaves.
 */
static int
add_idp(X509_CRL *crl, const char *crl_url)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	int ok = 0;

	if (idp == NULL)
		goto out;
	idp->onlyuser = 0xFF; /* ASN1_FBOOLEAN true */
	if (crl_url != NULL) {
		idp->distpoint = DIST_POINT_NAME_new();
		if (idp->distpoint == NULL)
			goto out;
		idp->distpoint->type = 0; /* fullName */
		idp->distpoint->name.fullname = local_uri_names(crl_url);
		if (idp->distpoint->name.fullname == NULL)
			goto out;
	}
	ok = X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp, 1,
	    X509V3_ADD_DEFAULT);
out:
	ISSUING_DIST_POINT_free(idp);
	return ok;
}

static st_err
crl_exts(X509_CRL *crl, X509 *issuer, long number, const char *crl_url,
    char **cause)
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
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) ||
	    !add_idp(crl, crl_url))
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
	    crl_exts(crl, ca->inter, number, ca->pub.crl_url, cause))
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

/*
 * DIR/NAME as PEM or DER, mode 0644 whatever the umask (a CRL is public
 * and a web server must read it): written to DIR/.NAME.tmp, synced, then
 * renamed over NAME and the directory synced, so a reader (the web
 * server) sees the old CRL or the new one, never a part.
 */
static st_err
write_crl_file(const char *dir, const char *name, X509_CRL *crl, int pem,
    char **cause)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/.%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	BIO *bio = NULL;
	int ok;
	st_err err = ST_OK;

	if (fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	ok = bio != NULL &&
	    (pem ? PEM_write_bio_X509_CRL(bio, crl) :
		   i2d_X509_CRL_bio(bio, crl));
	if (!ok || BIO_flush(bio) != 1) {
		err = st_fail_ssl(cause, ST_E_IO, "writing %s", tmp);
		goto out;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		err = st_fail(cause, ST_E_IO, "writing %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		err = st_fail(cause, ST_E_IO, "cannot replace %s: %s", path,
		    strerror(errno));
		goto out;
	}
	err = local_fsync_dir(dir, cause);
out:
	BIO_free(bio);
	if (fd >= 0)
		close(fd);
	if (err)
		unlink(tmp);
	free(tmp);
	free(path);
	return err;
}

/* DIR/crl.lock, held (flock) until *fd is closed: another process's CRL
 * issue waits, so numbers reach the files in the order they were taken. */
static st_err
crl_lock(const char *dir, int *fd, char **cause)
{
	char *path = xasprintf("%s/crl.lock", dir);
	st_err err = ST_OK;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	while (flock(*fd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		err = st_fail(cause, ST_E_IO, "cannot lock %s: %s", path,
		    strerror(errno));
		close(*fd);
		*fd = -1;
		goto out;
	}
out:
	free(path);
	return err;
}

/* The CRL as NAME (DER, what the distribution point names) and NAME.pem
 * in the publication directory. */
static st_err
publish(const struct local_ca *ca, const char *pub_dir, X509_CRL *crl,
    char **cause)
{
	char *name = local_ca_crl_file_name(ca->pub.crl_url);
	char *pem = xasprintf("%s.pem", name);
	struct stat st;
	st_err err;

	if (stat(pub_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		err = st_fail(cause, ST_E_IO,
		    "the CRL publication directory "
		    "%s does not exist: create it, writable by the station and "
		    "readable by the web server",
		    pub_dir);
		goto out;
	}
	err = write_crl_file(pub_dir, pem, crl, 1, cause);
	if (err == ST_OK)
		err = write_crl_file(pub_dir, name, crl, 0, cause);
	if (err == ST_OK)
		log_info("CRL published as %s/%s", pub_dir, name);
out:
	free(pem);
	free(name);
	return err;
}

st_err
local_ca_crl(struct ca_backend *base, const char *pub_dir, int days,
    long *number, char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	X509_CRL *crl = NULL;
	int lock = -1;
	long n = 0;
	st_err err;

	if (!local_ca_is(base))
		return st_fail(cause, ST_E_ARG,
		    "only the local CA keeps a CRL "
		    "here; %s publishes its own",
		    base->describe);
	if (days < 1)
		days = LOCAL_CRL_DAYS;
	if (pub_dir == NULL)
		pub_dir = ca->pub.crl_dir;
	pthread_mutex_lock(&ca->lock);
	err = crl_lock(ca->dir, &lock, cause);
	if (err)
		goto out;
	err = next_crl_number(ca->dir, &n, cause);
	if (err)
		goto out;
	crl = make_crl(ca, days, n, cause);
	if (crl == NULL) {
		err = ST_E_CA;
		goto out;
	}
	err = write_crl_file(ca->dir, "crl.pem", crl, 1, cause);
	if (err)
		goto out;
	err = write_crl_file(ca->dir, "crl.der", crl, 0, cause);
	if (err)
		goto out;
	if (pub_dir != NULL) {
		err = publish(ca, pub_dir, crl, cause);
		if (err)
			goto out;
	}
	log_info("CRL %ld: %d revoked certificate(s)", n,
	    sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)));
	if (number != NULL)
		*number = n;
out:
	if (lock >= 0)
		close(lock); /* releases the flock */
	pthread_mutex_unlock(&ca->lock);
	X509_CRL_free(crl);
	return err;
}

const char *
local_ca_crl_dir(const struct ca_backend *base)
{
	if (!local_ca_is(base))
		return NULL;
	return ((const struct local_ca *)base)->pub.crl_dir;
}

st_err
local_crl_refresh(struct local_ca *ca, char **cause)
{
	st_err err;

	if (ca->pub.crl_dir == NULL)
		return ST_OK;
	err = local_ca_crl(&ca->base, NULL, 0, NULL, cause);
	if (err)
		return st_wrap(cause, err,
		    "revoked, but publishing the new CRL "
		    "in %s failed",
		    ca->pub.crl_dir);
	return ST_OK;
}

/* The [ca] URL `key` of `s`, checked (crl_file: local_ca_url_check),
 * into *dst (owned); *dst stays NULL when the key is not set. */
static st_err
take_url(const struct ca_settings *s, const char *key, int crl_file, char **dst,
    char **cause)
{
	const char *v = ca_settings_get(s, key);
	char *why = NULL;
	st_err err;

	if (v == NULL)
		return ST_OK;
	err = local_ca_url_check(v, crl_file, &why);
	if (err)
		err = st_fail(cause, err, "[ca] key '%s': %s", key, why);
	else
		*dst = xstrdup(v);
	free(why);
	return err;
}

/*
 * A retired intermediate's certificates carry the crl_url it had
 * (DIR/retired/SERIAL/crl_url): its CRL is published under that name, so
 * the active intermediate must have another, or relying parties would
 * fetch one issuer's CRL for the other's certificates and refuse them.
 */
static st_err
crl_url_not_retired(const char *dir, const char *url, char **cause)
{
	char *rdir = xasprintf("%s/retired", dir);
	char *path = NULL;
	char line[1024];
	struct dirent *e;
	DIR *d = opendir(rdir);
	FILE *fp;
	st_err err = ST_OK;

	if (d == NULL || url == NULL)
		goto out;
	for (;;) {
		e = readdir(d);
		if (e == NULL || err)
			break;
		if (e->d_name[0] == '.')
			continue;
		free(path);
		path = xasprintf("%s/%s/crl_url", rdir, e->d_name);
		fp = fopen(path, "r");
		if (fp == NULL)
			continue;
		if (fgets(line, sizeof line, fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (strcmp(line, url) == 0)
				err = st_fail(cause, ST_E_CONFIG,
				    "[ca] crl_url names the CRL of the retired "
				    "intermediate %s (its certificates carry "
				    "that URL): give the active intermediate a "
				    "URL of its own (another file name)",
				    e->d_name);
		}
		fclose(fp);
	}
out:
	if (d != NULL)
		closedir(d);
	free(path);
	free(rdir);
	return err;
}

st_err
local_ca_set_publication(struct ca_backend *base, const struct ca_settings *s,
    char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	struct local_ca_pub pub = { 0 };
	const char *dir;
	st_err err;

	if (!local_ca_is(base))
		return st_fail(cause, ST_E_ARG,
		    "only the local CA publishes "
		    "a CRL here");
	err = take_url(s, "crl_url", 1, &pub.crl_url, cause);
	if (err == ST_OK)
		err = take_url(s, "ocsp_url", 0, &pub.ocsp_url, cause);
	if (err == ST_OK)
		err = take_url(s, "ca_issuers_url", 0, &pub.ca_issuers_url,
		    cause);
	if (err)
		goto out;
	dir = ca_settings_get(s, "crl_dir");
	if (dir != NULL)
		pub.crl_dir = xstrdup(dir);
	err = crl_url_not_retired(ca->dir, pub.crl_url, cause);
	if (err)
		goto out;
	pthread_mutex_lock(&ca->lock);
	local_ca_pub_clear(&ca->pub);
	ca->pub = pub;
	memset(&pub, 0, sizeof pub);
	pthread_mutex_unlock(&ca->lock);
out:
	local_ca_pub_clear(&pub);
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
