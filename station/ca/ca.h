/*
 * Certificate-authority backends: one interface, one implementation per
 * kind of CA, chosen by name from an explicit table (ca.c).  Adding a
 * backend touches no pipeline code.
 *
 *	local   the embedded CA: root + intermediate under the state directory
 *	vault   HashiCorp Vault / OpenBao PKI      (later)
 *	cfssl   CFSSL sign / authsign              (later)
 *	hub     the device hub API (seed 000)      (later)
 *
 * A backend only signs and revokes; it does not decide whether what came
 * back is acceptable: the station's certificate checks (cert_check.h) do,
 * against the pinned root, for every backend alike.
 */
#ifndef ST_CA_H
#define ST_CA_H

#include <openssl/x509.h>

#include "../profile.h"
#include "../util/clock.h"
#include "../util/err.h"

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
	void (*free)(struct ca_backend *ca);
};

/* Every backend embeds this as its first member. */
struct ca_backend {
	const struct ca_backend_ops *ops;
	char *describe; /* "local CA (var/ca/intermediate.pem)" */
};

#endif
