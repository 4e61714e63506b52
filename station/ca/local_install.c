/*
 * The production ceremony's second half and the intermediate's rollover
 * (see local.h): `station ca install` checks the certificate an offline
 * root made from the pending intermediate's CSR and activates it;
 * `station ca rollover` starts a new pending intermediate beside the
 * active one; the retired ones go on signing their CRLs.
 */
#include "station/ca/local.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "station/x509/cert_check.h"
#include "station/x509/dn.h"
#include "station/util/xalloc.h"
#include "station/ca/local_int.h"

#define LOG_MODULE "ca"
#include "station/util/log.h"

/* Every certificate in the PEM file `path` (at least one). */
static st_err
load_pem_stack(const char *path, STACK_OF(X509) * *out, char **cause)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	FILE *fp = fopen(path, "r");
	X509 *x = NULL;
	st_err err = ST_OK;

	*out = NULL;
	if (fp == NULL) {
		err = st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
		goto out;
	}
	for (;;) {
		x = PEM_read_X509(fp, NULL, NULL, NULL);
		if (x == NULL)
			break;
		sk_X509_push(sk, x);
	}
	/* The loop ends on end of file, which OpenSSL queues as an error. */
	ERR_clear_error();
	if (sk_X509_num(sk) == 0) {
		err = st_fail(cause, ST_E_CA, "%s holds no PEM certificate",
		    path);
		goto out;
	}
	*out = sk;
	sk = NULL;
out:
	if (fp != NULL)
		fclose(fp);
	sk_X509_pop_free(sk, X509_free);
	return err;
}

st_err
local_load_chain(const char *dir, STACK_OF(X509) * *out, char **cause)
{
	char *path = xasprintf("%s/chain.pem", dir);
	st_err err = ST_OK;

	*out = NULL;
	if (access(path, F_OK) == 0)
		err = load_pem_stack(path, out, cause);
	free(path);
	return err;
}

static st_err
load_csr(const char *path, X509_REQ **out, char **cause)
{
	FILE *fp = fopen(path, "r");

	*out = NULL;
	if (fp == NULL)
		return st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
	*out = PEM_read_X509_REQ(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL)
		return st_fail_ssl(cause, ST_E_CA, "%s holds no CSR", path);
	return ST_OK;
}

/* "2036-12-07 11:20:00 UTC" for messages. */
static void
show_time(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(unreadable time)");
}

/* The certificate as an issuing CA: key, CA flag, key usage, validity. */
static st_err
check_as_issuer(X509 *cert, const char *path, X509_REQ *csr,
    const char *csr_path, char **cause)
{
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t ku = X509_get_key_usage(cert);
	char when[40];

	if (EVP_PKEY_eq(X509_get0_pubkey(cert), X509_REQ_get0_pubkey(csr)) != 1)
		return st_fail(cause, ST_E_CA,
		    "%s is for another key than the pending intermediate's "
		    "(%s): have the root sign that CSR",
		    path, csr_path);
	if (flags & EXFLAG_INVALID)
		return st_fail(cause, ST_E_CA,
		    "%s has extensions that do not decode", path);
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
		return st_fail(cause, ST_E_CA,
		    "%s is not a CA certificate (no basicConstraints "
		    "CA:TRUE): sign the CSR again with basicConstraints = "
		    "critical,CA:TRUE,pathlen:0 in the extension file",
		    path);
	/* pathlen limits CAs below this one, never its leaves: any value
	 * lets it issue device certificates.  Those above it are the
	 * verifier's (check_chain). */
	if (!(flags & EXFLAG_KUSAGE) || !(ku & KU_KEY_CERT_SIGN) ||
	    !(ku & KU_CRL_SIGN))
		return st_fail(cause, ST_E_CA,
		    "%s lacks keyUsage %s: sign the CSR again with keyUsage = "
		    "critical,keyCertSign,cRLSign in the extension file",
		    path,
		    !(flags & EXFLAG_KUSAGE)	 ? "altogether" :
			!(ku & KU_KEY_CERT_SIGN) ? "keyCertSign" :
						   "cRLSign");
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
		show_time(X509_get0_notBefore(cert), when, sizeof when);
		return st_fail(cause, ST_E_CA,
		    "%s is not valid before %s: check the station's clock "
		    "and the root's",
		    path, when);
	}
	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
		show_time(X509_get0_notAfter(cert), when, sizeof when);
		return st_fail(cause, ST_E_CA,
		    "%s expired on %s: have the root sign the CSR again", path,
		    when);
	}
	return ST_OK;
}

/*
 * OpenSSL's verifier from `cert` through `untrusted` to `root` (the only
 * trust anchor).  *path gets the chain it built, cert first, root last.
 */
static st_err
check_chain(X509 *cert, const char *path, X509 *root, const char *root_path,
    STACK_OF(X509) * untrusted, STACK_OF(X509) * *chain, char **cause)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	st_err err = ST_OK;
	int e;

	*chain = NULL;
	if (X509_self_signed(root, 1) != 1) {
		err = st_fail(cause, ST_E_CA,
		    "%s is not a self-signed root: give the root that ends "
		    "the chain with --root, the CAs between with --chain",
		    root_path);
		goto out;
	}
	if (store == NULL || ctx == NULL || !X509_STORE_add_cert(store, root) ||
	    !X509_STORE_CTX_init(ctx, store, cert, untrusted)) {
		err =
		    st_fail_ssl(cause, ST_E_CRYPTO, "setting up the verifier");
		goto out;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_CHECK_SS_SIGNATURE);
	if (X509_verify_cert(ctx) != 1) {
		e = X509_STORE_CTX_get_error(ctx);
		err = st_fail(cause, ST_E_CA,
		    "%s does not chain to the root %s: %s (at depth %d): "
		    "install the certificate that root signed, with any CA "
		    "between them in --chain",
		    path, root_path, X509_verify_cert_error_string(e),
		    X509_STORE_CTX_get_error_depth(ctx));
		goto out;
	}
	*chain = X509_STORE_CTX_get1_chain(ctx);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return err;
}

/* Write `certs` [from, to) to PATH.tmp, fsync, rename over PATH. */
static st_err
replace_pem(const char *path, STACK_OF(X509) * certs, int from, int to,
    char **cause)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *fp = NULL;
	st_err err = ST_OK;

	unlink(tmp);
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", tmp,
		    strerror(errno));
		goto out;
	}
	for (int i = from; i < to && err == ST_OK; i++) {
		if (!PEM_write_X509(fp, sk_X509_value(certs, i)))
			err = st_fail_ssl(cause, ST_E_IO, "writing %s", tmp);
	}
	if (err == ST_OK && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
		err = st_fail(cause, ST_E_IO, "writing %s: %s", tmp,
		    strerror(errno));
	if (fclose(fp) != 0 && err == ST_OK)
		err = st_fail(cause, ST_E_IO, "writing %s: %s", tmp,
		    strerror(errno));
	if (err == ST_OK && rename(tmp, path) != 0)
		err = st_fail(cause, ST_E_IO, "cannot replace %s: %s", path,
		    strerror(errno));
out:
	if (err)
		unlink(tmp);
	free(tmp);
	return err;
}

static st_err
move(const char *from, const char *to, char **cause)
{
	if (rename(from, to) != 0)
		return st_fail(cause, ST_E_IO, "cannot move %s to %s: %s", from,
		    to, strerror(errno));
	return ST_OK;
}

/*
 * Move the active intermediate (certificate, key file or the token URI it
 * was used through, chain) to DIR/retired/SERIAL/ and the rollover's key
 * from DIR/next/ into its place.
 */
static st_err
retire_current(const char *dir, const char *retired_key_uri,
    const char *retired_crl_url, char **cause)
{
	X509 *old = NULL;
	char *serial = NULL, *rdir = NULL, *from = NULL, *to = NULL;
	char *line = NULL;
	const char *names[] = { "intermediate.pem", "intermediate.key",
		"chain.pem" };
	st_err err;

	from = xasprintf("%s/intermediate.pem", dir);
	err = x509_load_pem_file(from, &old, cause);
	if (err)
		goto out;
	serial = cert_serial_hex(old);
	rdir = xasprintf("%s/retired", dir);
	if (mkdir(rdir, 0700) != 0 && errno != EEXIST) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", rdir,
		    strerror(errno));
		goto out;
	}
	free(rdir);
	rdir = xasprintf("%s/retired/%s", dir, serial);
	if (mkdir(rdir, 0700) != 0) {
		err = st_fail(cause, ST_E_IO, "cannot create %s: %s", rdir,
		    strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		free(from);
		free(to);
		from = xasprintf("%s/%s", dir, names[i]);
		to = xasprintf("%s/%s", rdir, names[i]);
		if (access(from, F_OK) != 0)
			continue;
		err = move(from, to, cause);
		if (err)
			goto out;
	}
	if (retired_key_uri != NULL) {
		free(to);
		to = xasprintf("%s/key.uri", rdir);
		line = xasprintf("%s\n", retired_key_uri);
		err = local_append_line(to, line, cause);
		if (err)
			goto out;
	}
	if (retired_crl_url != NULL) {
		free(to);
		free(line);
		to = xasprintf("%s/crl_url", rdir);
		line = xasprintf("%s\n", retired_crl_url);
		err = local_append_line(to, line, cause);
		if (err)
			goto out;
	}
	free(from);
	free(to);
	from = xasprintf("%s/next/intermediate.key", dir);
	to = xasprintf("%s/intermediate.key", dir);
	if (access(from, F_OK) == 0)
		err = move(from, to, cause);
	if (err == ST_OK)
		log_info("retired intermediate %s to %s", serial, rdir);
out:
	X509_free(old);
	free(serial);
	free(rdir);
	free(from);
	free(to);
	free(line);
	return err;
}

st_err
local_ca_install(const char *dir, const struct local_ca_install_opts *o,
    int *rollover, char **cause)
{
	char *next = xasprintf("%s/next", dir);
	char *csr_path = xasprintf("%s/next/intermediate.csr", dir);
	char *path = NULL;
	X509_REQ *csr = NULL;
	X509 *cert = NULL, *root = NULL;
	STACK_OF(X509) *untrusted = NULL, *chain = NULL;
	int roll = access(csr_path, F_OK) == 0;
	int n;
	st_err err;

	if (rollover != NULL)
		*rollover = 0;
	if (!roll) {
		free(csr_path);
		csr_path = xasprintf("%s/intermediate.csr", dir);
		if (!local_ca_is_pending(dir)) {
			err = st_fail(cause, ST_E_NOTFOUND,
			    "no pending intermediate in %s: start with "
			    "'station ca init --csr-out FILE' or 'station ca "
			    "rollover --csr-out FILE'",
			    dir);
			goto out;
		}
	}
	err = load_csr(csr_path, &csr, cause);
	if (err == ST_OK)
		err = x509_load_pem_file(o->cert, &cert, cause);
	if (err == ST_OK)
		err = x509_load_pem_file(o->root, &root, cause);
	if (err == ST_OK && o->chain != NULL)
		err = load_pem_stack(o->chain, &untrusted, cause);
	if (err)
		goto out;
	err = check_as_issuer(cert, o->cert, csr, csr_path, cause);
	if (err)
		goto out;
	err =
	    check_chain(cert, o->cert, root, o->root, untrusted, &chain, cause);
	if (err)
		goto out;
	/* Accepted: from here on the files change. */
	if (roll) {
		err = retire_current(dir, o->retired_key_uri,
		    o->retired_crl_url, cause);
		if (err)
			goto out;
	}
	n = sk_X509_num(chain);
	path = xasprintf("%s/root.pem", dir);
	err = replace_pem(path, chain, n - 1, n, cause);
	if (err)
		goto out;
	free(path);
	path = xasprintf("%s/chain.pem", dir);
	if (n > 2)
		err = replace_pem(path, chain, 1, n - 1, cause);
	else
		unlink(path);
	if (err)
		goto out;
	/* The last step: intermediate.pem is what makes the CA active. */
	free(path);
	path = xasprintf("%s/intermediate.pem", dir);
	err = local_write_cert(path, cert, cause);
	if (err)
		goto out;
	unlink(csr_path);
	if (roll)
		rmdir(next);
	err = local_fsync_dir(dir, cause);
	if (err == ST_OK && rollover != NULL)
		*rollover = roll;
	if (err == ST_OK)
		log_info("installed intermediate %s in %s", o->cert, dir);
out:
	X509_REQ_free(csr);
	X509_free(cert);
	X509_free(root);
	sk_X509_pop_free(untrusted, X509_free);
	sk_X509_pop_free(chain, X509_free);
	free(next);
	free(csr_path);
	free(path);
	return err;
}

st_err
local_ca_rollover(const char *dir, const char *subject,
    const struct local_ca_key *key, const char *csr_out, char **cause)
{
	char *inter_path = xasprintf("%s/intermediate.pem", dir);
	char *next = xasprintf("%s/next", dir);
	X509 *inter = NULL;
	X509_NAME *name = NULL;
	st_err err;

	if (local_ca_is_pending(dir) || access(inter_path, F_OK) != 0) {
		err = st_fail(cause, ST_E_CA,
		    "no active local CA in %s to roll over: finish 'station "
		    "ca init' and 'station ca install' first",
		    dir);
		goto out;
	}
	err = x509_load_pem_file(inter_path, &inter, cause);
	if (err)
		goto out;
	if (subject != NULL) {
		err = dn_parse(subject, &name, cause);
		if (err) {
			err = st_wrap(cause, ST_E_ARG, "intermediate subject");
			goto out;
		}
	} else {
		name = X509_NAME_dup(X509_get_subject_name(inter));
	}
	if (mkdir(next, 0700) != 0) {
		err = st_fail(cause, errno == EEXIST ? ST_E_EXISTS : ST_E_IO,
		    "cannot create %s: %s%s", next, strerror(errno),
		    errno == EEXIST ? " (a rollover is pending: install its "
				      "certificate with 'station ca install', "
				      "or remove the directory to start over)" :
				      "");
		goto out;
	}
	err = local_write_pending(next, name, key, csr_out, cause);
	if (err)
		rmdir(next);
	else
		log_info("rollover of %s started: CSR in %s", dir, csr_out);
out:
	X509_free(inter);
	X509_NAME_free(name);
	free(inter_path);
	free(next);
	return err;
}

/* The latest notAfter of the leaves `inter` issued (index + certs/). */
struct last_leaf {
	const char *dir;
	X509 *inter;
	ASN1_TIME *latest; /* owned; NULL: none found */
};

static int
last_leaf_cb(const struct local_ca_record *rec, void *arg)
{
	struct last_leaf *l = arg;
	char *path = xasprintf("%s/certs/%s.pem", l->dir, rec->serial_hex);
	X509 *leaf = NULL;

	if (x509_load_pem_file(path, &leaf, NULL) == ST_OK &&
	    X509_check_issued(l->inter, leaf) == X509_V_OK &&
	    (l->latest == NULL ||
		ASN1_TIME_compare(X509_get0_notAfter(leaf), l->latest) > 0)) {
		ASN1_TIME_free(l->latest);
		l->latest = ASN1_STRING_dup(X509_get0_notAfter(leaf));
	}
	X509_free(leaf);
	free(path);
	return 0;
}

/* One retired intermediate's CRL, unless all its leaves have expired. */
static st_err
crl_one_retired(const char *dir, const char *serial,
    const struct local_ca_key *key, const char *out_dir, int days,
    void (*cb)(const char *, const char *, long, void *), void *arg,
    char **cause)
{
	struct ca_backend *ca = NULL;
	struct last_leaf l = { dir, NULL, NULL };
	char *rdir = xasprintf("%s/retired/%s", dir, serial);
	char *out = NULL;
	long number = 0;
	st_err err;

	err = local_open_retired(dir, rdir, key, &ca, cause);
	if (err)
		goto out;
	l.inter = ((struct local_ca *)ca)->inter;
	err = local_ca_read_index(dir, last_leaf_cb, &l, cause);
	if (err)
		goto out;
	if (l.latest == NULL || X509_cmp_current_time(l.latest) < 0) {
		log_info("retired intermediate %s: no unexpired leaf, no CRL",
		    serial);
		goto out;
	}
	/* With the URL its leaves carry, the CRL is published under that
	 * name beside the active one's; without, in a folder of its own. */
	if (((struct local_ca *)ca)->pub.crl_url != NULL)
		out = xstrdup(out_dir);
	else
		out = xasprintf("%s/retired/%s", out_dir, serial);
	err = local_make_dirs(out, 0755, cause);
	if (err)
		goto out;
	err = local_ca_crl(ca, out, days, &number, cause);
	if (err == ST_OK && cb != NULL)
		cb(serial, out, number, arg);
out:
	if (err)
		err = st_wrap(cause, err, "retired intermediate %s", serial);
	ASN1_TIME_free(l.latest);
	ca_free(ca);
	free(rdir);
	free(out);
	return err;
}

st_err
local_ca_crl_retired(const char *dir, const struct local_ca_key *key,
    const char *out_dir, int days,
    void (*cb)(const char *serial, const char *out, long number, void *arg),
    void *arg, char **cause)
{
	char *rdir = xasprintf("%s/retired", dir);
	DIR *d = opendir(rdir);
	struct dirent *e;
	st_err err = ST_OK;

	if (d == NULL)
		goto out; /* never rolled over */
	if (out_dir == NULL)
		out_dir = dir;
	for (;;) {
		e = readdir(d);
		if (e == NULL || err)
			break;
		if (e->d_name[0] == '.')
			continue;
		err = crl_one_retired(dir, e->d_name, key, out_dir, days, cb,
		    arg, cause);
	}
	closedir(d);
out:
	free(rdir);
	return err;
}
