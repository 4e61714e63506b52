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
	uint64_t renew_at_ms;	   /* AppRole: log in again after this; a
	                              renewable token: renew-self after
	                              this; 0 = nothing to do */
	uint64_t expire_at_ms;	   /* a token that cannot be renewed ends
	                              then; 0 = not known to end */
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

/* ca_backend_ops.find_issued (vault_find.c). */
st_err vault_find_issued(struct ca_backend *base, const struct ca_lookup *q,
    int (*cb)(X509 *cert, void *arg), void *arg, char **cause);

/* At open, a static token (vault_token.c): lookup-self, and renew-self
 * when it is renewable and past half its life.  ST_E_CA when Vault
 * refuses the token; an unreachable Vault only warns (the run's ca-sign
 * reports it). */
st_err vault_token_check(struct vault_ca *ca, char **cause);

/* renew-self of the static token once renew_at_ms has passed; called
 * with the lock held.  A failure is logged, not returned: the token may
 * still be good, and Vault's answer to the request decides. */
void vault_token_maybe_renew(struct vault_ca *ca, struct deadline dl);

#endif
