/*
 * The production CA ceremony as an administrator runs it, with the real
 * `station` program and the openssl CLI as the offline root: `ca init
 * --csr-out` on a station whose configuration refuses TEST CAs, provision
 * refused while the CA is pending (naming `station ca install`), the
 * root signs, `ca install`, a devsim provisions to PASS and its leaf
 * verifies with `openssl verify`; no root key anywhere under the home.
 * A TEST CA is refused with allow_test_ca = no.  A rollover: leaves
 * before and after have different issuers in the ledger, both verify, and
 * `ca crl` publishes the retired intermediate's CRL too.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/prov_case.h"
#include "tests/support/provision_env.h"
#include "tests/support/scratch.h"

#define PROD_CONFIG "[ca]\nallow_test_ca = no\ndir = prodca\n"
#define INTER_EXT \
	"basicConstraints = critical,CA:TRUE,pathlen:0\n" \
	"keyUsage = critical,keyCertSign,cRLSign\n" \
	"subjectKeyIdentifier = hash\n" \
	"authorityKeyIdentifier = keyid:always\n"

/* The offline root (HOME/offline/root.pem, .key): never under the CA. */
static void
offline_root(void)
{
	assert_int_equal(
	    proc_sh("mkdir -p %s/offline && cd %s/offline && openssl "
		    "req -x509 -new -newkey ec -pkeyopt "
		    "ec_paramgen_curve:P-256 -nodes -keyout root.key "
		    "-out root.pem -days 3650 -subj '/O=Acme/CN=Acme "
		    "Device Root' -addext "
		    "'basicConstraints=critical,CA:TRUE' -addext "
		    "'keyUsage=critical,keyCertSign,cRLSign' 2>&1",
		tc.env->home, tc.env->home),
	    0);
}

/* The root signs HOME/offline/CSR into HOME/offline/OUT. */
static void
root_signs(const char *csr, const char *out)
{
	char *ext = prov_env_write(tc.env, "offline/inter.ext", INTER_EXT);

	assert_int_equal(
	    proc_sh("cd %s/offline && openssl x509 -req -in %s -CA "
		    "root.pem -CAkey root.key -CAcreateserial -days "
		    "1825 -extfile %s -out %s 2>&1",
		tc.env->home, csr, ext, out),
	    0);
	free(ext);
}

static int
station(const char *const *args, struct proc_out *o)
{
	proc_out_clear(o);
	return prov_station(tc.env, args, o);
}

/* provision SERIAL on a fresh devsim: its certificate serial, or NULL
 * when the run did not PASS (*status gets the exit status). */
static char *
provision(const char *serial, int *status)
{
	struct devsim_proc *sim;
	json_t *res;
	char *cert = NULL;

	sim = devsim_proc_start((const char *[]){ "--serial", serial, NULL });
	assert_non_null(sim);
	res = prov_provision(tc.env, sim->uri, NULL, status);
	if (res != NULL && strcmp(prov_jstr(res, "result"), "PASS") == 0)
		cert = xstrdup(prov_jstr(res, "cert_serial"));
	json_decref(res);
	devsim_proc_stop(sim);
	return cert;
}

/* The production ceremony up to an active CA in HOME/prodca. */
static void
ceremony(void)
{
	struct proc_out o = { 0 };
	char *csr = xasprintf("%s/offline/inter.csr", tc.env->home);
	char *cert = xasprintf("%s/offline/inter.pem", tc.env->home);
	char *root = xasprintf("%s/offline/root.pem", tc.env->home);

	prov_env_config(tc.env, NULL, PROD_CONFIG);
	offline_root();
	assert_int_equal(station((const char *[]){ "ca", "init", "--csr-out",
				     csr, "--intermediate-subject",
				     "CN=Line 7 Issuing CA,O=Acme", NULL },
			     &o),
	    0);
	assert_non_null(strstr(o.out, "pending"));
	root_signs("inter.csr", "inter.pem");
	assert_int_equal(station((const char *[]){ "ca", "install", "--cert",
				     cert, "--root", root, NULL },
			     &o),
	    0);
	assert_non_null(strstr(o.out, "active"));
	proc_out_clear(&o);
	free(csr);
	free(cert);
	free(root);
}

/* `openssl verify` of the ledger's certificate SERIAL through `inter`. */
static int
verifies(struct ledger *l, const char *serial, const char *inter)
{
	struct cert_record rec = { 0 };
	char *name = xasprintf("leaf-%s.pem", serial);
	char *leaf;
	int rc;

	assert_int_equal(ledger_cert_get(l, serial, &rec, NULL), ST_OK);
	leaf = prov_env_write(tc.env, name, rec.pem);
	rc = proc_sh(
	    "openssl verify -CAfile %s/offline/root.pem -untrusted %s %s "
	    "2>&1",
	    tc.env->home, inter, leaf);
	ledger_cert_record_clear(&rec);
	free(leaf);
	free(name);
	return rc;
}

/* Every file under `dir` holding a private key is an intermediate's. */
static void
assert_only_intermediate_keys(const char *dir, int *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		char *p, *text;
		struct stat st;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "offline") == 0)
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			assert_only_intermediate_keys(p, n);
		} else {
			assert_string_not_equal(e->d_name, "root.key");
			text = scratch_read(p);
			if (text != NULL && strstr(text, "PRIVATE KEY")) {
				assert_string_equal(e->d_name,
				    "intermediate.key");
				(*n)++;
			}
			free(text);
		}
		free(p);
	}
	closedir(d);
}

static void
test_ceremony_pending_install_provision_verify(void **state)
{
	struct proc_out o = { 0 };
	char *csr = xasprintf("%s/offline/inter.csr", tc.env->home);
	char *cert = xasprintf("%s/offline/inter.pem", tc.env->home);
	char *root = xasprintf("%s/offline/root.pem", tc.env->home);
	char *inter = xasprintf("%s/prodca/intermediate.pem", tc.env->home);
	int status, keys = 0;
	char *serial;

	(void)state;
	prov_env_config(tc.env, NULL, PROD_CONFIG);
	offline_root();
	assert_int_equal(station((const char *[]){ "ca", "init", "--csr-out",
				     csr, NULL },
			     &o),
	    0);
	/* Pending: the station says what to do. */
	assert_int_equal(station((const char *[]){ "recover", NULL }, &o), 3);
	assert_non_null(strstr(o.err, "pending"));
	assert_non_null(strstr(o.err, "station ca install"));
	assert_null(provision("SN-CER-0", &status));
	assert_int_equal(status, 3);

	root_signs("inter.csr", "inter.pem");
	assert_int_equal(station((const char *[]){ "ca", "install", "--cert",
				     cert, "--root", root, NULL },
			     &o),
	    0);
	serial = provision("SN-CER-1", &status);
	assert_non_null(serial);
	assert_int_equal(status, 0);
	tc.led = prov_ledger(tc.env);
	assert_int_equal(verifies(tc.led, serial, inter), 0);
	/* The root's key exists only offline. */
	assert_only_intermediate_keys(tc.env->home, &keys);
	assert_true(keys >= 1);

	proc_out_clear(&o);
	free(serial);
	free(csr);
	free(cert);
	free(root);
	free(inter);
}

static void
test_allow_test_ca_no_refuses_the_test_ca(void **state)
{
	int status;
	char *serial;

	(void)state;
	/* The home's CA (home/ca) is a TEST CA made by the station. */
	prov_env_config(tc.env, NULL, "[ca]\nallow_test_ca = no\n");
	struct proc_out o = { 0 };
	assert_int_equal(station((const char *[]){ "recover", NULL }, &o), 3);
	assert_non_null(strstr(o.err, "TEST CA"));
	assert_non_null(strstr(o.err, "allow_test_ca"));
	assert_non_null(strstr(o.err, "ca init --csr-out"));
	assert_null(provision("SN-TEST-1", &status));
	assert_int_equal(status, 3);

	prov_env_config(tc.env, NULL, "[ca]\nallow_test_ca = yes\n");
	serial = provision("SN-TEST-2", &status);
	assert_non_null(serial);
	assert_int_equal(status, 0);
	proc_out_clear(&o);
	free(serial);
}

static void
test_rollover_issuers_differ_and_both_verify(void **state)
{
	struct proc_out o = { 0 };
	struct cert_record a = { 0 }, b = { 0 };
	char *csr2 = xasprintf("%s/offline/next.csr", tc.env->home);
	char *cert2 = xasprintf("%s/offline/next.pem", tc.env->home);
	char *root = xasprintf("%s/offline/root.pem", tc.env->home);
	char *old = xasprintf("%s/offline/inter.pem", tc.env->home);
	int status;

	(void)state;
	ceremony();
	char *before = provision("SN-ROLL-1", &status);
	assert_non_null(before);
	assert_int_equal(station((const char *[]){ "ca", "rollover",
				     "--csr-out", csr2, NULL },
			     &o),
	    0);
	root_signs("next.csr", "next.pem");
	assert_int_equal(station((const char *[]){ "ca", "install", "--cert",
				     cert2, "--root", root, NULL },
			     &o),
	    0);
	assert_non_null(strstr(o.out, "retired"));
	char *after = provision("SN-ROLL-2", &status);
	assert_non_null(after);

	tc.led = prov_ledger(tc.env);
	assert_int_equal(ledger_cert_get(tc.led, before, &a, NULL), ST_OK);
	assert_int_equal(ledger_cert_get(tc.led, after, &b, NULL), ST_OK);
	assert_non_null(a.issuer_key_id);
	assert_non_null(b.issuer_key_id);
	assert_string_not_equal(a.issuer_key_id, b.issuer_key_id);
	assert_int_equal(verifies(tc.led, before, old), 0);
	assert_int_equal(verifies(tc.led, after, cert2), 0);
	assert_int_not_equal(verifies(tc.led, before, cert2), 0);

	/* ledger show names each certificate's issuer key. */
	assert_int_equal(station((const char *[]){ "ledger", "show",
				     "SN-ROLL-1", NULL },
			     &o),
	    0);
	assert_non_null(strstr(o.out, a.issuer_key_id));
	/* Both CRLs are published. */
	assert_int_equal(station((const char *[]){ "ca", "crl", NULL }, &o), 0);
	assert_non_null(strstr(o.out, "CRL number"));
	assert_non_null(strstr(o.out, "retired intermediate"));

	ledger_cert_record_clear(&a);
	ledger_cert_record_clear(&b);
	proc_out_clear(&o);
	free(before);
	free(after);
	free(csr2);
	free(cert2);
	free(root);
	free(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		PROV_CASE_TEST(test_ceremony_pending_install_provision_verify),
		PROV_CASE_TEST(test_allow_test_ca_no_refuses_the_test_ca),
		PROV_CASE_TEST(test_rollover_issuers_differ_and_both_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
