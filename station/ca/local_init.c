/* Creating a local CA: `station ca init` (see local.h). */
#include "station/ca/local.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"
#include "station/ca/pkcs11.h"

#define LOG_MODULE "ca"
#include "station/util/log.h"

/* What `ca init` makes and `--force` replaces (the lists of issued and
 * revoked certificates stay). */
static const char *const ca_files[] = { "root.key", "root.pem",
	"intermediate.key", "intermediate.pem", "intermediate.csr", "chain.pem",
	"test-root.sha256", NULL };

/* mkdir -p; the last component gets `mode` and is tightened to it if it
 * already existed (a CA directory others can list is a mistake). */
st_err
local_make_dirs(const char *dir, mode_t mode, char **cause)
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

/* DIR/test-root.sha256: the fingerprint of a root made here, so that a
 * production configuration can refuse it (local_ca_root_is_test). */
static st_err
mark_test_root(const char *dir, X509 *root, char **cause)
{
	char fp[65];
	char *path = xasprintf("%s/test-root.sha256", dir);
	char *line;
	st_err err;

	cert_fingerprint_sha256(root, fp);
	line = xasprintf("%s\n", fp);
	err = local_append_line(path, line, cause);
	free(line);
	free(path);
	return err;
}

/* root.pem, root.key (only if kept), intermediate.key (file keys),
 * intermediate.pem, the TEST mark; all or nothing. */
static st_err
write_test_ca(const char *dir, EVP_PKEY *root_key, X509 *root,
    EVP_PKEY *int_key, X509 *inter, char **cause)
{
	char *p[5];
	st_err err;

	for (size_t i = 0; i < 4; i++)
		p[i] = xasprintf("%s/%s", dir, ca_files[i]);
	p[4] = xasprintf("%s/test-root.sha256", dir);
	/* root_key is NULL unless --keep-root; int_key is NULL when the
	 * intermediate's key is in a token: no key file then. */
	err = root_key ? local_write_key(p[0], root_key, cause) : ST_OK;
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
	if (err)
		goto out;
	err = mark_test_root(dir, root, cause);
out:
	for (size_t i = 0; i < 5; i++) {
		/* Half a CA is worse than none: a retry must not see EXISTS. */
		if (err && err != ST_E_EXISTS)
			unlink(p[i]);
		free(p[i]);
	}
	return err;
}

st_err
local_new_key(const struct local_ca_key *key, EVP_PKEY **file_key,
    struct pkcs11_key **token, char **cause)
{
	struct pkcs11_opts po;
	st_err err;

	*file_key = NULL;
	*token = NULL;
	if (key == NULL || key->uri == NULL) {
		*file_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		if (*file_key == NULL)
			return st_fail_ssl(cause, ST_E_CRYPTO,
			    "generating the intermediate's key");
		return ST_OK;
	}
	po = (struct pkcs11_opts){ key->uri, key->module, key->pin_file,
		key->pin_env };
	err = pkcs11_key_generate(&po, token, cause);
	if (err)
		return st_wrap(cause, err,
		    "generating the intermediate's key in the token");
	return ST_OK;
}

st_err
local_make_csr(X509_NAME *subject, EVP_PKEY *pub, EVP_PKEY *signer,
    X509_REQ **out, char **cause)
{
	X509_REQ *req = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *bc = NULL, *ku = NULL;
	st_err err = ST_OK;

	*out = NULL;
	/* The request says what it is for; the root's own extension file
	 * decides (docs/admin.md), and `ca install` checks the result. */
	bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:TRUE,pathlen:0");
	ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	if (req == NULL || exts == NULL || bc == NULL || ku == NULL ||
	    !sk_X509_EXTENSION_push(exts, bc) ||
	    !sk_X509_EXTENSION_push(exts, ku) ||
	    !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(req, subject) ||
	    !X509_REQ_set_pubkey(req, pub) ||
	    !X509_REQ_add_extensions(req, exts)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "filling the intermediate's CSR");
		goto out;
	}
	if (X509_REQ_sign(req, signer, EVP_sha256()) <= 0) {
		err = st_fail_ssl(cause, ST_E_CRYPTO,
		    "signing the intermediate's CSR");
		goto out;
	}
	*out = req;
	req = NULL;
out:
	sk_X509_EXTENSION_free(exts);
	X509_EXTENSION_free(bc);
	X509_EXTENSION_free(ku);
	X509_REQ_free(req);
	return err;
}

st_err
local_write_csr(const char *path, X509_REQ *req, int excl, char **cause)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
	int fd = open(path, flags, 0644);
	FILE *fp;
	st_err err = ST_OK;

	if (fd < 0)
		return st_fail(cause, errno == EEXIST ? ST_E_EXISTS : ST_E_IO,
		    "cannot create %s: %s", path, strerror(errno));
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		close(fd);
		return st_fail(cause, ST_E_IO, "cannot write %s: %s", path,
		    strerror(errno));
	}
	if (!PEM_write_X509_REQ(fp, req) || fflush(fp) != 0 || fsync(fd) != 0)
		err = st_fail_ssl(cause, ST_E_IO, "writing %s", path);
	if (fclose(fp) != 0 && err == ST_OK)
		err = st_fail(cause, ST_E_IO, "writing %s: %s", path,
		    strerror(errno));
	return err;
}

st_err
local_write_pending(const char *dir, X509_NAME *subject,
    const struct local_ca_key *key, const char *csr_out, char **cause)
{
	EVP_PKEY *file_key = NULL;
	struct pkcs11_key *token = NULL;
	X509_REQ *req = NULL;
	char *key_path = xasprintf("%s/intermediate.key", dir);
	char *csr_path = xasprintf("%s/intermediate.csr", dir);
	int wrote_key = 0;
	st_err err;

	err = local_new_key(key, &file_key, &token, cause);
	if (err)
		goto out;
	err =
	    local_make_csr(subject, token ? pkcs11_key_public(token) : file_key,
		token ? pkcs11_key_pkey(token) : file_key, &req, cause);
	if (err)
		goto out;
	if (file_key != NULL) {
		err = local_write_key(key_path, file_key, cause);
		if (err)
			goto out;
		wrote_key = 1;
	}
	err = local_write_csr(csr_path, req, 1, cause);
	if (err)
		goto out;
	err = local_write_csr(csr_out, req, 0, cause);
	if (err)
		unlink(csr_path);
out:
	if (err && wrote_key)
		unlink(key_path);
	X509_REQ_free(req);
	EVP_PKEY_free(file_key);
	pkcs11_key_free(token);
	free(key_path);
	free(csr_path);
	return err;
}

/* The embedded demo's CA: a root made here signs the intermediate, then
 * its key is forgotten (kept only with --keep-root). */
static st_err
init_test_ca(const char *dir, const struct local_ca_init_opts *o,
    X509_NAME *root_name, X509_NAME *int_name, char **cause)
{
	EVP_PKEY *root_key = NULL, *int_key = NULL;
	struct pkcs11_key *token = NULL;
	X509 *root = NULL, *inter = NULL;
	st_err err;

	root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (root_key == NULL) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "generating CA keys");
		goto out;
	}
	err = local_new_key(&o->key, &int_key, &token, cause);
	if (err)
		goto out;
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
	err = write_test_ca(dir, o->keep_root ? root_key : NULL, root, int_key,
	    inter, cause);
	if (err == ST_OK)
		log_info("created local TEST CA in %s%s%s%s", dir,
		    token ? ", intermediate key in " : "",
		    token ? o->key.uri : "",
		    o->keep_root ? ", root key kept" : "");
out:
	pkcs11_key_free(token);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(int_key);
	X509_free(root);
	X509_free(inter);
	return err;
}

st_err
local_ca_init_opts(const char *dir, const struct local_ca_init_opts *opts,
    char **cause)
{
	struct local_ca_init_opts o = { 0 };
	X509_NAME *root_name = NULL, *int_name = NULL;
	st_err err;

	if (opts != NULL)
		o = *opts;
	if (o.csr_out != NULL && (o.root_subject != NULL || o.keep_root)) {
		err = st_fail(cause, ST_E_ARG,
		    "--csr-out makes no root: the offline root signs the CSR "
		    "(--root-subject and --keep-root are for a TEST CA)");
		goto out;
	}
	if (o.root_subject == NULL)
		o.root_subject = LOCAL_CA_ROOT_SUBJECT;
	if (o.intermediate_subject == NULL)
		o.intermediate_subject = o.csr_out ?
		    LOCAL_CA_PENDING_SUBJECT :
		    LOCAL_CA_INTERMEDIATE_SUBJECT;
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
	err = local_make_dirs(dir, 0700, cause);
	if (err)
		goto out;
	err = clear_old(dir, o.force, cause);
	if (err)
		goto out;
	if (o.csr_out == NULL) {
		err = init_test_ca(dir, &o, root_name, int_name, cause);
		goto out;
	}
	err = local_write_pending(dir, int_name, &o.key, o.csr_out, cause);
	if (err == ST_OK)
		log_info("local CA in %s pending: intermediate CSR in %s", dir,
		    o.csr_out);
out:
	X509_NAME_free(root_name);
	X509_NAME_free(int_name);
	return err;
}

st_err
local_ca_init(const char *dir, char **cause)
{
	return local_ca_init_opts(dir, NULL, cause);
}
