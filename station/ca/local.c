/* The local CA backend: signing and revoking with the intermediate kept in
 * the CA directory (see local.h). */
#include "station/ca/local.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"

#define LOG_MODULE "ca"

EVP_PKEY *
local_signing_key(struct local_ca *ca)
{
	return ca->token ? pkcs11_key_pkey(ca->token) : ca->inter_key;
}

/* keyUsage value in openssl.cnf syntax for the profile's bits. */
static void
key_usage_conf(unsigned bits, char *buf, size_t len)
{
	snprintf(buf, len, "critical%s%s%s",
	    bits & PROFILE_KU_DIGITAL_SIGNATURE ? ",digitalSignature" : "",
	    bits & PROFILE_KU_KEY_ENCIPHERMENT ? ",keyEncipherment" : "",
	    bits & PROFILE_KU_KEY_AGREEMENT ? ",keyAgreement" : "");
}

/* Copy the CSR's requested subjectAltName (DNS and URI names only). */
static st_err
copy_san(X509 *cert, X509_REQ *csr, char **cause)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(csr);
	GENERAL_NAMES *names = NULL;
	st_err err = ST_OK;
	int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);

	if (idx < 0)
		goto out;
	names = X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, idx));
	if (names == NULL) {
		err = st_fail_ssl(cause, ST_E_CA,
		    "the CSR's subjectAltName "
		    "does not decode");
		goto out;
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		int type = sk_GENERAL_NAME_value(names, i)->type;

		/* A CA must not quietly change what it was asked for. */
		if (type != GEN_DNS && type != GEN_URI) {
			err = st_fail(cause, ST_E_CA,
			    "the CSR asks for a "
			    "subjectAltName of type %d; only DNS and URI are "
			    "issued",
			    type);
			goto out;
		}
	}
	if (sk_GENERAL_NAME_num(names) > 0 &&
	    !X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0,
		X509V3_ADD_DEFAULT))
		err = st_fail_ssl(cause, ST_E_CA, "adding subjectAltName");
out:
	GENERAL_NAMES_free(names);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return err;
}

static st_err
add_leaf_exts(X509 *cert, X509 *inter, const struct profile *p, char **cause)
{
	char ku[96];
	st_err err;

	err = local_add_ext(cert, inter, NID_basic_constraints,
	    "critical,CA:FALSE", cause);
	if (err)
		return err;
	if (p->key_usage != 0) {
		key_usage_conf(p->key_usage, ku, sizeof ku);
		err = local_add_ext(cert, inter, NID_key_usage, ku, cause);
		if (err)
			return err;
	}
	if (p->eku_client_auth || p->eku_server_auth) {
		const char *eku = p->eku_client_auth && p->eku_server_auth ?
		    "clientAuth,serverAuth" :
		    p->eku_client_auth ? "clientAuth" :
					 "serverAuth";

		err = local_add_ext(cert, inter, NID_ext_key_usage, eku, cause);
		if (err)
			return err;
	}
	err = local_add_ext(cert, inter, NID_subject_key_identifier, "hash",
	    cause);
	if (err)
		return err;
	return local_add_ext(cert, inter, NID_authority_key_identifier,
	    "keyid:always", cause);
}

/*
 * The CSR's SubjectPublicKeyInfo into the certificate as it is: the same
 * algorithm, parameters and key bits.  X509_set_pubkey encodes the key
 * anew through OpenSSL 3.0's encoder look-up (the slowest call of a
 * signature, over a millisecond in a fresh process) to arrive at the same
 * bytes.  The certificate's key is then not decoded (X509_get0_pubkey
 * says NULL) until the certificate is parsed again (make_leaf).  0 when
 * the request's key cannot be copied.
 */
static int
copy_spki(X509 *cert, X509_REQ *csr)
{
	ASN1_OBJECT *alg = NULL, *alg_copy = NULL;
	const ASN1_OBJECT *param_obj = NULL;
	const unsigned char *bits = NULL;
	const void *param = NULL;
	X509_ALGOR *algor = NULL;
	unsigned char *bits_copy = NULL;
	void *param_copy = NULL;
	int len = 0, ptype = V_ASN1_UNDEF;

	if (!X509_PUBKEY_get0_param(&alg, &bits, &len, &algor,
		X509_REQ_get_X509_PUBKEY(csr)) ||
	    bits == NULL || len <= 0)
		return 0;
	if (algor != NULL)
		X509_ALGOR_get0(&param_obj, &ptype, &param, algor);
	/* EC names its curve (an OID), RSA has NULL, RSA-PSS a SEQUENCE. */
	if (ptype == V_ASN1_OBJECT)
		param_copy = OBJ_dup(param);
	else if (ptype == V_ASN1_SEQUENCE)
		param_copy = ASN1_STRING_dup(param);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return 0;
	alg_copy = OBJ_dup(alg);
	bits_copy = OPENSSL_memdup(bits, (size_t)len);
	if (alg_copy != NULL && bits_copy != NULL &&
	    (param_copy != NULL || ptype == V_ASN1_NULL ||
		ptype == V_ASN1_UNDEF) &&
	    X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), alg_copy, ptype,
		param_copy, bits_copy, len))
		return 1;
	ASN1_OBJECT_free(alg_copy);
	if (ptype == V_ASN1_OBJECT)
		ASN1_OBJECT_free(param_copy);
	else
		ASN1_STRING_free(param_copy);
	OPENSSL_free(bits_copy);
	return 0;
}

/* `cert` parsed again from its DER (`cert` is freed), as every relying
 * party sees it: its public key decoded.  NULL if it does not parse. */
static X509 *
reparsed(X509 *cert)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_X509(cert, &der);
	X509 *again = NULL;

	p = der;
	if (n > 0)
		again = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	X509_free(cert);
	return again;
}

static X509 *
make_leaf(struct local_ca *ca, const struct ca_request *req, char **note,
    char **cause)
{
	X509 *cert = X509_new();
	ASN1_INTEGER *serial = NULL;
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req->csr);

	if (cert == NULL || pub == NULL) {
		st_fail_ssl(cause, ST_E_CA, "the CSR has no usable key");
		goto fail;
	}
	if (local_rand_serial(&serial, cause))
		goto fail;
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    !X509_set_serialNumber(cert, serial) ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(ca->inter)) ||
	    !X509_set_subject_name(cert, X509_REQ_get_subject_name(req->csr)) ||
	    !copy_spki(cert, req->csr)) {
		st_fail_ssl(cause, ST_E_CA, "filling the certificate");
		goto fail;
	}
	if (local_set_leaf_validity(cert, ca->inter,
		req->profile->validity_days, note, cause) ||
	    add_leaf_exts(cert, ca->inter, req->profile, cause) ||
	    local_add_leaf_urls(cert, &ca->pub, cause) ||
	    copy_san(cert, req->csr, cause))
		goto fail;
	if (X509_sign(cert, local_signing_key(ca), EVP_sha256()) <= 0) {
		st_fail_ssl(cause, ST_E_CA, "signing the certificate");
		goto fail;
	}
	ASN1_INTEGER_free(serial);
	serial = NULL;
	cert = reparsed(cert);
	if (cert == NULL) {
		st_fail_ssl(cause, ST_E_CA,
		    "the certificate just signed does "
		    "not parse");
		goto fail;
	}
	return cert;
fail:
	ASN1_INTEGER_free(serial);
	X509_free(cert);
	return NULL;
}

/* Replace control characters so one record stays one line. */
static void
one_line(char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7F)
			*s = '?';
	}
}

/* The index line and the certificate, durable in one fdatasync of the
 * issuance log (local_log.c) before the certificate leaves the backend. */
static st_err
record_issue(struct local_ca *ca, X509 *cert, const char *serial_hex,
    char **cause)
{
	char fp[65], now[21];
	char *subject = dn_format(X509_get_subject_name(cert));
	char *pem = cert_to_pem(cert);

	one_line(subject);
	cert_fingerprint_sha256(cert, fp);
	clock_iso8601_utc(now, (int64_t)time(NULL));
	char *line = xasprintf("%s %s %s %s\n", now, serial_hex, fp, subject);
	st_err err = pem ?
	    local_log_issue(ca->dir, serial_hex, line, pem, cause) :
	    st_fail_ssl(cause, ST_E_CRYPTO, "certificate to PEM");

	free(line);
	free(pem);
	free(subject);
	return err;
}

static st_err
local_sign(struct ca_backend *base, const struct ca_request *req,
    struct ca_issued *out, char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	X509 *cert = NULL;
	char *serial_hex = NULL;
	st_err err = ST_OK;

	memset(out, 0, sizeof *out);
	/* Defence in depth: the CSR policy checked this already, but the CA
	 * signs nothing whose key holder has not proven possession. */
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req->csr);
	if (pub == NULL || X509_REQ_verify(req->csr, pub) != 1)
		return st_fail_ssl(cause, ST_E_CA,
		    "the CSR's signature does not verify");
	pthread_mutex_lock(&ca->lock);
	cert = make_leaf(ca, req, &out->note, cause);
	if (cert == NULL) {
		err = ST_E_CA;
		goto out;
	}
	serial_hex = cert_serial_hex(cert);
	err = record_issue(ca, cert, serial_hex, cause);
	if (err) {
		err = st_wrap(cause, ST_E_CA, "recording the issuance");
		goto out;
	}
	out->chain = sk_X509_new_null();
	X509_up_ref(ca->inter);
	sk_X509_push(out->chain, ca->inter);
	for (int i = 0; i < sk_X509_num(ca->chain); i++) {
		X509_up_ref(sk_X509_value(ca->chain, i));
		sk_X509_push(out->chain, sk_X509_value(ca->chain, i));
	}
	X509_up_ref(ca->root);
	sk_X509_push(out->chain, ca->root);
	out->cert = cert;
	out->serial_hex = serial_hex;
	cert = NULL;
	serial_hex = NULL;
	log_info("issued serial %s for device %s", out->serial_hex,
	    req->device_serial ? req->device_serial : "?");
out:
	pthread_mutex_unlock(&ca->lock);
	if (err) {
		free(out->note);
		out->note = NULL;
	}
	X509_free(cert);
	free(serial_hex);
	return err;
}

struct find_serial {
	const char *serial;
	int found;
};

static int
find_serial_cb(const struct local_ca_record *rec, void *arg)
{
	struct find_serial *f = arg;

	if (strcmp(rec->serial_hex, f->serial) == 0)
		f->found = 1;
	return f->found;
}

/* Is `arg` (a serial) the first field of this revoked.txt line? */
static st_err
revoked_line_is(char *line, const char *path, unsigned lineno, void *arg,
    int *stop, char **cause)
{
	struct find_serial *f = arg;
	size_t n = strlen(f->serial);

	(void)path;
	(void)lineno;
	(void)cause;
	if (strncmp(line, f->serial, n) == 0 && line[n] == ' ')
		f->found = 1;
	*stop = f->found;
	return ST_OK;
}

static st_err
local_revoke(struct ca_backend *base, const char *serial_hex,
    const char *reason, char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	struct find_serial f = { serial_hex, 0 };
	struct find_serial done = { serial_hex, 0 };
	char now[21];
	st_err err;

	if (serial_hex[0] == '\0' ||
	    strspn(serial_hex, "0123456789abcdef") != strlen(serial_hex))
		return st_fail(cause, ST_E_ARG,
		    "'%s' is not a lower-case hex "
		    "serial",
		    serial_hex);
	pthread_mutex_lock(&ca->lock);
	err = local_ca_read_index(ca->dir, find_serial_cb, &f, cause);
	if (err == ST_OK && !f.found)
		err = st_fail(cause, ST_E_NOTFOUND,
		    "serial %s was not issued "
		    "by the CA in %s",
		    serial_hex, ca->dir);
	/* Revoking twice is not an error (a recovery finishing what a
	 * stopped process began): the first line stands. */
	if (err == ST_OK)
		err = local_each_line(ca->dir, "revoked.txt", revoked_line_is,
		    &done, cause);
	if (err == ST_OK && !done.found) {
		/* Free text is kept as written; the CRL lists a reason that
		 * is not an RFC 5280 name as unspecified. */
		char *r = xstrdup(reason && reason[0] ? reason : "unspecified");
		char *path = xasprintf("%s/revoked.txt", ca->dir);

		one_line(r);
		clock_iso8601_utc(now, (int64_t)time(NULL));
		char *line = xasprintf("%s %s %s\n", serial_hex, now, r);
		err = local_append_line(path, line, cause);
		free(line);
		free(path);
		free(r);
	}
	pthread_mutex_unlock(&ca->lock);
	if (err == ST_OK)
		log_info("%s serial %s",
		    done.found ? "already revoked" : "revoked", serial_hex);
	/* Also when it was revoked already: a process stopped between the
	 * two left the published CRL without it. */
	if (err == ST_OK)
		err = local_crl_refresh(ca, cause);
	return err;
}

static st_err
local_find_by_key(struct ca_backend *base, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause)
{
	struct local_ca *ca = (struct local_ca *)base;
	st_err err;

	pthread_mutex_lock(&ca->lock);
	err = local_ca_find_by_key(ca->dir, key_sha256, cb, arg, cause);
	pthread_mutex_unlock(&ca->lock);
	return err;
}

static void
local_free(struct ca_backend *base)
{
	struct local_ca *ca = (struct local_ca *)base;

	if (ca == NULL)
		return;
	/* Nothing to settle: this process wrote issued.txt and certs/ for
	 * each of its records, and the next open repairs and settles what a
	 * crash or a power cut left (local_log_repair). */
	pthread_mutex_destroy(&ca->lock);
	local_ca_pub_clear(&ca->pub);
	X509_free(ca->root);
	X509_free(ca->inter);
	sk_X509_pop_free(ca->chain, X509_free);
	EVP_PKEY_free(ca->inter_key);
	pkcs11_key_free(ca->token);
	free(ca->dir);
	free(ca->base.describe);
	free(ca);
}

static const struct ca_backend_ops local_ops = {
	.sign = local_sign,
	.revoke = local_revoke,
	.find_by_key = local_find_by_key,
	.free = local_free,
};

static st_err
load_key(const char *path, EVP_PKEY **out, char **cause)
{
	FILE *fp = fopen(path, "r");

	*out = NULL;
	if (fp == NULL)
		return st_fail(cause, ST_E_CA, "cannot open %s: %s", path,
		    strerror(errno));
	*out = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL)
		return st_fail_ssl(cause, ST_E_CA, "%s holds no private key",
		    path);
	return ST_OK;
}

/* The intermediate's key from the token: it must match intermediate.pem
 * (compared as SubjectPublicKeyInfo, which needs nothing from the token). */
static st_err
load_token_key(struct local_ca *ca, const struct local_ca_key *key,
    const char *inter, char **cause)
{
	struct pkcs11_opts o = { key->uri, key->module, key->pin_file,
		key->pin_env };
	st_err err = pkcs11_key_open(&o, &ca->token, cause);

	if (err)
		return err;
	if (EVP_PKEY_eq(X509_get0_pubkey(ca->inter),
		pkcs11_key_public(ca->token)) != 1)
		return st_fail(cause, ST_E_CA,
		    "the key %s in the token does "
		    "not belong to %s",
		    key->uri, inter);
	return ST_OK;
}

st_err
local_ca_open_key(const char *dir, const struct local_ca_key *key,
    struct ca_backend **out, char **cause)
{
	struct local_ca *ca = xcalloc(1, sizeof *ca);
	char *root = xasprintf("%s/root.pem", dir);
	char *inter = xasprintf("%s/intermediate.pem", dir);
	char *keyfile = xasprintf("%s/intermediate.key", dir);
	int token = key != NULL && key->uri != NULL && key->uri[0] != '\0';
	st_err err;

	*out = NULL;
	ca->base.ops = &local_ops;
	ca->dir = xstrdup(dir);
	ca->base.describe = token ?
	    xasprintf("local CA (%s, key %s)", inter, key->uri) :
	    xasprintf("local CA (%s)", inter);
	pthread_mutex_init(&ca->lock, NULL);
	if (local_ca_is_pending(dir)) {
		err = st_fail(cause, ST_E_CA,
		    "%s is pending: its intermediate's CSR "
		    "(%s/intermediate.csr) waits to be signed by the root; "
		    "install the certificate with 'station ca install --cert "
		    "INTERMEDIATE.pem --root ROOT.pem' (docs/admin.md)",
		    dir, dir);
		goto out;
	}
	err = x509_load_pem_file(root, &ca->root, cause);
	if (err == ST_OK)
		err = x509_load_pem_file(inter, &ca->inter, cause);
	if (err == ST_OK)
		err = local_load_chain(dir, &ca->chain, cause);
	if (err && key != NULL && key->config != NULL) {
		err = st_wrap(cause, ST_E_CA,
		    "opening the local CA in %s (run 'station --config %s ca "
		    "init' to create it there, or the production ceremony, "
		    "docs/admin.md)",
		    dir, key->config);
		goto out;
	}
	if (err) {
		err = st_wrap(cause, ST_E_CA,
		    "opening the local CA in %s (run 'station ca init --dir "
		    "%s' to create it there, or the production ceremony, "
		    "docs/admin.md)",
		    dir, dir);
		goto out;
	}
	if (token) {
		err = load_token_key(ca, key, inter, cause);
		if (err) {
			err = st_wrap(cause, ST_E_CA,
			    "opening the local CA's "
			    "key in the token");
			goto out;
		}
	} else {
		err = load_key(keyfile, &ca->inter_key, cause);
		if (err) {
			err = st_wrap(cause, ST_E_CA,
			    "opening the local CA "
			    "(if its key is in a token, set [ca] key = "
			    "pkcs11:...)");
			goto out;
		}
		if (X509_check_private_key(ca->inter, ca->inter_key) != 1) {
			err = st_fail_ssl(cause, ST_E_CA,
			    "%s does not belong "
			    "to %s",
			    keyfile, inter);
			goto out;
		}
	}
	/* With a chain.pem the root signed its last CA, which `ca install`
	 * verified; here the intermediate's own issuer is checked. */
	if (X509_verify(ca->inter,
		X509_get0_pubkey(sk_X509_num(ca->chain) > 0 ?
			sk_X509_value(ca->chain, 0) :
			ca->root)) != 1) {
		err = st_fail_ssl(cause, ST_E_CA, "%s is not signed by %s",
		    inter, sk_X509_num(ca->chain) > 0 ? "chain.pem" : root);
		goto out;
	}
	/* A process that died after an issuance's log record may have left
	 * issued.txt or certs/ without it: complete them before anyone
	 * (find_by_key, the CRL, a cross-check) reads them. */
	err = local_log_repair(dir, LOCAL_LOG_KEEP_BYTES, cause);
	if (err) {
		err =
		    st_wrap(cause, ST_E_CA, "completing the local CA's index");
		goto out;
	}
	*out = &ca->base;
	ca = NULL;
out:
	local_free(ca ? &ca->base : NULL);
	free(root);
	free(inter);
	free(keyfile);
	return err;
}

/* The first line of `path`, newline stripped (caller frees). */
static st_err
read_first_line(const char *path, char **out, char **cause)
{
	FILE *fp = fopen(path, "r");
	size_t cap = 0;

	*out = NULL;
	if (fp == NULL)
		return st_fail(cause, ST_E_CA, "cannot open %s: %s", path,
		    strerror(errno));
	if (getline(out, &cap, fp) <= 0) {
		free(*out);
		*out = NULL;
	}
	fclose(fp);
	if (*out == NULL)
		return st_fail(cause, ST_E_CA, "%s is empty", path);
	(*out)[strcspn(*out, "\n")] = '\0';
	return ST_OK;
}

st_err
local_open_retired(const char *dir, const char *rdir,
    const struct local_ca_key *key, struct ca_backend **out, char **cause)
{
	struct local_ca *ca = xcalloc(1, sizeof *ca);
	struct local_ca_key k = { 0 };
	char *root = xasprintf("%s/root.pem", dir);
	char *inter = xasprintf("%s/intermediate.pem", rdir);
	char *keyfile = xasprintf("%s/intermediate.key", rdir);
	char *urifile = xasprintf("%s/key.uri", rdir);
	char *crlfile = xasprintf("%s/crl_url", rdir);
	char *uri = NULL;
	st_err err;

	*out = NULL;
	ca->base.ops = &local_ops;
	ca->dir = xstrdup(dir);
	ca->base.describe = xasprintf("retired intermediate (%s)", inter);
	pthread_mutex_init(&ca->lock, NULL);
	err = x509_load_pem_file(root, &ca->root, cause);
	if (err == ST_OK)
		err = x509_load_pem_file(inter, &ca->inter, cause);
	if (err)
		goto out;
	/* The URL its certificates carry, recorded when it was retired:
	 * its CRL's issuing distribution point and published name. */
	if (access(crlfile, F_OK) == 0) {
		err = read_first_line(crlfile, &ca->pub.crl_url, cause);
		if (err)
			goto out;
	}
	if (access(keyfile, F_OK) == 0) {
		err = load_key(keyfile, &ca->inter_key, cause);
		if (err == ST_OK &&
		    X509_check_private_key(ca->inter, ca->inter_key) != 1)
			err = st_fail_ssl(cause, ST_E_CA,
			    "%s does not belong to %s", keyfile, inter);
		goto out;
	}
	err = read_first_line(urifile, &uri, cause);
	if (err) {
		err = st_wrap(cause, err,
		    "the retired intermediate's key is neither a file nor in "
		    "a token");
		goto out;
	}
	if (key != NULL)
		k = *key;
	k.uri = uri;
	err = load_token_key(ca, &k, inter, cause);
out:
	if (err == ST_OK) {
		*out = &ca->base;
		ca = NULL;
	}
	local_free(ca ? &ca->base : NULL);
	free(root);
	free(inter);
	free(keyfile);
	free(urifile);
	free(crlfile);
	free(uri);
	return err;
}

int
local_ca_is_pending(const char *dir)
{
	char *csr = xasprintf("%s/intermediate.csr", dir);
	char *pem = xasprintf("%s/intermediate.pem", dir);
	int pending = access(csr, F_OK) == 0 && access(pem, F_OK) != 0;

	free(csr);
	free(pem);
	return pending;
}

int
local_ca_root_is_test(const char *dir, X509 *root)
{
	char *path = xasprintf("%s/test-root.sha256", dir);
	FILE *fp = fopen(path, "r");
	char line[80] = "", fp_hex[65];
	int is_test = 0;

	if (fp != NULL) {
		if (fgets(line, sizeof line, fp) == NULL)
			line[0] = '\0';
		fclose(fp);
		line[strcspn(line, "\n")] = '\0';
		cert_fingerprint_sha256(root, fp_hex);
		is_test = strcmp(line, fp_hex) == 0;
	}
	free(path);
	return is_test;
}

st_err
local_ca_open_settings(const struct ca_settings *s, struct ca_backend **out,
    char **cause)
{
	struct local_ca_key key;
	st_err err;

	*out = NULL;
	if (s->dir == NULL || s->dir[0] == '\0')
		return st_fail(cause, ST_E_CONFIG,
		    "the local CA needs a directory");
	key = (struct local_ca_key){
		.uri = ca_settings_get(s, "key"),
		.module = ca_settings_get(s, "pkcs11_module"),
		.pin_file = ca_settings_get(s, "pin_file"),
		.pin_env = ca_settings_get(s, "pin_env"),
		.config = s->config,
	};
	err = local_ca_open_key(s->dir, &key, out, cause);
	if (err)
		return err;
	err = local_ca_set_publication(*out, s, cause);
	if (err) {
		ca_free(*out);
		*out = NULL;
	}
	return err;
}

st_err
local_ca_open(const char *dir, struct ca_backend **out, char **cause)
{
	return local_ca_open_key(dir, NULL, out, cause);
}

int
local_ca_is(const struct ca_backend *ca)
{
	return ca != NULL && ca->ops == &local_ops;
}

X509 *
local_ca_root_if_same(const struct ca_backend *base, const char *path)
{
	const struct local_ca *ca = (const struct local_ca *)base;
	struct stat own_sb, path_sb;
	char *own;
	int same;

	if (!local_ca_is(base) || path == NULL)
		return NULL;
	own = xasprintf("%s/root.pem", ca->dir);
	same = stat(own, &own_sb) == 0 && stat(path, &path_sb) == 0 &&
	    own_sb.st_dev == path_sb.st_dev && own_sb.st_ino == path_sb.st_ino;
	free(own);
	if (!same)
		return NULL;
	X509_up_ref(ca->root);
	return ca->root;
}
