/*
 * Fuzz the Vault backend's reply parsers (station/ca/vault.c) with a reply
 * body as it comes from the network: the sign reply (data.certificate,
 * data.ca_chain[] or data.issuing_ca, data.serial_number), the AppRole
 * login reply (auth.client_token, auth.lease_duration), the token
 * lookup-self and renew-self replies (data.ttl, auth.lease_duration) and
 * the errors[] text quoted from a refusal.
 *
 * Beyond "no crash": an accepted sign reply gives a certificate and chain
 * that re-encode to DER that parses again, the serial is the
 * certificate's and agrees with data.serial_number, and the chain holds
 * at least one certificate per data.ca_chain entry; a refusal leaves the
 * result empty.  An accepted login has the token of the reply; an
 * accepted token reply has the reply's TTL, never negative.
 */
#include <jansson.h>
#include <string.h>

#include "station/ca/vault.h"
#include "station/util/log.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_issued.h"

static void
vault_fuzz_sign(const uint8_t *data, size_t size, json_t *root)
{
	struct ca_issued is;
	char *why = NULL;
	st_err err =
	    vault_parse_sign_reply((const char *)data, size, &is, &why);

	if (err != ST_OK) {
		fuzz_check_refused(err, why, &is);
		free(why);
		return;
	}
	FUZZ_CHECK(why == NULL);
	fuzz_check_issued(&is);
	/* The parser and an independent reading of the JSON agree. */
	FUZZ_CHECK(root != NULL);
	json_t *d = json_object_get(root, "data");
	const char *serial =
	    json_string_value(json_object_get(d, "serial_number"));
	FUZZ_CHECK(
	    serial == NULL || remote_serial_equal(serial, is.serial_hex));
	size_t n_chain = json_array_size(json_object_get(d, "ca_chain"));
	FUZZ_CHECK((size_t)sk_X509_num(is.chain) >= n_chain);
	if (n_chain == 0 && !json_is_string(json_object_get(d, "issuing_ca")))
		FUZZ_CHECK(sk_X509_num(is.chain) == 0);
	ca_issued_clear(&is);
}

static void
vault_fuzz_login(const uint8_t *data, size_t size, json_t *root)
{
	char *token = NULL, *why = NULL;
	long long lease = -1;
	st_err err = vault_parse_login_reply((const char *)data, size, &token,
	    &lease, &why);

	if (err != ST_OK) {
		FUZZ_CHECK(err == ST_E_CA && why != NULL && token == NULL);
		free(why);
		return;
	}
	FUZZ_CHECK(why == NULL && token != NULL && token[0] != '\0');
	FUZZ_CHECK(lease >= 0);
	json_t *auth = json_object_get(root, "auth");
	FUZZ_CHECK(
	    strcmp(token,
		json_string_value(json_object_get(auth, "client_token"))) == 0);
	free(token);
}

static void
vault_fuzz_token(const uint8_t *data, size_t size, json_t *root,
    const char *member)
{
	struct vault_token_info t;
	char *why = NULL;
	st_err err =
	    vault_parse_token_info((const char *)data, size, member, &t, &why);

	if (err != ST_OK) {
		FUZZ_CHECK(err == ST_E_CA && why != NULL);
		free(why);
		return;
	}
	FUZZ_CHECK(why == NULL && t.ttl_s >= 0);
	json_t *o = json_object_get(root, member);
	FUZZ_CHECK(t.ttl_s ==
	    json_integer_value(json_object_get(o,
		strcmp(member, "auth") == 0 ? "lease_duration" : "ttl")));
}

int
fuzz_ca_vault(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, 0, NULL);

	log_set_level(LOG_LEVEL_ERROR);
	vault_fuzz_sign(data, size, root);
	vault_fuzz_login(data, size, root);
	vault_fuzz_token(data, size, root, "data");
	vault_fuzz_token(data, size, root, "auth");
	fuzz_check_error_text((const char *)data, size);
	json_decref(root);
	ERR_clear_error();
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ca_vault(data, size);
}
#endif
