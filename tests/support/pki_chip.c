/* The test chip: a software key that signs like a device (see pki.h). */
#include "tests/support/pki.h"

#include <stdlib.h>

#include <openssl/rsa.h>

#include "drivers/proto/proto.h"
#include "station/util/xalloc.h"

st_err
test_chip_sign(void *ctx, enum sig_scheme sig_alg, const uint8_t *digest,
    size_t digest_len, uint8_t **sig, size_t *sig_len, char **cause)
{
	struct test_chip *chip = ctx;
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 0;
	st_err err = ST_E_CRYPTO;

	chip->calls++;
	*sig = NULL;
	if (chip->fail)
		return st_fail(cause, ST_E_DEVICE, "chip refused to sign");
	if (digest_len != 32)
		return st_fail(cause, ST_E_ARG, "digest is %zu bytes",
		    digest_len);
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, chip->key, NULL);
	if (pctx == NULL || EVP_PKEY_sign_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) <= 0)
		goto out;
	if (sig_alg == SIG_RSA_PSS_SHA256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0 ||
		EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0))
		goto out;
	if (sig_alg == SIG_RSA_PKCS1_SHA256 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto out;
	if (EVP_PKEY_sign(pctx, NULL, &len, digest, digest_len) <= 0)
		goto out;
	*sig = xmalloc(len);
	if (EVP_PKEY_sign(pctx, *sig, &len, digest, digest_len) <= 0) {
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*sig_len = len;
	err = ST_OK;
out:
	EVP_PKEY_CTX_free(pctx);
	if (err)
		return st_fail_ssl(cause, err, "test chip: signing failed");
	return ST_OK;
}
