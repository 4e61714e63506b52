/* keyUsage and extendedKeyUsage names (see usage.h). */
#include "station/x509/usage.h"

#include <openssl/obj_mac.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "station/config/profile.h"
#include "station/util/xalloc.h"

const struct usage_name usage_ku[] = {
	{ "digitalSignature", KU_DIGITAL_SIGNATURE, NID_undef },
	{ "nonRepudiation", KU_NON_REPUDIATION, NID_undef },
	{ "keyEncipherment", KU_KEY_ENCIPHERMENT, NID_undef },
	{ "dataEncipherment", KU_DATA_ENCIPHERMENT, NID_undef },
	{ "keyAgreement", KU_KEY_AGREEMENT, NID_undef },
	{ "keyCertSign", KU_KEY_CERT_SIGN, NID_undef },
	{ "cRLSign", KU_CRL_SIGN, NID_undef },
	{ "encipherOnly", KU_ENCIPHER_ONLY, NID_undef },
	{ "decipherOnly", KU_DECIPHER_ONLY, NID_undef },
	{ NULL, 0, NID_undef },
};

const struct usage_name usage_eku[] = {
	{ "clientAuth", PROFILE_EKU_CLIENT_AUTH, NID_client_auth },
	{ "serverAuth", PROFILE_EKU_SERVER_AUTH, NID_server_auth },
	{ "codeSigning", PROFILE_EKU_CODE_SIGNING, NID_code_sign },
	{ "emailProtection", PROFILE_EKU_EMAIL_PROTECTION, NID_email_protect },
	{ "timeStamping", PROFILE_EKU_TIME_STAMPING, NID_time_stamp },
	{ "OCSPSigning", PROFILE_EKU_OCSP_SIGNING, NID_OCSP_sign },
	{ "anyExtendedKeyUsage", PROFILE_EKU_ANY, NID_anyExtendedKeyUsage },
	{ NULL, 0, NID_undef },
};

const char *
usage_name_of(const struct usage_name *table, unsigned bit)
{
	for (size_t i = 0; table[i].name != NULL; i++) {
		if (table[i].bit == bit)
			return table[i].name;
	}
	return NULL;
}

/* The names usage_parse takes, for its error (caller frees). */
static char *
accepted_names(const struct usage_name *table, unsigned accepted,
    int allow_none)
{
	char *list = xstrdup("");
	char *longer;

	for (size_t i = 0; table[i].name != NULL; i++) {
		if (!(table[i].bit & accepted))
			continue;
		longer = xasprintf("%s%s%s", list, list[0] ? ", " : "",
		    table[i].name);
		free(list);
		list = longer;
	}
	if (allow_none) {
		longer = xasprintf("%s, or none", list);
		free(list);
		list = longer;
	}
	return list;
}

/* The bit of `name` (len bytes) in `table` if accepted, else 0. */
static unsigned
bit_of(const struct usage_name *table, unsigned accepted, const char *name,
    size_t len)
{
	for (size_t i = 0; table[i].name != NULL; i++) {
		if ((table[i].bit & accepted) && strlen(table[i].name) == len &&
		    memcmp(table[i].name, name, len) == 0)
			return table[i].bit;
	}
	return 0;
}

st_err
usage_parse(const struct usage_name *table, unsigned accepted, int allow_none,
    const char *value, unsigned *out, char **why)
{
	const char *p = value;
	unsigned mask = 0;
	char *list = NULL;
	st_err err = ST_OK;

	if (allow_none && strcmp(value, "none") == 0)
		goto out;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		unsigned bit;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		bit = bit_of(table, accepted, p, (size_t)(end - p));
		if (bit == 0) {
			list = accepted_names(table, accepted, allow_none);
			err = st_fail(why, ST_E_CONFIG,
			    "expected a comma list of %s", list);
			goto out;
		}
		mask |= bit;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
out:
	free(list);
	if (err == ST_OK)
		*out = mask;
	return err;
}
