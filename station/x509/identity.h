/*
 * A device's identity as its profile gives it: the subject built
 * attribute by attribute, the subjectAltNames and the smoke test's topic,
 * each value expanded on its own from its template and checked for its
 * place (name_check.h).  No value, whatever the device reports, can add
 * an RDN, a SAN or a topic level: a value that cannot be used is refused,
 * never escaped or trimmed.
 *
 * Who is at fault decides the error kind:
 *	ST_E_POLICY  a value the device reported (${serial}, ${model}, or a
 *	             ${cn} built from them) cannot go where the profile puts
 *	             it: "device reports model 'Acme,CN=VICTIM-0001', which
 *	             cannot go into O: ',' is not allowed" (the value shown
 *	             through text_escape);
 *	ST_E_CONFIG  literal template text or ${station} cannot: the
 *	             station is misconfigured (the load-time checks in
 *	             config_profile.c should have refused it).
 */
#ifndef ST_IDENTITY_H
#define ST_IDENTITY_H

#include <openssl/x509.h>

#include "station/x509/name_check.h"
#include "station/config/profile.h"
#include "station/util/err.h"

struct identity {
	X509_NAME *subject; /* built from the checked values (owned) */
	char *subject_text; /* the same name as the wire string of
	                         docs/protocol.md 8.5 (owned) */
	char *cn;	    /* the CN value, NULL if the subject has none */
	char **san_dns;	    /* NULL-terminated, owned */
	char **san_uri;	    /* NULL-terminated, owned */
};

/* Expand and check one template for `slot` into *out (caller frees). */
st_err identity_value(const struct name_slot *slot, const char *tmpl,
    const struct template_vars *vars, char **out, char **cause);

/* Subject and SANs of profile `p` for the device described by `vars`
 * (vars->cn is ignored).  On failure *out is left cleared. */
st_err identity_build(const struct profile *p, const struct template_vars *vars,
    struct identity *out, char **cause);

/* The smoke test's topic of profile `p` (*topic, caller frees); vars->cn
 * is the certificate's CN. */
st_err identity_topic(const struct profile *p, const struct template_vars *vars,
    char **topic, char **cause);

/* Free what `id` owns and zero it (accepts a zeroed identity). */
void identity_clear(struct identity *id);

#endif
