/* Pieces shared by local CA creation and signing (see local_int.h). */
#include "station/ca/local_int.h"

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

#include "station/util/xalloc.h"

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
