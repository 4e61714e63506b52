/*
 * A throw-away PKI for the CA backend tests, generated at test time: a
 * root, an intermediate that signs device certificates, and a TLS server
 * certificate for 127.0.0.1 / localhost (issued by the root).  Everything
 * is also written as PEM files in `dir` (the CFSSL test hands them to
 * `cfssl serve`).  Failures abort.
 */
#ifndef TLS_PKI_H
#define TLS_PKI_H

#include <openssl/ssl.h>
#include <openssl/x509.h>

struct tls_pki {
	EVP_PKEY *root_key, *inter_key, *server_key;
	X509 *root, *inter, *server;
	/* files in dir: root.pem inter.pem inter.key server.pem server.key */
	char *root_pem, *inter_pem, *inter_key_file, *server_pem,
	    *server_key_file;
};

/* `name` goes into the subjects ("Vault Test" -> "Vault Test Root"). */
struct tls_pki *tls_pki_new(const char *dir, const char *name);
void tls_pki_free(struct tls_pki *pki);

/* A server context presenting the server certificate. */
SSL_CTX *tls_pki_server_ctx(const struct tls_pki *pki);

/*
 * A device certificate for the CSR's subject and names, signed by the
 * intermediate with a random serial; the public key is `pub` if given
 * (a certificate for another key), else the CSR's.
 */
X509 *tls_pki_sign(const struct tls_pki *pki, X509_REQ *csr, int days,
    EVP_PKEY *pub);

/* PEM text (malloc'ed). */
char *tls_pki_pem(X509 *cert);

/* SHA-256 of the certificate's public key, base64 (pin_sha256 form). */
char *tls_pki_pin(X509 *cert);

#endif
