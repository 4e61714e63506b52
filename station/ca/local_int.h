/*
 * Pieces shared by the local CA's creation (local_init.c) and its signing
 * (local.c).  Not for use outside station/ca/.
 */
#ifndef ST_CA_LOCAL_INT_H
#define ST_CA_LOCAL_INT_H

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/types.h>

#include "station/util/err.h"
#include "station/ca/ca.h"
#include "station/ca/local.h"
#include "station/ca/pkcs11.h"

/* Where relying parties look (local_ca_set_publication); owned, NULL when
 * not configured. */
struct local_ca_pub {
	char *crl_url, *ocsp_url, *ca_issuers_url;
	char *crl_dir;
};

struct local_ca {
	struct ca_backend base; /* first: the pipeline sees only this */
	struct local_ca_pub pub;
	char *dir;
	X509 *root, *inter;
	STACK_OF(X509) * chain;	  /* DIR/chain.pem: CAs between the two,
	                          the intermediate's issuer first (NULL:
	                          none) */
	EVP_PKEY *inter_key;	  /* the key file's key, or NULL */
	struct pkcs11_key *token; /* the token's key, or NULL */
	/* Slots sign concurrently; the index must get whole lines in the
	 * order certificates were made, and OpenSSL objects here are shared
	 * (a PKCS#11 session too).  Everything that signs holds it. */
	pthread_mutex_t lock;
};

/* The key that signs for the intermediate (borrowed). */
EVP_PKEY *local_signing_key(struct local_ca *ca);

#define LOCAL_BACKDATE_SECONDS 300 /* notBefore = now - 5 min */
#define LOCAL_SERIAL_BYTES 16	   /* 128 bits, top bit cleared */

/* A fresh random positive non-zero serial (ASN1_INTEGER, caller frees). */
st_err local_rand_serial(ASN1_INTEGER **out, char **cause);

/* notBefore = now - LOCAL_BACKDATE_SECONDS, notAfter = now + days. */
st_err local_set_validity(X509 *cert, int days, char **cause);

/*
 * A leaf's validity: as local_set_validity, but never outside its
 * issuer's: notAfter is capped at the issuer's notAfter (*note, caller
 * frees, then says so for the run's info; NULL when nothing was capped)
 * and notBefore raised to the issuer's notBefore.  ST_E_CA when the issuer
 * has expired.
 */
st_err local_set_leaf_validity(X509 *cert, X509 *issuer, int days, char **note,
    char **cause);

/* The CRL distribution point and authority information access of `pub`
 * (those configured) on a leaf. */
st_err local_add_leaf_urls(X509 *cert, const struct local_ca_pub *pub,
    char **cause);

/* A GENERAL_NAMES holding the one URI `url` (GENERAL_NAMES_free), NULL
 * when OpenSSL cannot allocate it. */
GENERAL_NAMES *local_uri_names(const char *url);

/* Free what `pub` owns and zero it. */
void local_ca_pub_clear(struct local_ca_pub *pub);

/*
 * After a revocation (or a revocation found done): with crl_dir set,
 * issue and publish a new CRL (local_ca_crl), so that relying parties see
 * it without waiting for the timer; without crl_dir, nothing.  The
 * caller must not hold the CA's lock.
 */
st_err local_crl_refresh(struct local_ca *ca, char **cause);

/*
 * Add extension `nid` written in openssl.cnf syntax ("critical,CA:FALSE").
 * `issuer` is the signing certificate (NULL: self-signed) so that the
 * authority key identifier can be derived.
 */
st_err local_add_ext(X509 *cert, X509 *issuer, int nid, const char *value,
    char **cause);

/*
 * Write `cert` or `key` as PEM to a new file created with O_EXCL and
 * `mode` (so a key is never readable by others, not even briefly), then
 * fsync it.  ST_E_EXISTS if the file exists.
 */
st_err local_write_cert(const char *path, X509 *cert, char **cause);
st_err local_write_key(const char *path, EVP_PKEY *key, char **cause);

/* Append one line to `path` (created 0600) and fsync before returning. */
st_err local_append_line(const char *path, const char *line, char **cause);
/*
 * Read DIR/NAME line by line (newline stripped, lines numbered from 1) and
 * call `fn` on each; a file that does not exist has no lines.  Stops at
 * the first error `fn` returns, or after a line for which it set *stop.
 */
typedef st_err (*local_line_fn)(char *line, const char *path, unsigned lineno,
    void *arg, int *stop, char **cause);
st_err local_each_line(const char *dir, const char *name, local_line_fn fn,
    void *arg, char **cause);

/*
 * Record an issuance (local_log.c): append the index line (ending in
 * "\n") and the certificate's PEM to DIR/issued.log and fdatasync it (the
 * directory too when the log is created): the one fsync of an issuance.
 * Then write DIR/certs/SERIAL.pem and the DIR/issued.txt line without
 * syncing them.  Serialised between processes by an flock on the log;
 * the caller holds the CA's lock.
 */
st_err local_log_issue(const char *dir, const char *serial_hex,
    const char *line, const char *pem, char **cause);
/*
 * Make issued.txt and certs/ hold every record of DIR/issued.log (after a
 * crash or power loss they may lack the newest; what is already there is
 * only compared, not written again).  Then, when the log holds more than
 * `keep` bytes, sync them (syncfs) and empty the log ("settle").  Done when
 * the CA is opened (before anyone reads them), with keep =
 * LOCAL_LOG_KEEP_BYTES, so that a process per device does not pay a
 * settle each; and with keep 0 when the log grows large.  Not at close:
 * the closing process wrote both for each of its own records.  The log stays
 * the durable record of every issuance it holds, so keeping it costs no
 * durability.  No log: nothing to do.
 */
#define LOCAL_LOG_KEEP_BYTES (64L << 10)
st_err local_log_repair(const char *dir, long keep, char **cause);

/*
 * An intermediate's new key (local_init.c): an EC P-256 key in memory
 * (*file_key, EVP_PKEY_free) when key is NULL or key->uri is NULL, else
 * generated in that token, sign-only and not extractable (*token,
 * pkcs11_key_free).
 */
st_err local_new_key(const struct local_ca_key *key, EVP_PKEY **file_key,
    struct pkcs11_key **token, char **cause);

/* A CSR for an intermediate CA with `subject` and public key `pub`,
 * signed by `signer` (the same key, maybe through a token); *out is new. */
st_err local_make_csr(X509_NAME *subject, EVP_PKEY *pub, EVP_PKEY *signer,
    X509_REQ **out, char **cause);

/* Write `req` as PEM (0644), as a new file when `excl` (ST_E_EXISTS if
 * it exists), else replacing `path`; fsync'ed. */
st_err local_write_csr(const char *path, X509_REQ *req, int excl, char **cause);

/*
 * A pending intermediate in `dir`: a new key (DIR/intermediate.key 0600,
 * or in the token `key` names) and its CSR (DIR/intermediate.csr, and a
 * copy in csr_out).  Nothing is left behind on failure but a token key.
 */
st_err local_write_pending(const char *dir, X509_NAME *subject,
    const struct local_ca_key *key, const char *csr_out, char **cause);

/* mkdir -p `dir`; the last component gets `mode` (tightened to it if it
 * existed). */
st_err local_make_dirs(const char *dir, mode_t mode, char **cause);

/* DIR/chain.pem's certificates in order (*out NULL when there is no such
 * file; sk_X509_pop_free). */
st_err local_load_chain(const char *dir, STACK_OF(X509) * *out, char **cause);

/*
 * A retired intermediate (RDIR = DIR/retired/SERIAL) opened as a local
 * CA whose only use is local_ca_crl: DIR's revocation list and CRL
 * number, RDIR's certificate and key (RDIR/intermediate.key, or the token
 * URI in RDIR/key.uri with key's module and PIN source).
 */
st_err local_open_retired(const char *dir, const char *rdir,
    const struct local_ca_key *key, struct ca_backend **out, char **cause);

/* fsync a directory, so that a file just created in it stays named. */
st_err local_fsync_dir(const char *dir, char **cause);

#endif
