/*
 * Properties shared by the CA-reply targets: what a backend hands to the
 * pipeline (struct ca_issued) must be whole and self-consistent whatever
 * the server sent, and a refusal must leave nothing behind.
 */
#ifndef TEST_FUZZ_ISSUED_H
#define TEST_FUZZ_ISSUED_H

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

#include "station/ca/ca.h"
#include "station/ca/remote.h"
#include "station/x509/cert_check.h"
#include "tests/fuzz/fuzz.h"

/* The certificate encodes to DER that parses to an equal certificate and
 * encodes to the same bytes again. */
static inline void
fuzz_check_der_roundtrip(X509 *x)
{
	unsigned char *der = NULL, *der2 = NULL;
	const unsigned char *p;
	int n, n2;

	FUZZ_CHECK(x != NULL);
	n = i2d_X509(x, &der);
	FUZZ_CHECK(n > 0);
	p = der;
	X509 *back = d2i_X509(NULL, &p, n);
	FUZZ_CHECK(back != NULL);
	FUZZ_CHECK(p == der + n);
	FUZZ_CHECK(X509_cmp(x, back) == 0);
	n2 = i2d_X509(back, &der2);
	FUZZ_CHECK(n2 == n && memcmp(der, der2, (size_t)n) == 0);
	OPENSSL_free(der);
	OPENSSL_free(der2);
	X509_free(back);
}

/* A signed certificate: cert, chain and serial, all consistent. */
static inline void
fuzz_check_issued(const struct ca_issued *is)
{
	FUZZ_CHECK(is->cert != NULL && is->chain != NULL);
	FUZZ_CHECK(is->serial_hex != NULL && is->serial_hex[0] != '\0');
	FUZZ_CHECK(strspn(is->serial_hex, "0123456789abcdef") ==
	    strlen(is->serial_hex));
	char *serial = cert_serial_hex(is->cert);
	FUZZ_CHECK(serial != NULL && strcmp(serial, is->serial_hex) == 0);
	free(serial);
	fuzz_check_der_roundtrip(is->cert);
	for (int i = 0; i < sk_X509_num(is->chain); i++)
		fuzz_check_der_roundtrip(sk_X509_value(is->chain, i));
}

/* A refusal: ST_E_CA with a cause, and nothing left in *is. */
static inline void
fuzz_check_refused(st_err err, const char *why, const struct ca_issued *is)
{
	FUZZ_CHECK(err == ST_E_CA);
	FUZZ_CHECK(why != NULL && why[0] != '\0');
	FUZZ_CHECK(
	    is->cert == NULL && is->chain == NULL && is->serial_hex == NULL);
}

/* The server's words quoted in a cause: one line of printable
 * characters, bounded. */
static inline void
fuzz_check_error_text(const char *body, size_t len)
{
	struct http_reply r = { 400, (char *)body, len };
	char *msg = remote_error_text(&r);

	if (msg != NULL) {
		size_t n = strlen(msg);

		FUZZ_CHECK(n > 0 && n <= REMOTE_MSG_MAX);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(isprint((unsigned char)msg[i]));
	}
	free(msg);
}

#endif
