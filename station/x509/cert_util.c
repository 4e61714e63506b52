/* Certificate helpers for the pipeline (declared in cert_check.h). */
#include "station/x509/cert_check.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "station/util/xalloc.h"

void
cert_fingerprint_sha256(X509 *cert, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	hex[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &len) || len != 32)
		return;
	for (unsigned int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void
spki_sha256_hex(const uint8_t *spki, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	hex[0] = '\0';
	if (!EVP_Digest(spki, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return;
	for (unsigned int i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void
cert_key_sha256(X509 *cert, char hex[65])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);

	hex[0] = '\0';
	if (n > 0)
		spki_sha256_hex(der, (size_t)n, hex);
	OPENSSL_free(der);
}

char *
cert_issuer_key_id_hex(X509 *cert)
{
	const ASN1_OCTET_STRING *id = X509_get0_authority_key_id(cert);
	char *out;

	if (id == NULL || ASN1_STRING_length(id) <= 0)
		return NULL;
	out = xmalloc((size_t)ASN1_STRING_length(id) * 2 + 1);
	for (int i = 0; i < ASN1_STRING_length(id); i++)
		snprintf(out + 2 * i, 3, "%02x", ASN1_STRING_get0_data(id)[i]);
	return out;
}

char *
cert_serial_hex(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *out;

	/* BN_bn2hex gives upper case; the ledger and CA indexes use lower. */
	if (hex == NULL) {
		out = xstrdup("");
	} else {
		out = xstrdup(hex);
		for (char *p = out; *p; p++) {
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p - 'A' + 'a');
		}
	}
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

char *
cert_to_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL, *out;
	long len;

	if (bio == NULL || !PEM_write_bio_X509(bio, cert)) {
		out = xstrdup("");
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	out = xstrndup(data, (size_t)len);
out:
	BIO_free(bio);
	return out;
}

st_err
x509_load_pem_file(const char *path, X509 **out, char **cause)
{
	FILE *fp = fopen(path, "r");

	*out = NULL;
	if (fp == NULL)
		return st_fail(cause, ST_E_IO, "cannot open %s: %s", path,
		    strerror(errno));
	*out = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL)
		return st_fail_ssl(cause, ST_E_CRYPTO,
		    "%s holds no PEM certificate", path);
	return ST_OK;
}

void
cert_time_str(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "(bad time)");
}

int
sig_digest_acceptable(int md_nid)
{
	switch (md_nid) {
	case NID_sha256:
	case NID_sha384:
	case NID_sha512:
	case NID_sha3_256:
	case NID_sha3_384:
	case NID_sha3_512:
		return 1;
	default:
		return 0;
	}
}

/* Seconds since the epoch of an ASN1_TIME, 0 if it cannot be read. */
static int64_t
asn1_time_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

int64_t
cert_not_before(X509 *cert)
{
	return asn1_time_unix(X509_get0_notBefore(cert));
}

int64_t
cert_not_after(X509 *cert)
{
	return asn1_time_unix(X509_get0_notAfter(cert));
}
