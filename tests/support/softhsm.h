/*
 * Test support: a private SoftHSM2 token for one test program.  A temp
 * directory holds the token store and a softhsm2.conf; SOFTHSM2_CONF is
 * exported so the station processes the test starts see the same token.
 */
#ifndef TEST_SOFTHSM_H
#define TEST_SOFTHSM_H

#define SOFTHSM_TOKEN "T"
#define SOFTHSM_PIN "1234"
#define SOFTHSM_SO_PIN "5678"

struct softhsm {
	char *dir;	/* temp directory (removed by softhsm_free) */
	char *module;	/* the SoftHSM2 PKCS#11 module */
	char *pin_file; /* <dir>/pin, mode 0600, holding SOFTHSM_PIN */
};

/*
 * Create the store and initialise token SOFTHSM_TOKEN (user PIN
 * SOFTHSM_PIN) with softhsm2-util.  Returns NULL after printing why when
 * SoftHSM2 is not installed (the caller skips); aborts on other set-up
 * failures.
 */
struct softhsm *softhsm_new(void);
void softhsm_free(struct softhsm *h);

/* "pkcs11:token=T;object=LABEL" (caller frees). */
char *softhsm_uri(const char *label);

/* Write `text` to <dir>/NAME with `mode`; returns the path (caller frees). */
char *softhsm_write(struct softhsm *h, const char *name, const char *text,
    unsigned mode);

#endif
