/*
 * station ca init [--dir DIR] [--force] [--pkcs11 URI [--pin-file F |
 *                 --pin-env VAR] [--module PATH]] [--csr-out FILE]
 *                 [--intermediate-subject DN] [--root-subject DN]
 *                 [--keep-root]
 * station ca install --cert FILE --root FILE [--chain FILE] [--dir DIR]
 * station ca rollover --csr-out FILE [--intermediate-subject DN]
 *                 [--pkcs11 URI ...] [--dir DIR]
 * station ca crl [--dir DIR] [--out DIR] [--days N]  (publishes into DIR,
 *                 else [ca] crl_dir; see local_ca_crl)
 * station ca aws-verification-cert --code CODE [--dir DIR] [--out FILE]
 *
 * The local CA that signs device certificates when no external CA is
 * configured.  In production its intermediate is signed by an offline
 * root: init --csr-out, then install (docs/admin.md); without --csr-out,
 * init makes a TEST CA with a root of its own.  The CA directory and the intermediate's key (file or
 * PKCS#11 token) come from the options, else from [ca] of --config, else
 * $STATION_HOME/ca (STATION_HOME=./var) with the key in a file.
 */
#include <openssl/pem.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "station/ca/local.h"
#include "station/cli/cmd.h"
#include "station/config/config.h"
#include "station/pipeline/station.h"
#include "station/util/xalloc.h"

struct ca_cli {
	struct local_ca_init_opts init; /* init.key: where the key is */
	const char *dir, *out, *code;
	const char *cert, *root, *chain; /* install */
	long long days;
	const char *config_path; /* --config, or NULL */
	int demo;		 /* --demo */
	struct config *cfg;	 /* --config's, or the defaults */
};

/* Options every subcommand takes (init ignores --out). */
static const struct opt ca_shared_opts[] = {
	{ .name = "--dir",
	    .kind = OPT_STRING,
	    .value = "DIR",
	    .offset = offsetof(struct ca_cli, dir),
	    .help = "the CA directory (default: [ca] dir, else "
		    "$STATION_HOME/ca)" },
	{ .name = "--pkcs11",
	    .kind = OPT_STRING,
	    .value = "URI",
	    .offset = offsetof(struct ca_cli, init.key.uri),
	    .help = "the intermediate's key is in this PKCS#11 token" },
	{ .name = "--pin-file",
	    .kind = OPT_STRING,
	    .value = "F",
	    .offset = offsetof(struct ca_cli, init.key.pin_file),
	    .help = "the token's PIN is in file F" },
	{ .name = "--pin-env",
	    .kind = OPT_STRING,
	    .value = "VAR",
	    .offset = offsetof(struct ca_cli, init.key.pin_env),
	    .help = "the token's PIN is in environment variable VAR" },
	{ .name = "--module",
	    .kind = OPT_STRING,
	    .value = "PATH",
	    .offset = offsetof(struct ca_cli, init.key.module),
	    .help = "the PKCS#11 module (default: SoftHSM2's)" },
	{ .name = "--out",
	    .kind = OPT_STRING,
	    .value = "DIR|FILE",
	    .offset = offsetof(struct ca_cli, out),
	    .help = "crl: publish into DIR (default [ca] crl_dir); "
		    "aws-verification-cert: the certificate's file" },
	{ .name = NULL },
};

static const struct opt ca_init_opts[] = {
	{ .name = "--force",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ca_cli, init.force),
	    .help =
		"replace an existing CA (its issued and revoked lists stay)" },
	{ .name = "--root-subject",
	    .kind = OPT_STRING,
	    .value = "DN",
	    .offset = offsetof(struct ca_cli, init.root_subject),
	    .help = "the root's subject" },
	{ .name = "--intermediate-subject",
	    .kind = OPT_STRING,
	    .value = "DN",
	    .offset = offsetof(struct ca_cli, init.intermediate_subject),
	    .help = "the intermediate's subject" },
	{ .name = "--csr-out",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ca_cli, init.csr_out),
	    .help = "production: make only the intermediate's key and write "
		    "its CSR to FILE for the offline root; then 'ca install'" },
	{ .name = "--keep-root",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct ca_cli, init.keep_root),
	    .help = "TEST CA: keep the root's key (root.key; default: "
		    "deleted once the intermediate is signed)" },
	{ .name = NULL },
};

static const struct opt ca_install_opts[] = {
	{ .name = "--cert",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ca_cli, cert),
	    .help = "the intermediate's certificate the root signed "
		    "(required)" },
	{ .name = "--root",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ca_cli, root),
	    .help = "the root that signed it, self-signed (required)" },
	{ .name = "--chain",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ca_cli, chain),
	    .help = "CAs between the intermediate and the root" },
	{ .name = NULL },
};

static const struct opt ca_rollover_opts[] = {
	{ .name = "--csr-out",
	    .kind = OPT_STRING,
	    .value = "FILE",
	    .offset = offsetof(struct ca_cli, init.csr_out),
	    .help = "write the new intermediate's CSR to FILE (required)" },
	{ .name = "--intermediate-subject",
	    .kind = OPT_STRING,
	    .value = "DN",
	    .offset = offsetof(struct ca_cli, init.intermediate_subject),
	    .help = "the new intermediate's subject (default: the current "
		    "one's)" },
	{ .name = NULL },
};

static const struct opt ca_crl_opts[] = {
	{ .name = "--days",
	    .kind = OPT_NUMBER,
	    .value = "N",
	    .min = 1,
	    .max = 3650,
	    .offset = offsetof(struct ca_cli, days),
	    .help = "the CRL's nextUpdate is N days away (default 7)" },
	{ .name = NULL },
};

static const struct opt ca_verification_opts[] = {
	{ .name = "--code",
	    .kind = OPT_STRING,
	    .value = "CODE",
	    .offset = offsetof(struct ca_cli, code),
	    .help = "the registration code AWS IoT gave (required)" },
	{ .name = NULL },
};

static const struct opt_template ca_template[] = {
	{ .sub = "init", .opts = ca_init_opts, .shared = ca_shared_opts },
	{ .sub = "install", .opts = ca_install_opts, .shared = ca_shared_opts },
	{ .sub = "rollover",
	    .opts = ca_rollover_opts,
	    .shared = ca_shared_opts },
	{ .sub = "crl", .opts = ca_crl_opts, .shared = ca_shared_opts },
	{ .sub = "aws-verification-cert",
	    .opts = ca_verification_opts,
	    .shared = ca_shared_opts },
	{ .opts = NULL },
};

/* Fill what the command line left open from the configuration. */
static int
resolve(struct ca_cli *c, const char *what)
{
	char *cause = NULL;
	struct local_ca_key *k = &c->init.key;
	/* A rollover's new key is where --pkcs11 says, never the key in
	 * use ([ca] key), which stays the old intermediate's. */
	const char *cli_uri = k->uri;

	if (config_find(c->config_path, c->demo, &c->cfg, &cause)) {
		char *w = xasprintf("ca %s", what);

		cmd_print_cause(w, cause);
		free(w);
		free(cause);
		return EXIT_STATION;
	}
	if (c->dir == NULL)
		c->dir = c->cfg->ca_dir;
	if (k->uri == NULL) {
		struct ca_settings s = { .dir = c->dir,
			.extra = c->cfg->ca_extra };

		k->uri = ca_settings_get(&s, "key");
		if (k->module == NULL)
			k->module = ca_settings_get(&s, "pkcs11_module");
		if (k->pin_file == NULL && k->pin_env == NULL) {
			k->pin_file = ca_settings_get(&s, "pin_file");
			k->pin_env = ca_settings_get(&s, "pin_env");
		}
		if (strcmp(what, "rollover") == 0)
			k->uri = cli_uri;
	}
	return EXIT_PASS;
}

static int
fail(const char *what, st_err err, char *cause)
{
	char *w = xasprintf("ca %s", what);

	cmd_print_cause(w, cause ? cause : st_strerror(err));
	free(w);
	free(cause);
	return err == ST_E_ARG ? EXIT_USAGE : EXIT_STATION;
}

static int
ca_init(struct ca_cli *c)
{
	char *cause = NULL;
	st_err err;
	int rc;

	if (c->init.key.pin_file != NULL && c->init.key.pin_env != NULL) {
		fprintf(stderr,
		    "station: ca init: give --pin-file or "
		    "--pin-env, not both\n");
		return EXIT_USAGE;
	}
	rc = resolve(c, "init");
	if (rc != EXIT_PASS)
		return rc;
	err = local_ca_init_opts(c->dir, &c->init, &cause);
	if (err)
		return fail("init", err, cause);
	if (c->init.csr_out != NULL) {
		printf("local CA in %s is pending: the intermediate's CSR is "
		       "in %s\nhave your offline root sign it, then run "
		       "'station ca install --cert INTERMEDIATE.pem --root "
		       "ROOT.pem'\n",
		    c->dir, c->init.csr_out);
	} else {
		printf("created local TEST CA in %s\nroot certificate: "
		       "%s/root.pem (pin this on brokers and devices)\n%s",
		    c->dir, c->dir,
		    c->init.keep_root ?
			"root key kept in root.key (--keep-root)\n" :
			"root key deleted: this root signs nothing more\n");
		if (!c->cfg->ca_allow_test)
			fprintf(stderr,
			    "station: ca init: note: %s refuses a TEST CA "
			    "([ca] allow_test_ca = no); for production use "
			    "--csr-out and 'station ca install'\n",
			    c->cfg->path);
	}
	if (c->init.key.uri != NULL)
		printf("intermediate key: in the token, %s\n"
		       "set [ca] key = %s and pin_file or pin_env\n",
		    c->init.key.uri, c->init.key.uri);
	return EXIT_PASS;
}

static int
ca_install(struct ca_cli *c)
{
	struct local_ca_install_opts o = { .cert = c->cert,
		.root = c->root,
		.chain = c->chain };
	char *cause = NULL;
	int rollover = 0;
	st_err err;
	int rc;

	if (c->cert == NULL || c->root == NULL)
		return cmd_usage(&cmd_ca_entry);
	rc = resolve(c, "install");
	if (rc != EXIT_PASS)
		return rc;
	/* A rollover retires the key in use: remember where it is. */
	o.retired_key_uri = c->init.key.uri;
	/* ... and the URL its certificates carry, under which its CRL goes
	 * on being published. */
	if (c->cfg != NULL)
		o.retired_crl_url =
		    ca_settings_get(&(struct ca_settings){ .extra =
							       c->cfg
								   ->ca_extra },
			"crl_url");
	err = local_ca_install(c->dir, &o, &rollover, &cause);
	if (err)
		return fail("install", err, cause);
	printf("installed %s: the local CA in %s is active\n"
	       "root certificate: %s/root.pem (pin this on brokers and "
	       "devices)\n",
	    c->cert, c->dir, c->dir);
	if (rollover)
		printf("the old intermediate is retired: it signs only its "
		       "CRL ('station ca crl') until its last certificate "
		       "expires%s\n",
		    o.retired_key_uri ? "; set [ca] key to the new key's URI" :
					"");
	if (rollover && o.retired_crl_url != NULL)
		printf("its certificates keep [ca] crl_url %s, under which "
		       "its CRL stays published: set crl_url to a new file "
		       "name for the new intermediate before the station "
		       "signs again (it refuses the old one)\n",
		    o.retired_crl_url);
	return EXIT_PASS;
}

static int
ca_rollover(struct ca_cli *c)
{
	char *cause = NULL;
	st_err err;
	int rc;

	if (c->init.csr_out == NULL)
		return cmd_usage(&cmd_ca_entry);
	rc = resolve(c, "rollover");
	if (rc != EXIT_PASS)
		return rc;
	err = local_ca_rollover(c->dir, c->init.intermediate_subject,
	    &c->init.key, c->init.csr_out, &cause);
	if (err)
		return fail("rollover", err, cause);
	printf("rollover started: the new intermediate's CSR is in %s; the "
	       "current intermediate signs until 'station ca install' of "
	       "the new certificate\n",
	    c->init.csr_out);
	return EXIT_PASS;
}

static void
retired_published(const char *serial, const char *out, long number, void *arg)
{
	(void)arg;
	printf("retired intermediate %s: CRL number %ld: %s/crl.pem "
	       "%s/crl.der\n",
	    serial, number, out, out);
}

/* After the current CRL: those of intermediates a rollover retired. */
static int
crl_retired(struct ca_cli *c)
{
	char *cause = NULL;
	st_err err = local_ca_crl_retired(c->dir, &c->init.key, c->out,
	    (int)c->days, retired_published, NULL, &cause);

	return err ? fail("crl", err, cause) : EXIT_PASS;
}

static int
open_ca(struct ca_cli *c, const char *what, struct ca_backend **ca)
{
	char *cause = NULL;
	st_err err = local_ca_open_key(c->dir, &c->init.key, ca, &cause);

	return err ? fail(what, err, cause) : EXIT_PASS;
}

/*
 * Issue the CRL and publish it: into --out, else [ca] crl_dir, else only
 * into the CA directory.  The [ca] crl_url of --config names the issuing
 * distribution point, as on the leaves.
 */
static int
ca_crl(struct ca_cli *c)
{
	struct ca_backend *ca = NULL;
	struct ca_settings s;
	char *cause = NULL, *name = NULL;
	const char *pub;
	long number = 0;
	st_err err;
	int rc;

	rc = resolve(c, "crl");
	if (rc != EXIT_PASS)
		goto out;
	rc = open_ca(c, "crl", &ca);
	if (rc != EXIT_PASS)
		goto out;
	s = (struct ca_settings){ .dir = c->dir, .extra = c->cfg->ca_extra };
	err = local_ca_set_publication(ca, &s, &cause);
	if (err == ST_OK)
		err = local_ca_crl(ca, c->out, (int)c->days, &number, &cause);
	if (err) {
		rc = fail("crl", err, cause);
		goto out;
	}
	printf("CRL number %ld: %s/crl.pem %s/crl.der\n", number, c->dir,
	    c->dir);
	pub = c->out ? c->out : local_ca_crl_dir(ca);
	if (pub != NULL) {
		name = local_ca_crl_file_name(ca_settings_get(&s, "crl_url"));
		printf("published: %s/%s %s/%s.pem\n", pub, name, pub, name);
	}
	rc = crl_retired(c);
out:
	free(name);
	ca_free(ca);
	return rc;
}

static int
ca_verification(struct ca_cli *c)
{
	struct ca_backend *ca = NULL;
	X509 *cert = NULL;
	FILE *fp = stdout;
	char *cause = NULL;
	st_err err;
	int rc;

	if (c->code == NULL)
		return cmd_usage(&cmd_ca_entry);
	rc = resolve(c, "aws-verification-cert");
	if (rc != EXIT_PASS)
		goto out;
	rc = open_ca(c, "aws-verification-cert", &ca);
	if (rc != EXIT_PASS)
		goto out;
	err = local_ca_verification_cert(ca, c->code, &cert, &cause);
	if (err) {
		rc = fail("aws-verification-cert", err, cause);
		goto out;
	}
	if (c->out != NULL) {
		fp = fopen(c->out, "w");
		if (fp == NULL) {
			perror(c->out);
			rc = EXIT_STATION;
			goto out;
		}
	}
	/* Only the certificate: its key was never written anywhere. */
	if (!PEM_write_X509(fp, cert) || fflush(fp) != 0) {
		fprintf(stderr,
		    "station: ca aws-verification-cert: writing "
		    "the certificate failed\n");
		rc = EXIT_STATION;
	}
	if (fp != stdout && fclose(fp) != 0)
		rc = EXIT_STATION;
out:
	X509_free(cert);
	ca_free(ca);
	return rc;
}

static int
cmd_ca_exec(const struct station_opts *so, int argc, char **argv)
{
	struct ca_cli c = { .config_path = so->config_path, .demo = so->demo };
	struct opt_args args;
	int rc;

	rc = cmd_parse(&cmd_ca_entry, argc, argv, &c, &args);
	if (rc != EXIT_PASS)
		return rc;
	if (strcmp(argv[1], "init") == 0)
		rc = ca_init(&c);
	else if (strcmp(argv[1], "install") == 0)
		rc = ca_install(&c);
	else if (strcmp(argv[1], "rollover") == 0)
		rc = ca_rollover(&c);
	else if (strcmp(argv[1], "crl") == 0)
		rc = ca_crl(&c);
	else
		rc = ca_verification(&c);
	config_free(c.cfg);
	return rc;
}

const struct cmd_entry cmd_ca_entry = {
	.name = "ca",
	.args =
	    "init [--dir DIR] [--force] [--pkcs11 URI [--pin-file F | "
	    "--pin-env VAR] [--module PATH]] [--csr-out FILE] "
	    "[--intermediate-subject DN] [--root-subject DN] "
	    "[--keep-root]\n"
	    "             | install --cert FILE --root FILE [--chain FILE] "
	    "[--dir DIR]\n"
	    "             | rollover --csr-out FILE [--intermediate-subject "
	    "DN] [--pkcs11 URI [--pin-file F | --pin-env VAR] [--module "
	    "PATH]] [--dir DIR]\n"
	    "             | crl [--dir DIR] [--out DIR] [--days N]\n"
	    "             | aws-verification-cert --code CODE [--dir DIR] "
	    "[--out FILE]",
	.summary =
	    "manage the local CA (default dir $STATION_HOME/ca, "
	    "STATION_HOME=./var): create it (a TEST CA, or a CSR for the "
	    "offline root), install its intermediate, roll it over, issue its "
	    "CRL, sign an AWS IoT verification certificate",
	.options = ca_template,
	.exec = cmd_ca_exec,
};
