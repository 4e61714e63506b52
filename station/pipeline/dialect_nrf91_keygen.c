/*
 * The nRF91 %KEYGEN answer: "Base64Url(CSR DER).Base64Url(COSE_Sign1)".
 * The CSR goes to the CSR policy like any other (its signature algorithm
 * carries a NULL parameter, which the policy accepts); the COSE_Sign1
 * (RFC 9052: tag 18, [protected, unprotected, payload, signature]) is
 * parsed and recorded with the run: it is made by the modem's own
 * identity, which the station does not know, so it is evidence for later,
 * not a check.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "station/pipeline/dialect_nrf91.h"
#include "station/pipeline/pipeline_run.h"
#include "station/util/xalloc.h"

#define CSR_MAX 4096
#define COSE_MAX 2048

/* Base64url without padding into *out (caller frees); -1 if not. */
static long
b64url_decode(const char *in, size_t len, size_t max, uint8_t **out)
{
	size_t padded = (len + 3) / 4 * 4;
	char *t;
	uint8_t *buf;
	int n;

	*out = NULL;
	if (len == 0 || len % 4 == 1 || len > max * 4 / 3 + 4)
		return -1;
	t = xmalloc(padded + 1);
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9'))) {
			free(t);
			return -1;
		}
		t[i] = c;
	}
	for (size_t i = len; i < padded; i++)
		t[i] = '=';
	t[padded] = '\0';
	buf = xmalloc(padded);
	n = EVP_DecodeBlock(buf, (const unsigned char *)t, (int)padded);
	free(t);
	if (n < 0) {
		free(buf);
		return -1;
	}
	n -= (int)(padded - len); /* the padding's zero bytes */
	*out = buf;
	return n;
}

/* One CBOR head at *pos: major type and argument; 0 if malformed. */
static int
cbor_head(const uint8_t *b, size_t len, size_t *pos, int *major, uint64_t *arg)
{
	uint8_t ib;
	int extra;

	if (*pos >= len)
		return 0;
	ib = b[(*pos)++];
	*major = ib >> 5;
	*arg = ib & 31;
	if (*arg < 24)
		return 1;
	extra = *arg == 24 ? 1 : *arg == 25 ? 2 : *arg == 26 ? 4 : 0;
	if (extra == 0 || *pos + (size_t)extra > len)
		return 0;
	*arg = 0;
	for (int i = 0; i < extra; i++)
		*arg = (*arg << 8) | b[(*pos)++];
	return 1;
}

/* A byte string at *pos (or nil when `nil_ok`): its bytes borrowed. */
static int
cbor_bstr(const uint8_t *b, size_t len, size_t *pos, const uint8_t **val,
    size_t *vlen, int nil_ok)
{
	int major;
	uint64_t arg;

	if (nil_ok && *pos < len && b[*pos] == 0xf6) {
		(*pos)++;
		*val = NULL;
		*vlen = 0;
		return 1;
	}
	if (!cbor_head(b, len, pos, &major, &arg) || major != 2 ||
	    arg > len - *pos)
		return 0;
	*val = b + *pos;
	*vlen = (size_t)arg;
	*pos += (size_t)arg;
	return 1;
}

/* The COSE algorithm in a protected header {1: alg, ...} of small
 * integers; 0 if there is none. */
static int
cose_alg(const uint8_t *h, size_t len)
{
	size_t pos = 0;
	int major, alg = 0;
	uint64_t n, k, v;

	if (!cbor_head(h, len, &pos, &major, &n) || major != 5)
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		int mk, mv;

		if (!cbor_head(h, len, &pos, &mk, &k) ||
		    !cbor_head(h, len, &pos, &mv, &v) || mk > 1 || mv > 1)
			return 0;
		if (mk == 0 && k == 1)
			alg = mv == 1 ? -1 - (int)v : (int)v;
	}
	return alg;
}

static st_err
cose_parse(struct run *r, const uint8_t *c, size_t len, const uint8_t *csr,
    size_t csr_len, const char *b64)
{
	size_t pos = 0;
	int major, alg;
	uint64_t arg;
	const uint8_t *prot, *payload, *sig;
	size_t prot_len, payload_len, sig_len;
	unsigned char digest[32];
	const char *about;

	if (!cbor_head(c, len, &pos, &major, &arg) || major != 6 || arg != 18 ||
	    !cbor_head(c, len, &pos, &major, &arg) || major != 4 || arg != 4 ||
	    !cbor_bstr(c, len, &pos, &prot, &prot_len, 0) ||
	    !cbor_head(c, len, &pos, &major, &arg) || major != 5 || arg != 0 ||
	    !cbor_bstr(c, len, &pos, &payload, &payload_len, 1) ||
	    !cbor_bstr(c, len, &pos, &sig, &sig_len, 0) || pos != len)
		return st_fail(&r->cause, ST_E_PROTO,
		    "%%KEYGEN's COSE signature is not a COSE_Sign1 (tag 18, "
		    "four elements, no unprotected header)");
	alg = cose_alg(prot, prot_len);
	if (alg != -7 || sig_len != 64)
		return st_fail(&r->cause, ST_E_PROTO,
		    "%%KEYGEN's COSE_Sign1 is not ES256 (alg %d, a %zu-byte "
		    "signature)",
		    alg, sig_len);
	EVP_Digest(csr, csr_len, digest, NULL, EVP_sha256(), NULL);
	if (payload_len == 32 && memcmp(payload, digest, 32) == 0)
		about = "its payload is the CSR's SHA-256";
	else if (payload == NULL)
		about = "detached payload";
	else
		about = "its payload is not the CSR's SHA-256";
	run_info(r, "%%KEYGEN COSE_Sign1: ES256, %s; recorded: %s", about, b64);
	return ST_OK;
}

st_err
nrf91_keygen_parse(struct run *r, const char *line, uint8_t **csr,
    size_t *csr_len)
{
	size_t len = strlen(line);
	const char *dot;
	uint8_t *der = NULL, *cose = NULL;
	long der_len, cose_len;
	const unsigned char *p;
	X509_REQ *req = NULL;
	unsigned char *spki = NULL;
	int spki_len;
	char *b64 = NULL;
	st_err err = ST_OK;

	*csr = NULL;
	if (len >= 2 && line[0] == '"' && line[len - 1] == '"') {
		line++;
		len -= 2;
	}
	dot = memchr(line, '.', len);
	if (dot == NULL)
		return st_fail(&r->cause, ST_E_PROTO,
		    "%%KEYGEN answered without the '.' between the CSR and "
		    "its COSE signature");
	der_len = b64url_decode(line, (size_t)(dot - line), CSR_MAX, &der);
	cose_len = b64url_decode(dot + 1, len - (size_t)(dot - line) - 1,
	    COSE_MAX, &cose);
	if (der_len <= 0 || cose_len <= 0) {
		err = st_fail(&r->cause, ST_E_PROTO,
		    "%%KEYGEN's answer is not base64url CSR.COSE");
		goto out;
	}
	p = der;
	req = d2i_X509_REQ(NULL, &p, der_len);
	if (req == NULL || p != der + der_len) {
		err = st_fail_ssl(&r->cause, ST_E_PROTO,
		    "%%KEYGEN's CSR is not one DER CSR");
		goto out;
	}
	spki_len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &spki);
	if (spki_len <= 0) {
		err = st_fail_ssl(&r->cause, ST_E_PROTO,
		    "%%KEYGEN's CSR has no public key");
		goto out;
	}
	b64 = xstrndup(dot + 1, len - (size_t)(dot - line) - 1);
	err = cose_parse(r, cose, (size_t)cose_len, der, (size_t)der_len, b64);
	if (err)
		goto out;
	/* The chip's key is the CSR's: the modem reports no other. */
	r->spki = xmemdup(spki, (size_t)spki_len);
	r->spki_len = (size_t)spki_len;
	*csr = der;
	*csr_len = (size_t)der_len;
	der = NULL;
out:
	free(b64);
	OPENSSL_free(spki);
	X509_REQ_free(req);
	free(der);
	free(cose);
	return err;
}
