/* Clock plausibility before issuing (see clock_check.h). */
#include "station/pipeline/clock_check.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <unistd.h>

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
ca_date(const struct config *cfg, int64_t now, struct deadline dl,
    struct finding *f)
{
	struct ca_settings s = { .dir = cfg->ca_dir, .extra = cfg->ca_extra };
	const char *addr = ca_settings_get(&s, "addr");
	struct http_opts o = { 0 };
	char *why = NULL, mine[21], theirs[21];
	long long date = 0;
	st_err err;

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

/* Connect a non-blocking socket by the deadline: 0 when connected. */
static int
connect_by(int fd, const struct addrinfo *ai, struct deadline dl)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int soerr = 0;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	if (poll(&p, 1, deadline_left_ms(dl)) != 1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return -1;
	return soerr == 0 ? 0 : -1;
}

/* A TCP connection to host:port by the deadline; -1 with *why. */
static int
tcp_connect(const char *host, int port, struct deadline dl, char **why)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char service[8];
	int fd = -1, rc;

	snprintf(service, sizeof service, "%d", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc != 0) {
		*why =
		    xasprintf("cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (struct addrinfo *ai = res; ai != NULL && fd < 0;
	     ai = ai->ai_next) {
		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect_by(fd, ai, dl) != 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		*why = xasprintf("no connection to the broker at %s:%d", host,
		    port);
		return -1;
	}
	/* Blocking from here, each read and write bounded by what is left
	 * of the deadline. */
	struct timeval tv = { .tv_sec = deadline_left_ms(dl) / 1000,
		.tv_usec = (deadline_left_ms(dl) % 1000) * 1000 };
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* The certificates the broker presented, whatever their verification
 * (the callback accepts everything: this connection only looks). */
struct presented {
	X509 *leaf;
	STACK_OF(X509) * chain;
};

static int
keep_presented(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct presented *p = SSL_get_app_data(ssl);

	(void)ok;
	if (p->leaf == NULL) {
		p->leaf = X509_STORE_CTX_get0_cert(xs);
		X509_up_ref(p->leaf);
		p->chain = X509_chain_up_ref(X509_STORE_CTX_get0_untrusted(xs));
	}
	return 1;
}

/* Does `p` chain to the broker CA, times aside?  A certificate anyone
 * could present says nothing about the time. */
static int
chains_to(const char *ca_file, const struct presented *p)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	int ok = 0;

	if (store == NULL || xs == NULL ||
	    X509_STORE_load_file(store, ca_file) != 1 ||
	    X509_STORE_CTX_init(xs, store, p->leaf, p->chain) != 1)
		goto out;
	X509_STORE_CTX_set_flags(xs, X509_V_FLAG_NO_CHECK_TIME);
	ok = X509_verify_cert(xs) == 1;
out:
	X509_STORE_CTX_free(xs);
	X509_STORE_free(store);
	ERR_clear_error();
	return ok;
}

/* The broker's certificate, if it chains to its CA; NULL with *why. */
X509 *
broker_presented_cert(const struct config_broker *b, struct deadline dl,
    char **why)
{
	struct presented p = { 0 };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	int fd = tcp_connect(b->host, b->port, dl, why);

	if (fd < 0 || ctx == NULL)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, keep_presented);
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		goto out;
	SSL_set_app_data(ssl, &p);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl,
	    b->server_name ? b->server_name : b->host);
	/* The handshake may fail later (the broker wants a client
	 * certificate this connection does not have): the certificate
	 * arrived before that. */
	SSL_connect(ssl);
	if (p.leaf == NULL)
		*why = xasprintf("the broker at %s:%d presented no certificate",
		    b->host, b->port);
	else if (!chains_to(b->ca_file, &p))
		*why = xasprintf("the broker's certificate does not chain to "
				 "the broker CA (%s)",
		    b->ca_file);
	else
		leaf = p.leaf;
out:
	if (leaf == NULL && fd >= 0 && *why == NULL)
		*why = xstrdup("the TLS library failed");
	if (leaf == NULL)
		X509_free(p.leaf);
	sk_X509_pop_free(p.chain, X509_free);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	return leaf;
}

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
broker_validity(const struct config *cfg, int64_t now, struct deadline dl,
    struct finding *f)
{
	char *why = NULL, mine[21], from[21], to[21];
	X509 *leaf = NULL;
	int64_t nb, na;

	f->ok = 1;
	if (cfg->broker.host == NULL)
		return;
	leaf = broker_presented_cert(&cfg->broker, dl, &why);
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
ntp_sync(const struct config *cfg, int64_t now, struct deadline dl,
    struct finding *f)
{
	struct timex tx = { 0 }; /* modes 0: read only, no privilege */
	char mine[21];
	int state = adjtimex(&tx);

	(void)cfg;
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
	void (*read)(const struct config *cfg, int64_t now, struct deadline dl,
	    struct finding *f);
	int remote;
} sources[] = {
	{ "clock_ntp_sync", offsetof(struct config, clock_ntp_sync), ntp_sync,
	    0 },
	{ "clock_ca_date", offsetof(struct config, clock_ca_date), ca_date, 1 },
	{ "clock_broker_cert", offsetof(struct config, clock_broker_cert),
	    broker_validity, 1 },
};

st_err
clock_check_run(const struct config *cfg, int64_t now, struct deadline dl,
    clock_note_fn note, void *ctx, char **cause)
{
	struct finding f = { 0 };
	st_err err = ST_OK;

	for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
		const struct source *s = &sources[i];
		int level =
		    *(const int *)(const void *)((const char *)cfg + s->level);

		if (level == CLOCK_CHECK_OFF)
			continue;
		s->read(cfg, now, s->remote ? half_of(dl) : dl, &f);
		if (f.unread != NULL)
			unread(level, s->name, f.unread, note, ctx);
		err = judge(level, s->name, &f, note, ctx, cause);
		finding_clear(&f);
		if (err)
			break;
	}
	return err;
}
