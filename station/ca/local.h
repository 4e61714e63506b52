/*
 * The local CA: a root and an intermediate kept as PEM files in one
 * directory (0700), the intermediate signing device certificates.
 *
 *	DIR/root.pem                     the root every chain ends in
 *	DIR/intermediate.pem  .key       the issuing CA; no .key when its key
 *	                                 is in a PKCS#11 token (see pkcs11.h)
 *	DIR/chain.pem                    CAs between the intermediate and the
 *	                                 root, if any (`station ca install
 *	                                 --chain`)
 *	DIR/intermediate.csr             a pending intermediate's request
 *	                                 (below); gone once installed
 *	DIR/test-root.sha256             the SHA-256 of a root this station
 *	                                 made itself: a TEST CA (below)
 *	DIR/root.key                     only for a TEST CA made with
 *	                                 --keep-root
 *	DIR/next/intermediate.csr .key   a rollover's pending intermediate
 *	DIR/retired/SERIAL/              an intermediate replaced by a
 *	                                 rollover: intermediate.pem and its
 *	                                 .key (or key.uri), kept to sign its
 *	                                 own CRL until its last leaf expires
 *	DIR/issued.txt                   one line per certificate issued:
 *	                                 "TIME SERIAL SHA256 SUBJECT"
 *	DIR/revoked.txt                  one line per revocation:
 *	                                 "SERIAL TIME REASON"
 *	DIR/crlnumber                    the last CRL number issued (decimal)
 *	DIR/crl.pem  crl.der             the last CRL (`station ca crl`)
 *	DIR/crl.lock                     serialises CRL issues between
 *	                                 processes (a revoke's refresh and
 *	                                 the timer's `station ca crl`)
 *	DIR/certs/SERIAL.pem             a copy of each issued certificate
 *	DIR/issued.log                   issuances not yet settled into the
 *	                                 two above (local_int.h)
 *
 * The issued.txt line and the certificate are appended to issued.log and
 * fdatasync'ed (one fsync per issuance) before a certificate leaves the
 * backend; then the certs/ copy and the issued.txt line are written
 * without an fsync of their own.  Opening the CA (and closing it)
 * completes issued.txt and certs/ from the log (writing only what is
 * missing); once the log holds more than a few dozen records it also
 * syncs them and empties it (a process per device does not pay that
 * settle each time: the log stays their durable record).  So the ledger can be cross-checked against what the CA
 * signed, and a station killed (or a machine that lost power) before it
 * recorded a certificate can find it again by its key (find_by_key).
 *
 * Two ways to make one (docs/admin.md):
 *
 *   - The production ceremony: `station ca init --csr-out FILE` makes only
 *     the intermediate's key (file or token) and its CSR; the CA is
 *     *pending* (it cannot be opened) until an offline root signs the CSR
 *     and `station ca install` checks that certificate and activates it.
 *     The root's key never exists on the station.
 *   - A TEST CA (demo, tests, the embedded defaults): the station makes
 *     its own root, signs the intermediate with it and deletes the root's
 *     key (unless --keep-root).  Its names say TEST and DIR/test-root.sha256
 *     marks the root, so a station whose [ca] allow_test_ca is no refuses
 *     to provision with it (local_ca_root_is_test).
 */
#ifndef ST_CA_LOCAL_H
#define ST_CA_LOCAL_H

#include "station/ca/ca.h"

/* A TEST CA's default names: whoever sees them knows what they are. */
#define LOCAL_CA_ROOT_SUBJECT "CN=Station TEST Root CA,O=TEST Only"
#define LOCAL_CA_INTERMEDIATE_SUBJECT \
	"CN=Station TEST Intermediate CA,O=TEST Only"
/* The production ceremony's default intermediate name (--intermediate-
 * subject sets the real one). */
#define LOCAL_CA_PENDING_SUBJECT "CN=Station Intermediate CA"
#define LOCAL_CA_ROOT_DAYS 7305		/* 20 years */
#define LOCAL_CA_INTERMEDIATE_DAYS 3652 /* 10 years */

/*
 * Where the intermediate's private key lives.  uri NULL: DIR/intermediate.key.
 * Otherwise a pkcs11: URI (pkcs11.h) with its module and PIN source; all
 * borrowed.
 */
struct local_ca_key {
	const char *uri;
	const char *module;   /* NULL: PKCS11_DEFAULT_MODULE */
	const char *pin_file; /* one of these two for a token */
	const char *pin_env;
	/* The configuration file whose [ca] dir this is, for the advice
	 * when there is no CA ('station --config FILE ca init'); NULL: the
	 * advice names the directory ('station ca init --dir DIR'). */
	const char *config;
};

struct local_ca_init_opts {
	const char *root_subject;	  /* NULL: LOCAL_CA_ROOT_SUBJECT */
	const char *intermediate_subject; /* NULL: the default above */
	int force;			  /* replace an existing CA's files
	                                     (root, intermediate, CSR,
	                                     chain); issued.txt and
	                                     revoked.txt are kept */
	struct local_ca_key key;	  /* key.uri set: generate the
	                                     intermediate's key in that token */
	const char *csr_out;		  /* set: the production ceremony:
	                                     no root; the intermediate's key
	                                     and its CSR (DIR/intermediate.csr
	                                     and a copy here); the CA is
	                                     pending until local_ca_install */
	int keep_root;			  /* TEST CA only: keep DIR/root.key
	                                     (else deleted once the
	                                     intermediate is signed) */
};

/*
 * Create a new TEST CA in `dir` (created 0700, parents too) with the
 * default names; the root's key is not kept.  ST_E_EXISTS if dir already
 * holds a CA (any of its files); ST_E_IO for file-system errors;
 * ST_E_CRYPTO for OpenSSL failures.
 */
st_err local_ca_init(const char *dir, char **cause);
/* The same with names and force chosen by the caller (opts may be NULL). */
st_err local_ca_init_opts(const char *dir,
    const struct local_ca_init_opts *opts, char **cause);

/*
 * The CA in `dir` waits for its intermediate's certificate: 1 when
 * DIR/intermediate.csr exists and DIR/intermediate.pem does not (after
 * `station ca init --csr-out`).  Opening a pending CA fails with a cause
 * naming `station ca install`.
 */
int local_ca_is_pending(const char *dir);

/*
 * 1 if `root` is the root this station made itself in `dir` (a TEST CA:
 * DIR/test-root.sha256 holds its fingerprint), else 0.
 */
int local_ca_root_is_test(const char *dir, X509 *root);

/* What `station ca install` is given; all borrowed. */
struct local_ca_install_opts {
	const char *cert;  /* the intermediate's certificate (PEM) */
	const char *root;  /* the root that signed it, self-signed (PEM) */
	const char *chain; /* CAs between the two (PEM, any order), or NULL */
	const char *retired_key_uri; /* rollover with the old key in a
	                                token: its pkcs11: URI, recorded so
	                                the old intermediate can sign its
	                                CRL; NULL: the key is a file */
	const char *retired_crl_url; /* rollover: the [ca] crl_url the old
	                                intermediate's certificates carry,
	                                recorded so that its CRL goes on
	                                being published under that name
	                                (and the new one must get another);
	                                NULL: none */
};

/*
 * Activate the pending intermediate of `dir` (after init --csr-out, or the
 * rollover's DIR/next/) with the certificate an offline root made from its
 * CSR.  The certificate must hold the pending key, be a CA
 * (basicConstraints CA:TRUE) with keyUsage keyCertSign and cRLSign, be
 * valid now, and verify to `root` (self-signed) through `chain` with
 * OpenSSL's verifier (which also applies the path length constraints
 * above it).  Then root.pem, chain.pem and intermediate.pem are written;
 * a rollover first moves the old intermediate to DIR/retired/SERIAL/.
 * ST_E_NOTFOUND: nothing pending; ST_E_CA: the certificate is refused
 * (the cause says which rule and what to do); ST_E_IO.  *rollover (may be
 * NULL) is set to 1 when an old intermediate was retired.
 */
st_err local_ca_install(const char *dir, const struct local_ca_install_opts *o,
    int *rollover, char **cause);

/*
 * Start a rollover of the active CA in `dir`: a new key (a file, or in
 * the token key->uri names, which must be a new label) and its CSR in
 * DIR/next/, with a copy of the CSR in `csr_out`; the subject is
 * `subject` (NULL: the current intermediate's).  The current intermediate
 * goes on signing until `station ca install` activates the new one.
 * ST_E_EXISTS if a rollover is already pending; ST_E_CA if there is no
 * active CA.
 */
st_err local_ca_rollover(const char *dir, const char *subject,
    const struct local_ca_key *key, const char *csr_out, char **cause);

/*
 * For each intermediate retired by a rollover whose leaves have not all
 * expired: issue its CRL (local_ca_crl, the same revocation list) into
 * OUT_DIR/retired/SERIAL/crl.pem and crl.der (out_dir NULL: the CA
 * directory).  A retired key in a token is reached with key->module and
 * the PIN source of `key` (may be NULL for file keys).  `cb` (may be
 * NULL) is told each one published.
 */
st_err local_ca_crl_retired(const char *dir, const struct local_ca_key *key,
    const char *out_dir, int days,
    void (*cb)(const char *serial, const char *out, long number, void *arg),
    void *arg, char **cause);

/* Open the CA in `dir` as a backend (see ca_open; name "local"). */
st_err local_ca_open(const char *dir, struct ca_backend **out, char **cause);
/* The same with the intermediate's key where `key` says (NULL: the file). */
st_err local_ca_open_key(const char *dir, const struct local_ca_key *key,
    struct ca_backend **out, char **cause);

/* Open it from [ca] settings: s->dir and the keys key, pkcs11_module,
 * pin_file, pin_env (ca_open's entry for "local"). */
st_err local_ca_open_settings(const struct ca_settings *s,
    struct ca_backend **out, char **cause);

/* Whether `ca` is a local CA (the functions below need one). */
int local_ca_is(const struct ca_backend *ca);

/*
 * The root `ca` opened with (a new reference, X509_free) when `path` is
 * that same file, DIR/root.pem (same device and inode); else NULL, also
 * for a CA that is not local.  A station whose pinned root is its local
 * CA's own takes it from here instead of parsing the file a second time
 * (OpenSSL 3.0 decodes a certificate's key at every parse).
 */
X509 *local_ca_root_if_same(const struct ca_backend *ca, const char *path);

#define LOCAL_CRL_DAYS 7 /* nextUpdate = now + 7 days unless told */

/*
 * Where relying parties find revocation (the [ca] keys crl_url, ocsp_url,
 * ca_issuers_url, crl_dir; docs/ca-backends.md).  Taken from `s` (borrowed
 * for the call; the backend copies what it keeps): every leaf signed
 * afterwards carries a CRL distribution point (crl_url) and an authority
 * information access (ocsp_url, ca_issuers_url) for those set; every CRL
 * carries the matching issuing distribution point; and with crl_dir every
 * revocation publishes a new CRL there (local_ca_crl).  ST_E_CONFIG names
 * a key whose value is not acceptable.  ST_E_ARG if `ca` is not local.
 */
st_err local_ca_set_publication(struct ca_backend *ca,
    const struct ca_settings *s, char **cause);

/*
 * Check a URL given for crl_url (crl_file 1) or ocsp_url / ca_issuers_url
 * (0): http:// or https://, a host, at most 512 characters of RFC 3986
 * (printable ASCII, no space, quote, angle bracket or backslash); a CRL
 * URL also ends in the CRL's file name (letters, digits, '.', '_', '-',
 * ending in ".crl"; no query or fragment), the name the CRL is published
 * under.  ST_E_CONFIG with *why (caller frees) saying what was expected;
 * the message does not quote the value.
 */
st_err local_ca_url_check(const char *url, int crl_file, char **why);

/*
 * The name the CRL is published under: the file name at the end of
 * crl_url (e.g. "station-7.crl" for http://pki.example/crl/station-7.crl),
 * "intermediate.crl" without one; the PEM copy adds ".pem".  Caller frees.
 */
char *local_ca_crl_file_name(const char *crl_url);

/*
 * Issue a new CRL listing every serial in DIR/revoked.txt with its reason
 * code (a reason that is not an RFC 5280 name counts as unspecified),
 * signed by the intermediate (through the token when there is one), with
 * the next CRL number (DIR/crlnumber, stored before the CRL is written),
 * the authority key identifier and a critical issuing distribution point
 * (onlyContainsUserCerts, and crl_url as its name when set, so that it
 * matches the leaves' distribution point); nextUpdate = now + `days`
 * (< 1: LOCAL_CRL_DAYS).  Writes DIR/crl.pem and DIR/crl.der; then
 * publishes it into `pub_dir` (NULL: crl_dir when set, else nowhere) as
 * NAME and NAME.pem (local_ca_crl_file_name), mode 0644.  Every file is
 * replaced atomically, and CRL issues are serialised between processes,
 * so a published CRL is never replaced by one with a lower number.
 * *number (may be NULL) gets the CRL number.  ST_E_ARG if `ca` is not a
 * local CA; ST_E_IO names a directory or file that cannot be written.
 */
st_err local_ca_crl(struct ca_backend *ca, const char *pub_dir, int days,
    long *number, char **cause);

/* The directory the CA publishes its CRL into ([ca] crl_dir; borrowed),
 * NULL when none is configured. */
const char *local_ca_crl_dir(const struct ca_backend *ca);

/*
 * A certificate with subject CN=`cn`, issued by the intermediate, for a
 * fresh P-256 key that exists only in memory and is discarded: what AWS
 * IoT asks for to prove possession of a CA being registered (the CN is
 * the registration code).  *out is new (X509_free).
 */
st_err local_ca_verification_cert(struct ca_backend *ca, const char *cn,
    X509 **out, char **cause);

/* RFC 5280 CRLReason of a name ("keyCompromise" -> 1); -1 if unknown. */
int local_crl_reason_code(const char *name);

/* One line of issued.txt; the strings are borrowed for the callback only. */
struct local_ca_record {
	const char *time;	 /* "2026-11-22T14:05:25Z" */
	const char *serial_hex;	 /* lower-case hex */
	const char *fingerprint; /* SHA-256 of the DER, lower-case hex */
	const char *subject;	 /* dn_format() of the subject */
};

/*
 * Call `cb` for each line of DIR/issued.txt in order; a non-zero return
 * from cb stops early (local_ca_read_index still returns ST_OK).  A missing
 * index means nothing was issued yet (ST_OK, no calls).  ST_E_CA names the
 * first malformed line.
 */
st_err local_ca_read_index(const char *dir,
    int (*cb)(const struct local_ca_record *rec, void *arg), void *arg,
    char **cause);

/*
 * Certificates in DIR/issued.txt whose DIR/certs/SERIAL.pem holds the key
 * with SPKI SHA-256 `key_sha256`: cb as for ca_backend_ops.find_by_key.
 * Index lines without a certificate copy (made before copies were kept)
 * are skipped.
 */
st_err local_ca_find_by_key(const char *dir, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);

#endif
