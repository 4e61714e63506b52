/*
 * station ca init [--dir DIR] [--force] [--pkcs11 URI [--pin-file F |
 *                 --pin-env VAR] [--module PATH]] [--root-subject DN]
 *                 [--intermediate-subject DN]
 * station ca crl [--dir DIR] [--out DIR] [--days N]
 * station ca aws-verification-cert --code CODE [--dir DIR] [--out FILE]
 *
 * The local CA that signs device certificates when no external CA is
 * configured.  The CA directory and the intermediate's key (file or
 * PKCS#11 token) come from the options, else from [ca] of --config, else
 * $STATION_HOME/ca (STATION_HOME=./var) with the key in a file.
 */
#include <openssl/pem.h>
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
	long days;
	struct config *cfg; /* --config's, or the defaults */
};

/* Options every subcommand takes; 1 if argv[*i] was one of them. */
static int
common_opt(struct ca_cli *c, int argc, char **argv, int *i)
{
	const char *o = argv[*i];

	if (*i + 1 >= argc)
		return 0;
	if (strcmp(o, "--dir") == 0)
		c->dir = argv[++*i];
	else if (strcmp(o, "--pkcs11") == 0)
		c->init.key.uri = argv[++*i];
	else if (strcmp(o, "--pin-file") == 0)
		c->init.key.pin_file = argv[++*i];
	else if (strcmp(o, "--pin-env") == 0)
		c->init.key.pin_env = argv[++*i];
	else if (strcmp(o, "--module") == 0)
		c->init.key.module = argv[++*i];
	else if (strcmp(o, "--out") == 0)
		c->out = argv[++*i];
	else
		return 0;
	return 1;
}

/* Fill what the command line left open from the configuration. */
static int
resolve(struct ca_cli *c, const char *what)
{
	char *cause = NULL;
	struct local_ca_key *k = &c->init.key;

	if (station_globals.config_path != NULL) {
		if (config_load(station_globals.config_path, &c->cfg, &cause)) {
			char *w = xasprintf("ca %s", what);

			cmd_print_cause(w, cause);
			free(w);
			free(cause);
			return EXIT_STATION;
		}
	} else {
		c->cfg = config_default(NULL);
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
ca_init(struct ca_cli *c, int argc, char **argv)
{
	char *cause = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			c->init.force = 1;
		else if (common_opt(c, argc, argv, &i))
			continue;
		else if (strcmp(argv[i], "--root-subject") == 0 && i + 1 < argc)
			c->init.root_subject = argv[++i];
		else if (strcmp(argv[i], "--intermediate-subject") == 0 &&
		    i + 1 < argc)
			c->init.intermediate_subject = argv[++i];
		else
			return cmd_usage(&cmd_ca_entry);
	}
	if (c->init.key.pin_file != NULL && c->init.key.pin_env != NULL) {
		fprintf(stderr, "station: ca init: give --pin-file or "
		    "--pin-env, not both\n");
		return EXIT_USAGE;
	}
	if ((rc = resolve(c, "init")) != EXIT_PASS)
		return rc;
	st_err err = local_ca_init_opts(c->dir, &c->init, &cause);
	if (err)
		return fail("init", err, cause);
	printf("created local CA in %s\nroot certificate: %s/root.pem "
	    "(pin this on brokers and devices)\n", c->dir, c->dir);
	if (c->init.key.uri != NULL)
		printf("intermediate key: in the token, %s\n"
		    "set [ca] key = %s and pin_file or pin_env\n",
		    c->init.key.uri, c->init.key.uri);
	return EXIT_PASS;
}

static int
open_ca(struct ca_cli *c, const char *what, struct ca_backend **ca)
{
	char *cause = NULL;
	st_err err = local_ca_open_key(c->dir, &c->init.key, ca, &cause);

	return err ? fail(what, err, cause) : EXIT_PASS;
}

static int
ca_crl(struct ca_cli *c, int argc, char **argv)
{
	struct ca_backend *ca = NULL;
	char *cause = NULL;
	long number = 0;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (common_opt(c, argc, argv, &i))
			continue;
		if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
			char *end = NULL;

			c->days = strtol(argv[++i], &end, 10);
			if (*end == '\0' && c->days >= 1 && c->days <= 3650)
				continue;
			fprintf(stderr, "station: ca crl: --days expects "
			    "1..3650\n");
		}
		return cmd_usage(&cmd_ca_entry);
	}
	if ((rc = resolve(c, "crl")) != EXIT_PASS ||
	    (rc = open_ca(c, "crl", &ca)) != EXIT_PASS)
		return rc;
	st_err err = local_ca_crl(ca, c->out, (int)c->days, &number, &cause);
	if (err) {
		rc = fail("crl", err, cause);
	} else {
		const char *d = c->out ? c->out : c->dir;

		printf("CRL number %ld: %s/crl.pem %s/crl.der\n", number, d, d);
	}
	ca_free(ca);
	return rc;
}

static int
ca_verification(struct ca_cli *c, int argc, char **argv)
{
	struct ca_backend *ca = NULL;
	X509 *cert = NULL;
	FILE *fp = stdout;
	char *cause = NULL;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (common_opt(c, argc, argv, &i))
			continue;
		if (strcmp(argv[i], "--code") == 0 && i + 1 < argc) {
			c->code = argv[++i];
			continue;
		}
		return cmd_usage(&cmd_ca_entry);
	}
	if (c->code == NULL)
		return cmd_usage(&cmd_ca_entry);
	if ((rc = resolve(c, "aws-verification-cert")) != EXIT_PASS ||
	    (rc = open_ca(c, "aws-verification-cert", &ca)) != EXIT_PASS)
		return rc;
	st_err err = local_ca_verification_cert(ca, c->code, &cert, &cause);
	if (err) {
		rc = fail("aws-verification-cert", err, cause);
		goto out;
	}
	if (c->out != NULL && (fp = fopen(c->out, "w")) == NULL) {
		perror(c->out);
		rc = EXIT_STATION;
		goto out;
	}
	/* Only the certificate: its key was never written anywhere. */
	if (!PEM_write_X509(fp, cert) || fflush(fp) != 0) {
		fprintf(stderr, "station: ca aws-verification-cert: writing "
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
cmd_ca_exec(int argc, char **argv)
{
	struct ca_cli c = { 0 };
	int rc;

	if (argc < 2)
		return cmd_usage(&cmd_ca_entry);
	if (strcmp(argv[1], "init") == 0)
		rc = ca_init(&c, argc, argv);
	else if (strcmp(argv[1], "crl") == 0)
		rc = ca_crl(&c, argc, argv);
	else if (strcmp(argv[1], "aws-verification-cert") == 0)
		rc = ca_verification(&c, argc, argv);
	else
		rc = cmd_usage(&cmd_ca_entry);
	config_free(c.cfg);
	return rc;
}

const struct cmd_entry cmd_ca_entry = {
	.name = "ca",
	.args = "init [--dir DIR] [--force] [--pkcs11 URI [--pin-file F | "
	    "--pin-env VAR] [--module PATH]] [--root-subject DN] "
	    "[--intermediate-subject DN]\n"
	    "             | crl [--dir DIR] [--out DIR] [--days N]\n"
	    "             | aws-verification-cert --code CODE [--dir DIR] "
	    "[--out FILE]",
	.summary = "manage the local CA (default dir $STATION_HOME/ca, "
	    "STATION_HOME=./var): create it, issue its CRL, sign an AWS IoT "
	    "verification certificate",
	.exec = cmd_ca_exec,
};
