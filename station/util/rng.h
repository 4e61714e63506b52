/*
 * The process's random generator.
 *
 * OpenSSL's default generator is CTR-DRBG over AES-256, and setting it up
 * builds OpenSSL's table of every cipher its providers offer (about
 * 0.5 ms in OpenSSL 3.0).  Outside TLS the station never encrypts: it
 * signs, verifies, digests and MACs.  Hash-DRBG over SHA-256 (NIST SP
 * 800-90A, the same 256-bit strength, seeded from the same kernel source)
 * uses the digest those already need, so a `station provision` process
 * does not pay for the cipher table before its device.  TLS runs in the
 * external-key library context (station/tls/extkey.h), which keeps
 * OpenSSL's own default there: it needs the ciphers anyway.
 */
#ifndef ST_RNG_H
#define ST_RNG_H

/*
 * Chooses Hash-DRBG (SHA-256) for the default library context.  Call it at
 * the start of main, before anything draws a random number: once the
 * generator exists the choice is ignored.  A [random] section in the
 * OpenSSL configuration (OPENSSL_CONF) is read after it and wins: an
 * administrator's explicit choice stands.  Returns 0, or -1 if OpenSSL
 * refused (the default generator then stays, which is only slower).
 */
int rng_prefer_hash_drbg(void);

/* The name of the default library context's primary generator
 * ("HASH-DRBG", "CTR-DRBG", ...), set up if it was not; NULL if none. */
const char *rng_primary_name(void);

#endif
