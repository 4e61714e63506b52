/*
 * Test support: look for secrets in files.  A secret is a byte string; the
 * scanner searches every regular file under a directory (and single
 * files) for it, byte for byte.  Private keys are added in all the forms a
 * careless program might write them: DER, lower- and upper-case hex,
 * base64 (at the three byte alignments, so a key inside a larger base64
 * blob is found too), and the bare private scalar.
 *
 * Hook for CA-backend tests: add a token with secret_set_add() (e.g. the
 * Vault token or the CFSSL auth key) and scan the same trees.
 */
#ifndef TEST_SECRET_SCAN_H
#define TEST_SECRET_SCAN_H

#include <stddef.h>
#include <stdint.h>

struct secret_set;

struct secret_set *secret_set_new(void);
void secret_set_free(struct secret_set *s);
/* Add one byte string (copied); `what` names it in reports. */
void secret_set_add(struct secret_set *s, const char *what, const void *bytes,
    size_t len);
/* Add a private key given as DER (any form d2i_AutoPrivateKey reads) in
 * every form above.  Returns 0, -1 if the DER is not a private key. */
int secret_set_add_key_der(struct secret_set *s, const char *what,
    const uint8_t *der, size_t len);
/* Number of distinct secrets added. */
size_t secret_set_count(const struct secret_set *s);

/*
 * Scan `path` (a file, or a directory walked recursively) for the secrets
 * and for the PEM marker "PRIVATE KEY".  Files whose path ends in one of
 * `allowed_key_files` (NULL-terminated, may be NULL) may hold the marker
 * but must be mode 0600.  Returns the number of findings, each printed on
 * stderr; *files (may be NULL) is increased by the files scanned.
 */
int secret_scan(const struct secret_set *s, const char *path,
    const char *const *allowed_key_files, int *files);

/*
 * secret_scan of a file that must hold the secrets (the simulated chip's
 * own state: the scanner's control), its findings printed as expected
 * ones.  Returns their number: > 0 when the scanner works.
 */
int secret_scan_control(const struct secret_set *s, const char *path);

#endif
