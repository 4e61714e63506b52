/*
 * The local CA's production ceremony with the openssl CLI as the offline
 * root: `ca init --csr-out` makes no root and leaves the CA pending; the
 * root signs the CSR (`openssl x509 -req -extfile`, `openssl ca` for a
 * certificate already expired); install refuses a wrong key, a non-CA, a
 * missing keyCertSign, a foreign root and an expired certificate, each
 * with its own cause, and activates a good one (with a CA between it and
 * the root too), after which leaves verify with `openssl verify`.  A TEST
 * CA keeps no root key unless asked; a rollover retires the old
 * intermediate, which goes on signing its CRL.
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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/x509v3.h>

#include "station/ca/local.h"
#include "station/x509/cert_check.h"
#include "station/util/xalloc.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

#define SUBJECT "C=US,O=Example-Org,CN=SN0001"
#define SAN "DNS:sn0001.devices.example.com"

/* What the offline root puts in an intermediate (docs/admin.md). */
#define GOOD_EXT \
	"basicConstraints = critical,CA:TRUE,pathlen:0\n" \
	"keyUsage = critical,keyCertSign,cRLSign\n" \
	"subjectKeyIdentifier = hash\n" \
	"authorityKeyIdentifier = keyid:always\n"

/* The root signs the CSR, but not as an issuing CA must be. */
static const struct {
	const char *ext, *out, *want;
} bad[] = {
	{ "basicConstraints = critical,CA:FALSE\n"
	  "keyUsage = critical,keyCertSign,cRLSign\n",
	    "notca.pem", "not a CA certificate" },
	{ "basicConstraints = critical,CA:TRUE,pathlen:0\n"
	  "keyUsage = critical,cRLSign\n",
	    "nokcs.pem", "keyCertSign" },
	{ "basicConstraints = critical,CA:TRUE,pathlen:0\n"
	  "keyUsage = critical,keyCertSign\n",
	    "nocrl.pem", "cRLSign" },
};

struct fx {
	char *tmp, *dir, *csr;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof *fx);

	fx->tmp = scratch_dir();
	fx->dir = xasprintf("%s/ca", fx->tmp);
	fx->csr = xasprintf("%s/inter.csr", fx->tmp);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	scratch_rmtree(fx->tmp);
	free(fx->tmp);
	free(fx->dir);
	free(fx->csr);
	free(fx);
	return 0;
}

/* TMP/NAME.pem and NAME.key: a self-signed root made with openssl. */
static void
make_root(struct fx *fx, const char *name)
{
	assert_int_equal(
	    proc_sh("cd %s && openssl req -x509 -new -newkey ec "
		    "-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
		    "%s.key -out %s.pem -days 3650 -subj '/O=Acme/CN=%s' "
		    "-addext 'basicConstraints=critical,CA:TRUE' "
		    "-addext 'keyUsage=critical,keyCertSign,cRLSign' "
		    "2>&1",
		fx->tmp, name, name, name),
	    0);
}

/* The root NAME signs `csr` with extension text `ext` into TMP/OUT. */
static char *
root_sign(struct fx *fx, const char *name, const char *csr, const char *ext,
    const char *out)
{
	char *extfile = scratch_write(fx->tmp, "ext.cnf", ext, 0600);

	assert_int_equal(proc_sh("cd %s && openssl x509 -req -in %s -CA %s.pem "
				 "-CAkey %s.key -CAcreateserial -days 1825 "
				 "-extfile %s -out %s 2>&1",
			     fx->tmp, csr, name, name, extfile, out),
	    0);
	free(extfile);
	return xasprintf("%s/%s", fx->tmp, out);
}

static char *
tmp_path(struct fx *fx, const char *name)
{
	return xasprintf("%s/%s", fx->tmp, name);
}

static void
init_pending(struct fx *fx)
{
	struct local_ca_init_opts o = { .csr_out = fx->csr,
		.intermediate_subject = "CN=Line 1 Issuing CA,O=Acme" };

	assert_int_equal(local_ca_init_opts(fx->dir, &o, NULL), ST_OK);
}

/* install, expecting a refusal whose cause holds `want`; still pending. */
static void
install_refused(struct fx *fx, const char *cert, const char *root,
    const char *want)
{
	struct local_ca_install_opts o = { .cert = cert, .root = root };
	char *cause = NULL;

	assert_int_equal(local_ca_install(fx->dir, &o, NULL, &cause), ST_E_CA);
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("cause '%s' lacks '%s'", cause, want);
	assert_true(local_ca_is_pending(fx->dir));
	free(cause);
}

static int
exists(const char *dir, const char *name)
{
	char *p = xasprintf("%s/%s", dir, name);
	int yes = access(p, F_OK) == 0;

	free(p);
	return yes;
}

/* Files under `dir` (recursively) holding a PEM private key. */
static int
count_private_keys(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	for (e = readdir(d); e != NULL; e = readdir(d)) {
		char *p, *text;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			n += count_private_keys(p);
		} else {
			text = scratch_read(p);
			n +=
			    text != NULL && strstr(text, "PRIVATE KEY") != NULL;
			free(text);
		}
		free(p);
	}
	closedir(d);
	return n;
}

/* Sign a device CSR with the CA in fx->dir; the leaf as TMP/NAME. */
static X509 *
issue_leaf(struct fx *fx, const char *name)
{
	struct ca_settings s = { .dir = fx->dir };
	struct ca_backend *ca = NULL;
	struct ca_issued out = { 0 };
	struct profile profile;
	EVP_PKEY *dev = NULL;
	X509_REQ *csr = NULL;
	char *cause = NULL;
	X509 *leaf;

	pki_device(SUBJECT, SAN, &dev, &csr, &profile);
	struct ca_request req = { .csr = csr,
		.profile = &profile,
		.device_serial = "SN0001",
		.deadline = deadline_in(test_ms(5000)) };
	assert_int_equal(ca_open("local", &s, &ca, &cause), ST_OK);
	assert_int_equal(ca_sign(ca, &req, &out, &cause), ST_OK);
	leaf = out.cert;
	X509_up_ref(leaf);
	char *path = tmp_path(fx, name);
	pki_write_pem(path, leaf);
	free(path);
	ca_issued_clear(&out);
	ca_free(ca);
	X509_REQ_free(csr);
	EVP_PKEY_free(dev);
	profile_clear(&profile);
	return leaf;
}

static void
test_csr_out_makes_no_root_and_leaves_the_ca_pending(void **state)
{
	struct fx *fx = *state;
	struct ca_backend *ca = NULL;
	char *cause = NULL;

	init_pending(fx);
	assert_false(exists(fx->dir, "root.pem"));
	assert_false(exists(fx->dir, "root.key"));
	assert_false(exists(fx->dir, "test-root.sha256"));
	assert_true(exists(fx->dir, "intermediate.key"));
	assert_true(exists(fx->dir, "intermediate.csr"));
	assert_true(local_ca_is_pending(fx->dir));
	/* One private key on the station: the intermediate's. */
	assert_int_equal(count_private_keys(fx->tmp), 1);
	/* The CSR is well formed, self-signed, with the subject asked for. */
	assert_int_equal(
	    proc_sh("openssl req -in %s -verify -noout -subject 2>&1 "
		    "| grep -q 'CN = Line 1 Issuing CA'",
		fx->csr),
	    0);
	assert_int_equal(local_ca_open(fx->dir, &ca, &cause), ST_E_CA);
	assert_null(ca);
	assert_non_null(strstr(cause, "pending"));
	assert_non_null(strstr(cause, "station ca install"));
	free(cause);
}

static void
test_install_refuses_each_wrong_certificate_clearly(void **state)
{
	struct fx *fx = *state;
	char *cert, *root, *other;

	init_pending(fx);
	make_root(fx, "root");
	make_root(fx, "other");
	root = tmp_path(fx, "root.pem");
	other = tmp_path(fx, "other.pem");

	/* Another key's CSR, signed properly. */
	assert_int_equal(
	    proc_sh("cd %s && openssl req -new -newkey ec -pkeyopt "
		    "ec_paramgen_curve:P-256 -nodes -keyout x.key -out "
		    "x.csr -subj '/CN=Someone Else' 2>&1",
		fx->tmp),
	    0);
	cert = root_sign(fx, "root", "x.csr", GOOD_EXT, "wrongkey.pem");
	install_refused(fx, cert, root, "another key");
	free(cert);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cert = root_sign(fx, "root", fx->csr, bad[i].ext, bad[i].out);
		install_refused(fx, cert, root, bad[i].want);
		free(cert);
	}

	/* Good, but given with a root that did not sign it. */
	cert = root_sign(fx, "root", fx->csr, GOOD_EXT, "good.pem");
	install_refused(fx, cert, other, "does not chain to the root");
	/* The root must be a root. */
	install_refused(fx, cert, cert, "not a self-signed root");
	free(cert);

	/* Expired: openssl ca can back-date. */
	char *cnf =
	    xasprintf("[ca]\ndefault_ca = r\n[r]\ndatabase = %s/index.txt\n"
		      "new_certs_dir = %s\nserial = %s/serial\n"
		      "default_md = sha256\npolicy = p\n"
		      "x509_extensions = ext\n[p]\ncommonName = "
		      "supplied\n[ext]\n" GOOD_EXT,
		fx->tmp, fx->tmp, fx->tmp);
	char *cnf_path = scratch_write(fx->tmp, "ca.cnf", cnf, 0600);
	assert_int_equal(
	    proc_sh("cd %s && : > index.txt && echo 1000 > serial && "
		    "openssl ca -config %s -batch -notext -cert "
		    "root.pem -keyfile root.key -in %s -out "
		    "expired.pem -startdate 20200101000000Z -enddate "
		    "20210101000000Z 2>&1",
		fx->tmp, cnf_path, fx->csr),
	    0);
	cert = tmp_path(fx, "expired.pem");
	install_refused(fx, cert, root, "expired on 2021-01-01");
	free(cert);
	free(cnf_path);
	free(cnf);
	free(root);
	free(other);
}

static void
test_install_activates_and_leaves_verify_with_openssl(void **state)
{
	struct fx *fx = *state;
	struct local_ca_install_opts o = { 0 };
	char *cause = NULL;
	int rollover = -1;

	init_pending(fx);
	make_root(fx, "root");
	o.cert = root_sign(fx, "root", fx->csr, GOOD_EXT, "inter.pem");
	o.root = tmp_path(fx, "root.pem");
	assert_int_equal(local_ca_install(fx->dir, &o, &rollover, &cause),
	    ST_OK);
	assert_null(cause);
	assert_int_equal(rollover, 0);
	assert_false(local_ca_is_pending(fx->dir));
	assert_false(exists(fx->dir, "intermediate.csr"));
	assert_false(exists(fx->dir, "chain.pem"));

	X509 *leaf = issue_leaf(fx, "leaf.pem");
	X509_free(leaf);
	assert_int_equal(proc_sh("cd %s && openssl verify -CAfile root.pem "
				 "-untrusted %s/intermediate.pem leaf.pem 2>&1",
			     fx->tmp, fx->dir),
	    0);
	/* The root installed is the offline one, not a TEST root. */
	X509 *root = NULL;
	char *installed = xasprintf("%s/root.pem", fx->dir);
	assert_int_equal(x509_load_pem_file(installed, &root, NULL), ST_OK);
	assert_false(local_ca_root_is_test(fx->dir, root));
	assert_int_equal(count_private_keys(fx->dir), 1);
	X509_free(root);
	free(installed);
	/* Nothing is pending any more. */
	assert_int_equal(local_ca_install(fx->dir, &o, NULL, &cause),
	    ST_E_NOTFOUND);
	assert_non_null(strstr(cause, "ca init --csr-out"));
	free(cause);
	free((char *)o.cert);
	free((char *)o.root);
}

/* Root -> policy CA -> the station's intermediate: --chain. */
static void
test_install_with_a_ca_between_writes_the_chain(void **state)
{
	struct fx *fx = *state;
	struct local_ca_install_opts o = { 0 };
	char *cause = NULL;

	init_pending(fx);
	make_root(fx, "root");
	assert_int_equal(
	    proc_sh("cd %s && openssl req -new -newkey ec -pkeyopt "
		    "ec_paramgen_curve:P-256 -nodes -keyout policy.key "
		    "-out policy.csr -subj '/O=Acme/CN=Acme Policy CA' "
		    "2>&1",
		fx->tmp),
	    0);
	o.chain = root_sign(fx, "root", "policy.csr",
	    "basicConstraints = critical,CA:TRUE,pathlen:1\n"
	    "keyUsage = critical,keyCertSign,cRLSign\n"
	    "subjectKeyIdentifier = hash\n",
	    "policy.pem");
	o.cert = root_sign(fx, "policy", fx->csr, GOOD_EXT, "inter.pem");
	o.root = tmp_path(fx, "root.pem");
	/* Without the CA between, it does not chain. */
	install_refused(fx, o.cert, o.root, "does not chain");
	assert_int_equal(local_ca_install(fx->dir, &o, NULL, &cause), ST_OK);
	assert_true(exists(fx->dir, "chain.pem"));

	X509 *leaf = issue_leaf(fx, "leaf.pem");
	X509_free(leaf);
	assert_int_equal(
	    proc_sh("cd %s && cat %s/intermediate.pem %s/chain.pem > "
		    "untrusted.pem && openssl verify -CAfile root.pem "
		    "-untrusted untrusted.pem leaf.pem 2>&1",
		fx->tmp, fx->dir, fx->dir),
	    0);
	free(cause);
	free((char *)o.cert);
	free((char *)o.root);
	free((char *)o.chain);
}

static void
test_test_ca_deletes_its_root_key_unless_kept(void **state)
{
	struct fx *fx = *state;
	struct local_ca_init_opts keep = { .force = 1, .keep_root = 1 };
	X509 *root = NULL;
	char *root_path = xasprintf("%s/root.pem", fx->dir);
	char *cn = NULL;

	assert_int_equal(local_ca_init(fx->dir, NULL), ST_OK);
	assert_false(exists(fx->dir, "root.key"));
	assert_int_equal(count_private_keys(fx->tmp), 1);
	assert_int_equal(x509_load_pem_file(root_path, &root, NULL), ST_OK);
	assert_true(local_ca_root_is_test(fx->dir, root));
	/* Its name says what it is. */
	cn = X509_NAME_oneline(X509_get_subject_name(root), NULL, 0);
	assert_non_null(strstr(cn, "TEST"));
	OPENSSL_free(cn);
	X509_free(root);
	root = NULL;

	assert_int_equal(local_ca_init_opts(fx->dir, &keep, NULL), ST_OK);
	assert_true(exists(fx->dir, "root.key"));
	assert_int_equal(count_private_keys(fx->tmp), 2);
	assert_int_equal(
	    proc_sh("cd %s && openssl x509 -in root.pem -noout "
		    "-pubkey > a && openssl pkey -in root.key -pubout "
		    "> b && cmp a b",
		fx->dir),
	    0);
	/* The mark follows the root: another root is not a TEST one. */
	make_root(fx, "root");
	char *other = tmp_path(fx, "root.pem");
	assert_int_equal(x509_load_pem_file(other, &root, NULL), ST_OK);
	assert_false(local_ca_root_is_test(fx->dir, root));
	X509_free(root);
	free(other);
	free(root_path);
}

static void
install_good(struct fx *fx, const char *csr, const char *out, int want_rollover)
{
	struct local_ca_install_opts o = { 0 };
	char *cause = NULL;
	int rollover = -1;

	o.cert = root_sign(fx, "root", csr, GOOD_EXT, out);
	o.root = tmp_path(fx, "root.pem");
	assert_int_equal(local_ca_install(fx->dir, &o, &rollover, &cause),
	    ST_OK);
	assert_null(cause);
	assert_int_equal(rollover, want_rollover);
	free((char *)o.cert);
	free((char *)o.root);
}

static void
published(const char *serial, const char *out, long number, void *arg)
{
	int *n = arg;

	(void)serial;
	(void)out;
	assert_true(number > 0);
	(*n)++;
}

static void
test_rollover_retires_the_old_intermediate_which_keeps_its_crl(void **state)
{
	struct fx *fx = *state;
	char *csr2 = tmp_path(fx, "next.csr");
	char *cause = NULL;
	int n = 0;

	init_pending(fx);
	make_root(fx, "root");
	install_good(fx, fx->csr, "inter1.pem", 0);
	X509 *leaf1 = issue_leaf(fx, "leaf1.pem");

	assert_int_equal(local_ca_rollover(fx->dir, NULL, NULL, csr2, &cause),
	    ST_OK);
	assert_true(exists(fx->dir, "next/intermediate.csr"));
	/* The current intermediate still signs while the new one waits. */
	X509 *mid = issue_leaf(fx, "leafmid.pem");
	assert_int_equal(local_ca_rollover(fx->dir, NULL, NULL, csr2, &cause),
	    ST_E_EXISTS);
	free(cause);
	cause = NULL;

	install_good(fx, csr2, "inter2.pem", 1);
	assert_false(exists(fx->dir, "next"));
	X509 *leaf2 = issue_leaf(fx, "leaf2.pem");

	char *id1 = cert_issuer_key_id_hex(leaf1);
	char *idm = cert_issuer_key_id_hex(mid);
	char *id2 = cert_issuer_key_id_hex(leaf2);
	assert_string_equal(id1, idm);
	assert_string_not_equal(id1, id2);
	/* Each verifies through its own intermediate. */
	assert_int_equal(
	    proc_sh("cd %s && openssl verify -CAfile root.pem "
		    "-untrusted inter1.pem leaf1.pem && openssl verify "
		    "-CAfile root.pem -untrusted inter2.pem leaf2.pem "
		    "2>&1",
		fx->tmp),
	    0);
	assert_int_not_equal(proc_sh("cd %s && openssl verify -CAfile root.pem "
				     "-untrusted inter2.pem leaf1.pem 2>&1",
				 fx->tmp),
	    0);

	/* The retired one signs its CRL, published beside the new one's
	 * under the publication names (local_ca_crl_file_name). */
	char *serial = NULL;
	X509 *old = NULL;
	char *old_path = tmp_path(fx, "inter1.pem");
	assert_int_equal(x509_load_pem_file(old_path, &old, NULL), ST_OK);
	serial = cert_serial_hex(old);
	char *out = tmp_path(fx, "pub");
	assert_int_equal(local_ca_crl_retired(fx->dir, NULL, out, 7, published,
			     &n, &cause),
	    ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(
	    proc_sh(
		"cd %s && openssl crl -in pub/retired/%s/intermediate.crl.pem "
		"-CAfile inter1.pem -noout 2>&1 | grep -q 'verify "
		"OK'",
		fx->tmp, serial),
	    0);
	assert_int_equal(
	    proc_sh("cd %s && test -s pub/retired/%s/intermediate.crl", fx->tmp,
		serial),
	    0);

	X509_free(old);
	X509_free(leaf1);
	X509_free(mid);
	X509_free(leaf2);
	free(id1);
	free(idm);
	free(id2);
	free(serial);
	free(old_path);
	free(out);
	free(csr2);
}

/* The publication URL of the active intermediate, through the local CA's
 * own check: ST_OK or the error. */
static st_err
publish_as(struct fx *fx, const char *url)
{
	struct ca_setting extra[] = { { "crl_url", url }, { NULL, NULL } };
	struct ca_settings s = { .dir = fx->dir, .extra = extra };
	struct ca_backend *ca = NULL;
	char *cause = NULL;
	st_err err;

	assert_int_equal(local_ca_open_key(fx->dir, NULL, &ca, &cause), ST_OK);
	err = local_ca_set_publication(ca, &s, &cause);
	if (err)
		assert_non_null(strstr(cause, "retired intermediate"));
	free(cause);
	ca_free(ca);
	return err;
}

/*
 * A rollover records the crl_url the old intermediate's certificates
 * carry: its CRL goes on being published under that name (with that
 * issuing distribution point), and the active intermediate may not take
 * the same URL, or relying parties would fetch one issuer's CRL for the
 * other's certificates.
 */
static void
test_rollover_keeps_the_old_crl_url_for_the_old_intermediate(void **state)
{
	struct fx *fx = *state;
	const char *old_url = "http://pki.example.com/crl/line-1.crl";
	struct local_ca_install_opts o = { 0 };
	char *csr2 = tmp_path(fx, "next.csr");
	char *out = tmp_path(fx, "pub");
	char *cause = NULL;
	int rollover = -1, n = 0;
	X509 *leaf1;

	init_pending(fx);
	make_root(fx, "root");
	install_good(fx, fx->csr, "inter1.pem", 0);
	leaf1 = issue_leaf(fx, "leaf1.pem");
	assert_int_equal(local_ca_rollover(fx->dir, NULL, NULL, csr2, &cause),
	    ST_OK);
	o.cert = root_sign(fx, "root", csr2, GOOD_EXT, "inter2.pem");
	o.root = tmp_path(fx, "root.pem");
	o.retired_crl_url = old_url;
	assert_int_equal(local_ca_install(fx->dir, &o, &rollover, &cause),
	    ST_OK);
	assert_int_equal(rollover, 1);

	assert_int_equal(publish_as(fx, old_url), ST_E_CONFIG);
	assert_int_equal(publish_as(fx,
			     "http://pki.example.com/crl/line-2.crl"),
	    ST_OK);

	assert_int_equal(mkdir(out, 0755), 0);
	assert_int_equal(local_ca_crl_retired(fx->dir, NULL, out, 7, published,
			     &n, &cause),
	    ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(proc_sh("cd %s && test -s pub/line-1.crl && openssl "
				 "crl -in pub/line-1.crl.pem -CAfile "
				 "inter1.pem -noout -text 2>&1 | grep -q "
				 "'URI:%s'",
			     fx->tmp, old_url),
	    0);

	X509_free(leaf1);
	free((char *)o.cert);
	free((char *)o.root);
	free(out);
	free(csr2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_csr_out_makes_no_root_and_leaves_the_ca_pending, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_install_refuses_each_wrong_certificate_clearly, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_install_activates_and_leaves_verify_with_openssl,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_install_with_a_ca_between_writes_the_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_test_ca_deletes_its_root_key_unless_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollover_retires_the_old_intermediate_which_keeps_its_crl,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_rollover_keeps_the_old_crl_url_for_the_old_intermediate,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
