/*
 * Certificate-authority backends: one interface, one implementation per
 * kind of CA, chosen by name from an explicit table (ca.c).  Adding a
 * backend touches no pipeline code.
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
	X509_REQ *csr;                 /* borrowed; already passed CSR policy */
	const struct profile *profile; /* borrowed */
	const char *device_serial;     /* the serial the device reported */
	const char *hw_version, *fw_version; /* for backends that record them */
	struct deadline deadline;
};

struct ca_issued {
	X509 *cert;            /* the device certificate (owned) */
	STACK_OF(X509) *chain; /* issuer first, root last (owned; may lack the
	                          root if the backend does not return it) */
	char *serial_hex;      /* certificate serial, lower-case hex (owned) */
};

/* Free what `issued` owns and zero it (accepts a zeroed struct). */
void ca_issued_clear(struct ca_issued *issued);

struct ca_backend_ops {
	const char *name;
	/* Sign the CSR.  ST_E_CA (refused, malformed reply), ST_E_TIMEOUT,
	 * ST_E_HANGUP (unreachable); the cause says which and why, and never
	 * contains a credential. */
	st_err (*sign)(struct ca_backend *ca, const struct ca_request *req,
	    struct ca_issued *out, char **cause);
	/* Revoke by serial (hex).  ST_E_UNSUPPORTED if the backend cannot. */
	st_err (*revoke)(struct ca_backend *ca, const char *serial_hex,
	    const char *reason, char **cause);
	/* Optional (NULL: the backend cannot look back).  For crash
	 * recovery: call cb with each certificate this CA issued for the
	 * public key whose DER SPKI has SHA-256 `key_sha256` (lower-case hex,
	 * spki_sha256_hex); the certificate is borrowed for the call and cb
	 * returns non-zero to stop.  ST_OK also when nothing matches. */
	st_err (*find_by_key)(struct ca_backend *ca, const char *key_sha256,
	    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);
	void (*free)(struct ca_backend *ca);
};

/* Every backend embeds this as its first member. */
struct ca_backend {
	const struct ca_backend_ops *ops;
	char *describe; /* "local CA (var/ca/intermediate.pem)" */
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
	const char *dir;                /* local: the CA directory */
	const struct ca_setting *extra; /* others: key/value pairs ended by
	                                   { NULL, NULL }; may be NULL */
};

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

#endif
