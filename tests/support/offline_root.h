/*
 * Test support: the `openssl` command line acting as an offline root CA,
 * as an administrator runs it (docs/admin.md): a root made with `openssl
 * req -x509`, an intermediate for the station's local CA signed with
 * `openssl x509 -req`, and the root's own CRL made with `openssl ca
 * -gencrl`.  The root's key lives only in the test's scratch directory,
 * never in the station's CA directory.  Failures abort: a PKI that cannot
 * be made is a broken test, not a result.
 */
#ifndef TEST_OFFLINE_ROOT_H
#define TEST_OFFLINE_ROOT_H

/*
 * Make a root in `root_dir` (created if needed): root.key, root.pem
 * (EC P-256, 10 years, CA:TRUE, keyCertSign + cRLSign) and what `openssl
 * ca` needs for its CRL (root.cnf, index.txt, crlnumber).  `crl_url` (may
 * be NULL) becomes the root's own CRL distribution point: a relying party
 * that checks the trust anchor too (`openssl verify -crl_check_all`
 * does) and downloads every CRL finds the root's CRL there.
 */
void offline_root_make(const char *root_dir, const char *crl_url);

/*
 * A local CA directory `ca_dir` (created 0700) whose intermediate the
 * root signs: ca_dir/root.pem, intermediate.pem (valid `days` days from
 * now, pathlen 0, with a CRL distribution point `root_crl_url` when not
 * NULL: where relying parties find the root's CRL) and intermediate.key.
 */
void offline_root_intermediate(const char *root_dir, const char *ca_dir,
    int days, const char *root_crl_url);

/* The root's CRL (`openssl ca -gencrl`) as out_dir/NAME (DER) and
 * out_dir/NAME.pem. */
void offline_root_crl(const char *root_dir, const char *out_dir,
    const char *name);

/* Run argv (NULL-terminated, argv[0] looked up in PATH), stdout and
 * stderr together into *out (caller frees; may be NULL); returns the exit
 * status. */
int offline_run(const char *const *argv, char **out);

#endif
