/* Creating a local CA: `station ca init` (see local.h). */
#include "station/ca/local.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/x509/dn.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"
#include "station/ca/pkcs11.h"

#define LOG_MODULE "ca"
#include "station/util/log.h"

static const char *const ca_files[] = { "root.key", "root.pem",
	"intermediate.key", "intermediate.pem", NULL };

/* mkdir -p; the last component gets `mode` and is tightened to it if it
 * already existed (a CA directory others can list is a mistake). */
static st_err
make_dir(const char *dir, mode_t mode, char **cause)
{
	char *copy = xstrdup(dir);
	st_err err = ST_OK;

	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			err = st_fail(cause, ST_E_IO, "cannot create %s: %s",
			    copy, strerror(errno));
			goto out;
		}
		*p = '/';
	}
	if (mkdir(dir, mode) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (chmod(dir, mode) != 0)
		err = st_fail(cause, ST_E_IO, "cannot set mode of %s: %s", dir,
		    strerror(errno));
out:
	free(copy);
	return err;
}

static X509 *
make_ca_cert(X509_NAME *subject, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, int days, const char *basic, char **cause)
{
	X509 *cert = X509_new();
	ASN1_INTEGER *serial = NULL;
	st_err err;

	if (cert == NULL) {
		st_fail_ssl(cause, ST_E_CRYPTO, "X509_new");
		return NULL;
	}
	err = local_rand_serial(&serial, cause);
	if (err)
		goto fail;
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_serialNumber(cert, serial) ||
	    !X509_set_subject_name(cert, subject) ||
	    !X509_set_issuer_name(cert,
		issuer ? X509_get_subject_name(issuer) : subject) ||
	    !X509_set_pubkey(cert, key)) {
		st_fail_ssl(cause, ST_E_CRYPTO, "filling a CA certificate");
		goto fail;
	}
	err = local_set_validity(cert, days, cause);
	if (err)
		goto fail;
	err = local_add_ext(cert, issuer, NID_basic_constraints, basic, cause);
	if (err)
		goto fail;
	err = local_add_ext(cert, issuer, NID_key_usage,
	    "critical,keyCertSign,cRLSign", cause);
	if (err)
		goto fail;
	err = local_add_ext(cert, issuer, NID_subject_key_identifier, "hash",
	    cause);
	if (err)
		goto fail;
	err = local_add_ext(cert, issuer, NID_authority_key_identifier,
	    "keyid:always", cause);
	if (err)
		goto fail;
	if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
		st_fail_ssl(cause, ST_E_CRYPTO, "signing a CA certificate");
		goto fail;
	}
	ASN1_INTEGER_free(serial);
	return cert;
fail:
	ASN1_INTEGER_free(serial);
	X509_free(cert);
	return NULL;
}

/* Refuse to replace an existing CA unless forced; when forced, remove the
 * old CA files first so that they can be created with O_EXCL again. */
static st_err
clear_old(const char *dir, int force, char **cause)
{
	for (size_t i = 0; ca_files[i] != NULL; i++) {
		char *path = xasprintf("%s/%s", dir, ca_files[i]);
		st_err err = ST_OK;

		if (access(path, F_OK) == 0) {
			if (!force)
				err = st_fail(cause, ST_E_EXISTS,
				    "%s already "
				    "holds a CA (%s); use --force to replace "
				    "it",
				    dir, ca_files[i]);
			else if (unlink(path) != 0)
				err = st_fail(cause, ST_E_IO,
				    "cannot remove %s: %s", path,
				    strerror(errno));
		}
		free(path);
		if (err)
			return err;
	}
	return ST_OK;
}

static st_err
write_all(const char *dir, EVP_PKEY *root_key, X509 *root, EVP_PKEY *int_key,
    X509 *inter, char **cause)
{
	char *p[4];
	st_err err;

	for (size_t i = 0; i < 4; i++)
		p[i] = xasprintf("%s/%s", dir, ca_files[i]);
	/* int_key is NULL when the intermediate's key is in a token: then
	 * there is no key file to write. */
	err = local_write_key(p[0], root_key, cause);
	if (err)
		goto out;
	err = local_write_cert(p[1], root, cause);
	if (err)
		goto out;
	if (int_key != NULL)
		err = local_write_key(p[2], int_key, cause);
	if (err)
		goto out;
	err = local_write_cert(p[3], inter, cause);
out:
	for (size_t i = 0; i < 4; i++) {
		/* Half a CA is worse than none: a retry must not see EXISTS. */
		if (err && err != ST_E_EXISTS)
			unlink(p[i]);
		free(p[i]);
	}
	return err;
}

st_err
local_ca_init_opts(const char *dir, const struct local_ca_init_opts *opts,
    char **cause)
{
	struct local_ca_init_opts o = { 0 };
	X509_NAME *root_name = NULL, *int_name = NULL;
	EVP_PKEY *root_key = NULL, *int_key = NULL;
	struct pkcs11_key *token = NULL;
	X509 *root = NULL, *inter = NULL;
	st_err err;

	if (opts != NULL)
		o = *opts;
	if (o.root_subject == NULL)
		o.root_subject = LOCAL_CA_ROOT_SUBJECT;
	if (o.intermediate_subject == NULL)
		o.intermediate_subject = LOCAL_CA_INTERMEDIATE_SUBJECT;
	err = dn_parse(o.root_subject, &root_name, cause);
	if (err) {
		err = st_wrap(cause, ST_E_ARG, "root subject");
		goto out;
	}
	err = dn_parse(o.intermediate_subject, &int_name, cause);
	if (err) {
		err = st_wrap(cause, ST_E_ARG, "intermediate subject");
		goto out;
	}
	err = make_dir(dir, 0700, cause);
	if (err)
		goto out;
	err = clear_old(dir, o.force, cause);
	if (err)
		goto out;
	root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (o.key.uri == NULL)
		int_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (root_key == NULL || (o.key.uri == NULL && int_key == NULL)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "generating CA keys");
		goto out;
	}
	if (o.key.uri != NULL) {
		struct pkcs11_opts po = { o.key.uri, o.key.module,
			o.key.pin_file, o.key.pin_env };

		err = pkcs11_key_generate(&po, &token, cause);
		if (err) {
			err = st_wrap(cause, err,
			    "generating the "
			    "intermediate's key in the token");
			goto out;
		}
	}
	root = make_ca_cert(root_name, root_key, NULL, root_key,
	    LOCAL_CA_ROOT_DAYS, "critical,CA:TRUE", cause);
	if (root == NULL) {
		err = st_wrap(cause, ST_E_CRYPTO, "making the root");
		goto out;
	}
	inter = make_ca_cert(int_name,
	    token ? pkcs11_key_public(token) : int_key, root, root_key,
	    LOCAL_CA_INTERMEDIATE_DAYS, "critical,CA:TRUE,pathlen:0", cause);
	if (inter == NULL) {
		err = st_wrap(cause, ST_E_CRYPTO, "making the intermediate");
		goto out;
	}
	err = write_all(dir, root_key, root, int_key, inter, cause);
	if (err == ST_OK)
		log_info("created local CA in %s%s%s", dir,
		    token ? ", intermediate key in " : "",
		    token ? o.key.uri : "");
out:
	pkcs11_key_free(token);
	X509_NAME_free(root_name);
	X509_NAME_free(int_name);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	X509_free(root);
	X509_free(inter);
	return err;
}

st_err
local_ca_init(const char *dir, char **cause)
{
	return local_ca_init_opts(dir, NULL, cause);
}
