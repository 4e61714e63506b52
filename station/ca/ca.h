/*
 * Certificate-authority backends: one interface, one implementation per
 * kind of CA, chosen by name from an explicit table (ca.c).  Adding a
 * backend touches no pipeline code and no configuration code: one entry
 * in ca_table (name, open function, the [ca] keys it takes) and any new
 * key in ca_keys, with its type; the configuration accepts and checks
 * them from there, and callers reach the backend only through ca_sign,
 * ca_revoke and ca_find_by_key.
 *
 *	local   the embedded CA: root + intermediate under the state directory
 *	vault   HashiCorp Vault / OpenBao PKI      (vault.h)
 *	cfssl   CFSSL sign / authsign              (cfssl.h)
 *	hub     the device hub API                 (hub.h)
 *
 * The remote ones talk HTTPS through http.h and read their credentials
 * through cred.h; docs/ca-backends.md is the administrator's guide.
 *
 * A backend only signs and revokes; it does not decide whether what came
 * back is acceptable: the station's certificate checks (cert_check.h) do,
 * against the pinned root, for every backend alike.
 */
#ifndef ST_CA_H
#define ST_CA_H

#include <openssl/x509.h>

#include "station/config/profile.h"
#include "station/util/clock.h"
#include "station/util/err.h"

struct ca_backend;

struct ca_request {
	X509_REQ *csr;		       /* borrowed; already passed CSR policy */
	const struct profile *profile; /* borrowed */
	const char *device_serial;     /* the serial the device reported */
	const char *hw_version, *fw_version; /* for backends that record them */
	struct deadline deadline;
};

struct ca_issued {
	X509 *cert;		/* the device certificate (owned) */
	STACK_OF(X509) * chain; /* as the backend returned it, in any order
	                          (owned; may lack the root); cert-check
	                          replaces it with the verified path, issuer
	                          first (cert_check_path) */
	char *serial_hex;	/* certificate serial, lower-case hex (owned) */
	char *note; /* what the CA changed from the request, for the run's
	               info ("notAfter capped at ..."); owned, NULL: nothing */
	/* The broker the CA names for this device (the hub), already
	 * checked as an address; NULL / 0 when the CA names none. */
	char *broker_host; /* owned */
	int broker_port;
};

/* Free what `issued` owns and zero it (accepts a zeroed struct). */
void ca_issued_clear(struct ca_issued *issued);

/*
 * A certificate as the ledger knows it, for a backend that needs more
 * than its serial to revoke it: the hub revokes by device, CFSSL by
 * serial and issuer key id.  Everything borrowed for the call.
 */
struct ca_cert_ref {
	const char *serial_hex;	   /* lower-case hex (required) */
	const char *device_serial; /* the device it was issued for, or NULL */
	X509 *cert;		   /* the certificate, or NULL */
};

/*
 * What crash recovery knows of a run whose certificate was never
 * recorded: the key it asked for (always), the device, and the serial of
 * the CA's reply when the reply arrived before the station stopped.
 * Everything borrowed for the call.
 */
struct ca_lookup {
	const char *key_sha256;	   /* spki_sha256_hex of the CSR's key */
	const char *device_serial; /* or NULL */
	const char *serial_hex;	   /* the CA's reply's serial, or NULL */
};

/*
 * What a backend implements.  Callers never call these directly: they use
 * ca_sign, ca_revoke and ca_find_by_key below, which answer
 * ST_E_UNSUPPORTED for an operation a backend leaves NULL.
 */
struct ca_backend_ops {
	/* Sign the CSR.  ST_E_CA (refused, malformed reply), ST_E_TIMEOUT,
	 * ST_E_HANGUP (unreachable); the cause says which and why, and never
	 * contains a credential. */
	st_err (*sign)(struct ca_backend *ca, const struct ca_request *req,
	    struct ca_issued *out, char **cause);
	/* Revoke by serial (hex).  NULL if the backend cannot. */
	st_err (*revoke)(struct ca_backend *ca, const char *serial_hex,
	    const char *reason, char **cause);
	/* Optional (NULL: the backend cannot look back).  For crash
	 * recovery: call cb with each certificate this CA issued for the
	 * public key whose DER SPKI has SHA-256 `key_sha256` (lower-case hex,
	 * spki_sha256_hex); the certificate is borrowed for the call and cb
	 * returns non-zero to stop.  ST_OK also when nothing matches. */
	st_err (*find_by_key)(struct ca_backend *ca, const char *key_sha256,
	    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);
	/* Optional: revoke with what the ledger knows of the certificate
	 * (NULL: revoke by serial is enough).  ST_E_UNSUPPORTED when this
	 * certificate cannot be revoked through the CA's API. */
	st_err (*revoke_cert)(struct ca_backend *ca,
	    const struct ca_cert_ref *ref, const char *reason, char **cause);
	/* Optional: find_by_key with what the ledger recorded of the run
	 * (NULL: find_by_key is used), for a CA that can look a certificate
	 * up directly but not search by key.  Same contract as find_by_key;
	 * ST_E_UNSUPPORTED when `q` does not hold what the CA needs. */
	st_err (*find_issued)(struct ca_backend *ca, const struct ca_lookup *q,
	    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);
	void (*free)(struct ca_backend *ca);
};

/* Every backend embeds this as its first member. */
struct ca_backend {
	const struct ca_backend_ops *ops;
	const char *name; /* the table name it was opened by (set by
	                     ca_open; static), NULL if opened otherwise */
	char *describe;	  /* "local CA (var/ca/intermediate.pem)" */
};

/* One backend-specific setting ("url", "role", "token-file"...). */
struct ca_setting {
	const char *key;
	const char *value;
};

/*
 * What a backend needs to start.  Everything is borrowed for the duration of
 * ca_open() only: a backend copies what it keeps.
 */
struct ca_settings {
	const char *dir;    /* local: the CA directory */
	const char *config; /* the configuration file in use, for advice
	                       (local: how to create a missing CA); NULL:
	                       none (demo mode) */
	const struct ca_setting *extra; /* others: key/value pairs ended by
	                                   { NULL, NULL }; may be NULL */
};

/*
 * The [ca] keys a backend may take, described once (ca.c) so that the
 * configuration checks a value on its line and ca_open checks that a key
 * applies to the chosen backend, from the same table.
 */
enum ca_key_type {
	CA_KEY_TEXT,	   /* any non-empty text */
	CA_KEY_PATH,	   /* a file, relative to the station's home */
	CA_KEY_INT,	   /* a whole number in [min, max] */
	CA_KEY_ENV_NAME,   /* the name of an environment variable holding a
	                       secret (never the secret: errors do not echo) */
	CA_KEY_PKCS11_URI, /* a PKCS#11 URI (pkcs11.h) */
	CA_KEY_URL,	   /* an http(s) URL put on certificates
	                      (local_ca_url_check) */
	CA_KEY_CRL_URL,	   /* the same, ending in the CRL's file name */
};

struct ca_key {
	const char *name;
	enum ca_key_type type;
	long long min, max; /* CA_KEY_INT only */
};

/* The i-th key any backend takes (in table order, each once); NULL past
 * the last. */
const struct ca_key *ca_key_at(size_t i);

/* The key named `name`, or NULL when no backend takes it. */
const struct ca_key *ca_key_find(const char *name);

/*
 * Check `value` against the key's type: ST_E_CONFIG with *why (caller
 * frees) saying what was expected; the message never contains the value.
 */
st_err ca_key_check(const struct ca_key *key, const char *value, char **why);

/* The i-th backend's name ("local", "vault", ...); NULL past the last. */
const char *ca_backend_name(size_t i);

/* 1 if backend `name` keeps its CA under the station's CA directory and
 * the station may create it there ('station ca init'), else 0. */
int ca_backend_is_made_here(const char *name);

/*
 * Open the backend named `backend` ("local") with settings `s`.  *out is
 * new (free with ca_free).  ST_E_CONFIG for an unknown name or a setting
 * the backend cannot use; ST_E_CA when the CA itself cannot be loaded.
 */
st_err ca_open(const char *backend, const struct ca_settings *s,
    struct ca_backend **out, char **cause);

/* Look up a key in s->extra; NULL when absent. */
const char *ca_settings_get(const struct ca_settings *s, const char *key);

/* Free a backend (accepts NULL). */
void ca_free(struct ca_backend *ca);

/* The name of the backend's table entry ("local"), for the ledger; "" for
 * a backend not opened by ca_open. */
const char *ca_name(const struct ca_backend *ca);

/*
 * The operations (see struct ca_backend_ops for what each does and
 * returns).  ST_E_UNSUPPORTED, with a cause naming the backend, when the
 * backend does not implement the operation.
 */
st_err ca_sign(struct ca_backend *ca, const struct ca_request *req,
    struct ca_issued *out, char **cause);
st_err ca_revoke(struct ca_backend *ca, const char *serial_hex,
    const char *reason, char **cause);
st_err ca_find_by_key(struct ca_backend *ca, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);

/* ca_revoke with what the ledger knows of the certificate: the backend's
 * revoke_cert when it has one, else revoke by ref->serial_hex. */
st_err ca_revoke_cert(struct ca_backend *ca, const struct ca_cert_ref *ref,
    const char *reason, char **cause);

/* The lookup of crash recovery: the backend's find_issued when it has
 * one, else find_by_key(q->key_sha256). */
st_err ca_find_issued(struct ca_backend *ca, const struct ca_lookup *q,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);

#endif
