/*
 * The mTLS smoke test (see smoke.h): TLS set up here, in the external
 * key's library context, MQTT by libmosquitto on that SSL_CTX, driven by
 * mosquitto_loop in slices so the deadline holds.  What the callbacks see
 * is classified by smoke_diag.c.
 */
#include "station/tls/smoke.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "station/tls/smoke_int.h"
#include "station/util/xalloc.h"

#define LOG_MODULE "smoke"
#include "station/util/log.h"

/* Longest single wait inside mosquitto_loop (it returns early on data)
 * or the broker's connect: how long an abandoned early test may take to
 * notice (smoke_abandon). */
#define SMOKE_SLICE_MS 50

static pthread_once_t smoke_once = PTHREAD_ONCE_INIT;

static void
smoke_lib_init(void)
{
	mosquitto_lib_init();
}

static struct smoke_state *
state_of_ssl(const SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* Remember the first problem with the broker's chain; OpenSSL then sends
 * the alert and ends the handshake. */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct smoke_state *s = ssl ? state_of_ssl(ssl) : NULL;

	if (!ok && s != NULL && s->verify_err == 0) {
		s->verify_err = X509_STORE_CTX_get_error(xs);
		s->verify_depth = X509_STORE_CTX_get_error_depth(xs);
	}
	return ok;
}

static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct smoke_state *s = state_of_ssl(ssl);

	if (s == NULL)
		return;
	if ((where & SSL_CB_ALERT) != 0) {
		int desc = ret & 0xff;

		if ((where & SSL_CB_READ) != 0 && s->alert_recv < 0 &&
		    desc != SSL_AD_CLOSE_NOTIFY)
			s->alert_recv = desc;
		if ((where & SSL_CB_WRITE) != 0 && s->alert_sent < 0 &&
		    desc != SSL_AD_CLOSE_NOTIFY)
			s->alert_sent = desc;
		log_debug("TLS alert %s: %s",
		    (where & SSL_CB_READ) ? "received" : "sent",
		    SSL_alert_desc_string_long(ret));
	}
	if ((where & SSL_CB_HANDSHAKE_DONE) != 0 && !s->handshake_done) {
		/* A broker that did not ask for a certificate: an early
		 * test still sends nothing before the hand-over (the loop
		 * stops it if it never comes). */
		(void)smoke_wait_handed(s);
		s->handshake_done = true;
		s->tls_version = xstrdup(SSL_get_version(ssl));
		s->cipher = xstrdup(SSL_get_cipher_name(ssl));
	}
}

static void
on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
	struct smoke_state *s = obj;
	size_t used = strlen(s->log);

	(void)m;
	if (level != MOSQ_LOG_ERR)
		return;
	snprintf(s->log + used, sizeof s->log - used, "%s%s", used ? "; " : "",
	    str);
}

static void
on_publish(struct mosquitto *m, void *obj, int mid, int reason,
    const mosquitto_property *props)
{
	struct smoke_state *s = obj;

	(void)m;
	(void)props;
	if (mid == s->mid) {
		s->puback_seen = true;
		s->puback_rc = reason;
	}
}

static void
on_connect(struct mosquitto *m, void *obj, int rc, int flags,
    const mosquitto_property *props)
{
	struct smoke_state *s = obj;
	unsigned char nonce[16];
	char payload[sizeof nonce * 2 + 1];

	(void)flags;
	(void)props;
	s->connack_seen = true;
	s->connack_rc = rc;
	if (rc != 0)
		return;
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		memset(nonce, 0x5a, sizeof nonce);
	for (size_t i = 0; i < sizeof nonce; i++)
		snprintf(payload + 2 * i, 3, "%02x", nonce[i]);
	rc = mosquitto_publish_v5(m, &s->mid, s->p->topic, (int)strlen(payload),
	    payload, 1, false, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		on_log(m, s, MOSQ_LOG_ERR, mosquitto_strerror(rc));
}

static void
on_disconnect(struct mosquitto *m, void *obj, int rc,
    const mosquitto_property *props)
{
	struct smoke_state *s = obj;

	(void)m;
	(void)rc;
	(void)props;
	s->disconnected = true;
}

/*
 * ACK what the broker sent at once.  A TLS 1.3 broker sends its session
 * tickets (even to a client that wants none: the client cannot refuse
 * them) as separate small writes right after the handshake, then the
 * CONNACK.  A broker with Nagle on (Mosquitto's default, set_tcp_nodelay
 * false) holds its second small write until the first is ACKed, while
 * this side, waiting with nothing to send, delays that ACK by up to 40 ms
 * (Linux delayed ACK): a stall on every device.  Setting TCP_QUICKACK
 * after each read sends a pending ACK now and leaves delayed-ACK mode;
 * the kernel may return to it, so it is set again after every slice.
 * Failure only costs the stall, so it is not an error.
 */
static void
quick_ack(struct mosquitto *m)
{
	int fd = mosquitto_socket(m), one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof one);
}

/* Broker reachability with a deadline: libmosquitto's own connect gives
 * no clean "refused" once it runs non-blocking. */
static st_err
tcp_probe(const struct smoke_state *s, char **cause)
{
	const struct smoke_params *p = s->p;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[16];
	int last = ECONNREFUSED, rc;
	st_err err = ST_E_HANGUP;

	snprintf(port, sizeof port, "%d", p->port);
	rc = getaddrinfo(p->host, port, &hints, &res);
	if (rc != 0)
		return st_fail(cause, ST_E_HANGUP, "cannot resolve %s: %s",
		    p->host, gai_strerror(rc));
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		socklen_t len = sizeof last;

		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			close(fd);
			err = ST_OK;
			break;
		}
		if (errno != EINPROGRESS) {
			last = errno;
			close(fd);
			continue;
		}
		/* In slices: an abandoned early test stops here too. */
		do {
			int left = deadline_left_ms(smoke_deadline(s));

			rc = poll(&pfd, 1,
			    left < SMOKE_SLICE_MS ? left : SMOKE_SLICE_MS);
		} while (rc == 0 && !smoke_stopped(s) &&
		    !deadline_passed(smoke_deadline(s)));
		if (rc == 0) {
			close(fd);
			err = ST_E_TIMEOUT;
			break;
		}
		if (rc < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &last, &len) < 0)
			last = errno;
		close(fd);
		if (rc > 0 && last == 0) {
			err = ST_OK;
			break;
		}
	}
	freeaddrinfo(res);
	if (err == ST_E_TIMEOUT)
		return st_fail(cause, err, "no TCP connection to %s:%d in time",
		    p->host, p->port);
	if (err)
		return st_fail(cause, err, "%s", strerror(last));
	return ST_OK;
}

/* The device's certificate, chain and chip key on `ctx`. */
static st_err
use_identity(SSL_CTX *ctx, const struct smoke_params *p, struct smoke_result *r,
    char **cause)
{
	st_err err;

	if (SSL_CTX_use_certificate(ctx, p->cert) != 1) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "device certificate");
		r->diagnosis = SMOKE_TLS_FAILED;
		return err;
	}
	for (int i = 0; p->chain && i < sk_X509_num(p->chain); i++) {
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(p->chain, i)) !=
		    1) {
			err = st_fail_ssl(cause, ST_E_CRYPTO,
			    "certificate chain");
			r->diagnosis = SMOKE_TLS_FAILED;
			return err;
		}
	}
	if (SSL_CTX_use_PrivateKey(ctx, extkey_pkey(p->key)) != 1) {
		err = st_fail_ssl(cause, ST_E_MISMATCH,
		    "The certificate is "
		    "not for the chip's key [%s] %s",
		    SMOKE_KEY_MISMATCH, smoke_advice(SMOKE_KEY_MISMATCH));
		r->diagnosis = SMOKE_KEY_MISMATCH;
		return err;
	}
	return ST_OK;
}

static st_err
make_ssl_ctx(const struct smoke_params *p, struct smoke_state *s, SSL_CTX **out,
    struct smoke_result *r, char **cause)
{
	int version = p->tls_version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION;
	const char *name = p->server_name ? p->server_name : p->host;
	SSL_CTX *ctx =
	    SSL_CTX_new_ex(extkey_libctx(p->key), NULL, TLS_client_method());
	X509_VERIFY_PARAM *vp;
	st_err err = ST_OK;

	*out = NULL;
	if (ctx == NULL)
		return smoke_fail(r, cause, ST_E_CRYPTO, SMOKE_TLS_FAILED,
		    "Cannot create a TLS context.");
	SSL_CTX_set_app_data(ctx, s);
	SSL_CTX_set_info_callback(ctx, info_cb);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	/* A resumed session would skip the chip's signature. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
	vp = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (!SSL_CTX_set_min_proto_version(ctx, version) ||
	    !SSL_CTX_set_max_proto_version(ctx, version) ||
	    (X509_VERIFY_PARAM_set1_ip_asc(vp, name) != 1 &&
		X509_VERIFY_PARAM_set1_host(vp, name, 0) != 1)) {
		err = st_fail_ssl(cause, ST_E_CRYPTO, "TLS settings");
		r->diagnosis = SMOKE_TLS_FAILED;
		goto out;
	}
	ERR_clear_error(); /* set1_ip_asc fails for names, by design */
	if (SSL_CTX_load_verify_locations(ctx, p->ca_file, NULL) != 1) {
		err = st_fail_ssl(cause, ST_E_CONFIG,
		    "cannot load the broker "
		    "trust file %s [%s] %s",
		    p->ca_file, SMOKE_UNTRUSTED, smoke_advice(SMOKE_UNTRUSTED));
		r->diagnosis = SMOKE_UNTRUSTED;
		goto out;
	}
	/* An early test's identity comes with the hand-over
	 * (smoke_early.c). */
	if (s->early != NULL)
		SSL_CTX_set_cert_cb(ctx, smoke_early_identity, s);
	else
		err = use_identity(ctx, p, r, cause);
	if (err)
		goto out;
	*out = ctx;
	ctx = NULL;
out:
	SSL_CTX_free(ctx);
	return err;
}

static st_err
make_client(const struct smoke_params *p, struct smoke_state *s, SSL_CTX *ctx,
    struct mosquitto **out, struct smoke_result *r, char **cause)
{
	struct mosquitto *m = mosquitto_new(p->client_id, true, s);
	int rc;

	*out = NULL;
	if (m == NULL)
		return smoke_fail(r, cause, ST_E_NOMEM, SMOKE_TLS_FAILED,
		    "Cannot create the MQTT client.");
	mosquitto_log_callback_set(m, on_log);
	mosquitto_connect_v5_callback_set(m, on_connect);
	mosquitto_publish_v5_callback_set(m, on_publish);
	mosquitto_disconnect_v5_callback_set(m, on_disconnect);
	rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
	    MQTT_PROTOCOL_V5);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_void_option(m, MOSQ_OPT_SSL_CTX, ctx);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc != MOSQ_ERR_SUCCESS) {
		mosquitto_destroy(m);
		return smoke_fail(r, cause, ST_E_CRYPTO, SMOKE_TLS_FAILED,
		    "Cannot configure the MQTT client (%s).",
		    mosquitto_strerror(rc));
	}
	*out = m;
	return ST_OK;
}

st_err
smoke_run(const struct smoke_params *p, struct smoke_result *r, char **cause)
{
	return smoke_run_early(p, NULL, r, cause);
}

st_err
smoke_run_early(const struct smoke_params *p, struct smoke_early *early,
    struct smoke_result *r, char **cause)
{
	struct smoke_state s = { .p = p,
		.early = early,
		.alert_recv = -1,
		.alert_sent = -1 };
	struct mosquitto *m = NULL;
	SSL_CTX *ctx = NULL;
	int rc = MOSQ_ERR_SUCCESS, rc_errno = 0;
	bool timed_out = false;
	uint64_t start_us = clock_now_us();
	st_err err;

	memset(r, 0, sizeof *r);
	r->puback_reason = -1;
	r->reason_code = -1;
	r->diagnosis = SMOKE_TLS_FAILED;
	if (p->host == NULL || p->ca_file == NULL ||
	    ((p->topic == NULL || p->cert == NULL) && s.early == NULL) ||
	    p->key == NULL || p->port <= 0 || p->port > 65535 ||
	    (p->tls_version != 12 && p->tls_version != 13))
		return st_fail(cause, ST_E_ARG,
		    "smoke test: incomplete "
		    "parameters (host, port, trust file, topic, certificate, "
		    "key; TLS version 12 or 13)");
	pthread_once(&smoke_once, smoke_lib_init);
	ERR_clear_error();
	s.signs_before = extkey_sign_count(p->key);
	s.bad_before = extkey_bad_signatures(p->key);

	err = tcp_probe(&s, cause);
	if (err == ST_E_TIMEOUT)
		return smoke_fail(r, cause, err, SMOKE_TIMEOUT,
		    "No TCP connection to the broker at %s:%d in time.",
		    p->host, p->port);
	if (err) {
		char *why = cause && *cause ? xstrdup(*cause) : NULL;

		err = smoke_fail(r, cause, err, SMOKE_UNREACHABLE,
		    "No connection to the broker at %s:%d (%s).", p->host,
		    p->port, why ? why : st_strerror(err));
		free(why);
		return err;
	}
	err = make_ssl_ctx(p, &s, &ctx, r, cause);
	if (err)
		goto out;
	err = make_client(p, &s, ctx, &m, r, cause);
	if (err)
		goto out;

	rc = mosquitto_connect_bind_async(m, p->host, p->port, 30, NULL);
	rc_errno = errno;
	while (rc == MOSQ_ERR_SUCCESS && !s.puback_seen && !s.disconnected &&
	    !(s.connack_seen && s.connack_rc != 0)) {
		int left = deadline_left_ms(smoke_deadline(&s));

		if (left == 0 || smoke_stopped(&s)) {
			timed_out = true;
			break;
		}
		quick_ack(m);
		rc = mosquitto_loop(m,
		    left < SMOKE_SLICE_MS ? left : SMOKE_SLICE_MS, 1);
		rc_errno = errno;
		quick_ack(m);
	}
	err = smoke_diagnose(&s, r, rc, rc_errno, timed_out, cause);
	if (s.puback_seen)
		r->puback_reason = s.puback_rc;
	if (err == ST_OK)
		mosquitto_disconnect_v5(m, MQTT_RC_NORMAL_DISCONNECTION, NULL);
	ERR_clear_error();
	log_info("%s:%d %s %s: %s in %.1f ms, %lu signature(s)", p->host,
	    p->port, s.tls_version ? s.tls_version : "-",
	    s.cipher ? s.cipher : "-", r->diagnosis,
	    (double)(clock_now_us() - start_us) / 1000.0,
	    extkey_sign_count(p->key) - s.signs_before);
out:
	r->tls_version = s.tls_version;
	r->cipher = s.cipher;
	mosquitto_destroy(m);
	SSL_CTX_free(ctx);
	return err;
}

void
smoke_result_clear(struct smoke_result *r)
{
	if (r == NULL)
		return;
	free(r->tls_version);
	free(r->cipher);
	memset(r, 0, sizeof *r);
}
