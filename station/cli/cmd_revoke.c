/*
 * station revoke CERT-SERIAL [--reason R]
 * station revoke --device SERIAL [--reason R]
 *
 * Revoke a device certificate through the configured CA backend and mark
 * it 'revoked' in the ledger.  R is an RFC 5280 CRLReason name
 * (unspecified, keyCompromise, superseded, cessationOfOperation...);
 * default unspecified.  The serial is hex as `station ledger` shows it
 * (colons and upper case are accepted).  With --device the argument is a
 * device serial and its current (live) certificate is revoked; a bare
 * argument that is not hex but names a device of the ledger is refused
 * with a message pointing to --device (a revocation is never guessed).
 *
 * Exit: 0 revoked, 1 unknown serial or already revoked, 2 bad command
 * line, 3 the station, the CA or the ledger failed.  Ledger first, then
 * the CA (settle.h): the decision is recorded ('revoking', with the
 * reason) before the CA is asked, so a certificate the ledger calls
 * revoked is always revoked at the CA too, and one the CA could not
 * revoke yet is revoked by the next station start.  (With [ca] crl_dir
 * the local CA publishes a new CRL as part of the revocation; otherwise
 * `station ca crl` reissues it.)
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/ca/local.h"
#include "station/cli/cmd.h"
#include "station/config/profile.h"
#include "station/pipeline/settle.h"
#include "station/pipeline/station.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

/* Lower-case hex without separators; NULL if `s` is not hex. */
static char *
normalize_serial(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0;

	for (; *s; s++) {
		char c = *s;

		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			free(out);
			return NULL;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int
revoke(struct station *st, const char *serial, const char *reason)
{
	struct cert_record rec = { 0 };
	enum settle_outcome outcome;
	char *cause = NULL, *note = NULL, *why = NULL, *shown = NULL;
	int rc = EXIT_STATION;
	st_err err, ca_err = ST_OK;

	err = ledger_cert_get(st->ledger, serial, &rec, &cause);
	if (err == ST_E_NOTFOUND) {
		fprintf(stderr,
		    "station: revoke: no certificate with serial "
		    "%s in the ledger (see 'station ledger list')\n",
		    serial);
		rc = EXIT_FAIL;
		goto out;
	}
	if (err) {
		cmd_print_cause("revoke", cause);
		goto out;
	}
	if (strcmp(rec.status, "revoked") == 0) {
		shown = text_show(rec.status_note ? rec.status_note : "", 512);
		fprintf(stderr,
		    "station: revoke: certificate %s is already "
		    "revoked%s%s\n",
		    serial, rec.status_note ? ": " : "", shown);
		rc = EXIT_FAIL;
		goto out;
	}
	/* A revocation already recorded (still on its way to the CA) keeps
	 * the reason it was recorded with. */
	note = xasprintf("revoked by the operator (%s)", reason);
	if (strcmp(rec.status, "revoking") != 0)
		err = ledger_cert_revoke_intent(st->ledger, serial, reason,
		    note, &cause);
	if (err) {
		cmd_print_cause("revoke: recording the revocation", cause);
		goto out;
	}
	err = cert_revoke_finish(st, serial, &outcome, &ca_err, &why, &cause);
	if (err) {
		cmd_print_cause("revoke", cause);
		goto out;
	}
	if (outcome == SETTLE_NOT_REVOKED) {
		shown = text_show(why, 512);
		fprintf(stderr,
		    "station: revoke: %s: %s (recorded as "
		    "'revoking': the next station start tries again)\n",
		    st->ca->describe, shown);
		rc = ca_err == ST_E_NOTFOUND ? EXIT_FAIL : EXIT_STATION;
		goto out;
	}
	printf("revoked %s (%s, device %s)\n", serial, reason,
	    rec.device_serial ? rec.device_serial : "?");
	rc = EXIT_PASS;
out:
	ledger_cert_record_clear(&rec);
	free(shown);
	free(note);
	free(why);
	free(cause);
	return rc;
}

struct revoke_opts {
	const char *reason;
	int device; /* --device: the argument is a device serial */
};

/* --reason is checked against the CA's own list of names below
 * (local_crl_reason_code): that list is the one place they are kept. */
static const struct opt revoke_opt_table[] = {
	{ .name = "--reason",
	    .kind = OPT_STRING,
	    .value = "R",
	    .offset = offsetof(struct revoke_opts, reason),
	    .help = "an RFC 5280 CRLReason name (default unspecified)" },
	{ .name = "--device",
	    .kind = OPT_FLAG,
	    .offset = offsetof(struct revoke_opts, device),
	    .help = "the argument is a device serial: revoke its current "
		    "certificate" },
	{ .name = NULL },
};

static const struct opt_template revoke_template[] = {
	{ .opts = revoke_opt_table,
	    .lower = 1,
	    .upper = 1,
	    .args = "CERT-SERIAL | --device SERIAL" },
	{ .opts = NULL },
};

/* The serial of the live certificate of `device` (new string) into
 * *serial, or NULL when it has none; EXIT_PASS or EXIT_STATION. */
static int
device_cert(struct station *st, const char *device, char **serial)
{
	struct cert_record rec = { 0 };
	char *cause = NULL;
	int found = 0;

	*serial = NULL;
	if (ledger_device_live_cert(st->ledger, device, &rec, &found, &cause) !=
	    ST_OK) {
		cmd_print_cause("revoke", cause);
		free(cause);
		return EXIT_STATION;
	}
	if (found)
		*serial = xstrdup(rec.serial_hex);
	ledger_cert_record_clear(&rec);
	return EXIT_PASS;
}

/* `station revoke --device SERIAL`: its current certificate. */
static int
revoke_device(struct station *st, const char *device, const char *reason)
{
	char *serial = NULL;
	int rc = device_cert(st, device, &serial);

	if (rc != EXIT_PASS)
		return rc;
	if (serial == NULL) {
		fprintf(stderr,
		    "station: revoke: device %s has no current certificate "
		    "in the ledger (issued, written or verified; see "
		    "'station ledger show %s')\n",
		    device, device);
		return EXIT_FAIL;
	}
	rc = revoke(st, serial, reason);
	free(serial);
	return rc;
}

/* A bare argument that is not a hex serial: a device's serial is pointed
 * to --device, anything else is refused.  Always EXIT_USAGE (or
 * EXIT_STATION when the ledger cannot be read). */
static int
not_a_cert_serial(struct station *st, const char *arg)
{
	char *serial = NULL, *shown = text_escape(arg, 128);
	int rc = EXIT_USAGE;

	if (serial_is_valid(arg))
		rc = device_cert(st, arg, &serial);
	if (rc == EXIT_PASS && serial != NULL)
		fprintf(stderr,
		    "station: revoke: '%s' is not a hex certificate serial "
		    "but a device's serial; its current certificate is %s: "
		    "revoke it with 'station revoke --device %s'\n",
		    shown, serial, shown);
	else if (rc != EXIT_STATION)
		fprintf(stderr,
		    "station: revoke: '%s' is not a hex certificate serial "
		    "(as 'station ledger list' shows them) nor a device "
		    "with a current certificate; for a device give "
		    "--device SERIAL\n",
		    shown);
	if (rc != EXIT_STATION)
		rc = EXIT_USAGE;
	free(serial);
	free(shown);
	return rc;
}

static int
cmd_revoke_exec(const struct station_opts *so, int argc, char **argv)
{
	struct revoke_opts o = { .reason = "unspecified" };
	struct opt_args args;
	const char *reason, *arg;
	struct station *st = NULL;
	char *serial = NULL, *cause = NULL;
	int rc;

	rc = cmd_parse(&cmd_revoke_entry, argc, argv, &o, &args);
	if (rc != EXIT_PASS)
		return rc;
	reason = o.reason;
	arg = args.arg[0];
	if (local_crl_reason_code(reason) < 0) {
		char *shown = text_escape(reason, 64);

		fprintf(stderr,
		    "station: revoke: unknown reason '%s' (RFC "
		    "5280: unspecified, keyCompromise, cACompromise, "
		    "affiliationChanged, superseded, cessationOfOperation, "
		    "certificateHold, privilegeWithdrawn, aACompromise)\n",
		    shown);
		free(shown);
		return EXIT_USAGE;
	}
	if (!cmd_arg_printable(o.device ? "--device" : "the serial", arg))
		return EXIT_USAGE;
	if (!o.device)
		serial = normalize_serial(arg);
	if (station_open(so, &st, &cause) != ST_OK) {
		cmd_print_cause("revoke", cause);
		rc = EXIT_STATION;
	} else if (o.device) {
		rc = revoke_device(st, arg, reason);
	} else if (serial == NULL) {
		rc = not_a_cert_serial(st, arg);
	} else {
		rc = revoke(st, serial, reason);
	}
	station_close(st);
	free(cause);
	free(serial);
	return rc;
}

const struct cmd_entry cmd_revoke_entry = {
	.name = "revoke",
	.args = "CERT-SERIAL | --device SERIAL [--reason R]",
	.summary = "revoke a certificate (or a device's current one) at the "
		   "CA and in the ledger (R: RFC 5280 reason, e.g. "
		   "keyCompromise, superseded)",
	.options = revoke_template,
	.exec = cmd_revoke_exec,
};
