/*
 * Crash recovery (station/recover.h) with real parts: a real ledger file,
 * the real local CA, and owner processes that really lived and died.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/pipeline/owner.h"
#include "station/pipeline/recover.h"
#include "station/pipeline/station.h"
#include "station/util/xalloc.h"
#include "tests/support/ledger_checks.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "tests/support/scratch.h"

struct fx {
	char *tmp;
	struct station *st;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);
	char *cause = NULL;

	f->tmp = scratch_dir();
	setenv("STATION_HOME", f->tmp, 1);
	setenv("STATION_DEMO", "1", 1); /* no --config: a demo station */
	if (station_open(NULL, &f->st, &cause) != ST_OK) {
		fprintf(stderr, "station_open: %s\n", cause);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	station_close(f->st);
	scratch_rmtree(f->tmp);
	free(f->tmp);
	free(f);
	return 0;
}

static int64_t
begin_owned_run(struct station *st, int64_t pid, int64_t start,
    const char *token, const char *serial)
{
	struct run_start s = {
		.station_id = "st-test",
		.device_uri = "tcp:127.0.0.1:1",
		.owner_pid = pid,
		.owner_start = start,
		.owner_token = token,
	};
	struct device_record d = { .serial = serial };
	int64_t id = 0;

	assert_int_equal(ledger_run_begin(st->ledger, &s, &id, NULL), ST_OK);
	assert_int_equal(ledger_run_device(st->ledger, id, &d, NULL), ST_OK);
	return id;
}

/* A run as recorded before schema 4: pid and start time, no token. */
static int64_t
begin_run(struct station *st, int64_t pid, int64_t start, const char *serial)
{
	return begin_owned_run(st, pid, start, NULL, serial);
}

static void
reopen(struct fx *f)
{
	station_close(f->st);
	f->st = NULL;
	assert_int_equal(station_open(NULL, &f->st, NULL), ST_OK);
}

static void
test_proc_start_time_tells_live_from_dead(void **state)
{
	(void)state;
	int64_t me = proc_start_time(getpid());
	pid_t gone = proc_dead_pid();

	assert_true(me > 0);
	assert_int_equal(proc_start_time(gone), 0);
	assert_true(proc_is_alive(getpid(), me));
	assert_false(proc_is_alive(gone, me));
	/* The same pid with another start time is another process. */
	assert_false(proc_is_alive(getpid(), me + 1));
}

/* The station dies after the CA issued (index fsynced) but before the
 * ledger recorded the certificate: recovery finds it by the key recorded
 * as the intent, records it, revokes it and fails the run. */
static void
test_kill_between_ca_and_ledger_is_reconciled(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	X509_REQ *csr = pki_make_csr(&(struct pki_csr_spec){ .key = key,
	    .subject = "C=US,O=Example-Org,OU=IoT-Device,CN=REC-1" });
	struct profile p;
	struct ca_issued issued = { 0 };
	size_t spki_len = 0;
	uint8_t *spki = pki_spki(key, &spki_len);
	char sha[65];

	pki_profile(&p);
	spki_sha256_hex(spki, spki_len, sha);
	int64_t id = begin_run(f->st, proc_dead_pid(), 1, "REC-1");
	assert_int_equal(ledger_run_event(f->st->ledger, id, "csr-policy",
			     LEDGER_EV_OK, NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_ca_request(f->st->ledger, id, sha, NULL),
	    ST_OK);
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = "REC-1",
		.deadline = deadline_in(test_ms(5000)) };
	assert_int_equal(ca_sign(f->st->ca, &req, &issued, NULL), ST_OK);
	/* ...and the station is gone: the CA knows a certificate the
	 * ledger does not (the window this recovery closes). */
	assert_int_equal(check_ca_index_recorded(f->st->cfg->ledger_path,
			     f->st->cfg->ca_dir),
	    1);

	reopen(f);
	assert_int_equal(check_ca_index_recorded(f->st->cfg->ledger_path,
			     f->st->cfg->ca_dir),
	    0);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(f->st->ledger, issued.serial_hex, &c,
			     NULL),
	    ST_OK);
	assert_string_equal(c.status, "revoked");
	assert_int_equal(c.run_id, id);
	assert_string_equal(c.device_serial, "REC-1");
	ledger_cert_record_clear(&c);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(f->st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.failed_step, "ca-sign");
	assert_string_equal(r.reason, "station stopped during step ca-sign");
	assert_string_equal(r.cert_serial, issued.serial_hex);
	ledger_run_record_clear(&r);
	assert_int_equal(check_no_running(f->st->cfg->ledger_path), 0);

	ca_issued_clear(&issued);
	free(spki);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
}

/* A certificate recorded but never proven on the device is orphaned and
 * then revoked; the run names the step it was in. */
static void
test_recorded_certificate_of_dead_run_is_revoked(void **state)
{
	struct fx *f = *state;
	EVP_PKEY *key = pki_key_ec("P-256");
	X509_REQ *csr = pki_make_csr(&(struct pki_csr_spec){ .key = key,
	    .subject = "C=US,O=Example-Org,OU=IoT-Device,CN=REC-2" });
	struct profile p;
	struct ca_issued issued = { 0 };
	char fp[65];

	pki_profile(&p);
	int64_t id = begin_run(f->st, proc_dead_pid(), 1, "REC-2");
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = "REC-2",
		.deadline = deadline_in(test_ms(5000)) };
	assert_int_equal(ca_sign(f->st->ca, &req, &issued, NULL), ST_OK);
	cert_fingerprint_sha256(issued.cert, fp);
	char *pem = cert_to_pem(issued.cert);
	struct cert_record in = { .serial_hex = issued.serial_hex,
		.fingerprint_sha256 = fp,
		.subject = "CN=REC-2",
		.issuer = "CN=x",
		.pem = pem };
	assert_int_equal(ledger_cert_issued(f->st->ledger, id, &in, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_event(f->st->ledger, id, "write",
			     LEDGER_EV_OK, NULL, NULL),
	    ST_OK);

	reopen(f);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(f->st->ledger, issued.serial_hex, &c,
			     NULL),
	    ST_OK);
	assert_string_equal(c.status, "revoked");
	ledger_cert_record_clear(&c);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(f->st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.reason, "station stopped during step readback");
	ledger_run_record_clear(&r);
	free(pem);
	ca_issued_clear(&issued);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
}

/* Issue a certificate for `cn` at the local CA and record it for run
 * `id`; returns its serial (new). */
static char *
issue_recorded(struct fx *f, int64_t id, const char *cn)
{
	EVP_PKEY *key = pki_key_ec("P-256");
	char *subject = xasprintf("C=US,O=Example-Org,CN=%s", cn);
	X509_REQ *csr = pki_make_csr(
	    &(struct pki_csr_spec){ .key = key, .subject = subject });
	struct profile p;
	struct ca_issued issued = { 0 };
	char fp[65];

	pki_profile(&p);
	struct ca_request req = { .csr = csr,
		.profile = &p,
		.device_serial = cn,
		.deadline = deadline_in(test_ms(5000)) };
	assert_int_equal(ca_sign(f->st->ca, &req, &issued, NULL), ST_OK);
	cert_fingerprint_sha256(issued.cert, fp);
	char *pem = cert_to_pem(issued.cert);
	struct cert_record in = { .serial_hex = issued.serial_hex,
		.fingerprint_sha256 = fp,
		.subject = subject,
		.issuer = "CN=x",
		.pem = pem,
		.backend = "local" };
	assert_int_equal(ledger_cert_issued(f->st->ledger, id, &in, NULL),
	    ST_OK);
	char *serial = xstrdup(issued.serial_hex);
	free(pem);
	ca_issued_clear(&issued);
	X509_REQ_free(csr);
	free(subject);
	EVP_PKEY_free(key);
	return serial;
}

/* A finished run whose certificate reached 'verified'. */
static char *
verified_cert(struct fx *f, const char *cn)
{
	int64_t id = begin_run(f->st, getpid(), proc_start_time(getpid()), cn);
	char *serial = issue_recorded(f, id, cn);

	assert_int_equal(ledger_cert_set_status(f->st->ledger, serial,
			     "written", NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_cert_set_status(f->st->ledger, serial,
			     "verified", NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->st->ledger, id, "PASS", NULL,
			     NULL, NULL, NULL),
	    ST_OK);
	return serial;
}

/*
 * Stops between the two halves of a revocation, after the runs that
 * decided them had ended: one after the CA revoked (the ledger still says
 * 'superseded'), one before (the ledger says 'orphaned', the CA knows
 * nothing).  The next start finishes both, once each at the CA, and
 * revokes nothing else: a proven certificate of the same device stays
 * verified.
 */
static void
test_recorded_revocations_are_finished_and_nothing_else(void **state)
{
	struct fx *f = *state;
	char *old = verified_cert(f, "REC-5");
	char *current = verified_cert(f, "REC-5");
	char *other = verified_cert(f, "REC-6");
	int64_t id =
	    begin_run(f->st, getpid(), proc_start_time(getpid()), "REC-7");
	char *orphan = issue_recorded(f, id, "REC-7");

	assert_int_equal(ledger_cert_set_status(f->st->ledger, old,
			     "superseded", "KEYGEN in a later run", NULL),
	    ST_OK);
	assert_int_equal(ca_revoke(f->st->ca, old, "superseded", NULL), ST_OK);
	assert_int_equal(ledger_orphan_open_certs(f->st->ledger, id, "failed",
			     NULL, NULL),
	    ST_OK);
	assert_int_equal(ledger_run_finish(f->st->ledger, id, "FAIL", "write",
			     NULL, NULL, NULL),
	    ST_OK);
	/* The CA and the ledger disagree on `old` now. */
	assert_int_equal(check_ca_revoked_agrees(f->st->cfg->ledger_path,
			     f->st->cfg->ca_dir),
	    1);

	reopen(f);
	struct cert_record c = { 0 };
	assert_int_equal(ledger_cert_get(f->st->ledger, old, &c, NULL), ST_OK);
	assert_string_equal(c.status, "revoked");
	assert_string_equal(c.revoke_reason, "superseded");
	assert_string_equal(c.status_note, "KEYGEN in a later run");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->st->ledger, orphan, &c, NULL),
	    ST_OK);
	assert_string_equal(c.status, "revoked");
	assert_string_equal(c.revoke_reason, "cessationOfOperation");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->st->ledger, current, &c, NULL),
	    ST_OK);
	assert_string_equal(c.status, "verified");
	ledger_cert_record_clear(&c);
	assert_int_equal(ledger_cert_get(f->st->ledger, other, &c, NULL),
	    ST_OK);
	assert_string_equal(c.status, "verified");
	ledger_cert_record_clear(&c);
	/* Revoked at the CA exactly once each, and nothing else. */
	assert_int_equal(check_ca_revoked_agrees(f->st->cfg->ledger_path,
			     f->st->cfg->ca_dir),
	    0);
	free(old);
	free(current);
	free(other);
	free(orphan);
}

/* A run from before schema 4 (no token) keeps the /proc rule: its owner
 * still runs (here: this very process) and it is left alone; a reused pid
 * is not an owner. */
static void
test_runs_of_live_processes_are_not_recovered(void **state)
{
	struct fx *f = *state;
	int64_t me = proc_start_time(getpid());
	int64_t live = begin_run(f->st, getpid(), me, "REC-3");
	int64_t reused = begin_run(f->st, getpid(), me + 7, "REC-4");
	int n = -1;

	assert_int_equal(station_recover(f->st, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(f->st->ledger, live, &r, NULL), ST_OK);
	assert_string_equal(r.result, "running");
	ledger_run_record_clear(&r);
	assert_int_equal(ledger_run_get(f->st->ledger, reused, &r, NULL),
	    ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.reason, "station stopped during step connect");
	ledger_run_record_clear(&r);
	assert_int_equal(ledger_run_finish(f->st->ledger, live, "PASS", NULL,
			     NULL, NULL, NULL),
	    ST_OK);
	assert_int_equal(check_ledger_intact(f->st->cfg->ledger_path), 0);
}

/* A process holding an owner lock under `home`, as a station would; it
 * sends its token and, unless `stay`, dies at once without cleaning up
 * (as after SIGKILL).  With `stay` it lives until *release is closed. */
static pid_t
spawn_owner(const char *home, int stay, char token[OWNER_TOKEN_LEN + 1],
    int *release)
{
	int tok[2], hold[2];

	assert_int_equal(pipe(tok), 0);
	assert_int_equal(pipe(hold), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct owner *o = NULL;
		char c;

		close(tok[0]);
		close(hold[1]);
		if (owner_acquire(home, &o, NULL) != ST_OK)
			_exit(1);
		if (write(tok[1], owner_token(o), OWNER_TOKEN_LEN) !=
		    OWNER_TOKEN_LEN)
			_exit(1);
		while (stay && read(hold[0], &c, 1) > 0)
			;
		_exit(0); /* no owner_free: the lock file stays behind */
	}
	close(tok[1]);
	close(hold[0]);
	assert_int_equal(read(tok[0], token, OWNER_TOKEN_LEN), OWNER_TOKEN_LEN);
	token[OWNER_TOKEN_LEN] = '\0';
	close(tok[0]);
	*release = hold[1];
	return pid;
}

static int
lock_file_exists(const char *home, const char *token)
{
	char *path = xasprintf("%s/owners/%s.lock", home, token);
	int there = access(path, F_OK) == 0;

	free(path);
	return there;
}

/* The owner lock decides, not the pid: a run whose owner process holds
 * its lock is left alone even when the recorded pid is of a dead process
 * (what a recovery in another PID namespace sees); once that process is
 * gone its run is recovered, its serial released and its lock file
 * removed. */
static void
test_owner_lock_decides_not_the_pid(void **state)
{
	struct fx *f = *state;
	const char *home = f->st->cfg->home;
	char token[OWNER_TOKEN_LEN + 1];
	struct serial_claim c;
	int release = -1, n = -1;
	pid_t owner = spawn_owner(home, 1, token, &release);
	int64_t id = begin_owned_run(f->st, proc_dead_pid(), 1, token, "OWN-1");

	assert_int_equal(ledger_serial_reserve(f->st->ledger, id, "OWN-1", 1,
			     &c, NULL),
	    ST_OK);
	ledger_serial_claim_clear(&c);
	assert_int_equal(station_recover(f->st, &n, NULL), ST_OK);
	assert_int_equal(n, 0);
	struct run_record r = { 0 };
	assert_int_equal(ledger_run_get(f->st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "running");
	ledger_run_record_clear(&r);
	assert_true(lock_file_exists(home, token));

	close(release);
	assert_int_equal(proc_wait_ms(owner, 10000), 0);
	assert_int_equal(station_recover(f->st, &n, NULL), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(ledger_run_get(f->st->ledger, id, &r, NULL), ST_OK);
	assert_string_equal(r.result, "FAIL");
	assert_string_equal(r.reason, "station stopped during step connect");
	ledger_run_record_clear(&r);
	assert_false(lock_file_exists(home, token));
	/* The dead run's serial is free for the next board. */
	int64_t next = begin_owned_run(f->st, getpid(), 0,
	    owner_token(f->st->owner), "OWN-1");
	assert_int_equal(ledger_serial_reserve(f->st->ledger, next, "OWN-1", 1,
			     &c, NULL),
	    ST_OK);
	ledger_serial_claim_clear(&c);
	assert_int_equal(ledger_run_finish(f->st->ledger, next, "PASS", NULL,
			     NULL, NULL, NULL),
	    ST_OK);
	assert_int_equal(check_ledger_intact(f->st->cfg->ledger_path), 0);
}

/* This process's own runs survive its own recovery, and afterwards its
 * lock is still held: another open of the lock file cannot take it
 * (with classic POSIX locks, recovery closing its descriptor would have
 * dropped the lock). */
static void
test_own_recovery_keeps_own_lock(void **state)
{
	struct fx *f = *state;
	const char *token = owner_token(f->st->owner);
	struct owner_claim claim;
	int dead = -1, n = -1;

	assert_non_null(token);
	int64_t id = begin_owned_run(f->st, getpid(), 0, token, "OWN-2");
	assert_int_equal(station_recover(f->st, &n, NULL), ST_OK);
	assert_int_equal(n, 0);
	assert_int_equal(owner_claim(f->st->cfg->home, token, &dead, &claim,
			     NULL),
	    ST_OK);
	assert_int_equal(dead, 0);
	owner_claim_release(&claim);
	assert_true(lock_file_exists(f->st->cfg->home, token));
	assert_int_equal(ledger_run_finish(f->st->ledger, id, "PASS", NULL,
			     NULL, NULL, NULL),
	    ST_OK);
}

/* A lock file left by a process killed outside any run is swept by the
 * next recovery; a live process's is not. */
static void
test_dead_owners_lock_files_are_swept(void **state)
{
	struct fx *f = *state;
	const char *home = f->st->cfg->home;
	char gone[OWNER_TOKEN_LEN + 1], live[OWNER_TOKEN_LEN + 1];
	int rel_gone = -1, rel_live = -1;
	pid_t p_gone = spawn_owner(home, 0, gone, &rel_gone);
	pid_t p_live = spawn_owner(home, 1, live, &rel_live);

	assert_int_equal(proc_wait_ms(p_gone, 10000), 0);
	assert_true(lock_file_exists(home, gone));
	assert_int_equal(station_recover(f->st, NULL, NULL), ST_OK);
	assert_false(lock_file_exists(home, gone));
	assert_true(lock_file_exists(home, live));
	assert_true(lock_file_exists(home, owner_token(f->st->owner)));
	close(rel_gone);
	close(rel_live);
	assert_int_equal(proc_wait_ms(p_live, 10000), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_start_time_tells_live_from_dead),
		cmocka_unit_test_setup_teardown(
		    test_kill_between_ca_and_ledger_is_reconciled, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recorded_certificate_of_dead_run_is_revoked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_recorded_revocations_are_finished_and_nothing_else,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_runs_of_live_processes_are_not_recovered, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_owner_lock_decides_not_the_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_own_recovery_keeps_own_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dead_owners_lock_files_are_swept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
