/*
 * CRL publication through the real `station` program, against a devsim
 * provisioned end to end, with `openssl` as the offline root and as the
 * relying party: with [ca] crl_url and crl_dir, `station ca crl`
 * publishes NAME.crl and NAME.crl.pem and says where; `--out DIR`
 * publishes there instead; `station revoke` publishes a CRL listing the
 * certificate without any `ca crl`, and `openssl verify -crl_check_all
 * -crl_download` then refuses the device's certificate ("certificate
 * revoked") while it accepted it before; a run that fails after the CA
 * signed settles its certificate as revoked and that too publishes a CRL
 * listing it.  Under a 30-day intermediate the
 * 365-day default profile's certificate ends with the intermediate and the
 * run's events say so.  A crl_url that is not a URL ending in a file name
 * stops the station at the configuration, naming the line.
 */
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
#include <openssl/bn.h>
#include <openssl/pem.h>

#include "db/ledger.h"
#include "station/util/xalloc.h"
#include "tests/support/devsim_proc.h"
#include "tests/support/http_files.h"
#include "tests/support/offline_root.h"
#include "tests/support/provision_env.h"
#include "tests/support/scratch.h"

struct fx {
	struct prov_env *env;
	struct devsim_proc *sim;
	struct http_files *http;
	char *root_dir, *ca_dir, *pub_dir, *crl_url, *root_crl_url;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->env = prov_env_new();
	fx->root_dir = xasprintf("%s/offline-root", fx->env->home);
	fx->ca_dir = xasprintf("%s/ca", fx->env->home);
	fx->pub_dir = xasprintf("%s/www", fx->env->home);
	assert_int_equal(mkdir(fx->pub_dir, 0755), 0);
	fx->http = http_files_start(fx->pub_dir);
	fx->crl_url = xasprintf("http://127.0.0.1:%d/line-7.crl",
	    http_files_port(fx->http));
	fx->root_crl_url = xasprintf("http://127.0.0.1:%d/root.crl",
	    http_files_port(fx->http));
	offline_root_make(fx->root_dir, fx->root_crl_url);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	devsim_proc_stop(fx->sim);
	http_files_stop(fx->http);
	prov_env_free(fx->env);
	free(fx->root_dir);
	free(fx->ca_dir);
	free(fx->pub_dir);
	free(fx->crl_url);
	free(fx->root_crl_url);
	free(fx);
	return 0;
}

/* The CA under an intermediate of `days` days, then the configuration
 * (publishing when `publish`). */
static void
configure(struct fx *fx, int days, int publish)
{
	char *rest = publish ?
	    xasprintf("[ca]\ncrl_url = %s\ncrl_dir = www\n", fx->crl_url) :
	    xstrdup("");

	offline_root_intermediate(fx->root_dir, fx->ca_dir, days,
	    fx->root_crl_url);
	prov_env_config(fx->env, NULL, rest);
	free(rest);
}

/* Provision one devsim: its certificate serial (caller frees); *run_id
 * (may be NULL) the run. */
static char *
provision(struct fx *fx, int64_t *run_id)
{
	int status;
	json_t *res;
	char *serial;

	fx->sim = devsim_proc_start(
	    (const char *[]){ "--serial", "SN-CRL-0001", NULL });
	assert_non_null(fx->sim);
	res = prov_provision(fx->env, fx->sim->uri, NULL, &status);
	assert_non_null(res);
	assert_int_equal(status, 0);
	serial = xstrdup(prov_jstr(res, "cert_serial"));
	if (run_id != NULL)
		*run_id = json_integer_value(json_object_get(res, "run_id"));
	json_decref(res);
	return serial;
}

static int
run_station(struct fx *fx, const char *const *args, struct proc_out *o)
{
	return prov_station(fx->env, args, o);
}

/* openssl verify, downloading every CRL at its distribution point. */
static int
relying_party(struct fx *fx, const char *serial, char **out)
{
	char *root = xasprintf("%s/root.pem", fx->root_dir);
	char *inter = xasprintf("%s/intermediate.pem", fx->ca_dir);
	char *leaf = xasprintf("%s/certs/%s.pem", fx->ca_dir, serial);
	int rc = offline_run((const char *[]){ "openssl", "verify",
				 "-crl_check_all", "-crl_download", "-CAfile",
				 root, "-untrusted", inter, leaf, NULL },
	    out);

	free(leaf);
	free(inter);
	free(root);
	return rc;
}

static long
published_number(struct fx *fx)
{
	char *path = xasprintf("%s/line-7.crl", fx->pub_dir);
	FILE *fp = fopen(path, "rb");
	X509_CRL *crl;
	ASN1_INTEGER *n;
	long v;

	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	assert_non_null(crl);
	n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	X509_CRL_free(crl);
	free(path);
	return v;
}

static void
test_revoke_publishes_and_relying_party_refuses(void **state)
{
	struct fx *fx = *state;
	struct proc_out o;
	char *serial, *out = NULL, *want;
	long before;

	configure(fx, 3650, 1);
	serial = provision(fx, NULL);
	assert_int_equal(run_station(fx, (const char *[]){ "ca", "crl", NULL },
			     &o),
	    0);
	want = xasprintf("published: %s/www/line-7.crl %s/www/line-7.crl.pem",
	    fx->env->home, fx->env->home);
	assert_non_null(strstr(o.out, want));
	free(want);
	proc_out_clear(&o);
	offline_root_crl(fx->root_dir, fx->pub_dir, "root.crl");
	assert_int_equal(relying_party(fx, serial, &out), 0);
	free(out);
	before = published_number(fx);

	assert_int_equal(run_station(fx,
			     (const char *[]){ "revoke", serial, "--reason",
				 "keyCompromise", NULL },
			     &o),
	    0);
	proc_out_clear(&o);
	assert_true(published_number(fx) > before);
	assert_int_not_equal(relying_party(fx, serial, &out), 0);
	assert_non_null(strstr(out, "certificate revoked"));
	free(out);
	free(serial);
}

/* Whether the published CRL lists `serial` (lower-case hex). */
static int
published_lists(struct fx *fx, const char *serial)
{
	char *path = xasprintf("%s/line-7.crl", fx->pub_dir);
	FILE *fp = fopen(path, "rb");
	X509_CRL *crl;
	X509_REVOKED *rev = NULL;
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	int found;

	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	assert_non_null(crl);
	assert_true(BN_hex2bn(&bn, serial) > 0);
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	found = X509_CRL_get0_by_serial(crl, &rev, ai) == 1;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_CRL_free(crl);
	free(path);
	return found;
}

/* The station's own revocation (a run that failed after the CA signed:
 * the device refused the write) publishes as `station revoke` does. */
static void
test_settling_a_failed_run_publishes(void **state)
{
	struct fx *fx = *state;
	int status;
	json_t *res;

	configure(fx, 3650, 1);
	fx->sim = devsim_proc_start((const char *[]){ "--serial", "SN-CRL-0002",
	    "--fault", "refuse-write", NULL });
	assert_non_null(fx->sim);
	res = prov_provision(fx->env, fx->sim->uri, NULL, &status);
	assert_non_null(res);
	assert_int_equal(status, 1);
	assert_true(strlen(prov_jstr(res, "cert_serial")) > 0);
	assert_true(published_lists(fx, prov_jstr(res, "cert_serial")));
	json_decref(res);
}

static void
test_out_publishes_elsewhere(void **state)
{
	struct fx *fx = *state;
	struct proc_out o;
	char *other = xasprintf("%s/elsewhere", fx->env->home);
	char *der = xasprintf("%s/line-7.crl", other);
	struct stat st;

	configure(fx, 3650, 1);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(run_station(fx,
			     (const char *[]){ "ca", "crl", "--out", other,
				 "--days", "2", NULL },
			     &o),
	    0);
	proc_out_clear(&o);
	assert_int_equal(stat(der, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	free(der);
	/* Not into crl_dir. */
	der = xasprintf("%s/line-7.crl", fx->pub_dir);
	assert_int_not_equal(stat(der, &st), 0);
	free(der);
	free(other);
}

struct find_note {
	int seen;
};

static int
note_cb(const struct run_event *e, void *ctx)
{
	struct find_note *f = ctx;

	if (e->detail != NULL &&
	    strstr(e->detail, "notAfter capped at the issuing CA's") != NULL)
		f->seen = 1;
	return 0;
}

static void
test_run_says_notafter_capped(void **state)
{
	struct fx *fx = *state;
	struct find_note f = { 0 };
	struct ledger *l;
	int64_t run_id = 0;
	char *serial;

	configure(fx, 30, 0);
	serial = provision(fx, &run_id);
	assert_true(run_id > 0);
	l = prov_ledger(fx->env);
	assert_int_equal(ledger_run_events(l, run_id, note_cb, &f, NULL),
	    ST_OK);
	assert_true(f.seen);
	ledger_close(l);
	free(serial);
}

static void
test_bad_crl_url_stops_at_the_configuration(void **state)
{
	struct fx *fx = *state;
	struct proc_out o;

	offline_root_intermediate(fx->root_dir, fx->ca_dir, 3650, NULL);
	prov_env_config(fx->env, NULL,
	    "[ca]\ncrl_url = http://pki.example.com/crl/\n");
	assert_int_equal(run_station(fx, (const char *[]){ "ca", "crl", NULL },
			     &o),
	    3);
	/* file:line: [ca] crl_url (the line is wherever the test home's
	 * configuration puts the [ca] section). */
	if (strstr(o.err, "station.ini:") == NULL ||
	    strstr(o.err, ": [ca] crl_url") == NULL)
		fail_msg("stderr '%s' does not name the file, line and key",
		    o.err);
	assert_non_null(strstr(o.err, "ending in .crl"));
	proc_out_clear(&o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_revoke_publishes_and_relying_party_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_settling_a_failed_run_publishes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_publishes_elsewhere,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_says_notafter_capped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bad_crl_url_stops_at_the_configuration, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
