/*
 * Certificates relying parties accept, proved with `openssl verify` as
 * the relying party and `openssl` as the offline root (the root's key
 * never in the station's CA directory): with [ca] crl_url, ocsp_url and
 * ca_issuers_url every leaf carries a CRL distribution point and an
 * authority information access; the CRL carries a critical issuing
 * distribution point naming that URL, a CRL number that grows and a
 * nextUpdate; it is published (DER and PEM, mode 0644, atomically) into
 * crl_dir, and every revocation publishes it again.  A plain HTTP test
 * server serves that directory, with the root's own CRL (`openssl ca
 * -gencrl`) beside it, at the distribution points: `openssl verify
 * -crl_check_all -crl_download` accepts a good leaf across both CRLs and
 * refuses a revoked one ("certificate revoked").  A leaf never outlives
 * its intermediate: under a 30-day intermediate a 365-day profile gets
 * the intermediate's notAfter, and the issuance says so.  URLs are
 * checked as configuration input.
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
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "station/ca/local.h"
#include "station/util/xalloc.h"
#include "tests/support/ca_test_util.h"
#include "tests/support/http_files.h"
#include "tests/support/offline_root.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct fx {
	char *tmp, *root_dir, *ca_dir, *pub_dir;
	char *crl_url, *root_crl_url, *ocsp_url, *issuers_url;
	struct http_files *http;
	struct ca_backend *ca;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->root_dir = xasprintf("%s/offline", fx->tmp);
	fx->ca_dir = xasprintf("%s/ca", fx->tmp);
	fx->pub_dir = xasprintf("%s/www", fx->tmp);
	assert_int_equal(mkdir(fx->pub_dir, 0755), 0);
	fx->http = http_files_start(fx->pub_dir);
	fx->crl_url = xasprintf("http://127.0.0.1:%d/line-7.crl",
	    http_files_port(fx->http));
	fx->root_crl_url = xasprintf("http://127.0.0.1:%d/root.crl",
	    http_files_port(fx->http));
	fx->ocsp_url =
	    xasprintf("http://127.0.0.1:%d/ocsp", http_files_port(fx->http));
	fx->issuers_url = xasprintf("http://127.0.0.1:%d/intermediate.der",
	    http_files_port(fx->http));
	offline_root_make(fx->root_dir, fx->root_crl_url);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	ca_free(fx->ca);
	http_files_stop(fx->http);
	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx->root_dir);
	free(fx->ca_dir);
	free(fx->pub_dir);
	free(fx->crl_url);
	free(fx->root_crl_url);
	free(fx->ocsp_url);
	free(fx->issuers_url);
	free(fx);
	return 0;
}

/* The local CA under an intermediate of `days` days, publishing as
 * configured ([ca] keys as in station.ini). */
static void
open_ca(struct fx *fx, int days)
{
	struct ca_test_settings t;
	char *cause = NULL;

	offline_root_intermediate(fx->root_dir, fx->ca_dir, days,
	    fx->root_crl_url);
	if (local_ca_open(fx->ca_dir, &fx->ca, &cause) != ST_OK)
		fail_msg("open: %s", cause);
	if (local_ca_set_publication(fx->ca,
		ca_test_settings(&t, "crl_url", fx->crl_url, "ocsp_url",
		    fx->ocsp_url, "ca_issuers_url", fx->issuers_url, "crl_dir",
		    fx->pub_dir, NULL),
		&cause) != ST_OK)
		fail_msg("publication: %s", cause);
}

/* Issue a leaf for a fresh key; its PEM goes to tmp/NAME.pem.  *note
 * (may be NULL) gets the issuance's note (caller frees). */
static X509 *
issue(struct fx *fx, const char *name, int days, char **note)
{
	EVP_PKEY *key = pki_key_ec("P-256");
	X509_REQ *csr = pki_make_csr(&(struct pki_csr_spec){ .key = key,
	    .subject = "O=Example-Org,CN=SN-PUB" });
	struct profile p;
	struct ca_issued out = { 0 };
	char *cause = NULL, *path = xasprintf("%s/%s.pem", fx->tmp, name);
	FILE *fp;
	X509 *cert;

	pki_profile(&p);
	p.validity_days = days;
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = "SN-PUB",
		.deadline = deadline_in(test_ms(5000)) };
	if (ca_sign(fx->ca, &req, &out, &cause))
		fail_msg("sign: %s", cause);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_true(PEM_write_X509(fp, out.cert));
	fclose(fp);
	cert = out.cert;
	out.cert = NULL;
	if (note != NULL) {
		*note = out.note;
		out.note = NULL;
	}
	ca_issued_clear(&out);
	profile_clear(&p);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
	free(path);
	return cert;
}

static char *
serial_of(X509 *cert)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = BN_bn2hex(bn);
	char *out = xstrdup(hex);

	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

/* The URI of a GENERAL_NAMES holding exactly one. */
static const char *
only_uri(GENERAL_NAMES *names)
{
	GENERAL_NAME *gn;

	assert_int_equal(sk_GENERAL_NAME_num(names), 1);
	gn = sk_GENERAL_NAME_value(names, 0);
	assert_int_equal(gn->type, GEN_URI);
	return (const char *)ASN1_STRING_get0_data(
	    gn->d.uniformResourceIdentifier);
}

static void
assert_leaf_urls(struct fx *fx, X509 *leaf)
{
	CRL_DIST_POINTS *cdp =
	    X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	AUTHORITY_INFO_ACCESS *aia =
	    X509_get_ext_d2i(leaf, NID_info_access, NULL, NULL);
	ACCESS_DESCRIPTION *ad;

	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	assert_string_equal(only_uri(sk_DIST_POINT_value(cdp, 0)
					 ->distpoint->name.fullname),
	    fx->crl_url);
	assert_non_null(aia);
	assert_int_equal(sk_ACCESS_DESCRIPTION_num(aia), 2);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 0);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_OCSP);
	assert_int_equal(ad->location->type, GEN_URI);
	assert_string_equal(ASN1_STRING_get0_data(
				ad->location->d.uniformResourceIdentifier),
	    fx->ocsp_url);
	ad = sk_ACCESS_DESCRIPTION_value(aia, 1);
	assert_int_equal(OBJ_obj2nid(ad->method), NID_ad_ca_issuers);
	assert_string_equal(ASN1_STRING_get0_data(
				ad->location->d.uniformResourceIdentifier),
	    fx->issuers_url);
	CRL_DIST_POINTS_free(cdp);
	AUTHORITY_INFO_ACCESS_free(aia);
}

/* The published DER CRL, checked for mode 0644. */
static X509_CRL *
published_crl(struct fx *fx)
{
	char *path = xasprintf("%s/line-7.crl", fx->pub_dir);
	char *pem = xasprintf("%s/line-7.crl.pem", fx->pub_dir);
	struct stat st;
	FILE *fp;
	X509_CRL *crl;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(pem, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	assert_non_null(crl);
	free(pem);
	free(path);
	return crl;
}

static long
crl_number(X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	long v;

	assert_non_null(n);
	v = ASN1_INTEGER_get(n);
	ASN1_INTEGER_free(n);
	return v;
}

static int
lists(X509_CRL *crl, X509 *cert)
{
	X509_REVOKED *rev = NULL;

	return X509_CRL_get0_by_serial(crl, &rev,
		   X509_get0_serialNumber(cert)) == 1;
}

/* A critical IDP, user certificates only, named by `url` (NULL: no
 * name). */
static void
assert_idp(X509_CRL *crl, const char *url)
{
	int crit = -1;
	ISSUING_DIST_POINT *idp = X509_CRL_get_ext_d2i(crl,
	    NID_issuing_distribution_point, &crit, NULL);

	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_true(idp->onlyuser);
	assert_false(idp->onlyCA);
	if (url == NULL)
		assert_null(idp->distpoint);
	else
		assert_string_equal(only_uri(idp->distpoint->name.fullname),
		    url);
	ISSUING_DIST_POINT_free(idp);
}

/* openssl verify as a relying party that downloads every CRL from the
 * distribution points; returns the status, *out its output. */
static int
relying_party(struct fx *fx, const char *leaf, char **out)
{
	char *root = xasprintf("%s/root.pem", fx->root_dir);
	char *inter = xasprintf("%s/intermediate.pem", fx->ca_dir);
	char *leaf_path = xasprintf("%s/%s.pem", fx->tmp, leaf);
	int rc = offline_run((const char *[]){ "openssl", "verify",
				 "-crl_check_all", "-crl_download", "-CAfile",
				 root, "-untrusted", inter, leaf_path, NULL },
	    out);

	free(leaf_path);
	free(inter);
	free(root);
	return rc;
}

static void
test_relying_party_accepts_good_refuses_revoked(void **state)
{
	struct fx *fx = *state;
	X509 *good, *bad;
	X509_CRL *crl;
	char *serial, *out = NULL;
	long first, n = 0;

	open_ca(fx, 3650);
	offline_root_crl(fx->root_dir, fx->pub_dir, "root.crl");
	good = issue(fx, "good", 365, NULL);
	bad = issue(fx, "bad", 365, NULL);
	assert_leaf_urls(fx, good);

	/* The revocation itself publishes: no `ca crl` in between. */
	serial = serial_of(bad);
	assert_int_equal(ca_revoke(fx->ca, serial, "keyCompromise", NULL),
	    ST_OK);
	crl = published_crl(fx);
	assert_true(lists(crl, bad));
	assert_false(lists(crl, good));
	assert_idp(crl, fx->crl_url);
	assert_non_null(X509_CRL_get0_nextUpdate(crl));
	first = crl_number(crl);
	X509_CRL_free(crl);

	/* The timer's publish: the number grows. */
	assert_int_equal(local_ca_crl(fx->ca, NULL, 0, &n, NULL), ST_OK);
	crl = published_crl(fx);
	assert_int_equal(crl_number(crl), n);
	assert_true(n > first);
	X509_CRL_free(crl);

	assert_int_equal(relying_party(fx, "good", &out), 0);
	assert_non_null(strstr(out, "OK"));
	free(out);
	/* It really fetched both CRLs from the distribution points. */
	assert_true(http_files_hits(fx->http, "line-7.crl") > 0);
	assert_true(http_files_hits(fx->http, "root.crl") > 0);
	assert_int_not_equal(relying_party(fx, "bad", &out), 0);
	assert_non_null(strstr(out, "certificate revoked"));
	free(out);
	X509_free(good);
	X509_free(bad);
	free(serial);
}

/* The same files as nginx's ssl_crl or a broker's crlfile take them: the
 * PEM CRLs of both levels given to `openssl verify -CRLfile`. */
static void
test_published_pem_crls_work_as_files(void **state)
{
	struct fx *fx = *state;
	char *root = xasprintf("%s/root.pem", fx->root_dir);
	char *inter = xasprintf("%s/intermediate.pem", fx->ca_dir);
	char *leaf = xasprintf("%s/bad.pem", fx->tmp);
	char *crl = xasprintf("%s/line-7.crl.pem", fx->pub_dir);
	char *rcrl = xasprintf("%s/root.crl.pem", fx->pub_dir);
	X509 *bad;
	char *serial, *out = NULL;

	open_ca(fx, 3650);
	offline_root_crl(fx->root_dir, fx->pub_dir, "root.crl");
	bad = issue(fx, "bad", 365, NULL);
	assert_int_equal(offline_run((const char *[]){ "openssl", "verify",
					 "-crl_check_all", "-CAfile", root,
					 "-untrusted", inter, "-CRLfile", crl,
					 "-CRLfile", rcrl, leaf, NULL },
			     &out),
	    1); /* no CRL published yet: "unable to get certificate CRL" */
	free(out);
	assert_int_equal(local_ca_crl(fx->ca, NULL, 0, NULL, NULL), ST_OK);
	assert_int_equal(offline_run((const char *[]){ "openssl", "verify",
					 "-crl_check_all", "-CAfile", root,
					 "-untrusted", inter, "-CRLfile", crl,
					 "-CRLfile", rcrl, leaf, NULL },
			     &out),
	    0);
	free(out);
	serial = serial_of(bad);
	assert_int_equal(ca_revoke(fx->ca, serial, "superseded", NULL), ST_OK);
	assert_int_not_equal(offline_run((const char *[]){ "openssl", "verify",
					     "-crl_check_all", "-CAfile", root,
					     "-untrusted", inter, "-CRLfile",
					     crl, "-CRLfile", rcrl, leaf,
					     NULL },
				 &out),
	    0);
	assert_non_null(strstr(out, "certificate revoked"));
	free(out);
	X509_free(bad);
	free(serial);
	free(rcrl);
	free(crl);
	free(leaf);
	free(inter);
	free(root);
}

static void
test_leaf_never_outlives_its_intermediate(void **state)
{
	struct fx *fx = *state;
	X509 *inter = NULL, *leaf;
	char *path = xasprintf("%s/intermediate.pem", fx->ca_dir);
	char *note = NULL, *out = NULL;
	FILE *fp;

	open_ca(fx, 30);
	fp = fopen(path, "r");
	assert_non_null(fp);
	inter = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	leaf = issue(fx, "short", 365, &note);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(leaf),
			     X509_get0_notAfter(inter)),
	    0);
	/* Nor starts before it (the leaf's 5-minute backdating). */
	assert_true(ASN1_TIME_compare(X509_get0_notBefore(leaf),
			X509_get0_notBefore(inter)) >= 0);
	assert_non_null(note);
	assert_non_null(strstr(note, "notAfter capped at the issuing CA's"));
	assert_non_null(strstr(note, "365 days"));
	free(note);
	X509_free(leaf);
	/* A profile inside the intermediate's life is left alone. */
	leaf = issue(fx, "inside", 7, &note);
	assert_null(note);
	assert_true(ASN1_TIME_compare(X509_get0_notAfter(leaf),
			X509_get0_notAfter(inter)) < 0);
	X509_free(leaf);
	assert_int_equal(local_ca_crl(fx->ca, NULL, 0, NULL, NULL), ST_OK);
	offline_root_crl(fx->root_dir, fx->pub_dir, "root.crl");
	assert_int_equal(relying_party(fx, "short", &out), 0);
	free(out);
	X509_free(inter);
	free(path);
}

/* A publication directory that is missing: the revocation is recorded at
 * the CA, the call fails naming the directory, and once it exists the
 * retry (a revocation found done) publishes. */
static void
test_revoke_fails_until_the_crl_is_published(void **state)
{
	struct fx *fx = *state;
	char *serial, *cause = NULL;
	X509 *leaf;
	X509_CRL *crl;

	open_ca(fx, 3650);
	leaf = issue(fx, "leaf", 365, NULL);
	serial = serial_of(leaf);
	scratch_rmtree(fx->pub_dir);
	assert_int_equal(ca_revoke(fx->ca, serial, "keyCompromise", &cause),
	    ST_E_IO);
	assert_non_null(strstr(cause, "revoked, but publishing the new CRL"));
	assert_non_null(strstr(cause, fx->pub_dir));
	assert_non_null(strstr(cause, "does not exist"));
	free(cause);
	cause = NULL;
	assert_int_equal(mkdir(fx->pub_dir, 0755), 0);
	assert_int_equal(ca_revoke(fx->ca, serial, "keyCompromise", &cause),
	    ST_OK);
	crl = published_crl(fx);
	assert_true(lists(crl, leaf));
	X509_CRL_free(crl);
	X509_free(leaf);
	free(serial);
}

/* Without crl_url: no distribution point on leaves, an IDP without a
 * name, and the published file is intermediate.crl. */
static void
test_without_urls_leaves_carry_none(void **state)
{
	struct fx *fx = *state;
	X509 *leaf;
	X509_CRL *crl;
	char *path = xasprintf("%s/intermediate.crl", fx->pub_dir);
	FILE *fp;

	offline_root_intermediate(fx->root_dir, fx->ca_dir, 3650, NULL);
	assert_int_equal(local_ca_open(fx->ca_dir, &fx->ca, NULL), ST_OK);
	leaf = issue(fx, "plain", 365, NULL);
	assert_null(
	    X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL));
	assert_null(X509_get_ext_d2i(leaf, NID_info_access, NULL, NULL));
	assert_int_equal(local_ca_crl(fx->ca, fx->pub_dir, 0, NULL, NULL),
	    ST_OK);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	crl = d2i_X509_CRL_fp(fp, NULL);
	fclose(fp);
	assert_non_null(crl);
	assert_idp(crl, NULL);
	X509_CRL_free(crl);
	X509_free(leaf);
	free(path);
	/* Settings that did not come through the configuration are checked
	 * all the same. */
	struct ca_test_settings t;
	char *cause = NULL;
	assert_int_equal(local_ca_set_publication(fx->ca,
			     ca_test_settings(&t, "crl_url",
				 "http://pki.example/crl/", NULL),
			     &cause),
	    ST_E_CONFIG);
	assert_non_null(strstr(cause, "[ca] key 'crl_url'"));
	free(cause);
}

static void
test_urls_checked_as_configuration(void **state)
{
	const struct ca_key *crl = ca_key_find("crl_url");
	const struct ca_key *ocsp = ca_key_find("ocsp_url");
	static const char *const bad_crl[] = { "ftp://pki.example/a.crl",
		"http://pki.example/a crl.crl", "http://pki.example/",
		"http://pki.example/crl", "http://pki.example/a.crl?x=1",
		"http://pki.example/.crl", "http://user@pki.example/a.crl",
		"http:///a.crl", "http://pki.example/a\".crl",
		"http://pki.example/\xc3\xa9.crl", "pki.example/a.crl", NULL };
	char *why = NULL;

	(void)state;
	assert_non_null(crl);
	assert_non_null(ocsp);
	assert_non_null(ca_key_find("crl_dir"));
	assert_int_equal(ca_key_check(crl,
			     "http://pki.example.com/crl/line-7.crl", &why),
	    ST_OK);
	assert_int_equal(ca_key_check(crl, "https://pki.example.com:8443/a.crl",
			     &why),
	    ST_OK);
	for (size_t i = 0; bad_crl[i] != NULL; i++) {
		assert_int_equal(ca_key_check(crl, bad_crl[i], &why),
		    ST_E_CONFIG);
		assert_non_null(why);
		/* Never echoes the value. */
		assert_null(strstr(why, bad_crl[i]));
		free(why);
		why = NULL;
	}
	/* An OCSP responder needs no file name. */
	assert_int_equal(ca_key_check(ocsp, "http://ocsp.example.com", &why),
	    ST_OK);
	assert_int_equal(ca_key_check(ocsp, "http://ocsp example", &why),
	    ST_E_CONFIG);
	free(why);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_relying_party_accepts_good_refuses_revoked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_published_pem_crls_work_as_files, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_leaf_never_outlives_its_intermediate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_revoke_fails_until_the_crl_is_published, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_without_urls_leaves_carry_none, setup, teardown),
		cmocka_unit_test(test_urls_checked_as_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
