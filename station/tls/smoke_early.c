/*
 * The early smoke test (smoke.h, smoke_begin): smoke_run on a thread,
 * stopped where the handshake needs the device's identity until the step
 * hands it over.  The hand-over, the deadline and the abandonment are
 * under one mutex; the thread reads them only through the functions
 * below (smoke_int.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>

#include "station/tls/smoke_int.h"
#include "station/util/xalloc.h"

struct smoke_early {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	/* Under mu. */
	int handed;
	int abandoned;
	int waiting; /* the thread waits for the hand-over */
	struct deadline deadline;
	X509 *cert;		/* borrowed from the hand-over */
	STACK_OF(X509) * chain; /* the same */
	/* The thread's own parameters (strings owned) and, once joined,
	 * its verdict. */
	struct smoke_params p;
	struct smoke_result result;
	st_err err;
	char *cause;
};

struct deadline
smoke_deadline(const struct smoke_state *s)
{
	struct smoke_early *e = s->early;
	struct deadline dl;

	if (e == NULL)
		return s->p->deadline;
	pthread_mutex_lock(&e->mu);
	dl = e->deadline;
	pthread_mutex_unlock(&e->mu);
	return dl;
}

bool
smoke_stopped(const struct smoke_state *s)
{
	struct smoke_early *e = s->early;
	int stopped;

	if (e == NULL)
		return false;
	pthread_mutex_lock(&e->mu);
	stopped = e->abandoned;
	pthread_mutex_unlock(&e->mu);
	return stopped != 0;
}

bool
smoke_wait_handed(const struct smoke_state *s)
{
	struct smoke_early *e = s->early;
	int ok;

	if (e == NULL)
		return true;
	pthread_mutex_lock(&e->mu);
	e->waiting = 1;
	while (!e->handed && !e->abandoned && !deadline_passed(e->deadline)) {
		struct timespec ts = { .tv_sec =
					   (time_t)(e->deadline.at_ms / 1000),
			.tv_nsec =
			    (long)(e->deadline.at_ms % 1000) * 1000000L };

		pthread_cond_timedwait(&e->cv, &e->mu, &ts);
	}
	ok = e->handed && !e->abandoned;
	e->waiting = 0;
	pthread_mutex_unlock(&e->mu);
	return ok != 0;
}

/* The client-certificate callback of an early test: the identity once
 * handed over (checked against the key by smoke_hand).  0 ends the
 * handshake: abandoned, or the deadline passed first. */
int
smoke_early_identity(SSL *ssl, void *arg)
{
	struct smoke_state *s = arg;
	struct smoke_early *e = s->early;

	if (!smoke_wait_handed(s))
		return 0;
	if (SSL_use_certificate(ssl, e->cert) != 1)
		return 0;
	for (int i = 0; e->chain != NULL && i < sk_X509_num(e->chain); i++) {
		if (SSL_add1_chain_cert(ssl, sk_X509_value(e->chain, i)) != 1)
			return 0;
	}
	return SSL_use_PrivateKey(ssl, extkey_pkey(e->p.key)) == 1;
}

static void *
early_main(void *arg)
{
	struct smoke_early *e = arg;

	e->err = smoke_run_early(&e->p, e, &e->result, &e->cause);
	return NULL;
}

static void
early_free(struct smoke_early *e)
{
	free((char *)e->p.host);
	free((char *)e->p.ca_file);
	free((char *)e->p.server_name);
	free((char *)e->p.topic);
	free((char *)e->p.client_id);
	smoke_result_clear(&e->result);
	free(e->cause);
	pthread_cond_destroy(&e->cv);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct smoke_early *
smoke_begin(const struct smoke_params *p)
{
	struct smoke_early *e = xcalloc(1, sizeof *e);
	pthread_condattr_t ca;

	pthread_mutex_init(&e->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->cv, &ca);
	pthread_condattr_destroy(&ca);
	e->p = *p;
	e->p.host = dup_or_null(p->host);
	e->p.ca_file = dup_or_null(p->ca_file);
	e->p.server_name = dup_or_null(p->server_name);
	e->p.topic = NULL;
	e->p.client_id = dup_or_null(p->client_id);
	e->p.cert = NULL;
	e->p.chain = NULL;
	e->deadline = p->deadline;
	if (pthread_create(&e->thread, NULL, early_main, e) != 0) {
		early_free(e);
		return NULL;
	}
	return e;
}

int
smoke_early_waiting(struct smoke_early *e)
{
	int waiting;

	pthread_mutex_lock(&e->mu);
	waiting = e->waiting && !e->handed;
	pthread_mutex_unlock(&e->mu);
	return waiting;
}

static int
same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int
smoke_hand(struct smoke_early *e, X509 *cert, STACK_OF(X509) * chain,
    const char *host, int port, const char *topic, struct deadline dl)
{
	if (cert == NULL || topic == NULL || !same(host, e->p.host) ||
	    port != e->p.port ||
	    X509_check_private_key(cert, extkey_pkey(e->p.key)) != 1)
		return -1;
	pthread_mutex_lock(&e->mu);
	e->p.topic = xstrdup(topic);
	e->cert = cert;
	e->chain = chain;
	e->deadline = dl;
	e->handed = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

st_err
smoke_end(struct smoke_early *e, struct smoke_result *r, char **cause)
{
	st_err err;

	pthread_join(e->thread, NULL);
	*r = e->result;
	memset(&e->result, 0, sizeof e->result);
	err = e->err;
	if (err && cause != NULL) {
		free(*cause);
		*cause = e->cause;
		e->cause = NULL;
	}
	early_free(e);
	return err;
}

void
smoke_abandon(struct smoke_early *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->abandoned = 1;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->mu);
	pthread_join(e->thread, NULL);
	early_free(e);
}
