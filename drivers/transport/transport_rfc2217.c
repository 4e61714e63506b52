/*
 * rfc2217:HOST:PORT[?baud=N[&max_baud=M]] — a serial port behind an RFC
 * 2217 port server (ser2net's telnet(rfc2217) accepter, device servers in
 * their "RFC 2217" mode).  The bytes travel inside telnet (telnet.h: 0xFF
 * doubled both ways, negotiation answered), and the station sets the
 * remote port itself, as uart: does through libserialport: 8N1 and `baud`
 * when it connects (SET-DATASIZE, SET-PARITY, SET-STOPSIZE, SET-BAUDRATE),
 * and the new rate at the baud switch (max_baud=, docs/protocol.md 8.17)
 * with SET-BAUDRATE.  Every command waits for the server's answer, which
 * says what it set: a rate it did not take fails the switch, and the
 * switch code falls back as it does for a UART.  Without baud= the port
 * keeps the server's rate, which the station asks for (SET-BAUDRATE 0) so
 * that attempt times count the bytes' time on the line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "station/util/log.h"
#include "station/util/xalloc.h"
#include "drivers/transport/tcp.h"
#include "drivers/transport/telnet.h"
#include "drivers/transport/transport.h"

#define LOG_MODULE "rfc2217"

/* How long the baud switch waits for the server's answer to SET-BAUDRATE
 * (set_baud has no deadline of its own): a port server answers at once,
 * and the device waits PROTO_BAUD_CONFIRM_MS (1000) for a frame at the new
 * rate, so half of that is left for the confirming HELLO. */
#define RFC2217_ANSWER_MS 500
/* Data that arrives while the station waits for an answer is kept for the
 * next read, up to this much (more is dropped; the protocol retransmits). */
#define RFC2217_PEND_MAX 4096
#define RFC2217_CHUNK 1024

struct rfc2217_transport {
	struct transport base;
	int fd;
	struct telnet tn;
	uint8_t pend[RFC2217_PEND_MAX];
	size_t pend_off, pend_len;
};

static const char *const rfc2217_known_opts[] = { "baud", "max_baud", NULL };

/* What the codec queued (answers, commands) goes out now. */
static st_err
send_queued(struct rfc2217_transport *t, struct deadline dl, char **cause)
{
	st_err err;

	if (t->tn.out_len == 0)
		return ST_OK;
	err = tcp_send_all(t->fd, t->tn.out, t->tn.out_len, dl, cause);
	t->tn.out_len = 0;
	return err;
}

/* What a timeout's cause adds when the server left a subnegotiation
 * open. */
static const char *
sb_note(const struct telnet *tn)
{
	if (tn->state == TELNET_S_SB || tn->state == TELNET_S_SB_IAC)
		return ": the port server started a telnet subnegotiation "
		       "(IAC SB) and never ended it";
	return "";
}

/* One read from the socket through the codec while the station waits for
 * the server: data bytes are kept in pend for the next read. */
static st_err
pump(struct rfc2217_transport *t, struct deadline dl, char **cause)
{
	uint8_t raw[RFC2217_CHUNK];
	size_t got = 0, n = 0, room;
	st_err err;

	err = tcp_recv_some(t->fd, raw, sizeof raw, &got, dl, cause);
	if (err)
		return err;
	err = telnet_decode(&t->tn, raw, got, &n, cause);
	if (err)
		return err;
	if (t->pend_off == t->pend_len)
		t->pend_off = t->pend_len = 0;
	room = RFC2217_PEND_MAX - t->pend_len;
	if (n > room)
		log_info("%s: %zu bytes dropped while waiting for the port "
			 "server",
		    t->base.uri ? t->base.uri : "rfc2217", n - room);
	memcpy(t->pend + t->pend_len, raw, n < room ? n : room);
	t->pend_len += n < room ? n : room;
	return send_queued(t, dl, cause);
}

/* Until the server has agreed to COM-PORT-OPTION and answered every
 * command whose bit is in `mask`, or `dl`. */
static st_err
await(struct rfc2217_transport *t, unsigned mask, struct deadline dl,
    const char *what, char **cause)
{
	st_err err = ST_OK;

	while (t->tn.us[TELNET_OPT_COMPORT] != TELNET_Q_YES ||
	    (t->tn.cpo_seen & mask) != mask) {
		err = pump(t, dl, cause);
		if (err == ST_E_TIMEOUT)
			return st_fail(cause, ST_E_TIMEOUT,
			    "waited for %s until the deadline%s", what,
			    sb_note(&t->tn));
		if (err)
			return st_wrap(cause, err, "waiting for %s", what);
	}
	return ST_OK;
}

/* The server's answer to `cmd` says it set `want`. */
static st_err
answer_is(struct rfc2217_transport *t, unsigned cmd, uint32_t want,
    const char *name, char **cause)
{
	uint32_t got = t->tn.cpo_value[cmd];

	if (got == want)
		return ST_OK;
	return st_fail(cause, ST_E_IO,
	    "the port server set %s %u when asked for %u (a rate or "
	    "setting its serial port cannot take)",
	    name, got, want);
}

/* 8N1 and `baud` (0: ask for the server's rate, into *rate). */
static st_err
set_line(struct rfc2217_transport *t, unsigned baud, struct deadline dl,
    unsigned *rate, char **cause)
{
	unsigned mask = 1u << RFC2217_SET_DATASIZE | 1u << RFC2217_SET_PARITY |
	    1u << RFC2217_SET_STOPSIZE | 1u << RFC2217_SET_BAUDRATE;
	st_err err;

	telnet_comport(&t->tn, RFC2217_SET_DATASIZE, 8, 1);
	telnet_comport(&t->tn, RFC2217_SET_PARITY, RFC2217_PARITY_NONE, 1);
	telnet_comport(&t->tn, RFC2217_SET_STOPSIZE, RFC2217_STOPSIZE_1, 1);
	telnet_comport(&t->tn, RFC2217_SET_BAUDRATE, baud, 4);
	err = send_queued(t, dl, cause);
	if (err)
		return err;
	err = await(t, mask, dl,
	    "the port server's answers to SET-BAUDRATE and 8N1", cause);
	if (err == ST_OK)
		err = answer_is(t, RFC2217_SET_DATASIZE, 8, "data bits", cause);
	if (err == ST_OK)
		err = answer_is(t, RFC2217_SET_PARITY, RFC2217_PARITY_NONE,
		    "parity (1 = none)", cause);
	if (err == ST_OK)
		err = answer_is(t, RFC2217_SET_STOPSIZE, RFC2217_STOPSIZE_1,
		    "stop bits (1 = one)", cause);
	if (err == ST_OK && baud != 0)
		err = answer_is(t, RFC2217_SET_BAUDRATE, baud, "baud", cause);
	*rate = t->tn.cpo_value[RFC2217_SET_BAUDRATE];
	/* An answer to the query that is no rate counts as none. */
	if (*rate > 4000000)
		*rate = 0;
	return err;
}

static st_err
rfc2217_check(const char *spec, char **cause)
{
	return tcp_addr_check("rfc2217", spec, rfc2217_known_opts, cause);
}

static void
rfc2217_free(struct rfc2217_transport *t)
{
	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	telnet_clear(&t->tn);
	free(t);
}

static st_err
rfc2217_open(const char *spec, struct deadline dl, struct transport **out,
    char **cause)
{
	struct rfc2217_transport *t = NULL;
	struct tcp_addr a;
	unsigned rate = 0;
	st_err err;

	err = tcp_addr_parse("rfc2217", spec, rfc2217_known_opts, &a, cause);
	if (err)
		goto out;
	t = xcalloc(1, sizeof *t);
	t->fd = -1;
	telnet_init(&t->tn);
	err = tcp_dial(&a, dl, &t->fd, cause);
	if (err)
		goto out;
	telnet_ask(&t->tn, TELNET_WILL, TELNET_OPT_COMPORT);
	telnet_ask(&t->tn, TELNET_WILL, TELNET_OPT_BINARY);
	telnet_ask(&t->tn, TELNET_DO, TELNET_OPT_BINARY);
	err = send_queued(t, dl, cause);
	if (err)
		goto out;
	err = await(t, 0, dl,
	    "the port server's telnet DO COM-PORT-OPTION (44), RFC 2217's "
	    "agreement (a raw port sends none: its URI is tcp:)",
	    cause);
	if (err)
		goto out;
	err = set_line(t, a.baud, dl, &rate, cause);
	if (err)
		goto out;

	transport_init(&t->base, &transport_rfc2217_ops, "rfc2217", spec);
	t->base.describe =
	    xasprintf("rfc2217 %s:%s %u 8N1", a.host, a.port, rate);
	t->base.baud = rate;
	t->base.max_baud = a.max_baud;
	log_debug("opened %s", t->base.describe);
	*out = &t->base;
	t = NULL;
out:
	rfc2217_free(t);
	tcp_addr_clear(&a);
	return err;
}

static st_err
failed(struct rfc2217_transport *t, char **cause)
{
	return st_fail(cause, ST_E_PROTO, "%s", t->tn.failure);
}

static st_err
rfc2217_write(struct transport *tp, const uint8_t *buf, size_t len,
    struct deadline dl, char **cause)
{
	struct rfc2217_transport *t = (struct rfc2217_transport *)tp;
	uint8_t esc[2 * RFC2217_CHUNK];
	st_err err;

	if (t->tn.state == TELNET_S_FAILED)
		return failed(t, cause);
	err = send_queued(t, dl, cause);
	while (err == ST_OK && len > 0) {
		size_t n = len < RFC2217_CHUNK ? len : RFC2217_CHUNK;

		err = tcp_send_all(t->fd, esc, telnet_escape(buf, n, esc), dl,
		    cause);
		buf += n;
		len -= n;
	}
	return err;
}

static st_err
rfc2217_read(struct transport *tp, uint8_t *buf, size_t cap, size_t *got,
    struct deadline dl, char **cause)
{
	struct rfc2217_transport *t = (struct rfc2217_transport *)tp;
	size_t raw = 0, n = 0;
	st_err err;

	*got = 0;
	if (t->tn.state == TELNET_S_FAILED)
		return failed(t, cause);
	if (t->pend_off < t->pend_len) {
		n = t->pend_len - t->pend_off;
		n = n < cap ? n : cap;
		memcpy(buf, t->pend + t->pend_off, n);
		t->pend_off += n;
		*got = n;
		return ST_OK;
	}
	/* The codec decodes in place: data never outgrows the raw bytes. */
	while (n == 0) {
		err = send_queued(t, dl, cause);
		if (err)
			return err;
		err = tcp_recv_some(t->fd, buf, cap, &raw, dl, cause);
		if (err == ST_E_TIMEOUT)
			return st_fail(cause, ST_E_TIMEOUT, "no data%s",
			    sb_note(&t->tn));
		if (err)
			return err;
		err = telnet_decode(&t->tn, buf, raw, &n, cause);
		if (err)
			return err;
	}
	*got = n;
	return send_queued(t, dl, cause);
}

/* What was received and not read goes, through the codec (a telnet
 * sequence may straddle the cut); answers it queues leave with the next
 * write or read, a broken stream fails the next call. */
static void
rfc2217_flush_input(struct transport *tp)
{
	struct rfc2217_transport *t = (struct rfc2217_transport *)tp;
	uint8_t raw[RFC2217_CHUNK];
	size_t n;
	ssize_t got;

	t->pend_off = t->pend_len = 0;
	for (;;) {
		got = recv(t->fd, raw, sizeof raw, MSG_DONTWAIT);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (telnet_decode(&t->tn, raw, (size_t)got, &n, NULL))
			break;
	}
}

/* The device has acknowledged SET_BAUD (its reply read, so every byte
 * the station wrote has reached the port): the remote port changes rate
 * now, and the server's answer must say it did. */
static st_err
rfc2217_set_baud(struct transport *tp, unsigned baud, char **cause)
{
	struct rfc2217_transport *t = (struct rfc2217_transport *)tp;
	struct deadline dl = deadline_in(RFC2217_ANSWER_MS);
	unsigned bit = 1u << RFC2217_SET_BAUDRATE;
	int other = 0;
	st_err err;

	if (t->tn.state == TELNET_S_FAILED)
		return failed(t, cause);
	telnet_comport(&t->tn, RFC2217_SET_BAUDRATE, baud, 4);
	err = send_queued(t, dl, cause);
	/* An answer with another rate may be the late one to an earlier
	 * SET-BAUDRATE that timed out: this one's is awaited until the
	 * deadline, and only then is the other rate the server's word. */
	while (err == ST_OK) {
		err = await(t, bit, dl,
		    "the port server's answer to SET-BAUDRATE", cause);
		if (err == ST_OK &&
		    t->tn.cpo_value[RFC2217_SET_BAUDRATE] == baud)
			break;
		if (err == ST_OK) {
			other = 1;
			t->tn.cpo_seen &= ~bit;
		}
	}
	if (err == ST_E_TIMEOUT && other)
		err = answer_is(t, RFC2217_SET_BAUDRATE, baud, "baud", cause);
	if (err == ST_OK)
		log_info("%s: now %u baud", tp->uri, baud);
	return err;
}

static void
rfc2217_close(struct transport *tp)
{
	rfc2217_free((struct rfc2217_transport *)tp);
}

const struct transport_ops transport_rfc2217_ops = {
	.scheme = "rfc2217",
	.summary = "rfc2217:HOST:PORT[?baud=N&max_baud=M]  a serial port "
		   "behind an RFC 2217 server (ser2net telnet(rfc2217))",
	.open = rfc2217_open,
	.check = rfc2217_check,
	.write = rfc2217_write,
	.read = rfc2217_read,
	.flush_input = rfc2217_flush_input,
	.set_baud = rfc2217_set_baud,
	.close = rfc2217_close,
};
