/*
 * AWS IoT just-in-time registration: `station ca aws-verification-cert`
 * gives a certificate whose CN is the registration code, signed by the
 * intermediate (the CA being registered), with no key written anywhere;
 * and a profile with `chain = ca` leaves exactly the intermediate on the
 * device (READ_CHAIN shows one CERT).
 */
#include <dirent.h>
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
#include <openssl/x509.h>

#include "drivers/proto/client.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"
#include "drivers/transport/transport.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"

#define CODE "8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e"

static X509 *
load_pem(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static void
test_verification_cert_has_code_as_cn_and_is_signed_by_intermediate(
    void **state)
{
	struct proc_out o = { 0 };
	char cn[80];

	(void)state;
	prov_env_config(tc.env, NULL, NULL);
	char *cadir = xasprintf("%s/ca", tc.env->home);
	int before = count_entries(cadir);
	assert_int_equal(prov_station(tc.env,
			     (const char *[]){ "ca", "aws-verification-cert",
				 "--code", CODE, NULL },
			     &o),
	    0);
	assert_null(strstr(o.out, "PRIVATE KEY"));
	assert_int_equal(count_entries(cadir), before);

	char *path = prov_env_write(tc.env, "verification.pem", o.out);
	X509 *v = load_pem(path);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(v),
			NID_commonName, cn, sizeof cn) > 0);
	assert_string_equal(cn, CODE);
	char *ipath = xasprintf("%s/intermediate.pem", cadir);
	X509 *inter = load_pem(ipath);
	assert_int_equal(X509_verify(v, X509_get0_pubkey(inter)), 1);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(v),
			     X509_get_subject_name(inter)),
	    0);
	proc_out_clear(&o);

	/* Not a registration code: a usage error, nothing printed. */
	assert_int_equal(prov_station(tc.env,
			     (const char *[]){ "ca", "aws-verification-cert",
				 "--code", "CN=evil", NULL },
			     &o),
	    2);
	assert_string_equal(o.out, "");
	proc_out_clear(&o);

	X509_free(inter);
	X509_free(v);
	free(ipath);
	free(path);
	free(cadir);
}

static void
test_chain_ca_writes_only_the_intermediate(void **state)
{
	struct devsim_proc *sim;
	struct transport *t = NULL;
	struct client *cli;
	struct dev_info info;
	uint8_t *chain = NULL;
	size_t chain_len = 0, pos = 0;
	struct tlv e;
	char *cause = NULL;
	int status, certs = 0;

	(void)state;
	prov_env_config(tc.env, NULL, "[profile default]\nchain = ca\n");
	sim = devsim_proc_start(
	    (const char *[]){ "--serial", "SN-JITR-1", NULL });
	assert_non_null(sim);
	json_t *res = prov_provision(tc.env, sim->uri, NULL, &status);
	assert_non_null(res);
	assert_int_equal(status, 0);
	assert_string_equal(prov_jstr(res, "result"), "PASS");

	if (transport_open(sim->uri, deadline_in(test_ms(5000)), &t, &cause))
		fail_msg("connecting to %s: %s", sim->uri, cause);
	cli = client_new(t, NULL);
	if (dev_hello(cli, &info, &cause))
		fail_msg("HELLO: %s", cause);
	dev_info_clear(&info);
	if (dev_read_chain(cli, &chain, &chain_len, &cause))
		fail_msg("READ_CHAIN: %s", cause);
	assert_int_equal(tlv_validate(chain, chain_len, NULL), ST_OK);

	char *ipath = xasprintf("%s/ca/intermediate.pem", tc.env->home);
	X509 *inter = load_pem(ipath);
	unsigned char *ider = NULL;
	int ilen = i2d_X509(inter, &ider);
	while (tlv_next(chain, chain_len, &pos, &e)) {
		if (e.tag != PROTO_T_CERT)
			continue;
		certs++;
		assert_int_equal(e.len, ilen);
		assert_memory_equal(e.val, ider, (size_t)ilen);
	}
	assert_int_equal(certs, 1);

	OPENSSL_free(ider);
	X509_free(inter);
	free(ipath);
	free(chain);
	client_free(cli);
	json_decref(res);
	devsim_proc_stop(sim);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PROV_CASE_TEST(
		    test_verification_cert_has_code_as_cn_and_is_signed_by_intermediate),
		PROV_CASE_TEST(test_chain_ca_writes_only_the_intermediate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
