/*
 * Fuzz the hub backend's reply parser (hub_parse_reply, station/ca/hub.c)
 * with a sign-csr reply body for device "SN0001", and the refusal text
 * (message / error) quoted from it.
 *
 * Beyond "no crash": an accepted reply's certificate and caCert re-encode
 * to DER that parses again and the serial is the certificate's; what the
 * hub said about the certificate agrees with it, checked here
 * independently: deviceId is the device's, serialNumber the certificate's,
 * fingerprint the SHA-256 or SHA-1 of its DER.  A refusal leaves the
 * result and the reply information empty.  The broker the reply names
 * passes hub_broker_check only as a host of letters, digits, '.' and '-'
 * with a port in 1..65535.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <string.h>

#include "station/ca/hub.h"
#include "station/util/log.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_issued.h"

#define HUB_FUZZ_DEVICE "SN0001"

/* 1 if `fp` without ':' and in lower case is the hex digest of x. */
static int
hub_fuzz_digest_is(X509 *x, const EVP_MD *md, const char *fp)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t j = 0;

	FUZZ_CHECK(X509_digest(x, md, d, &n));
	for (const char *p = fp; *p; p++) {
		static const char hex[] = "0123456789abcdef";

		if (*p == ':')
			continue;
		int nibble = (d[j / 2] >> (j % 2 ? 0 : 4)) & 0xf;

		if (j >= 2 * n || tolower((unsigned char)*p) != hex[nibble])
			return 0;
		j++;
	}
	return j == 2 * n;
}

static void
hub_fuzz_broker(const struct hub_reply *info)
{
	char *host = NULL;

	if (info->broker_url == NULL)
		return;
	if (hub_broker_check(info->broker_url, info->mqtt_secure_port, &host,
		NULL) != ST_OK) {
		FUZZ_CHECK(host == NULL);
		return;
	}
	FUZZ_CHECK(host != NULL && host[0] != '\0' && strlen(host) <= 253);
	FUZZ_CHECK(strspn(host,
		       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789.-") == strlen(host));
	FUZZ_CHECK(
	    info->mqtt_secure_port >= 1 && info->mqtt_secure_port <= 65535);
	free(host);
}

int
fuzz_ca_hub(const uint8_t *data, size_t size)
{
	struct ca_issued is;
	struct hub_reply info;
	char *why = NULL;

	log_set_level(LOG_LEVEL_ERROR);
	memset(&info, 0xa5, sizeof info);
	st_err err = hub_parse_reply((const char *)data, size, HUB_FUZZ_DEVICE,
	    &is, &info, &why);
	if (err != ST_OK) {
		fuzz_check_refused(err, why, &is);
		free(why);
		/* info is left alone on a refusal: nothing to free. */
	} else {
		FUZZ_CHECK(why == NULL);
		fuzz_check_issued(&is);
		FUZZ_CHECK(info.device_id == NULL ||
		    strcmp(info.device_id, HUB_FUZZ_DEVICE) == 0);
		FUZZ_CHECK(info.serial == NULL ||
		    remote_serial_equal(info.serial, is.serial_hex));
		FUZZ_CHECK(info.fingerprint == NULL ||
		    hub_fuzz_digest_is(is.cert, EVP_sha256(),
			info.fingerprint) ||
		    hub_fuzz_digest_is(is.cert, EVP_sha1(), info.fingerprint));
		hub_fuzz_broker(&info);
		hub_reply_clear(&info);
		ca_issued_clear(&is);
	}
	/* Without the caller wanting the information. */
	if (hub_parse_reply((const char *)data, size, HUB_FUZZ_DEVICE, &is,
		NULL, NULL) == ST_OK)
		ca_issued_clear(&is);
	fuzz_check_error_text((const char *)data, size);
	ERR_clear_error();
	return 0;
}

#ifdef FUZZ_MAIN
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_ca_hub(data, size);
}
#endif
