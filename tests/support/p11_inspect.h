/*
 * Test support: look inside devsim's PKCS#11 chip from the test, as an
 * auditor of the secure element would: the SoftHSM2 module loaded in the
 * test process with the token's own softhsm2.conf (SOFTHSM2_CONF set for
 * the module's start only), a session on token "devsim" logged in with
 * the user PIN from the directory's pins file (fixtures/devsim/
 * chip_pkcs11.h describes the directory).
 */
#ifndef TEST_P11_INSPECT_H
#define TEST_P11_INSPECT_H

#include <stddef.h>

/* One private key object as the token reports it.  The flags are 1 or 0,
 * -1 when the token would not say. */
struct p11_key_facts {
	int private_keys; /* private key objects with the label */
	int public_keys;  /* public key objects with the label */
	int token, priv, sensitive, extractable, always_sensitive,
	    never_extractable, local;
	/* What C_GetAttributeValue answered for the private value
	 * (CKA_VALUE of an EC key, CKA_PRIVATE_EXPONENT of an RSA key): a
	 * key that cannot leave answers CKR_ATTRIBUTE_SENSITIVE. */
	unsigned long value_rv;
	size_t value_len; /* the length it gave (CK_UNAVAILABLE_INFORMATION
	                     when refused) */
};

/*
 * Open the token in `dir` and describe the key pair labelled `label`
 * (the facts of the first private key, if any).  Returns 0, or -1 after
 * printing why on stderr (module, token or login not usable).
 */
int p11_inspect(const char *dir, const char *label, struct p11_key_facts *out);

#endif
