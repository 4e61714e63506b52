/* The station context (see station.h). */
#include "station/pipeline/station.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/ledger.h"
#include "station/ca/ca.h"
#include "station/ca/local.h"
#include "station/x509/cert_check.h"
#include "station/config/config.h"
#include "station/pipeline/broker_cert.h"
#include "station/pipeline/owner.h"
#include "station/config/scan_format.h"
#include "station/fleet/fleet.h"
#include "station/pipeline/recover.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "station"

/* mkdir -p with mode 0700 for the parts it creates: the state directory
 * holds the ledger and, for the local CA, its key. */
static st_err
make_dirs(const char *path, char **cause)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof buf)
		return st_fail(cause, ST_E_CONFIG, "bad state directory '%s'",
		    path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return st_fail(cause, ST_E_IO, "cannot create %s: %s",
			    buf, strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	return ST_OK;
}

static void
apply_log_level(const struct config *cfg)
{
	/* The environment wins over the file, so one run can be debugged
	 * without editing the line's configuration. */
	if (getenv("STATION_LOG") == NULL)
		log_set_level(cfg->log_level);
}

/* station_open for a command that only reads or exports the ledger: the
 * home must exist (a mistyped STATION_HOME or [station] home is an error,
 * not a fresh station); nothing but the ledger is opened, read-only when
 * `ro`. */
static st_err
open_ledger_only(struct station *st, int ro, char **cause)
{
	const char *why = "not a directory";
	struct stat sb;

	if (stat(st->cfg->home, &sb) != 0)
		why = strerror(errno);
	else if (S_ISDIR(sb.st_mode))
		why = NULL;
	if (why != NULL)
		return st_fail(cause, ST_E_CONFIG,
		    "no station home at %s (%s): %s", st->cfg->home, why,
		    !st->cfg->demo ?
			"is the configuration's [station] home right?" :
			"in demo mode the home is $STATION_HOME or ./var: "
			"is it set right?");
	/* The ledger's own causes name its path: no second prefix.  A
	 * reader of a station that has recorded nothing yet finds no file:
	 * st->ledger stays NULL (station.h), and nothing is created. */
	if (ro && access(st->cfg->ledger_path, F_OK) != 0 && errno == ENOENT)
		return ST_OK;
	if (ro)
		return ledger_open_ro(st->cfg->ledger_path,
		    st->cfg->ledger_key_path, &st->ledger, cause);
	return ledger_open_key(st->cfg->ledger_path, st->cfg->ledger_key_path,
	    &st->ledger, cause);
}

/*
 * Work beside the opening.  Two parts of station_open wait on things
 * that do not depend on each other: the start check (station_preflight:
 * a TLS handshake with the broker; it reads only the configuration and
 * the broker memo) and the ledger (SQLite parsing its schema, the key,
 * the migration check).  Each runs on a thread of its own while the main
 * thread opens the CA, so that a `station provision` process pays the
 * longest of them, not their sum.  Their verdicts are taken in the order
 * the opening had them: the ledger's before the CA's, the start check's
 * last.  A thread that cannot start leaves its work to beside_end, which
 * then does it in place.
 *
 * A thread hands its verdict over when it has it, and the opening goes
 * on: the thread's own end (OpenSSL frees the thread's state then, a
 * tenth of a millisecond and up to most of one on a busy machine) is
 * waited for only when station_close joins it.  After its verdict a
 * thread may go on with work nobody waits for: the ledger's syncs the
 * WAL's directory, which the first run's first durable point would
 * otherwise do on the run's path.
 */
typedef st_err (*beside_fn)(struct station *st, char **cause);

struct beside {
	beside_fn fn;
	/* On the thread after a verdict of ST_OK was handed over: work the
	 * opening does not wait for (NULL: none). */
	void (*after)(struct station *st);
	struct station *st; /* NULL: not begun, or its verdict taken */
	pthread_t thread;
	int running; /* the thread was started and not yet joined */
	pthread_mutex_t mu;
	pthread_cond_t done_cv;
	int done; /* the thread's verdict is in (under mu) */
	st_err err;
	char *cause;
};

static void *
beside_main(void *arg)
{
	struct beside *b = arg;
	struct station *st = b->st; /* beside_end clears b->st */
	char *cause = NULL;
	st_err err = b->fn(st, &cause);

	pthread_mutex_lock(&b->mu);
	b->err = err;
	b->cause = cause;
	b->done = 1;
	pthread_cond_signal(&b->done_cv);
	pthread_mutex_unlock(&b->mu);
	if (err == ST_OK && b->after != NULL)
		b->after(st);
	return NULL;
}

/* A new beside (owned by the station from here: station_close joins its
 * thread and frees it). */
static struct beside *
beside_begin(struct station *st, int slot, beside_fn fn,
    void (*after)(struct station *st))
{
	struct beside *b = xcalloc(1, sizeof *b);

	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->done_cv, NULL);
	b->fn = fn;
	b->after = after;
	b->st = st;
	b->running = pthread_create(&b->thread, NULL, beside_main, b) == 0;
	st->beside[slot] = b;
	return b;
}

/* Its verdict (ST_OK, or the error with *cause).  `keep` 0: the opening
 * failed, only wait for the thread's end (it uses st) and drop the
 * verdict. */
static st_err
beside_end(struct beside *b, int keep, char **cause)
{
	st_err err = ST_OK;

	if (b == NULL || b->st == NULL)
		return ST_OK;
	if (b->running && keep) {
		pthread_mutex_lock(&b->mu);
		while (!b->done)
			pthread_cond_wait(&b->done_cv, &b->mu);
		pthread_mutex_unlock(&b->mu);
		if (b->err)
			err = st_fail(cause, b->err, "%s", b->cause);
	} else if (b->running) {
		pthread_join(b->thread, NULL);
		b->running = 0;
	} else if (keep) {
		err = b->fn(b->st, cause);
	}
	b->st = NULL;
	free(b->cause);
	b->cause = NULL;
	return err;
}

/* 1 while its thread has no verdict yet (a ledger_warm_run_start
 * `more`). */
static int
beside_busy(void *arg)
{
	struct beside *b = arg;
	int busy;

	if (!b->running)
		return 0;
	pthread_mutex_lock(&b->mu);
	busy = !b->done;
	pthread_mutex_unlock(&b->mu);
	return busy;
}

/* Join its thread and free it (station_close). */
static void
beside_free(struct beside *b)
{
	if (b == NULL)
		return;
	if (b->running)
		pthread_join(b->thread, NULL);
	pthread_cond_destroy(&b->done_cv);
	pthread_mutex_destroy(&b->mu);
	free(b->cause);
	free(b);
}

static st_err
start_check(struct station *st, char **cause)
{
	return station_preflight(st, cause);
}

static st_err
open_ledger(struct station *st, char **cause)
{
	return ledger_open_key(st->cfg->ledger_path, st->cfg->ledger_key_path,
	    &st->ledger, cause);
}

/* The directory fsync of the ledger's first durable point, taken off the
 * first run's path (it waits for the disk while the opening goes on). */
static void
ledger_ready(struct station *st)
{
	ledger_sync_log_dir(st->ledger);
}

st_err
station_open(const struct station_opts *opts, struct station **out,
    char **cause)
{
	static const struct station_opts none = { .config_path = NULL };
	struct station *st = xcalloc(1, sizeof *st);
	struct beside *check = NULL, *ledger = NULL;
	st_err err;

	if (opts == NULL)
		opts = &none;

	*out = NULL;
	err = config_find(opts->config_path, opts->demo, &st->cfg, cause);
	if (err)
		goto fail;
	apply_log_level(st->cfg);
	err = scan_format_new(st->cfg->serial_pattern,
	    (enum scan_checksum)st->cfg->serial_checksum, &st->scan_format,
	    cause);
	if (err)
		goto fail;
	err = config_override_broker(st->cfg, opts->broker, opts->broker_ca,
	    cause);
	if (err)
		goto fail;
	if (st->cfg->demo)
		st->mode_note = st->cfg->broker.host == NULL ?
		    xstrdup(CONFIG_DEMO_NOTE ", no broker") :
		    xasprintf(CONFIG_DEMO_NOTE ", test broker %s:%d",
			st->cfg->broker.host, st->cfg->broker.port);
	if (opts->ledger_only) {
		err = open_ledger_only(st, opts->ledger_ro, cause);
		if (err)
			goto fail;
		*out = st;
		return ST_OK;
	}
	st->broker_memo = broker_cert_memo_new();
	if (opts->preflight)
		check = beside_begin(st, 0, start_check, NULL);
	err = make_dirs(st->cfg->home, cause);
	if (err)
		goto fail;
	/* Taken before recovery looks at the runs: from here on this
	 * process's runs are visibly owned (owner.h). */
	err = owner_acquire(st->cfg->home, &st->owner, cause);
	if (err)
		goto fail;
	ledger = beside_begin(st, 1, open_ledger, ledger_ready);
	/* A pending CA (ca init --csr-out) is not missing: ca_open says
	 * what to do with it. */
	if (ca_backend_is_made_here(st->cfg->ca_backend) &&
	    access(st->cfg->ca_root, F_OK) != 0 &&
	    !local_ca_is_pending(st->cfg->ca_dir)) {
		if (!st->cfg->demo) {
			err = st_fail(cause, ST_E_CONFIG,
			    "no local CA in %s: create it with 'station "
			    "--config %s ca init' (or the production ceremony, "
			    "docs/admin.md) or point [ca] dir at an existing "
			    "one",
			    st->cfg->ca_dir, st->cfg->path);
			goto fail;
		}
		log_warn("creating a local test CA in %s (demo mode)",
		    st->cfg->ca_dir);
		err = local_ca_init(st->cfg->ca_dir, cause);
		if (err)
			goto fail;
	}
	struct ca_settings settings = { .dir = st->cfg->ca_dir,
		.config = st->cfg->path,
		.extra = st->cfg->ca_extra };
	err = ca_open(st->cfg->ca_backend, &settings, &st->ca, cause);
	if (err) {
		st_wrap(cause, err, "opening the %s CA", st->cfg->ca_backend);
		goto fail;
	}
	/* libpq is loaded on first use: a PC without it stops here. */
	if (st->cfg->fleet.url != NULL) {
		err = fleet_lib_load(cause);
		if (err) {
			st_wrap(cause, err, "the fleet database ([fleet] url)");
			goto fail;
		}
	}
	/* The pinned root is most often the local CA's own root.pem, which
	 * the CA has just parsed. */
	st->root = local_ca_root_if_same(st->ca, st->cfg->ca_root);
	if (st->root == NULL)
		err = x509_load_pem_file(st->cfg->ca_root, &st->root, cause);
	if (err) {
		st_wrap(cause, err, "loading the pinned root %s",
		    st->cfg->ca_root);
		goto fail;
	}
	if (!st->cfg->ca_allow_test &&
	    ca_backend_is_made_here(st->cfg->ca_backend) &&
	    local_ca_root_is_test(st->cfg->ca_dir, st->root)) {
		err = st_fail(cause, ST_E_CONFIG,
		    "the CA in %s is a TEST CA (its root %s was made by this "
		    "station, not by your offline root), and [ca] "
		    "allow_test_ca is no: run the production ceremony "
		    "('station ca init --csr-out', then 'station ca install'; "
		    "docs/admin.md), or set allow_test_ca = yes on a test line",
		    st->cfg->ca_dir, st->cfg->ca_root);
		goto fail;
	}
	err = beside_end(ledger, 1, cause);
	if (err)
		goto fail;
	/* Runs a dead station left 'running' are settled before this one
	 * starts its own; a failure here must not stop the line, the log
	 * names the run (docs/reliability.md). */
	char *why = NULL;
	if (station_recover(st, &st->recovered, &why) != ST_OK) {
		log_error("crash recovery: %s", why);
		st->recovered = -1;
	} else if (st->recovered > 0) {
		log_warn("crash recovery finished %d interrupted run(s)",
		    st->recovered);
	}
	free(why);
	/* While the start check is still under way, the run's statements
	 * are compiled: the time is the check's, not the run's. */
	if (check != NULL)
		ledger_warm_run_start(st->ledger, beside_busy, check);
	err = beside_end(check, 1, cause);
	if (err)
		goto fail;
	*out = st;
	return ST_OK;
fail:
	/* The ledger's failure came before the CA's when they were opened
	 * one after the other: it still does. */
	if (ledger != NULL && ledger->st != NULL) {
		st_err ledger_err = beside_end(ledger, 1, cause);

		if (ledger_err)
			err = ledger_err;
	}
	/* Nobody reads the start check's verdict now: a broker that
	 * accepts and never answers must not hold this failure back for
	 * the check's deadline (step_timeout_ms).  A remote CA's check
	 * (libcurl) is not cut short; it has the same deadline. */
	broker_cert_cancel(st->broker_memo);
	beside_end(check, 0, NULL);
	station_close(st);
	return err;
}

void
station_close(struct station *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < sizeof st->beside / sizeof st->beside[0]; i++)
		beside_free(st->beside[i]);
	X509_free(st->root);
	scan_format_free(st->scan_format);
	ca_free(st->ca);
	ledger_close(st->ledger);
	owner_free(st->owner);
	config_free(st->cfg);
	free(st->mode_note);
	broker_cert_memo_free(st->broker_memo);
	free(st);
}

const char *
station_mode_note(const struct station *st)
{
	return st != NULL ? st->mode_note : NULL;
}
