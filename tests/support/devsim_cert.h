/*
 * Test support: real certificates for the simulated chip's key, issued by
 * a throwaway CA made on the spot (a fresh P-256 key, self-signed name
 * "devsim test CA").  Nothing is written to disk.
 */
#ifndef TEST_DEVSIM_CERT_H
#define TEST_DEVSIM_CERT_H

#include <stddef.h>
#include <stdint.h>

/*
 * A DER certificate for the key and subject of the DER CSR `csr`, valid
 * for an hour.  The CSR's signature is checked first (proof of
 * possession).  Returns NULL if the CSR does not parse or verify; the
 * caller frees the result.
 */
uint8_t *test_cert_for_csr(const uint8_t *csr, size_t csr_len, size_t *len);

/* The same for a bare DER SubjectPublicKeyInfo, with subject CN=`cn`. */
uint8_t *test_cert_for_spki(const uint8_t *spki, size_t spki_len,
    const char *cn, size_t *len);

#endif
