/*
 * One error idiom for the whole station.
 *
 * Every fallible function returns an st_err (0 = ST_OK) and, when it fails,
 * fills a caller-freed human-readable `cause` string if the caller passed a
 * non-NULL `char **cause`.  Each layer adds context on the way up:
 *
 *	err = dev_read_cert(c, &der, &len, cause);
 *	if (err)
 *		return st_wrap(cause, err, "reading the certificate back");
 *
 * gives "reading the certificate back: device did not answer READ_CERT
 * within 1000 ms".  The enum says *what kind* of failure (for exit codes,
 * JSON and tests); the cause says *why*, in words.
 */
#ifndef ST_ERR_H
#define ST_ERR_H

#include <stdarg.h>

typedef enum st_err {
	ST_OK = 0,
	ST_E_NOMEM,   /* out of memory */
	ST_E_ARG,     /* bad argument or usage */
	ST_E_IO,      /* operating-system I/O error */
	ST_E_TIMEOUT, /* a deadline passed */
	ST_E_HANGUP,  /* the peer went away */
	ST_E_URI,     /* malformed or unknown device URI */
	ST_E_FRAME,   /* a frame could not be decoded (framing, CRC, size) */
	ST_E_PROTO,   /* protocol violation by the peer */
	ST_E_DEVICE,  /* the device answered with an error status */
	ST_E_UNSUPPORTED, /* feature or algorithm not supported */
	ST_E_CONFIG,	  /* bad configuration */
	ST_E_CRYPTO,	  /* cryptographic operation failed */
	ST_E_POLICY,	  /* input refused by a policy check */
	ST_E_CA,	  /* the certificate authority failed or refused */
	ST_E_DB,	  /* ledger (database) error */
	ST_E_STATE,	  /* operation not allowed in the current state */
	ST_E_NOTFOUND,	  /* no such thing */
	ST_E_EXISTS,	  /* already exists */
	ST_E_MISMATCH,	  /* two things that must be equal are not */
	ST_E_ABORTED,	  /* the operator aborted the run */
	ST_E__COUNT
} st_err;

/* Short, stable, lower-case name of an error kind ("timeout"). Never NULL. */
const char *st_strerror(st_err err);

/* Stable identifier for JSON output ("ST_E_TIMEOUT" -> "timeout"). */
const char *st_errname(st_err err);

/*
 * Fail with `err`: if `cause` is non-NULL, replace *cause with the formatted
 * message (freeing any previous one).  Returns `err` so callers can write
 * `return st_fail(cause, ST_E_ARG, "bad baud rate '%s'", s);`.
 */
st_err st_fail(char **cause, st_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Add context in front of an existing cause: *cause becomes
 * "<context>: <old cause>".  Returns `err` unchanged.  If there is no old
 * cause, the context alone is used together with st_strerror(err).
 */
st_err st_wrap(char **cause, st_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like st_fail, but appends the reasons drained from OpenSSL's error queue
 * (the queue is left empty): "signing the certificate: ...: error:...".
 */
st_err st_fail_ssl(char **cause, st_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
