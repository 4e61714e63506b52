/* The broker's certificate, read with one TLS handshake and kept for a
 * while (see broker_cert.h). */
#include "station/pipeline/broker_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "station/tls/extkey.h"
#include "station/util/xalloc.h"

struct broker_cert_memo {
	pthread_mutex_t mu;
	X509 *cert; /* NULL: nothing kept */
	char *host; /* what it was read from (owned) */
	int port;
	char *ca_file;	/* owned, may be NULL */
	uint64_t at_ms; /* monotonic, when it was read */
	/* broker_cert_cancel: the socket of the handshake begun last (-1:
	 * none), shut down to end it; once cancelled, no new one begins. */
	int busy_fd;
	int cancelled;
};

/* Track `fd` as the handshake's socket: 0, or -1 when the memo was
 * cancelled (the caller gives up).  `m` NULL: nothing to track. */
static int
track(struct broker_cert_memo *m, int fd)
{
	int rc = 0;

	if (m == NULL)
		return 0;
	pthread_mutex_lock(&m->mu);
	if (m->cancelled)
		rc = -1;
	else
		m->busy_fd = fd;
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* Forget `fd` before it is closed, so that a cancel never shuts down a
 * descriptor number that has been reused; another thread's socket
 * tracked since stays tracked. */
static void
untrack(struct broker_cert_memo *m, int fd)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	if (m->busy_fd == fd)
		m->busy_fd = -1;
	pthread_mutex_unlock(&m->mu);
}

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

/* A TCP connection to host:port by the deadline, tracked in `m` (see
 * track; NULL: not tracked); -1 with *why. */
static int
tcp_connect(const char *host, int port, struct deadline dl,
    struct broker_cert_memo *m, char **why)
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
		if (track(m, fd) != 0) {
			close(fd);
			fd = -1;
			break;
		}
		if (connect_by(fd, ai, dl) != 0) {
			untrack(m, fd);
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

/* The certificates the broker presented, whatever their verification.
 * The callback keeps them at its first call and ends the handshake
 * there: this connection only looks, and the rest of a handshake (the
 * broker's signature checked, the Finished messages, an empty
 * certificate of ours the broker refuses) is of no use to it. */
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
	return 0;
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

/* The broker's certificate, if it chains to its CA; NULL with *why.  The
 * handshake's socket is tracked in `m` (NULL: not tracked). */
static X509 *
presented_cert(const struct config_broker *b, struct deadline dl,
    struct broker_cert_memo *m, char **why)
{
	struct presented p = { 0 };
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *leaf = NULL;
	/* Connected first: the broker accepts while the context is made. */
	int fd = tcp_connect(b->host, b->port, dl, m, why);

	if (fd < 0)
		goto out;
	/* In the smoke test's library context (extkey.h): its algorithm
	 * tables are then set up here, on the start check's thread beside
	 * the opening of the station, not on the run's path. */
	ctx = SSL_CTX_new_ex(extkey_libctx(NULL), NULL, TLS_client_method());
	if (ctx == NULL)
		goto out;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, keep_presented);
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		goto out;
	SSL_set_app_data(ssl, &p);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl,
	    b->server_name ? b->server_name : b->host);
	/* It ends at the broker's certificate (keep_presented). */
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
	if (fd >= 0) {
		untrack(m, fd);
		close(fd);
	}
	ERR_clear_error();
	return leaf;
}

X509 *
broker_presented_cert(const struct config_broker *b, struct deadline dl,
    char **why)
{
	return presented_cert(b, dl, NULL, why);
}

struct broker_cert_memo *
broker_cert_memo_new(void)
{
	struct broker_cert_memo *m = xcalloc(1, sizeof *m);

	pthread_mutex_init(&m->mu, NULL);
	m->busy_fd = -1;
	return m;
}

static void
memo_forget(struct broker_cert_memo *m)
{
	X509_free(m->cert);
	free(m->host);
	free(m->ca_file);
	m->cert = NULL;
	m->host = NULL;
	m->ca_file = NULL;
}

void
broker_cert_memo_free(struct broker_cert_memo *m)
{
	if (m == NULL)
		return;
	memo_forget(m);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static int
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The kept certificate for `b` if it is fresh (a new reference), else
 * NULL; under m->mu. */
static X509 *
memo_fresh(struct broker_cert_memo *m, const struct config_broker *b)
{
	if (m->cert == NULL || m->port != b->port ||
	    !same_text(m->host, b->host) || !same_text(m->ca_file, b->ca_file))
		return NULL;
	if (clock_now_ms() - m->at_ms >= BROKER_CERT_KEEP_MS)
		return NULL;
	X509_up_ref(m->cert);
	return m->cert;
}

X509 *
broker_cert_get(struct broker_cert_memo *m, const struct config_broker *b,
    struct deadline dl, char **why)
{
	X509 *cert;

	if (m == NULL)
		return broker_presented_cert(b, dl, why);
	pthread_mutex_lock(&m->mu);
	cert = memo_fresh(m, b);
	pthread_mutex_unlock(&m->mu);
	if (cert != NULL)
		return cert;
	/* Not under the lock: a handshake may take the whole deadline
	 * (broker_cert_cancel ends it sooner). */
	cert = presented_cert(b, dl, m, why);
	if (cert == NULL)
		return NULL;
	pthread_mutex_lock(&m->mu);
	memo_forget(m);
	X509_up_ref(cert);
	m->cert = cert;
	m->host = b->host ? xstrdup(b->host) : NULL;
	m->port = b->port;
	m->ca_file = b->ca_file ? xstrdup(b->ca_file) : NULL;
	m->at_ms = clock_now_ms();
	pthread_mutex_unlock(&m->mu);
	return cert;
}

void
broker_cert_cancel(struct broker_cert_memo *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->mu);
	m->cancelled = 1;
	/* Wakes a connect in progress as well as a blocked read. */
	if (m->busy_fd >= 0)
		shutdown(m->busy_fd, SHUT_RDWR);
	pthread_mutex_unlock(&m->mu);
}
