/*
 * Pieces shared by the Vault backend's signing (vault.c) and its lookup
 * for crash recovery (vault_find.c).  Not for use outside station/ca/.
 */
#ifndef ST_CA_VAULT_INT_H
#define ST_CA_VAULT_INT_H

#include <pthread.h>
#include <stdint.h>

#include "station/ca/ca.h"
#include "station/ca/http.h"

struct vault_ca {
	struct ca_backend base; /* first: the pipeline sees only this */
	char *addr, *mount, *role, *ns;
	struct http_opts http;
	/* A static token, or the AppRole token of the last login (NULL
	 * before it).  Slots sign concurrently: the lock guards the token
	 * and its renewal time. */
	char *token;
	char *role_id, *secret_id; /* AppRole only */
	uint64_t renew_at_ms;	   /* AppRole: log in again after this;
	                              0 = the token does not expire */
	pthread_mutex_t lock;
};

/* Request headers: the token (if not NULL) and the namespace (if set);
 * returns how many of h[] were filled. */
size_t vault_headers(struct vault_ca *ca, const char *token,
    struct http_header h[2]);

/* A copy of a usable token (*out, free with cred_free); `force` logs in
 * again (AppRole). */
st_err vault_get_token(struct vault_ca *ca, struct deadline dl, int force,
    char **out, char **cause);

/* The cause for a reply that is not 2xx, in Vault's own words, scrubbed
 * of the credentials.  Always ST_E_CA. */
st_err vault_refused(struct vault_ca *ca, const char *what,
    const struct http_reply *r, char **cause);

/* ca_backend_ops.find_by_key (vault_find.c). */
st_err vault_find_by_key(struct ca_backend *base, const char *key_sha256,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);

#endif
