/*
 * Provisioning profiles: what kind of identity a device gets.  Loaded from
 * the [profile NAME] sections of the configuration (station/config.c);
 * read by the pipeline, the CSR policy, the certificate checks and the CA
 * backends.  A profile is immutable once loaded.
 */
#ifndef ST_PROFILE_H
#define ST_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "station/x509/dn.h"
#include "station/util/err.h"

enum key_alg {
	KEY_ALG_EC_P256 = 1,  /* = PROTO_ALG_EC_P256 */
	KEY_ALG_RSA_2048 = 2, /* = PROTO_ALG_RSA_2048 */
};

enum chain_mode {
	CHAIN_INTERMEDIATE_AND_ROOT = 0, /* device gets intermediate + root */
	CHAIN_ROOT_ONLY,		 /* device gets the root only */
	CHAIN_CA_ONLY,			 /* the issuing CA only (AWS JITR) */
};

enum reprovision_rule {
	REPROVISION_REFUSE =
	    0,		   /* a serial with a live certificate is refused */
	REPROVISION_ALLOW, /* issue a new one (the old one is revoked) */
};

/* keyUsage bits, as in RFC 5280 / OpenSSL's KU_* values. */
#define PROFILE_KU_DIGITAL_SIGNATURE 0x0080u
#define PROFILE_KU_KEY_ENCIPHERMENT 0x0020u
#define PROFILE_KU_KEY_AGREEMENT 0x0008u

struct profile {
	char *name;
	enum key_alg key_alg;
	uint8_t key_slot;	       /* chip slot, default 0 */
	char *subject_template;	       /* "C=US,O=Example-Org,CN=${serial}" */
	struct dn_pair *subject_parts; /* the template split once at load:
	                                  attribute, value template */
	size_t n_subject_parts;
	char **san_dns_templates; /* NULL-terminated, may be empty */
	char **san_uri_templates; /* NULL-terminated, may be empty */
	int validity_days;	  /* default 365 */
	unsigned key_usage;	  /* PROFILE_KU_* bits */
	int eku_client_auth;	  /* 1: extendedKeyUsage clientAuth */
	int eku_server_auth;	  /* 1: extendedKeyUsage serverAuth */
	enum chain_mode chain;
	enum reprovision_rule reprovision;
	int lock;	      /* lock the key slot at COMMIT */
	int smoke_required;   /* FAIL when no broker is configured */
	int tls_min_version;  /* 12 or 13 (smoke test), default 13 */
	char *topic_template; /* "factory/selftest/${cn}" */
	/* The label rule (struct scan_rule, scan_format.h): how a scanned
	 * label for this profile's slots is normalised and checked before
	 * anything runs. */
	int label_trim;	       /* label_trim = yes */
	int label_case;	       /* enum scan_case: keep, upper, lower */
	char *label_pattern;   /* POSIX ERE, NULL: any */
	int label_check_digit; /* enum scan_checksum: none, luhn, mod36 */
};

/*
 * Values a template may name: ${serial}, ${model}, ${station}, and ${cn}
 * (the CN of the issued certificate).  ${cn} is meant for topic templates
 * only: callers set `cn` when expanding a topic and leave it NULL
 * elsewhere, so "${cn}" in a subject or SAN is an unknown reference.  A
 * NULL serial, model or station makes a reference to it an error too.
 */
struct template_vars {
	const char *serial;
	const char *model;
	const char *station;
	const char *cn;
};

/*
 * One piece of an expanded template: literal text (ref NULL) or the value
 * of reference `ref` ("serial", "model", "station", "cn").  `text` holds
 * `len` bytes and is not NUL-terminated.
 */
struct template_piece {
	const char *ref;
	const char *text;
	size_t len;
};

/*
 * Walk `tmpl` piece by piece (*pieces, *n; free the array only: the texts
 * point into `tmpl` and `vars`).  ST_E_CONFIG for an unknown or
 * unterminated reference, or one with no value here.  The pieces let a
 * caller check each inserted value on its own (identity.h).
 */
st_err template_pieces(const char *tmpl, const struct template_vars *vars,
    struct template_piece **pieces, size_t *n, char **cause);

/*
 * Expand ${name} references in `tmpl` into a new string (*out, caller
 * frees).  Errors as template_pieces.  Values are inserted verbatim: what
 * goes into a name is checked piece by piece by identity.h.
 */
st_err profile_expand(const char *tmpl, const struct template_vars *vars,
    char **out, char **cause);

/*
 * A device serial the station accepts: 1..64 characters from
 * [A-Za-z0-9._-], so that it can never change the structure of a DN, a SAN,
 * a topic or a file name it is put into.
 */
int serial_is_valid(const char *serial);
/* 1 if `c` may appear in a serial (serial_is_valid's alphabet). */
int serial_char_valid(unsigned char c);

/* The built-in default profile ("default": ec-p256, CN=${serial}, one
 * year, digitalSignature, clientAuth, intermediate + root, topic
 * factory/selftest/${cn}).  `p` is overwritten; every string in it is owned
 * by `p` and freed by profile_clear(). */
void profile_init_default(struct profile *p);
/* Free what `p` owns and zero it; accepts NULL and a zeroed profile. */
void profile_clear(struct profile *p);
const char *key_alg_name(enum key_alg alg); /* "ec-p256", "rsa-2048" */

#endif
