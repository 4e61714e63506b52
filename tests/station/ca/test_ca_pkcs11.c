/*
 * The local CA with its intermediate's key in a PKCS#11 token (SoftHSM2):
 * the URI subset, `station ca init --pkcs11` generating a key that never
 * leaves the token (sign only: no decrypt, unwrap or derive), the
 * production ceremony's CSR signed through the token and installed,
 * certificates signed through C_Sign that `openssl verify` accepts, a full provisioning against devsim, and the PIN rules
 * (wrong PIN: clear error without the PIN; PIN file readable by others:
 * refused).  Skips when SoftHSM2 is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <dlfcn.h>
#include <jansson.h>
#include <p11-kit-1/p11-kit/pkcs11.h>

#include "db/ledger.h"
#include "station/ca/pkcs11.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"
#include "tests/support/softhsm.h"

static struct softhsm *hsm;
#define SKIP_WITHOUT_HSM() \
	do { \
		if (hsm == NULL) \
			skip(); \
	} while (0)

static int
run_station(const char *const *args, struct proc_out *o)
{
	return prov_station(tc.env, args, o);
}

/* `station ca init --pkcs11` for object `label` in tc.env's home. */
static void
init_token_ca(const char *label)
{
	char *uri = softhsm_uri(label);
	char *dir = xasprintf("%s/ca", tc.env->home);
	struct proc_out o = { 0 };
	const char *args[] = { "ca", "init", "--dir", dir, "--pkcs11", uri,
		"--pin-file", hsm->pin_file, "--module", hsm->module, NULL };

	assert_int_equal(run_station(args, &o), 0);
	proc_out_clear(&o);
	free(dir);
	free(uri);
}

/* station.ini pointing [ca] at the token key `label` with `pin_line`. */
static void
config_token(const char *label, const char *pin_line)
{
	char *uri = softhsm_uri(label);
	char *rest = xasprintf("[ca]\nkey = %s\npkcs11_module = %s\n%s\n", uri,
	    hsm->module, pin_line);

	prov_env_config(tc.env, NULL, rest);
	free(rest);
	free(uri);
}

static void
test_uri_needs_token_and_object_and_unescapes(void **state)
{
	struct pkcs11_uri u;

	(void)state;
	assert_int_equal(pkcs11_uri_parse("pkcs11:token=My%20CA;id=%01;"
					  "object=key%3b1",
			     &u, NULL),
	    ST_OK);
	assert_string_equal(u.token, "My CA");
	assert_string_equal(u.object, "key;1");
	pkcs11_uri_clear(&u);
	assert_int_equal(pkcs11_uri_parse("pkcs11:token=T", &u, NULL),
	    ST_E_CONFIG);
	assert_int_equal(pkcs11_uri_parse("pkcs11:token=T;object=k?pin-value"
					  "=1",
			     &u, NULL),
	    ST_E_CONFIG);
	assert_int_equal(pkcs11_uri_parse("file:token=T;object=k", &u, NULL),
	    ST_E_CONFIG);
	assert_int_equal(pkcs11_uri_parse("pkcs11:token=T;object=%zz", &u,
			     NULL),
	    ST_E_CONFIG);
}

/* Log in to the token directly and read attributes `a` of the private
 * key labelled `label`; returns what C_GetAttributeValue said. */
static CK_RV
read_key_attrs(const char *label, CK_ATTRIBUTE *a, CK_ULONG n)
{
	void *dl = dlopen(hsm->module, RTLD_NOW);
	CK_C_GetFunctionList get;
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slots[8];
	CK_ULONG count = 8, found = 0;
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key = 0;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_RV rv;

	assert_non_null(dl);
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	assert_int_equal(get(&f), CKR_OK);
	assert_int_equal(f->C_Initialize(NULL), CKR_OK);
	assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &count), CKR_OK);
	assert_true(count >= 1);
	assert_int_equal(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL,
			     NULL, &s),
	    CKR_OK);
	assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)SOFTHSM_PIN,
			     strlen(SOFTHSM_PIN)),
	    CKR_OK);
	CK_ATTRIBUTE find[] = { { CKA_CLASS, &cls, sizeof cls },
		{ CKA_LABEL, (void *)label, strlen(label) } };
	assert_int_equal(f->C_FindObjectsInit(s, find, 2), CKR_OK);
	assert_int_equal(f->C_FindObjects(s, &key, 1, &found), CKR_OK);
	f->C_FindObjectsFinal(s);
	assert_int_equal(found, 1);
	rv = f->C_GetAttributeValue(s, key, a, n);
	f->C_Logout(s);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	dlclose(dl);
	return rv;
}

/* Sign only, never leaves the token (issue 15: not "sign, unwrap"). */
static void
assert_sign_only_unextractable(const char *label)
{
	CK_BBOOL sign = CK_FALSE, decrypt = CK_TRUE, unwrap = CK_TRUE,
		 derive = CK_TRUE, extractable = CK_TRUE, sensitive = CK_FALSE;
	unsigned char value[128];
	CK_ATTRIBUTE flags[] = {
		{ CKA_SIGN, &sign, sizeof sign },
		{ CKA_DECRYPT, &decrypt, sizeof decrypt },
		{ CKA_UNWRAP, &unwrap, sizeof unwrap },
		{ CKA_DERIVE, &derive, sizeof derive },
		{ CKA_EXTRACTABLE, &extractable, sizeof extractable },
		{ CKA_SENSITIVE, &sensitive, sizeof sensitive },
	};
	CK_ATTRIBUTE val = { CKA_VALUE, value, sizeof value };

	assert_int_equal(read_key_attrs(label, flags, 6), CKR_OK);
	assert_int_equal(sign, CK_TRUE);
	assert_int_equal(decrypt, CK_FALSE);
	assert_int_equal(unwrap, CK_FALSE);
	assert_int_equal(derive, CK_FALSE);
	assert_int_equal(extractable, CK_FALSE);
	assert_int_equal(sensitive, CK_TRUE);
	assert_int_equal(read_key_attrs(label, &val, 1),
	    CKR_ATTRIBUTE_SENSITIVE);
}

static void
test_init_keeps_the_key_in_the_token_unextractable(void **state)
{
	(void)state;
	SKIP_WITHOUT_HSM();
	init_token_ca("inter-1");

	char *keyfile = xasprintf("%s/ca/intermediate.key", tc.env->home);
	char *pem = xasprintf("%s/ca/intermediate.pem", tc.env->home);
	assert_int_not_equal(access(keyfile, F_OK), 0);
	assert_int_equal(access(pem, F_OK), 0);
	assert_sign_only_unextractable("inter-1");
	free(keyfile);
	free(pem);
}

/* The production ceremony with the intermediate's key in the token: the
 * CSR is signed through C_Sign, openssl as the offline root signs it,
 * install, and a device provisions to PASS. */
static void
test_csr_out_with_the_key_in_the_token(void **state)
{
	struct proc_out o = { 0 };
	char *uri = softhsm_uri("inter-csr");
	char *dir = xasprintf("%s/ca", tc.env->home);
	char *csr = xasprintf("%s/inter.csr", tc.env->home);
	char *ext = prov_env_write(tc.env, "inter.ext",
	    "basicConstraints = critical,CA:TRUE,pathlen:0\n"
	    "keyUsage = critical,keyCertSign,cRLSign\n");
	int status;

	(void)state;
	SKIP_WITHOUT_HSM();
	const char *init[] = { "ca", "init", "--dir", dir, "--csr-out", csr,
		"--pkcs11", uri, "--pin-file", hsm->pin_file, "--module",
		hsm->module, NULL };
	assert_int_equal(run_station(init, &o), 0);
	proc_out_clear(&o);
	assert_sign_only_unextractable("inter-csr");
	/* No key file: the CSR's self-signature was made by the token. */
	char *keyfile = xasprintf("%s/intermediate.key", dir);
	assert_int_not_equal(access(keyfile, F_OK), 0);
	assert_int_equal(
	    proc_sh("cd %s && openssl req -in %s -verify -noout 2>&1 && "
		    "openssl req -x509 -new -newkey ec -pkeyopt "
		    "ec_paramgen_curve:P-256 -nodes -keyout root.key "
		    "-out root.pem -days 3650 -subj '/CN=HSM Root' "
		    "-addext 'basicConstraints=critical,CA:TRUE' "
		    "-addext 'keyUsage=critical,keyCertSign,cRLSign' "
		    "2>&1 && openssl x509 -req -in %s -CA root.pem "
		    "-CAkey root.key -CAcreateserial -days 365 "
		    "-extfile %s -out inter.pem 2>&1",
		tc.env->home, csr, csr, ext),
	    0);
	char *cert = xasprintf("%s/inter.pem", tc.env->home);
	char *root = xasprintf("%s/root.pem", tc.env->home);
	const char *install[] = { "ca", "install", "--dir", dir, "--cert", cert,
		"--root", root, NULL };
	assert_int_equal(run_station(install, &o), 0);
	proc_out_clear(&o);

	char *pin_line = xasprintf("pin_file = %s", hsm->pin_file);
	config_token("inter-csr", pin_line);
	prov_case_device("SN-HSM-CSR", NULL);
	tc.res = prov_provision(tc.env, tc.sim->uri, NULL, &status);
	assert_non_null(tc.res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(tc.res, "result"), "PASS");

	free(pin_line);
	free(cert);
	free(root);
	free(keyfile);
	free(ext);
	free(csr);
	free(dir);
	free(uri);
}

static void
test_init_refuses_a_label_already_in_the_token(void **state)
{
	struct proc_out o = { 0 };
	char *uri = softhsm_uri("inter-dup");
	char *dir;

	(void)state;
	SKIP_WITHOUT_HSM();
	init_token_ca("inter-dup");
	dir = xasprintf("%s/ca2", tc.env->home);
	const char *args[] = { "ca", "init", "--dir", dir, "--pkcs11", uri,
		"--pin-file", hsm->pin_file, NULL };
	assert_int_equal(run_station(args, &o), 3);
	assert_non_null(strstr(o.err, "already exists"));
	proc_out_clear(&o);
	free(dir);
	free(uri);
}

static void
test_token_ca_provisions_devsim_and_certificate_verifies(void **state)
{
	struct devsim_proc *sim;
	struct ledger *l;
	struct cert_record rec = { 0 };
	int status;

	(void)state;
	SKIP_WITHOUT_HSM();
	init_token_ca("inter-prov");
	char *pin_line = xasprintf("pin_file = %s", hsm->pin_file);
	config_token("inter-prov", pin_line);
	sim =
	    devsim_proc_start((const char *[]){ "--serial", "SN-HSM-1", NULL });
	assert_non_null(sim);
	json_t *res = prov_provision(tc.env, sim->uri, NULL, &status);
	assert_non_null(res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(res, "result"), "PASS");

	l = prov_ledger(tc.env);
	assert_int_equal(ledger_cert_get(l, prov_jstr(res, "cert_serial"), &rec,
			     NULL),
	    ST_OK);
	char *leaf = prov_env_write(tc.env, "leaf.pem", rec.pem);
	char *root = xasprintf("%s/ca/root.pem", tc.env->home);
	char *inter = xasprintf("%s/ca/intermediate.pem", tc.env->home);
	char *out = NULL;
	const char *argv[] = { "openssl", "verify", "-CAfile", root,
		"-untrusted", inter, leaf, NULL };
	argv[0] = access("/usr/bin/openssl", X_OK) == 0 ? "/usr/bin/openssl" :
							  "openssl";
	assert_int_equal(proc_run_capture(argv, &out), 0);
	assert_non_null(strstr(out, ": OK"));
	assert_int_equal(prov_audit(tc.env, l), 1);

	free(out);
	free(inter);
	free(root);
	free(leaf);
	ledger_cert_record_clear(&rec);
	ledger_close(l);
	json_decref(res);
	devsim_proc_stop(sim);
	free(pin_line);
}

static void
test_wrong_pin_fails_clearly_without_showing_the_pin(void **state)
{
	struct proc_out o = { 0 };

	(void)state;
	SKIP_WITHOUT_HSM();
	init_token_ca("inter-pin");
	char *bad = softhsm_write(hsm, "bad-pin", "97531\n", 0600);
	char *line = xasprintf("pin_file = %s", bad);
	config_token("inter-pin", line);
	assert_int_equal(run_station((const char *[]){ "ca", "crl", NULL }, &o),
	    3);
	assert_non_null(strstr(o.err, "wrong PIN"));
	assert_non_null(strstr(o.err, bad));
	assert_null(strstr(o.err, "97531"));
	assert_null(strstr(o.out, "97531"));
	proc_out_clear(&o);

	/* The same through an environment variable. */
	setenv("STATION_TEST_PIN", "86420", 1);
	config_token("inter-pin", "pin_env = STATION_TEST_PIN");
	assert_int_equal(run_station((const char *[]){ "ca", "crl", NULL }, &o),
	    3);
	assert_non_null(strstr(o.err, "wrong PIN"));
	assert_non_null(strstr(o.err, "STATION_TEST_PIN"));
	assert_null(strstr(o.err, "86420"));
	unsetenv("STATION_TEST_PIN");
	proc_out_clear(&o);
	free(line);
	free(bad);
}

static void
test_pin_file_readable_by_others_is_refused(void **state)
{
	struct proc_out o = { 0 };

	(void)state;
	SKIP_WITHOUT_HSM();
	init_token_ca("inter-mode");
	char *open_pin = softhsm_write(hsm, "open-pin", SOFTHSM_PIN "\n", 0644);
	char *line = xasprintf("pin_file = %s", open_pin);
	config_token("inter-mode", line);
	assert_int_equal(run_station((const char *[]){ "ca", "crl", NULL }, &o),
	    3);
	assert_non_null(strstr(o.err, open_pin));
	assert_non_null(strstr(o.err, "0644"));
	proc_out_clear(&o);
	free(line);
	free(open_pin);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_needs_token_and_object_and_unescapes),
		PROV_CASE_TEST(
		    test_init_keeps_the_key_in_the_token_unextractable),
		PROV_CASE_TEST(test_init_refuses_a_label_already_in_the_token),
		PROV_CASE_TEST(test_csr_out_with_the_key_in_the_token),
		PROV_CASE_TEST(
		    test_token_ca_provisions_devsim_and_certificate_verifies),
		PROV_CASE_TEST(
		    test_wrong_pin_fails_clearly_without_showing_the_pin),
		PROV_CASE_TEST(test_pin_file_readable_by_others_is_refused),
	};
	int rc;

	hsm = softhsm_new();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	softhsm_free(hsm);
	return rc;
}
