/* station ca init [--dir DIR] [--force]: create the local CA that signs
 * device certificates when no external CA is configured. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/local.h"
#include "cmd.h"
#include "util/xalloc.h"

static int
ca_init(int argc, char **argv)
{
	struct local_ca_init_opts opts = { 0 };
	const char *dir = NULL;
	char *dflt = NULL, *cause = NULL;
	int rc = EXIT_PASS;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			opts.force = 1;
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--root-subject") == 0 && i + 1 < argc)
			opts.root_subject = argv[++i];
		else if (strcmp(argv[i], "--intermediate-subject") == 0 &&
		    i + 1 < argc)
			opts.intermediate_subject = argv[++i];
		else
			return cmd_usage(&cmd_ca_entry);
	}
	if (dir == NULL) {
		const char *home = getenv("STATION_HOME");

		dflt = xasprintf("%s/ca", home && home[0] ? home : "./var");
		dir = dflt;
	}
	st_err err = local_ca_init_opts(dir, &opts, &cause);
	if (err) {
		fprintf(stderr, "station: ca init: %s\n", cause);
		rc = err == ST_E_ARG ? EXIT_USAGE : EXIT_STATION;
	} else {
		printf("created local CA in %s\nroot certificate: %s/root.pem "
		    "(pin this on brokers and devices)\n", dir, dir);
	}
	free(cause);
	free(dflt);
	return rc;
}

static int
cmd_ca_exec(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return ca_init(argc, argv);
	return cmd_usage(&cmd_ca_entry);
}

const struct cmd_entry cmd_ca_entry = {
	.name = "ca",
	.args = "init [--dir DIR] [--force] [--root-subject DN] "
	    "[--intermediate-subject DN]",
	.summary = "create the local CA (default dir $STATION_HOME/ca, "
	    "STATION_HOME=./var)",
	.exec = cmd_ca_exec,
};
