/*
 * The certificate the smoke test's broker presents, as the station's
 * start check and each run's clock check look at it (preflight.c,
 * clock_check.c).  One TLS handshake answers both for a while: a station
 * started once per device paid a second handshake per run (station and
 * broker CPU, two round trips) to read a certificate it had just read.
 */
#ifndef ST_BROKER_CERT_H
#define ST_BROKER_CERT_H

#include <openssl/x509.h>

#include "station/config/config.h"
#include "station/util/clock.h"

/* How long a certificate read from the broker is used again, in ms: a
 * broker whose certificate is renewed is seen with the new one within
 * this time. */
#define BROKER_CERT_KEEP_MS (5 * 60 * 1000)

/*
 * One TLS handshake with the broker `b` by `dl`: the certificate it
 * presents (owned by the caller, X509_free) when it chains to b->ca_file
 * (times aside: the clock check judges those), else NULL with *why (caller
 * frees) saying what failed (no connection, no certificate, another CA).
 * A broker that then refuses this connection for want of a client
 * certificate has still answered.
 */
X509 *broker_presented_cert(const struct config_broker *b, struct deadline dl,
    char **why);

/* The last certificate read from one broker, shared by the threads of a
 * station (thread-safe). */
struct broker_cert_memo;

struct broker_cert_memo *broker_cert_memo_new(void);
void broker_cert_memo_free(struct broker_cert_memo *m);

/*
 * broker_presented_cert through the memo: the kept certificate (a new
 * reference, X509_free) when it was read from the same host, port and
 * CA file less than BROKER_CERT_KEEP_MS ago, else a new handshake whose
 * certificate is kept.  A failure is never kept (the next call asks the
 * broker again).  `m` NULL: always a handshake.  The key leaves out
 * b->server_name: one station has one [broker], so within one memo it
 * never changes; the start check checks the name on the certificate it
 * gets (preflight.c), the clock check reads only its dates.
 */
X509 *broker_cert_get(struct broker_cert_memo *m, const struct config_broker *b,
    struct deadline dl, char **why);

/*
 * End at once a handshake broker_cert_get is waiting on in another
 * thread (it fails with its *why; of several at once, the one begun
 * last), and refuse every later one: for a
 * station whose opening failed while its start check still waits on a
 * broker that does not answer, so that the failure is reported without
 * waiting for the check's deadline.  The memo keeps serving what it
 * holds.  NULL is accepted.
 */
void broker_cert_cancel(struct broker_cert_memo *m);

#endif
