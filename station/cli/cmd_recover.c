/*
 * station recover
 *
 * Settle what a station that died left behind (docs/reliability.md,
 * "Crash recovery"): runs left 'running' by a dead process end FAIL
 * naming their step, certificates the CA issued for them are revoked,
 * pending revocations are retried.  Every station start does this before
 * its first run; this command does only that, for an administrator after
 * a crash (the read-only commands, `ledger` and `export`, never settle
 * anything).  Exit: 0 done (the count on stdout), 3 the station or the
 * recovery failed.
 */
#include <stdio.h>

#include "station/cli/cmd.h"
#include "station/pipeline/station.h"

static const struct opt recover_opt_table[] = {
	{ .name = NULL },
};

static const struct opt_template recover_template[] = {
	{ .opts = recover_opt_table },
	{ .opts = NULL },
};

static int
cmd_recover_exec(const struct station_opts *so, int argc, char **argv)
{
	struct station *st = NULL;
	struct opt_args args;
	int rc;

	rc = cmd_parse(&cmd_recover_entry, argc, argv, NULL, &args);
	if (rc != EXIT_PASS)
		return rc;
	rc = cmd_open_station(so, &st);
	if (rc != EXIT_PASS)
		return rc;
	if (st->recovered < 0) {
		fprintf(stderr,
		    "station: recover: crash recovery failed "
		    "(the log says why); run it again once the "
		    "cause is fixed\n");
		rc = EXIT_STATION;
	} else {
		printf("%d interrupted run(s) settled\n", st->recovered);
	}
	station_close(st);
	return rc;
}

const struct cmd_entry cmd_recover_entry = {
	.name = "recover",
	.args = "",
	.summary = "settle what a dead station left: interrupted runs, "
		   "certificates, pending revocations",
	.options = recover_template,
	.exec = cmd_recover_exec,
};
