/*
 * A test server following HashiCorp Vault's documented PKI API (the parts
 * the station uses), over HTTPS with the test PKI:
 *
 *	POST /v1/pki/sign/device       X-Vault-Token; {"csr", "common_name",
 *	                               "format", "ttl", ...} -> {"data":
 *	                               {"certificate", "issuing_ca",
 *	                               "ca_chain", "serial_number"}}
 *	POST /v1/pki/revoke            {"serial_number": "xx:xx:..."}
 *	POST /v1/auth/approle/login    {"role_id", "secret_id"} -> {"auth":
 *	                               {"client_token", "lease_duration"}}
 *	LIST /v1/pki/certs             (or GET ...?list=true) -> {"data":
 *	                               {"keys": ["xx:xx:...", ...]}}; 404
 *	                               with empty errors when there are none
 *	GET  /v1/pki/cert/{serial}     "xx:xx:..." or "xx-xx-..." -> {"data":
 *	                               {"certificate", "revocation_time"}}
 *	GET  /v1/auth/token/lookup-self  -> {"data": {"ttl", "creation_ttl",
 *	                               "renewable", "policies"}}; 403
 *	                               "permission denied" for an unknown
 *	                               or expired token, as Vault answers
 *	POST /v1/auth/token/renew-self   -> {"auth": {"client_token",
 *	                               "lease_duration", "renewable"}}: the
 *	                               TTL back to creation_ttl
 *
 * Errors have Vault's shape, {"errors": ["..."]}.  `mode` makes the PKI
 * endpoints misbehave the ways a real Vault (or what sits in front of
 * it) can; the token endpoints answer as configured by token_* (and are
 * not counted in n_requests).
 */
#ifndef TEST_VAULT_API_SERVER_H
#define TEST_VAULT_API_SERVER_H

#include <pthread.h>

#include "tests/support/https_server.h"
#include "tests/support/pki.h"

enum vault_mode {
	VAULT_OK,
	VAULT_POLICY_400,    /* sign: 400 with a role policy message */
	VAULT_MALFORMED,     /* sign: 200 with a body that is not JSON */
	VAULT_OTHER_KEY,     /* sign: a certificate for another key */
	VAULT_OTHER_DEVICE,  /* sign: another device's certificate (its own
	                       key, CN=VAULT_OTHER_CN), issued and kept live
	                       like any other */
	VAULT_OTHER_SUBJECT, /* sign: the CSR's key, but CN=VAULT_OTHER_CN */
	VAULT_HANG,	     /* never answer */
	VAULT_503_ONCE,	     /* first request 503 (sealed/standby), then OK */
	VAULT_REVOKE_HANG,   /* revoke: received, not carried out, never
	                      answered (a station stopped while asking) */
	VAULT_REVOKED_HANG,  /* revoke: carried out, never answered (a
	                       station stopped before hearing back) */
	VAULT_ROOT_FIRST,    /* sign: ca_chain root first, then the
	                        intermediate */
	VAULT_WIDE_USAGE,    /* sign: the usages of Vault's default role:
	                        digitalSignature, keyEncipherment,
	                        keyAgreement; serverAuth, clientAuth */
	VAULT_SHORT_ISSUER,  /* sign: a 30-day leaf under an intermediate
	                        (made for it, in ca_chain) that expires in
	                        10 days */
	VAULT_NOT_YET_VALID, /* sign: notBefore an hour from now */
};

#define VAULT_CERTS_MAX 64 /* certificates kept for LIST / GET */

#define VAULT_POLICY_MSG "common name SN0001 not allowed by this role"
#define VAULT_OTHER_CN "SN-OTHER-0001"

struct vault_api_server {
	struct https_server *srv;
	const struct pki_chain *pki;	 /* borrowed */
	char token[64];			 /* the token Vault accepts */
	char role_id[64], secret_id[64]; /* AppRole credentials accepted;
	                                    login returns `token` */
	enum vault_mode mode;
	pthread_mutex_t lock;
	/* what was received (under lock) */
	int n_requests, n_sign, n_login, n_revoke;
	char last_path[512];
	char last_common_name[128], last_format[16], last_ttl[32];
	int last_exclude_cn;
	char last_serial[128];		/* revoke's serial_number */
	char *revoked[VAULT_CERTS_MAX]; /* every revoke's serial_number */
	char last_namespace[64];
	/* every certificate issued, as Vault stores them (under lock) */
	int n_certs, n_list, n_get;
	char *cert_serial[VAULT_CERTS_MAX]; /* "xx:xx:..." */
	char *cert_pem[VAULT_CERTS_MAX];
	/* serials revoked ("xx:xx:..."), each once however often asked, as
	 * Vault keeps a revocation (under lock) */
	int n_revoked;
	char *revoked_serial[VAULT_CERTS_MAX];
	/* The token's life as lookup-self tells it (set before the station
	 * opens; defaults: no expiry, not renewable), and what was asked. */
	long long token_ttl, token_creation_ttl;
	int token_renewable, token_expired;
	int n_lookup, n_renew;
	/* Certificates the mount holds besides those issued here, listed by
	 * LIST (serials only; vault_api_server_hold): a mount of many. */
	int n_held;
};

/* The mount also holds `n` other certificates (LIST shows them). */
void vault_api_server_hold(struct vault_api_server *v, int n);

/* Change `mode` while the server runs (under its lock). */
void vault_api_server_set_mode(struct vault_api_server *v,
    enum vault_mode mode);
/* 1 if Vault has revoked `serial_hex` (lower-case hex, no colons). */
int vault_api_server_revoked(struct vault_api_server *v,
    const char *serial_hex);

struct vault_api_server *vault_api_server_start(const struct pki_chain *pki,
    const char *token);
/* https://127.0.0.1:PORT (static buffer per server) */
/* The same on a given loopback port (0: any): a Vault coming back. */
struct vault_api_server *vault_api_server_start_on(const struct pki_chain *pki,
    const char *token, int port);
int vault_api_server_port(struct vault_api_server *v);
const char *vault_api_server_addr(struct vault_api_server *v);
void vault_api_server_stop(struct vault_api_server *v);
/* How many revoke requests named `serial` ("xx:xx:...", as issued). */
int vault_api_server_revokes_of(struct vault_api_server *v, const char *serial);

#endif
