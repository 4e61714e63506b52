/* Pieces shared by local CA creation and signing (see local_int.h). */
#include "station/ca/local_int.h"
#include "station/ca/local.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "station/util/clock.h"
#include "station/util/xalloc.h"
#include "station/x509/cert_check.h"

st_err
local_rand_serial(ASN1_INTEGER **out, char **cause)
{
	unsigned char buf[LOCAL_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int tries = 0;

	*out = NULL;
	do {
		if (RAND_bytes(buf, sizeof buf) != 1)
			return st_fail_ssl(cause, ST_E_CRYPTO,
			    "no random bytes for a certificate serial");
		/* Positive (RFC 5280 4.1.2.2) and at most 20 octets in DER. */
		buf[0] &= 0x7F;
		BN_free(bn);
		bn = BN_bin2bn(buf, sizeof buf, NULL);
	} while (bn != NULL && BN_is_zero(bn) && ++tries < 8);
	if (bn != NULL && !BN_is_zero(bn))
		*out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (*out == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "cannot make a certificate serial");
	return ST_OK;
}

st_err
local_set_validity(X509 *cert, int days, char **cause)
{
	time_t now = time(NULL);

	if (days <= 0)
		return st_fail(cause, ST_E_ARG, "validity of %d days", days);
	if (X509_time_adj_ex(X509_getm_notBefore(cert), 0,
		-LOCAL_BACKDATE_SECONDS, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, &now) == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "cannot set the validity period");
	return ST_OK;
}

st_err
local_add_ext(X509 *cert, X509 *issuer, int nid, const char *value,
    char **cause)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO, "extension %s=%s",
		    OBJ_nid2sn(nid), value);
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return st_fail_ssl(cause, ST_E_CRYPTO, "adding extension %s",
		    OBJ_nid2sn(nid));
	return ST_OK;
}

/* Open `path` for writing as a new file with `mode`, wrapped in a BIO. */
static st_err
open_new(const char *path, mode_t mode, BIO **out, char **cause)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	*out = NULL;
	if (fd < 0)
		return st_fail(cause, errno == EEXIST ? ST_E_EXISTS : ST_E_IO,
		    "cannot create %s: %s", path, strerror(errno));
	*out = BIO_new_fd(fd, BIO_CLOSE);
	if (*out == NULL) {
		close(fd);
		unlink(path);
		return st_fail_ssl(cause, ST_E_CRYPTO, "BIO for %s", path);
	}
	return ST_OK;
}

static st_err
finish_file(const char *path, BIO *bio, int wrote, char **cause)
{
	int fd = -1;
	st_err err = ST_OK;

	BIO_get_fd(bio, &fd);
	if (!wrote)
		err = st_fail_ssl(cause, ST_E_CRYPTO, "writing %s", path);
	else if (BIO_flush(bio) != 1 || fsync(fd) != 0)
		err = st_fail(cause, ST_E_IO, "writing %s: %s", path,
		    strerror(errno));
	BIO_free(bio);
	if (err)
		unlink(path);
	return err;
}

st_err
local_write_cert(const char *path, X509 *cert, char **cause)
{
	BIO *bio;
	st_err err = open_new(path, 0644, &bio, cause);

	if (err)
		return err;
	return finish_file(path, bio, PEM_write_bio_X509(bio, cert), cause);
}

st_err
local_write_key(const char *path, EVP_PKEY *key, char **cause)
{
	BIO *bio;
	st_err err = open_new(path, 0600, &bio, cause);

	if (err)
		return err;
	return finish_file(path, bio,
	    PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL),
	    cause);
}

st_err
local_each_line(const char *dir, const char *name, local_line_fn fn, void *arg,
    char **cause)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int stop = 0;
	st_err err = ST_OK;

	if (fp == NULL) {
		if (errno != ENOENT)
			err = st_fail(cause, ST_E_IO, "cannot open %s: %s",
			    path, strerror(errno));
		goto out;
	}
	while (err == ST_OK && !stop && getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		err = fn(line, path, ++lineno, arg, &stop, cause);
	}
	if (err == ST_OK && ferror(fp))
		err = st_fail(cause, ST_E_IO, "reading %s: %s", path,
		    strerror(errno));
out:
	if (fp != NULL)
		fclose(fp);
	free(line);
	free(path);
	return err;
}

st_err
local_append_line(const char *path, const char *line, char **cause)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	size_t len = strlen(line), done = 0;
	st_err err = ST_OK;

	if (fd < 0)
		return st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
	while (done < len) {
		ssize_t n = write(fd, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = st_fail(cause, ST_E_IO, "writing %s: %s", path,
			    strerror(errno));
			goto out;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0)
		err = st_fail(cause, ST_E_IO, "syncing %s: %s", path,
		    strerror(errno));
out:
	close(fd);
	return err;
}

st_err
local_fsync_dir(const char *dir, char **cause)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	st_err err = ST_OK;

	if (fd < 0)
		return st_fail(cause, ST_E_IO, "cannot open %s: %s", dir,
		    strerror(errno));
	if (fsync(fd) != 0)
		err = st_fail(cause, ST_E_IO, "syncing %s: %s", dir,
		    strerror(errno));
	close(fd);
	return err;
}

st_err
local_set_leaf_validity(X509 *cert, X509 *issuer, int days, char **note,
    char **cause)
{
	const ASN1_TIME *until = X509_get0_notAfter(issuer);
	const ASN1_TIME *from = X509_get0_notBefore(issuer);
	char when[21];
	st_err err;

	*note = NULL;
	if (X509_cmp_current_time(until) <= 0) {
		clock_iso8601_utc(when, cert_not_after(issuer));
		return st_fail(cause, ST_E_CA,
		    "the issuing CA expired on %s: "
		    "install a new intermediate",
		    when);
	}
	err = local_set_validity(cert, days, cause);
	if (err)
		return err;
	/* A relying party refuses a leaf whose issuer is not valid at the
	 * time it checks: a leaf outliving its issuer would stop working
	 * before its notAfter, so it is shortened, and the run says so. */
	if (ASN1_TIME_compare(X509_get0_notAfter(cert), until) > 0) {
		if (!X509_set1_notAfter(cert, until))
			return st_fail_ssl(cause, ST_E_CRYPTO,
			    "capping the validity period");
		clock_iso8601_utc(when, cert_not_after(issuer));
		*note = xasprintf("notAfter capped at the issuing CA's "
				  "notAfter %s (the profile asks %d days)",
		    when, days);
	}
	if (ASN1_TIME_compare(X509_get0_notBefore(cert), from) < 0 &&
	    !X509_set1_notBefore(cert, from)) {
		free(*note);
		*note = NULL;
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "raising the start of the validity period");
	}
	return ST_OK;
}

GENERAL_NAMES *
local_uri_names(const char *url)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (names == NULL || gn == NULL || ia5 == NULL ||
	    !ASN1_STRING_set(ia5, url, (int)strlen(url)))
		goto fail;
	GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(names, gn))
		goto fail;
	return names;
fail:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return NULL;
}

/* crlDistributionPoints: one distribution point named by `url`.  Built
 * as a structure, not as openssl.cnf text, so no character of the URL
 * (a comma) can be read as syntax. */
static st_err
add_cdp(X509 *cert, const char *url, char **cause)
{
	CRL_DIST_POINTS *cdp = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	int ok = 0;

	if (cdp == NULL || dp == NULL)
		goto out;
	dp->distpoint = DIST_POINT_NAME_new();
	if (dp->distpoint == NULL)
		goto out;
	dp->distpoint->type = 0; /* fullName */
	dp->distpoint->name.fullname = local_uri_names(url);
	if (dp->distpoint->name.fullname == NULL ||
	    !sk_DIST_POINT_push(cdp, dp))
		goto out;
	dp = NULL;
	ok = X509_add1_ext_i2d(cert, NID_crl_distribution_points, cdp, 0,
	    X509V3_ADD_DEFAULT);
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdp);
	if (!ok)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "adding the CRL distribution point");
	return ST_OK;
}

/* One accessDescription (method `nid`, location `url`) onto `aia`. */
static int
push_access(AUTHORITY_INFO_ACCESS *aia, int nid, const char *url)
{
	ACCESS_DESCRIPTION *ad = ACCESS_DESCRIPTION_new();
	GENERAL_NAMES *names = local_uri_names(url);

	if (ad == NULL || names == NULL)
		goto fail;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(nid);
	GENERAL_NAME_free(ad->location);
	ad->location = sk_GENERAL_NAME_pop(names);
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad))
		goto fail;
	GENERAL_NAMES_free(names);
	return 1;
fail:
	GENERAL_NAMES_free(names);
	ACCESS_DESCRIPTION_free(ad);
	return 0;
}

static st_err
add_aia(X509 *cert, const char *ocsp, const char *issuers, char **cause)
{
	AUTHORITY_INFO_ACCESS *aia = sk_ACCESS_DESCRIPTION_new_null();
	st_err err = ST_OK;

	if (aia == NULL || (ocsp && !push_access(aia, NID_ad_OCSP, ocsp)) ||
	    (issuers && !push_access(aia, NID_ad_ca_issuers, issuers)) ||
	    !X509_add1_ext_i2d(cert, NID_info_access, aia, 0,
		X509V3_ADD_DEFAULT))
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "adding the authority information access");
	AUTHORITY_INFO_ACCESS_free(aia);
	return err;
}

st_err
local_add_leaf_urls(X509 *cert, const struct local_ca_pub *pub, char **cause)
{
	st_err err = ST_OK;

	if (pub->crl_url != NULL)
		err = add_cdp(cert, pub->crl_url, cause);
	if (err == ST_OK && (pub->ocsp_url != NULL || pub->ca_issuers_url))
		err = add_aia(cert, pub->ocsp_url, pub->ca_issuers_url, cause);
	return err;
}

void
local_ca_pub_clear(struct local_ca_pub *pub)
{
	free(pub->crl_url);
	free(pub->ocsp_url);
	free(pub->ca_issuers_url);
	free(pub->crl_dir);
	memset(pub, 0, sizeof *pub);
}

#define URL_MAX 512
/* RFC 3986: unreserved, reserved and '%'. */
#define URL_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz" \
	"0123456789-._~:/?#[]@!$&'()*+,;=%"
#define FILE_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz" \
	"0123456789._-"

st_err
local_ca_url_check(const char *url, int crl_file, char **why)
{
	const char *host, *path, *name;
	size_t len = strlen(url), n;

	if (len == 0 || len > URL_MAX || strspn(url, URL_CHARS) != len)
		return st_fail(why, ST_E_CONFIG,
		    "expected a URL of at most %d characters, printable "
		    "ASCII without spaces, quotes or angle brackets "
		    "(percent-encode others)",
		    URL_MAX);
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return st_fail(why, ST_E_CONFIG,
		    "expected an http:// or "
		    "https:// URL");
	path = host + strcspn(host, "/?#");
	if (path == host || memchr(host, '@', (size_t)(path - host)) != NULL)
		return st_fail(why, ST_E_CONFIG,
		    "expected a host (and no "
		    "user) after the scheme");
	if (!crl_file)
		return ST_OK;
	name = strrchr(path, '/');
	name = name ? name + 1 : "";
	n = strlen(name);
	if (path[0] != '/' || strpbrk(path, "?#") != NULL || n < 5 ||
	    name[0] == '.' || strspn(name, FILE_CHARS) != n ||
	    strcmp(name + n - 4, ".crl") != 0)
		return st_fail(why, ST_E_CONFIG,
		    "expected a URL ending in "
		    "the CRL's file name (letters, digits, '.', '_', '-', "
		    "ending in .crl; no query or fragment), e.g. "
		    "http://pki.example.com/crl/station.crl");
	return ST_OK;
}

char *
local_ca_crl_file_name(const char *crl_url)
{
	const char *slash = crl_url ? strrchr(crl_url, '/') : NULL;

	return xstrdup(slash != NULL ? slash + 1 : "intermediate.crl");
}
