/* Clock plausibility before issuing (see clock_check.h). */
#include "station/pipeline/clock_check.h"

#include <errno.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "station/ca/http.h"
#include "station/util/xalloc.h"

/* What one source said: a time to compare, or why it could not tell. */
struct finding {
	int ok;	      /* 1: the clock agrees (or the source proves nothing) */
	char *text;   /* what was found (owned), for a failure or a note */
	char *unread; /* why the source could not be read (owned), or NULL */
};

static void
finding_clear(struct finding *f)
{
	free(f->text);
	free(f->unread);
	memset(f, 0, sizeof *f);
}

/* A failure of a required check, or a note for the others. */
static st_err
judge(int level, const char *check, const struct finding *f, clock_note_fn note,
    void *ctx, char **cause)
{
	char *text = NULL;

	if (f->ok || level == CLOCK_CHECK_OFF)
		return ST_OK;
	if (level == CLOCK_CHECK_REQUIRE)
		return st_fail(cause, ST_E_POLICY,
		    "clock check %s: %s (if the station's clock is right, "
		    "the source is not: set %s = warn until it is fixed)",
		    check, f->text, check);
	text = xasprintf("clock check %s (warn only): %s", check, f->text);
	if (note != NULL)
		note(ctx, text);
	free(text);
	return ST_OK;
}

/* A source that could not be read proves nothing: a note whatever the
 * level (the run goes on). */
static void
unread(int level, const char *check, const char *why, clock_note_fn note,
    void *ctx)
{
	char *text = NULL;

	if (level == CLOCK_CHECK_OFF || note == NULL)
		return;
	text = xasprintf("clock check %s could not tell: %s", check, why);
	note(ctx, text);
	free(text);
}

/* ---- the CA's HTTP Date ------------------------------------------------*/

static void
ca_date(const struct config *cfg, struct broker_cert_memo *memo, int64_t now,
    struct deadline dl, struct finding *f)
{
	struct ca_settings s = { .dir = cfg->ca_dir, .extra = cfg->ca_extra };
	const char *addr = ca_settings_get(&s, "addr");
	struct http_opts o = { 0 };
	char *why = NULL, mine[21], theirs[21];
	long long date = 0;
	st_err err;

	(void)memo;
	f->ok = 1;
	if (ca_backend_is_made_here(cfg->ca_backend) || addr == NULL)
		return; /* the local CA has no clock of its own */
	err = http_opts_load(&s, &o, &why);
	if (err == ST_OK)
		err = http_server_date(&o, addr, dl, &date, &why);
	if (err == ST_OK && date == 0)
		why = xasprintf("the CA at %s sent no Date header", addr);
	if (why != NULL) {
		f->unread = why;
		why = NULL;
		goto out;
	}
	if (llabs(now - date) <= cfg->clock_skew_s)
		goto out;
	clock_iso8601_utc(mine, now);
	clock_iso8601_utc(theirs, date);
	f->ok = 0;
	f->text = xasprintf("the station's clock says %s but the CA at %s "
			    "says %s (%lld s apart, more than clock_skew_s = "
			    "%d): set the station's clock (NTP), then retry",
	    mine, addr, theirs, llabs(now - date), cfg->clock_skew_s);
out:
	free(why);
	http_opts_clear(&o);
}

/* ---- the broker certificate's validity ---------------------------------*/

/* A certificate time as unix seconds. */
static int64_t
asn1_unix(const ASN1_TIME *t)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

static void
broker_validity(const struct config *cfg, struct broker_cert_memo *memo,
    int64_t now, struct deadline dl, struct finding *f)
{
	char *why = NULL, mine[21], from[21], to[21];
	X509 *leaf = NULL;
	int64_t nb, na;

	f->ok = 1;
	if (cfg->broker.host == NULL)
		return;
	leaf = broker_cert_get(memo, &cfg->broker, dl, &why);
	if (leaf == NULL) {
		f->unread = why;
		why = NULL;
		goto out;
	}
	nb = asn1_unix(X509_get0_notBefore(leaf));
	na = asn1_unix(X509_get0_notAfter(leaf));
	if (now >= nb - cfg->clock_skew_s && now <= na + cfg->clock_skew_s)
		goto out;
	clock_iso8601_utc(mine, now);
	clock_iso8601_utc(from, nb);
	clock_iso8601_utc(to, na);
	f->ok = 0;
	f->text = xasprintf("the station's clock says %s but the broker's "
			    "certificate (%s:%d) is valid from %s to %s "
			    "(clock_skew_s = %d): set the station's clock "
			    "(NTP), or renew the broker's certificate if it "
			    "has expired",
	    mine, cfg->broker.host, cfg->broker.port, from, to,
	    cfg->clock_skew_s);
out:
	X509_free(leaf);
	free(why);
}

/* ---- the kernel's synchronised flag ------------------------------------*/

static void
ntp_sync(const struct config *cfg, struct broker_cert_memo *memo, int64_t now,
    struct deadline dl, struct finding *f)
{
	struct timex tx = { 0 }; /* modes 0: read only, no privilege */
	char mine[21];
	int state = adjtimex(&tx);

	(void)cfg;
	(void)memo;
	(void)dl;
	f->ok = 1;
	if (state == -1) {
		f->unread = xasprintf("adjtimex: %s", strerror(errno));
		return;
	}
	if (state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0)
		return;
	clock_iso8601_utc(mine, now);
	f->ok = 0;
	f->text = xasprintf("the station's clock says %s and the kernel says "
			    "it is not synchronised (NTPSynchronized=no): "
			    "start time synchronisation (systemd-timesyncd, "
			    "chrony) and wait until timedatectl shows it",
	    mine);
}

/* A source gets half of what is left, so that one that hangs leaves its
 * note (and the others their time) inside the caller's deadline. */
static struct deadline
half_of(struct deadline dl)
{
	return deadline_min(dl,
	    deadline_in((uint64_t)deadline_left_ms(dl) / 2));
}

/* The sources in the order they are asked; the remote ones get half of
 * what is left of the deadline each. */
static const struct source {
	const char *name;
	size_t level; /* offset of its enum clock_check in struct config */
	void (*read)(const struct config *cfg, struct broker_cert_memo *memo,
	    int64_t now, struct deadline dl, struct finding *f);
	int remote;
} sources[] = {
	{ "clock_ntp_sync", offsetof(struct config, clock_ntp_sync), ntp_sync,
	    0 },
	{ "clock_ca_date", offsetof(struct config, clock_ca_date), ca_date, 1 },
	{ "clock_broker_cert", offsetof(struct config, clock_broker_cert),
	    broker_validity, 1 },
};

st_err
clock_check_run(const struct config *cfg, struct broker_cert_memo *memo,
    int64_t now, struct deadline dl, clock_note_fn note, void *ctx,
    char **cause)
{
	struct finding f = { 0 };
	st_err err = ST_OK;

	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		const struct source *s = &sources[i];
		int level =
		    *(const int *)(const void *)((const char *)cfg + s->level);

		if (level == CLOCK_CHECK_OFF)
			continue;
		s->read(cfg, memo, now, s->remote ? half_of(dl) : dl, &f);
		if (f.unread != NULL)
			unread(level, s->name, f.unread, note, ctx);
		err = judge(level, s->name, &f, note, ctx, cause);
		finding_clear(&f);
		if (err)
			break;
	}
	return err;
}
