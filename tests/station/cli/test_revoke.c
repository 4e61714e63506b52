/*
 * `station revoke` as a real process after a real provisioning against
 * devsim: the ledger marks the certificate revoked with a note, the CA
 * records it, `station ca crl` lists the serial with its reason in a CRL
 * that verifies with the intermediate's key and whose number grows; an
 * unknown serial, a second revocation and an unknown reason fail clearly.
 * Ledger first, then the CA: with the test server following Vault's
 * documented API holding the revoke unanswered, the revocation stays
 * recorded ('revoking', with its reason) and the next station start
 * finishes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/provision_env.h"
#include "tests/support/remote_ca_env.h"
#include "tests/support/vault_api_server.h"

#define VAULT_TOKEN "hvs.CAESIRevokeIntentTokenMustNotLeak0014"

static struct prov_env *env;
static struct devsim_proc *sim;

static int
setup(void **state)
{
	(void)state;
	env = prov_env_new();
	prov_env_config(env, NULL, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	devsim_proc_stop(sim);
	sim = NULL;
	prov_env_free(env);
	env = NULL;
	return 0;
}

/* Provision one devsim; returns the certificate serial (caller frees). */
static char *
provision_one(const char *device)
{
	int status;
	json_t *res;
	char *serial;

	sim = devsim_proc_start((const char *[]){ "--serial", device, NULL });
	assert_non_null(sim);
	res = prov_provision(env, sim->uri, NULL, &status);
	assert_non_null(res);
	assert_int_equal(status, 0);
	serial = xstrdup(prov_jstr(res, "cert_serial"));
	assert_true(serial[0] != '\0');
	json_decref(res);
	return serial;
}

static X509_CRL *
load_crl(long *number)
{
	char *path = xasprintf("%s/ca/crl.der", env->home);
	FILE *fp = fopen(path, "rb");
	X509_CRL *crl;

	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	free(path);
	assert_non_null(crl);
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(n);
	*number = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return crl;
}

static EVP_PKEY *
intermediate_key(void)
{
	char *path = xasprintf("%s/ca/intermediate.pem", env->home);
	FILE *fp = fopen(path, "r");
	X509 *x;
	EVP_PKEY *k;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	free(path);
	assert_non_null(x);
	k = X509_get_pubkey(x);
	X509_free(x);
	return k;
}

static void
test_revoke_marks_ledger_and_lists_serial_in_crl(void **state)
{
	struct proc_out o = { 0 };
	struct cert_record rec = { 0 };
	long number = 0, number2 = 0;

	(void)state;
	char *serial = provision_one("SN-REV-1");
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", serial, "--reason",
				 "keyCompromise", NULL },
			     &o),
	    0);
	proc_out_clear(&o);

	struct ledger *l = prov_ledger(env);
	assert_int_equal(ledger_cert_get(l, serial, &rec, NULL), ST_OK);
	assert_string_equal(rec.status, "revoked");
	assert_non_null(rec.status_note);
	assert_non_null(strstr(rec.status_note, "keyCompromise"));
	ledger_cert_record_clear(&rec);
	ledger_close(l);

	assert_int_equal(prov_station(env,
			     (const char *[]){ "ca", "crl", NULL }, &o),
	    0);
	proc_out_clear(&o);
	X509_CRL *crl = load_crl(&number);
	BIGNUM *bn = NULL;
	X509_REVOKED *rev = NULL;
	assert_true(BN_hex2bn(&bn, serial) > 0);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rev, ai), 1);
	ASN1_ENUMERATED *reason =
	    X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, NULL, NULL);
	assert_non_null(reason);
	assert_int_equal(ASN1_ENUMERATED_get(reason), 1); /* keyCompromise */
	EVP_PKEY *ik = intermediate_key();
	assert_int_equal(X509_CRL_verify(crl, ik), 1);

	/* Issued again: the number moves on. */
	assert_int_equal(prov_station(env,
			     (const char *[]){ "ca", "crl", NULL }, &o),
	    0);
	proc_out_clear(&o);
	X509_CRL *crl2 = load_crl(&number2);
	assert_int_equal(number2, number + 1);

	X509_CRL_free(crl2);
	EVP_PKEY_free(ik);
	ASN1_ENUMERATED_free(reason);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_CRL_free(crl);
	free(serial);
}

static void
test_revoke_unknown_serial_or_twice_exits_1(void **state)
{
	struct proc_out o = { 0 };

	(void)state;
	char *serial = provision_one("SN-REV-2");
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "0123abcd", NULL },
			     &o),
	    1);
	assert_non_null(strstr(o.err, "no certificate with serial 0123abcd"));
	proc_out_clear(&o);
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", serial, "--reason",
				 "superseded", NULL },
			     &o),
	    0);
	proc_out_clear(&o);
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", serial, NULL }, &o),
	    1);
	assert_non_null(strstr(o.err, "already revoked"));
	proc_out_clear(&o);
	free(serial);
}

static void
test_revoke_unknown_reason_is_a_usage_error(void **state)
{
	struct proc_out o = { 0 };

	(void)state;
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "abcd", "--reason",
				 "becauseISaidSo", NULL },
			     &o),
	    2);
	assert_non_null(strstr(o.err, "becauseISaidSo"));
	assert_non_null(strstr(o.err, "keyCompromise"));
	proc_out_clear(&o);
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "not-hex", NULL }, &o),
	    2);
	proc_out_clear(&o);
}

/* A device's serial where a certificate's is expected points to
 * --device, which revokes that device's current certificate; a device
 * without one, and a word that is neither, are refused clearly. */
static void
test_revoke_by_device_serial(void **state)
{
	struct proc_out o = { 0 };
	char *hint;

	(void)state;
	char *serial = provision_one("SN-REV-DEV");
	hint = xasprintf("its current certificate is %s", serial);
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "SN-REV-DEV", NULL },
			     &o),
	    2);
	assert_non_null(strstr(o.err, hint));
	assert_non_null(strstr(o.err, "station revoke --device SN-REV-DEV"));
	proc_out_clear(&o);

	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "--device",
				 "SN-REV-DEV", "--reason", "keyCompromise",
				 NULL },
			     &o),
	    0);
	assert_non_null(strstr(o.out, serial));
	proc_out_clear(&o);

	/* Revoked: the device has no current certificate any more. */
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "--device",
				 "SN-REV-DEV", NULL },
			     &o),
	    1);
	assert_non_null(strstr(o.err, "no current certificate"));
	proc_out_clear(&o);
	assert_int_equal(prov_station(env,
			     (const char *[]){ "revoke", "SN-NOBODY", NULL },
			     &o),
	    2);
	assert_non_null(strstr(o.err, "--device SERIAL"));
	proc_out_clear(&o);
	free(hint);
	free(serial);
}

/* The ledger of `e` has certificate `serial` with `status` and `reason`. */
static void
assert_cert_status(struct prov_env *e, const char *serial, const char *status,
    const char *reason)
{
	struct ledger *l = prov_ledger(e);
	struct cert_record rec = { 0 };

	assert_int_equal(ledger_cert_get(l, serial, &rec, NULL), ST_OK);
	assert_string_equal(rec.status, status);
	assert_string_equal(rec.revoke_reason, reason);
	ledger_cert_record_clear(&rec);
	ledger_close(l);
}

static void
test_revoke_the_ca_does_not_answer_is_finished_by_the_next_start(void **state)
{
	struct rca_env *rca = rca_env_new("Revoke CA");
	struct vault_api_server *vault =
	    vault_api_server_start(rca->pki, VAULT_TOKEN);
	char *tf = rca_secret(rca, "vault.token", VAULT_TOKEN);
	char *ca = rca_ca_section(rca, "vault",
	    "addr = %s\nrole = device\n"
	    "token_file = %s\ntimeout_ms = %d\n",
	    vault_api_server_addr(vault), tf, test_ms(500));
	struct proc_out o = { 0 };

	(void)state;
	rca_config(rca, NULL, ca);
	rca_device(rca, "SN-REV-V");
	assert_int_equal(rca_provision(rca), 0);
	char *serial = xstrdup(prov_jstr(rca->res, "cert_serial"));

	vault_api_server_set_mode(vault, VAULT_REVOKE_HANG);
	assert_int_equal(prov_station(rca->env,
			     (const char *[]){ "revoke", serial, "--reason",
				 "keyCompromise", NULL },
			     &o),
	    3);
	assert_non_null(strstr(o.err, "the next station start tries again"));
	proc_out_clear(&o);
	assert_cert_status(rca->env, serial, "revoking", "keyCompromise");
	assert_false(vault_api_server_revoked(vault, serial));

	/* The next station start finishes it (`station recover` is one). */
	vault_api_server_set_mode(vault, VAULT_OK);
	assert_int_equal(prov_station(rca->env,
			     (const char *[]){ "recover", NULL }, &o),
	    0);
	proc_out_clear(&o);
	assert_cert_status(rca->env, serial, "revoked", "keyCompromise");
	assert_true(vault_api_server_revoked(vault, serial));

	free(serial);
	free(ca);
	free(tf);
	vault_api_server_stop(vault);
	rca_env_free(rca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_revoke_the_ca_does_not_answer_is_finished_by_the_next_start),
		cmocka_unit_test_setup_teardown(
		    test_revoke_marks_ledger_and_lists_serial_in_crl, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoke_unknown_serial_or_twice_exits_1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoke_unknown_reason_is_a_usage_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_revoke_by_device_serial,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
