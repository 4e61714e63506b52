/*
 * The broker's certificate kept between the start check and the runs'
 * clock checks (station/pipeline/broker_cert.h), against a real TLS
 * server on 127.0.0.1 (tests/support/https_server) presenting a
 * certificate from a test broker CA.  Whether a call asked the broker is
 * observed by stopping it: a kept certificate still comes back, a new
 * handshake cannot.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "station/pipeline/broker_cert.h"
#include "station/util/xalloc.h"
#include "tests/support/https_server.h"
#include "tests/support/loopback.h"
#include "tests/support/pki.h"

struct fx {
	EVP_PKEY *ca_key, *key;
	X509 *ca, *leaf;
	char dir[32];
	char *ca_file;
	struct https_server *srv;
	int port;
	struct config_broker b;
};

static void
no_request(void *arg, const struct https_request *req,
    struct https_reply *reply)
{
	(void)arg;
	(void)req;
	reply->status = 404;
	reply->body = xstrdup("");
}

static void
serve(struct fx *f, int port)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	assert_int_equal(SSL_CTX_use_certificate(ctx, f->leaf), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, f->key), 1);
	f->srv = https_server_start_on(ctx, no_request, NULL, port);
	f->port = https_server_port(f->srv);
}

static void
stop(struct fx *f)
{
	https_server_stop(f->srv);
	f->srv = NULL;
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof *f);

	f->ca_key = pki_key(0);
	f->key = pki_key(0);
	f->ca = pki_cert("Broker Test CA", f->ca_key, NULL, NULL, 1, -1, 365);
	f->leaf = pki_cert("127.0.0.1", f->key, f->ca, f->ca_key, 0, -1, 30);
	snprintf(f->dir, sizeof f->dir, "%s", "/tmp/broker-cert-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->ca_file = xasprintf("%s/broker-ca.pem", f->dir);
	pki_write_pem(f->ca_file, f->ca);
	serve(f, 0);
	f->b.host = "127.0.0.1";
	f->b.port = f->port;
	f->b.ca_file = f->ca_file;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->srv != NULL)
		stop(f);
	unlink(f->ca_file);
	rmdir(f->dir);
	free(f->ca_file);
	X509_free(f->leaf);
	X509_free(f->ca);
	EVP_PKEY_free(f->key);
	EVP_PKEY_free(f->ca_key);
	free(f);
	return 0;
}

static X509 *
get(struct broker_cert_memo *m, struct fx *f, char **why)
{
	*why = NULL;
	return broker_cert_get(m, &f->b, deadline_in(10000), why);
}

/* The second call answers from the memo: the broker is gone by then. */
static void
test_a_certificate_read_once_is_kept(void **state)
{
	struct fx *f = *state;
	struct broker_cert_memo *m = broker_cert_memo_new();
	char *why = NULL;
	X509 *first = get(m, f, &why), *again;

	assert_non_null(first);
	assert_null(why);
	stop(f);
	again = get(m, f, &why);
	assert_non_null(again);
	assert_int_equal(X509_cmp(first, again), 0);
	/* Without a memo every call asks the broker, which is gone. */
	assert_null(get(NULL, f, &why));
	assert_non_null(strstr(why, "no connection to the broker"));
	free(why);
	X509_free(again);
	X509_free(first);
	broker_cert_memo_free(m);
}

/* Another broker (port) or another CA file is asked anew. */
static void
test_another_broker_is_asked(void **state)
{
	struct fx *f = *state;
	struct broker_cert_memo *m = broker_cert_memo_new();
	char *why = NULL;
	X509 *first = get(m, f, &why);

	assert_non_null(first);
	stop(f);
	f->b.ca_file = "/nonexistent/other-ca.pem";
	assert_null(get(m, f, &why));
	free(why);
	f->b.ca_file = f->ca_file;
	f->b.port = f->port + 1 == 65536 ? 1 : f->port + 1;
	assert_null(get(m, f, &why));
	free(why);
	X509_free(first);
	broker_cert_memo_free(m);
}

/* A broker that did not answer is asked again at the next call. */
static void
test_a_failure_is_not_kept(void **state)
{
	struct fx *f = *state;
	struct broker_cert_memo *m = broker_cert_memo_new();
	int port = f->port;
	char *why = NULL;
	X509 *cert;

	stop(f);
	assert_null(get(m, f, &why));
	assert_non_null(why);
	free(why);
	serve(f, port);
	cert = get(m, f, &why);
	assert_non_null(cert);
	assert_null(why);
	X509_free(cert);
	broker_cert_memo_free(m);
}

/* A handshake with a broker that accepts and never answers, on a thread,
 * with an hour's deadline. */
struct hung_call {
	struct broker_cert_memo *m;
	struct config_broker b;
	X509 *cert;
	char *why;
};

static void *
hung_call_main(void *arg)
{
	struct hung_call *h = arg;

	h->cert =
	    broker_cert_get(h->m, &h->b, deadline_in(3600 * 1000), &h->why);
	return NULL;
}

/* broker_cert_cancel ends a handshake another thread waits on (before or
 * while it waits: either way the call returns with a reason instead of
 * at its deadline, which would outlast the test's limit), refuses new
 * ones, and leaves what the memo holds to be served. */
static void
test_cancel_ends_a_waiting_handshake(void **state)
{
	struct fx *f = *state;
	struct hung_call h = { 0 };
	struct broker_cert_memo *other;
	char *why = NULL;
	pthread_t th;
	X509 *kept, *again;
	int lfd;

	h.m = broker_cert_memo_new();
	kept = get(h.m, f, &why);
	assert_non_null(kept);
	h.b = f->b;
	lfd = loopback_hung_listener(&h.b.port);
	assert_int_equal(pthread_create(&th, NULL, hung_call_main, &h), 0);
	broker_cert_cancel(h.m);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_null(h.cert);
	assert_non_null(h.why);
	free(h.why);
	h.why = NULL;
	/* Cancelled: no new handshake, even with a broker that answers
	 * (asked by another name, a handshake another memo gets)... */
	f->b.host = "localhost";
	other = broker_cert_memo_new();
	again = get(other, f, &why);
	assert_non_null(again);
	X509_free(again);
	broker_cert_memo_free(other);
	assert_null(get(h.m, f, &why));
	assert_non_null(strstr(why, "no connection to the broker"));
	free(why);
	/* ...but the certificate kept before is still served. */
	f->b.host = "127.0.0.1";
	again = get(h.m, f, &why);
	assert_non_null(again);
	assert_int_equal(X509_cmp(kept, again), 0);
	X509_free(again);
	X509_free(kept);
	close(lfd);
	broker_cert_memo_free(h.m);
	broker_cert_cancel(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_certificate_read_once_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_another_broker_is_asked,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_failure_is_not_kept,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cancel_ends_a_waiting_handshake, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
