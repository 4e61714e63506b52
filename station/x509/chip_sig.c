/* Verifying a chip's SIGN signature (see chip_sig.h). */
#include "station/x509/chip_sig.h"

#include <openssl/err.h>
#include <openssl/rsa.h>

int
chip_sig_verify(OSSL_LIB_CTX *libctx, const char *propq, EVP_PKEY *pub,
    enum sig_scheme scheme, const uint8_t *digest, size_t digest_len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(libctx, pub, propq);
	EVP_MD *md = EVP_MD_fetch(libctx, "SHA2-256", propq);
	int ok = pctx != NULL && md != NULL && EVP_PKEY_verify_init(pctx) > 0 &&
	    EVP_PKEY_CTX_set_signature_md(pctx, md) > 0;

	if (ok && scheme == SIG_RSA_PSS_SHA256)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) >
			0 &&
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0 &&
		    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
	else if (ok && scheme == SIG_RSA_PKCS1_SHA256)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	ok = ok && EVP_PKEY_verify(pctx, sig, sig_len, digest, digest_len) == 1;
	EVP_MD_free(md);
	EVP_PKEY_CTX_free(pctx);
	ERR_clear_error();
	return ok;
}

int
chip_sig_alg_for(EVP_PKEY *pub)
{
	if (EVP_PKEY_is_a(pub, "EC"))
		return SIG_ECDSA_SHA256;
	if (EVP_PKEY_is_a(pub, "RSA"))
		return SIG_RSA_PSS_SHA256;
	return -1;
}
