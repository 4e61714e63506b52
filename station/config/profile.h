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

/* What the device stores besides its certificate: always a path from the
 * certificate's issuer upward, issuer first (x509/chain_path.h).  The
 * word order of the `chain` key follows the values. */
enum chain_mode {
	CHAIN_FULL = 0, /* "full": intermediates, then the pinned root */
	CHAIN_CA,	/* "ca": intermediates only (AWS JITR) */
	CHAIN_NONE,	/* "none": nothing (an empty chain is written) */
};

enum reprovision_rule {
	REPROVISION_REFUSE =
	    0,		   /* a serial with a live certificate is refused */
	REPROVISION_ALLOW, /* issue a new one (the old one is revoked) */
};

/* What a run does when the fleet database ([fleet], docs/fleet.md)
 * cannot reserve its serial.  Word order of the profile's `fleet` key. */
enum fleet_rule {
	FLEET_REQUIRED = 0, /* no fleet-wide reservation, no run */
	FLEET_BEST_EFFORT,  /* run on the ledger's reservation, check later */
};

/* keyUsage bits, as in RFC 5280 / OpenSSL's KU_* values. */
#define PROFILE_KU_DIGITAL_SIGNATURE 0x0080u
#define PROFILE_KU_KEY_ENCIPHERMENT 0x0020u
#define PROFILE_KU_KEY_AGREEMENT 0x0008u
#define PROFILE_KU_NON_REPUDIATION 0x0040u
#define PROFILE_KU_DATA_ENCIPHERMENT 0x0010u

/* extendedKeyUsage purposes, as bits (names: station/x509/usage.h). */
#define PROFILE_EKU_CLIENT_AUTH 0x01u
#define PROFILE_EKU_SERVER_AUTH 0x02u
#define PROFILE_EKU_CODE_SIGNING 0x04u
#define PROFILE_EKU_EMAIL_PROTECTION 0x08u
#define PROFILE_EKU_TIME_STAMPING 0x10u
#define PROFILE_EKU_OCSP_SIGNING 0x20u
#define PROFILE_EKU_ANY 0x40u

/* attestation = none | tpm: what the attest step asks of the device
 * before the CA signs (station/x509/attest.h).  Word order of the key. */
enum attestation_mode {
	ATTESTATION_NONE = 0, /* no check (every device as before) */
	ATTESTATION_TPM,      /* ATTEST: the key was born in a TPM */
};

/* nrf91_identity = imei | uuid: the serial is the IMEI (AT+CGSN=1) or
 * the modem's %XMODEMUUID (which names the firmware build, so it is the
 * same on every modem of one build: for a line of one device only). */
enum nrf91_identity { NRF91_ID_IMEI = 0, NRF91_ID_UUID };

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
	/* What an issued certificate may carry beyond key_usage and the
	 * EKUs above (allow_key_usage, allow_ext_key_usage): anything else
	 * is refused by the certificate check (cert.key-usage, cert.eku). */
	unsigned allow_key_usage; /* PROFILE_KU_* bits */
	unsigned allow_eku;	  /* PROFILE_EKU_* bits */
	enum chain_mode chain;
	enum reprovision_rule reprovision;
	int lock;	      /* lock the key slot at COMMIT */
	int smoke_required;   /* smoke = required: check the broker at start
	                       (station_open's preflight); FAIL a run when
	                       no broker is configured.  Default: required
	                       when a broker is configured
	                       (config_smoke_defaults) */
	int smoke_given;      /* the profile says smoke = ... itself */
	int tls_min_version;  /* 12 or 13 (smoke test), default 13 */
	char *topic_template; /* "factory/selftest/${cn}" */

	/* Server trust written to the device (the server-trust step; the
	 * device must offer CAP_SERVER_TRUST): asked when either is set. */
	char *server_ca;     /* PEM file of the trust anchors (resolved
	                        against home); NULL: none */
	char *endpoint_host; /* NULL: no endpoint */
	int endpoint_port;   /* 1..65535 with a host */

	/* The label rule (struct scan_rule, scan_format.h): how a scanned
	 * label for this profile's slots is normalised and checked before
	 * anything runs. */
	int label_trim;	       /* label_trim = yes */
	int label_case;	       /* enum scan_case: keep, upper, lower */
	char *label_pattern;   /* POSIX ERE, NULL: any */
	int label_check_digit; /* enum scan_checksum: none, luhn, mod36 */

	/* The fleet database's outage rule (only with a [fleet] section). */
	enum fleet_rule fleet;

	/* nRF91 modems (the nrf91: dialect, docs/devices.md): where the
	 * device's identity comes from and the modem's sec_tag. */
	int nrf91_identity; /* enum nrf91_identity */
	long nrf91_sec_tag; /* 0..2147483647, default 16842753 */

	/* Key attestation (the attest step): under ATTESTATION_TPM a device
	 * must prove its key was born in a TPM whose attestation key
	 * chains to attestation_ca (PEM bundle, resolved against home;
	 * required then). */
	int attestation; /* enum attestation_mode */
	char *attestation_ca;
	int attestation_line; /* where attestation = was read, for errors */
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
 * year, digitalSignature, clientAuth, chain full, topic
 * factory/selftest/${cn}).  `p` is overwritten; every string in it is owned
 * by `p` and freed by profile_clear(). */
void profile_init_default(struct profile *p);
/* Free what `p` owns and zero it; accepts NULL and a zeroed profile. */
void profile_clear(struct profile *p);
const char *key_alg_name(enum key_alg alg); /* "ec-p256", "rsa-2048" */

#endif
