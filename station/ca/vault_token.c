/*
 * A static Vault token's life (token_file, token_env): looked up once at
 * open, so an expired or revoked token stops the station before any
 * device is touched, and renewed while the station runs when Vault says
 * it can be.
 *
 *	GET  {addr}/v1/auth/token/lookup-self -> {"data": {"ttl",
 *	     "creation_ttl", "renewable", "expire_time", ...}}
 *	POST {addr}/v1/auth/token/renew-self  {} -> {"auth": {
 *	     "lease_duration", "renewable", ...}}
 *
 * Both are allowed to every token by Vault's default policy, so the
 * station's own policy need not name them.  AppRole tokens are the
 * login's business (vault.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/xalloc.h"
#include "station/ca/remote.h"
#include "station/ca/vault.h"
#include "station/ca/vault_int.h"

#define LOG_MODULE "vault"
#include "station/util/log.h"

/* The lookup at open waits at most this long for an unreachable Vault:
 * every command opens the CA, and one that does not sign must not stall
 * on it. */
#define VAULT_LOOKUP_MS 3000

st_err
vault_parse_token_info(const char *body, size_t len, const char *member,
    struct vault_token_info *info, char **cause)
{
	struct http_reply r = { 200, (char *)body, len };
	json_t *root = NULL, *obj;
	json_t *ttl;
	st_err err;

	memset(info, 0, sizeof *info);
	err = remote_json(&r, "Vault's token reply", &root, cause);
	if (err)
		return err;
	obj = json_object_get(root, member);
	ttl = json_object_get(obj,
	    strcmp(member, "auth") == 0 ? "lease_duration" : "ttl");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 0) {
		err = st_fail(cause, ST_E_CA,
		    "Vault's token reply has no %s.%s", member,
		    strcmp(member, "auth") == 0 ? "lease_duration" : "ttl");
		goto out;
	}
	info->ttl_s = json_integer_value(ttl);
	info->creation_ttl_s =
	    json_integer_value(json_object_get(obj, "creation_ttl"));
	info->renewable = json_is_true(json_object_get(obj, "renewable"));
out:
	json_decref(root);
	return err;
}

/* When to act on a token with `ttl_s` left: a renewable one is renewed
 * at half its remaining life, one that is not is known to end. */
static void
plan(struct vault_ca *ca, const struct vault_token_info *t)
{
	uint64_t now = clock_now_ms();

	ca->renew_at_ms = 0;
	ca->expire_at_ms = 0;
	if (t->ttl_s == 0)
		return; /* a token without expiry (root, periodic none) */
	if (t->renewable)
		ca->renew_at_ms = now + (uint64_t)t->ttl_s * 1000 / 2;
	else
		ca->expire_at_ms = now + (uint64_t)t->ttl_s * 1000;
}

/* renew-self; called with the lock held (or before the backend is
 * shared, at open). */
static st_err
renew(struct vault_ca *ca, struct deadline dl, char **cause)
{
	struct http_header h[2];
	struct http_reply r = { 0 };
	struct vault_token_info t;
	char *url = remote_url(ca->addr, "v1/auth/token/renew-self");
	st_err err;

	err = http_call(&ca->http, "POST", url, h,
	    vault_headers(ca, ca->token, h), "{}", dl, &r, cause);
	if (err) {
		st_wrap(cause, err, "Vault token renewal");
		goto out;
	}
	if (r.status != 200) {
		err = vault_refused(ca, "Vault token renewal", &r, cause);
		goto out;
	}
	err = vault_parse_token_info(r.body, r.len, "auth", &t, cause);
	if (err)
		goto out;
	plan(ca, &t);
	log_info("renewed the Vault token (%lld s left)", t.ttl_s);
out:
	free(url);
	http_reply_clear(&r);
	return err;
}

void
vault_token_maybe_renew(struct vault_ca *ca, struct deadline dl)
{
	char *why = NULL;

	if (ca->role_id != NULL || ca->renew_at_ms == 0 ||
	    clock_now_ms() < ca->renew_at_ms)
		return;
	if (renew(ca, dl, &why) != ST_OK) {
		log_warn("%s", why);
		/* Once per half-life, not before every request. */
		ca->renew_at_ms = clock_now_ms() + 60000;
	}
	free(why);
}

st_err
vault_token_check(struct vault_ca *ca, char **cause)
{
	int ms = ca->http.timeout_ms < VAULT_LOOKUP_MS ? ca->http.timeout_ms :
							 VAULT_LOOKUP_MS;
	struct deadline dl = deadline_in((uint64_t)ms);
	struct http_header h[2];
	struct http_reply r = { 0 };
	struct vault_token_info t;
	char *url = remote_url(ca->addr, "v1/auth/token/lookup-self");
	char *why = NULL;
	st_err err;

	err = http_call(&ca->http, "GET", url, h,
	    vault_headers(ca, ca->token, h), NULL, dl, &r, &why);
	if (err == ST_E_HANGUP || err == ST_E_TIMEOUT) {
		/* Down now is the run's business: ca-sign says so, and a
		 * command that does not sign goes on. */
		log_warn("Vault token lookup: %s; the token is checked when "
			 "Vault answers",
		    why);
		err = ST_OK;
		goto out;
	}
	if (err) {
		err = st_fail(cause, err, "Vault token lookup: %s", why);
		goto out;
	}
	if (r.status == 403) {
		err = vault_refused(ca, "Vault token lookup", &r, cause);
		st_wrap(cause, err,
		    "the Vault token is invalid or has expired: give the "
		    "station a new token ([ca] token_file or token_env)");
		goto out;
	}
	if (r.status != 200) {
		err = vault_refused(ca, "Vault token lookup", &r, cause);
		goto out;
	}
	err = vault_parse_token_info(r.body, r.len, "data", &t, cause);
	if (err)
		goto out;
	plan(ca, &t);
	log_info("Vault token: %s, %lld s left",
	    t.ttl_s == 0    ? "no expiry" :
		t.renewable ? "renewable" :
			      "not renewable",
	    t.ttl_s);
	/* Past half its life already: renewed now, so a shift does not
	 * start on a token about to end. */
	if (t.renewable && t.ttl_s > 0 && t.creation_ttl_s > 0 &&
	    t.ttl_s * 2 < t.creation_ttl_s) {
		free(why);
		why = NULL;
		if (renew(ca, dl, &why) != ST_OK)
			log_warn("%s", why);
	}
out:
	free(why);
	free(url);
	http_reply_clear(&r);
	return err;
}
