/* Crash recovery: finishing runs whose station process died (recover.h). */
#include "station/pipeline/recover.h"
#include "station/pipeline/owner.h"
#include "station/pipeline/settle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/x509/dn.h"
#include "station/pipeline/event.h"
#include "station/util/num.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "recover"
#include "station/util/log.h"

int64_t
proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and parentheses: the
	 * fields after it start after its last ')'. */
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2; /* field 3, the state */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	char *end = strchr(p, ' ');
	long long v;
	if (end != NULL)
		*end = '\0';
	if (!num_valid(p, 1, INT64_MAX, &v))
		return 0;
	return (int64_t)v;
}

int
proc_is_alive(int64_t pid, int64_t start)
{
	if (pid <= 0 || pid != (pid_t)pid)
		return 0;
	int64_t now = proc_start_time((pid_t)pid);
	if (now != 0)
		return start == 0 || now == start;
	/* No /proc entry readable: fall back to asking the kernel. */
	if (access("/proc/self/stat", R_OK) == 0)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The step a run was in: the one it recorded entering (ledger_run_step,
 * at every step's start), else, for a run from an older station, the one
 * after its last completed step. */
static enum step
interrupted_step(const struct open_run *run)
{
	for (int s = 0; run->current_step != NULL && s < STEP__COUNT; s++)
		if (strcmp(step_name((enum step)s), run->current_step) == 0)
			return (enum step)s;
	if (run->last_ok_step == NULL)
		return STEP_CONNECT;
	/* Such a station had no attest step: after csr-policy it asked the
	 * CA. */
	if (strcmp(run->last_ok_step, step_name(STEP_CSR_POLICY)) == 0)
		return STEP_CA_SIGN;
	for (int s = 0; s < STEP__COUNT; s++)
		if (strcmp(step_name((enum step)s), run->last_ok_step) == 0)
			return s + 1 < STEP__COUNT ? (enum step)(s + 1) :
						     (enum step)s;
	return STEP_CONNECT;
}

struct adopt {
	struct station *st;
	const struct open_run *run;
	char *serial; /* the certificate recorded (owned) */
	st_err err;
	char *cause;
};

/* Record a certificate the CA issued for the run's key but the run never
 * recorded (the station died between the CA and the ledger). */
static int
adopt_cb(X509 *cert, void *arg)
{
	struct adopt *a = arg;
	char *serial = cert_serial_hex(cert);
	struct cert_record known = { 0 };
	char fp[65];

	if (ledger_cert_get(a->st->ledger, serial, &known, NULL) == ST_OK) {
		ledger_cert_record_clear(&known);
		free(serial);
		return 0;
	}
	char *pem = cert_to_pem(cert);
	char *subject = dn_format(X509_get_subject_name(cert));
	char *issuer = dn_format(X509_get_issuer_name(cert));
	char *issuer_key_id = cert_issuer_key_id_hex(cert);
	char *note = xasprintf("found at the CA by recovery of run %" PRId64,
	    a->run->id);
	cert_fingerprint_sha256(cert, fp);
	struct cert_record c = {
		.serial_hex = serial,
		.device_serial = a->run->device_serial,
		.fingerprint_sha256 = fp,
		.subject = subject,
		.issuer = issuer,
		.not_before = cert_not_before(cert),
		.not_after = cert_not_after(cert),
		.backend = (char *)ca_name(a->st->ca),
		.pem = pem,
		.status_note = note,
		.issuer_key_id = issuer_key_id,
	};
	a->err = ledger_cert_issued(a->st->ledger, a->run->id, &c, &a->cause);
	if (a->err == ST_OK) {
		char *text = xasprintf("certificate %s was issued by the CA "
				       "but not recorded; recorded by recovery",
		    serial);

		log_warn("run %" PRId64 ": %s", a->run->id, text);
		ledger_run_event(a->st->ledger, a->run->id, "recovery",
		    LEDGER_EV_INFO, text, NULL);
		free(text);
		free(a->serial);
		a->serial = serial;
		serial = NULL;
	}
	free(serial);
	free(pem);
	free(subject);
	free(issuer);
	free(issuer_key_id);
	free(note);
	return a->err != ST_OK;
}

/* Record the intent (when still live), then revoke where possible. */
static st_err
settle_cert(struct station *st, const char *serial, const char *note,
    char **cause)
{
	enum settle_outcome outcome;
	char *why = NULL;
	st_err err = cert_settle(st, serial, note, &outcome, &why, cause);

	if (err == ST_OK && outcome == SETTLE_NOT_REVOKED)
		log_warn("certificate %s not revoked yet: %s", serial, why);
	free(why);
	return err;
}

/* 1 if the certificate's note holds the CA's word that it cannot revoke
 * it (settle.h). */
static int
said_cannot(struct station *st, const char *serial)
{
	struct cert_record c = { 0 };
	int said = 0;

	if (ledger_cert_get(st->ledger, serial, &c, NULL) == ST_OK)
		said = c.status_note != NULL &&
		    strstr(c.status_note, SETTLE_CANNOT_MARK) != NULL;
	ledger_cert_record_clear(&c);
	return said;
}

/*
 * Finish every revocation recorded but not done, whatever the state of
 * the run that decided it (a superseded certificate belongs to an older
 * run; the deciding run may have ended before the CA answered).  A CA
 * that cannot be reached ends the pass: the next start tries again rather
 * than waiting out one timeout per certificate.  A CA refusing one
 * certificate does not hold up the others, and one that said it cannot
 * revoke a certificate (its note says so: cert_revoke_finish) is not
 * asked about it again; `station revoke` still can.
 */
static st_err
finish_revocations(struct station *st, char **cause)
{
	char **serials = NULL;
	size_t n = 0;
	st_err err = ledger_revoke_pending(st->ledger, ca_name(st->ca),
	    &serials, &n, cause);

	for (size_t i = 0; err == ST_OK && i < n; i++) {
		enum settle_outcome outcome;
		st_err ca_err = ST_OK;
		char *why = NULL;

		/* The CA said it cannot revoke this one (a hub that replaced
		 * it): asking again at every start changes nothing. */
		if (said_cannot(st, serials[i]))
			continue;
		err = cert_revoke_finish(st, serials[i], &outcome, &ca_err,
		    &why, cause);
		if (err == ST_OK && outcome == SETTLE_REVOKED)
			log_warn("certificate %s: revocation recorded before a "
				 "stop, finished by recovery",
			    serials[i]);
		if (err == ST_OK && outcome == SETTLE_NOT_REVOKED &&
		    ca_err != ST_E_UNSUPPORTED)
			log_warn("certificate %s not revoked yet: %s",
			    serials[i], why);
		free(why);
		if (err == ST_OK && outcome == SETTLE_NOT_REVOKED &&
		    (ca_err == ST_E_TIMEOUT || ca_err == ST_E_HANGUP))
			break; /* the CA cannot now: stop the pass */
	}
	ledger_serials_free(serials, n);
	return err;
}

static st_err
recover_run(struct station *st, const struct open_run *run, char **cause)
{
	enum step step = interrupted_step(run);
	char *reason =
	    xasprintf("station stopped during step %s", step_name(step));
	char *note = xasprintf("run %" PRId64 ": %s", run->id, reason);
	struct adopt a = { .st = st, .run = run };
	char *why = NULL;
	st_err err = ST_OK;

	if (run->cert_serial == NULL && run->ca_key_sha256 != NULL) {
		struct ca_lookup q = { .key_sha256 = run->ca_key_sha256,
			.device_serial = run->device_serial,
			.serial_hex = run->ca_serial };

		err = ca_find_issued(st->ca, &q, adopt_cb, &a, &why);
		/* A backend that cannot look back leaves nothing to adopt:
		 * the run still ends, and the log says where to look. */
		if (err == ST_E_UNSUPPORTED) {
			log_warn("run %" PRId64
				 " (device %s): the CA may hold a "
				 "certificate for key SHA-256 %s that the "
				 "station never recorded (%s): find it at the "
				 "CA by the device and the run's time, and "
				 "revoke it there",
			    run->id,
			    run->device_serial ? run->device_serial : "?",
			    run->ca_key_sha256, why ? why : "no lookup");
			err = ST_OK;
		}
		if (err)
			st_fail(cause, err, "%s", why ? why : st_strerror(err));
		if (err == ST_OK && a.err != ST_OK) {
			err = a.err;
			st_fail(cause, err, "%s", a.cause);
		}
		if (err)
			goto out;
	}
	const char *serial = run->cert_serial ? run->cert_serial : a.serial;
	if (serial != NULL)
		err = settle_cert(st, serial, note, cause);
	if (err)
		goto out;
	err = ledger_run_event(st->ledger, run->id, "recovery", LEDGER_EV_INFO,
	    reason, cause);
	if (err == ST_OK)
		err = ledger_run_finish(st->ledger, run->id, "FAIL",
		    step_name(step), st_errname(ST_E_STATE), reason, cause);
	if (err == ST_OK)
		log_warn("run %" PRId64 " (device %s) finished as FAIL: %s",
		    run->id, run->device_serial ? run->device_serial : "?",
		    reason);
out:
	free(why);
	free(a.serial);
	free(a.cause);
	free(note);
	free(reason);
	return err;
}

/*
 * Whether a run's owner is gone.  A run with a token: its owner's lock
 * decides, and when it could be taken `c` holds it while the run is
 * recovered (owner.h).  A run from before schema 4 has only a pid and
 * start time: the old rule, which trusts /proc (docs/reliability.md).
 */
static st_err
owner_is_gone(struct station *st, const struct open_run *run, int *gone,
    struct owner_claim *c, char **cause)
{
	c->fd = -1;
	c->path = NULL;
	if (run->owner_token == NULL) {
		*gone = !proc_is_alive(run->owner_pid, run->owner_start);
		return ST_OK;
	}
	if (!owner_token_valid(run->owner_token)) {
		char *shown = text_escape(run->owner_token, 64);

		/* No process can hold the lock of a name that is not a
		 * token: no owner can be shown alive. */
		log_warn("run %" PRId64 ": owner token '%s' is malformed; "
			 "taken as dead",
		    run->id, shown);
		free(shown);
		*gone = 1;
		return ST_OK;
	}
	return owner_claim(st->cfg->home, run->owner_token, gone, c, cause);
}

/*
 * The run `id` as the ledger holds it now, once its owner is known dead:
 * the listing was made while the owner may still have been working (it
 * may have recorded a certificate or finished the run since).  *found = 0
 * when the run is no longer running.  *out is owned (ledger_open_runs_free
 * with n = 1).
 */
static st_err
reread_run(struct station *st, int64_t id, struct open_run **out, int *found,
    char **cause)
{
	struct open_run *runs = NULL;
	size_t n = 0;
	st_err err = ledger_open_runs(st->ledger, &runs, &n, cause);

	*out = NULL;
	*found = 0;
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		if (runs[i].id != id)
			continue;
		*out = xmalloc(sizeof **out);
		**out = runs[i];
		memset(&runs[i], 0, sizeof runs[i]);
		*found = 1;
		break;
	}
	ledger_open_runs_free(runs, n);
	return ST_OK;
}

st_err
station_recover(struct station *st, int *recovered, char **cause)
{
	struct open_run *runs = NULL;
	size_t n = 0;
	int done = 0, fd;
	st_err err, first = ST_OK;

	if (recovered)
		*recovered = 0;
	char *lock = xasprintf("%s/recover.lock", st->cfg->home);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		err = st_fail(cause, ST_E_IO, "cannot lock %s: %s", lock,
		    strerror(errno));
		goto out;
	}
	/* Listed under the lock: a run another recovery finished meanwhile
	 * is no longer 'running'. */
	err = ledger_open_runs(st->ledger, &runs, &n, cause);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct owner_claim claim;
		struct open_run *now = NULL;
		char *why = NULL;
		int gone = 0, still = 0;

		err = owner_is_gone(st, &runs[i], &gone, &claim, &why);
		if (err == ST_OK && gone)
			err = reread_run(st, runs[i].id, &now, &still, &why);
		if (err == ST_OK && still)
			err = recover_run(st, now, &why);
		if (err == ST_OK && still) {
			done++;
		} else if (err && first == ST_OK) {
			first = err;
			st_fail(cause, err, "recovering run %" PRId64 ": %s",
			    runs[i].id, why);
		}
		ledger_open_runs_free(now, now ? 1 : 0);
		owner_claim_release(&claim);
		free(why);
	}
	if (first == ST_OK) {
		err = finish_revocations(st, cause);
		if (err)
			first = st_wrap(cause, err, "finishing revocations");
	}
	/* Lock files of processes killed outside a run (or whose runs were
	 * all recovered above) go too. */
	err = owner_sweep(st->cfg->home, NULL, first ? NULL : cause);
	if (first)
		err = first;
out:
	ledger_open_runs_free(runs, n);
	if (fd >= 0)
		close(fd); /* releases the flock */
	free(lock);
	if (recovered)
		*recovered = done;
	return err;
}
