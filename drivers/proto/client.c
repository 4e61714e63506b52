/*
 * Device-protocol client (see client.h and docs/protocol.md).
 *
 * One exchange = one request frame and one reply frame with the same seq.
 * A message larger than a frame travels as several exchanges: request
 * chunks answered by CONTINUE, reply chunks fetched with CONTINUE requests.
 * Every exchange retransmits the *same* frame (same seq) on silence, on a
 * NAK or on a corrupt reply; the device answers a repeated seq from its
 * reply cache without executing the command twice.
 *
 * With a window negotiated in HELLO the chunks of one message travel with
 * several exchanges in flight, in compact frames when agreed as well:
 * client_window.c.  client_engine.h is what the two files share.
 */
#include "drivers/proto/client.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/log.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"
#include "drivers/proto/client_engine.h"
#include "drivers/proto/client_int.h"
#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"

#define LOG_MODULE "client"

void
client_opts_default(struct client_opts *o)
{
	o->reply_timeout_ms = 500;
	o->keygen_timeout_ms = 15000;
	o->crypto_timeout_ms = 5000;
	o->retries = 3;
}

void
client_opts_fit(struct client_opts *o, int budget_ms)
{
	int attempts;

	if (o->reply_timeout_ms <= 0 || budget_ms <= 0)
		return;
	attempts = budget_ms / o->reply_timeout_ms;
	if (attempts - 1 > o->retries)
		o->retries = attempts - 1;
}

struct client *
client_new(struct transport *t, const struct client_opts *opts)
{
	struct client *c = xcalloc(1, sizeof *c);

	c->t = t;
	if (opts)
		c->opts = *opts;
	else
		client_opts_default(&c->opts);
	frame_reader_init(&c->reader, PROTO_STATION_MAX_FRAME);
	c->send_max = PROTO_MIN_FRAME;
	c->window = 1;
	/* Start at a random-ish point so a restarted station never reuses the
	 * seq of the device's cached reply. */
	c->seq = (uint16_t)(clock_now_us() & 0xFFFF);
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	transport_close(c->t);
	frame_reader_free(&c->reader);
	free(c->last_bad);
	free(c);
}

struct transport *
client_transport(struct client *c)
{
	return c->t;
}

void
client_set_deadline(struct client *c, struct deadline dl)
{
	c->overall = dl;
	c->has_overall = dl.at_ms != 0;
}

void
client_get_stats(struct client *c, struct client_stats *out)
{
	*out = c->stats;
}

/* What the exchange of `f` is, for a fault: the command, and for a
 * chunk where in the message (a CONTINUE is the reply of the command
 * it fetches, never "CONTINUE"). */
void
client_exchange_label(const struct client *c, const struct frame *f, char *buf,
    size_t cap)
{
	if (f->cmd == PROTO_CMD_CONTINUE)
		snprintf(buf, cap, "%s (reply chunk at offset %u)",
		    proto_cmd_name(c->call_cmd), f->offset);
	else if (f->payload_len < f->total)
		snprintf(buf, cap, "%s (request chunk at offset %u of %u)",
		    proto_cmd_name(f->cmd), f->offset, f->total);
	else
		snprintf(buf, cap, "%s", proto_cmd_name(f->cmd));
}

void
client_reply_clear(struct reply *r)
{
	free(r->payload);
	memset(r, 0, sizeof *r);
}

int
client_attempt_timeout_ms(const struct client *c, uint8_t cmd, size_t bytes_out,
    size_t bytes_in)
{
	int ms;

	switch (cmd) {
	case PROTO_CMD_KEYGEN:
		ms = c->opts.keygen_timeout_ms;
		break;
	case PROTO_CMD_CSR:
	case PROTO_CMD_SIGN:
	case PROTO_CMD_ATTEST:
		ms = c->opts.crypto_timeout_ms;
		break;
	default:
		ms = c->opts.reply_timeout_ms;
		break;
	}
	/* On a UART the bytes themselves take time: 10 bits per byte. */
	if (c->t->baud)
		ms += (int)((bytes_out + bytes_in) * 10u * 1000u / c->t->baud);
	return ms;
}

st_err
client_send_frame(struct client *c, const struct frame *f, struct deadline dl,
    char **cause)
{
	size_t n;
	st_err err = frame_encode(f, c->wire, sizeof c->wire, &n, cause);

	if (err)
		return err;
	if (log_debug_enabled()) {
		log_debug("-> %s seq %u off %u total %u len %zu",
		    proto_cmd_name(f->cmd), f->seq, f->offset, f->total,
		    f->payload_len);
		log_hexdump(LOG_MODULE, "tx", c->wire, n);
	}
	c->stats.bytes_out += n;
	return c->t->ops->write(c->t, c->wire, n, dl, cause);
}

/*
 * The next frame from the link (bytes already read first) until `dl`.
 * ST_OK with *f (valid until the next call), ST_E_FRAME for a bad frame
 * (dropped and counted), or the transport's error.
 */
static st_err
next_frame(struct client *c, struct deadline dl, struct frame *f, char **cause)
{
	for (;;) {
		const uint8_t *p;
		size_t left;
		int have = 0;
		char *why = NULL;
		st_err err;

		if (c->rpos == c->rlen) {
			size_t got = 0;

			err = c->t->ops->read(c->t, c->rbuf, sizeof c->rbuf,
			    &got, dl, cause);
			if (err)
				return err;
			c->stats.bytes_in += got;
			if (log_debug_enabled())
				log_hexdump(LOG_MODULE, "rx", c->rbuf, got);
			c->rpos = 0;
			c->rlen = got;
		}
		p = c->rbuf + c->rpos;
		left = c->rlen - c->rpos;
		err = frame_reader_feed(&c->reader, &p, &left, f, &have, &why);
		c->rpos = c->rlen - left;
		if (err) {
			c->stats.bad_frames++;
			log_info("dropped a bad frame: %s", why);
			free(c->last_bad);
			c->last_bad = why;
			return ST_E_FRAME;
		}
		if (have)
			return ST_OK;
	}
}

/*
 * Wait until `dl` for the reply to one of the `n` frames of `req` not yet
 * answered (answered may be NULL: none is).  Returns ST_OK with the reply
 * and its index in *idx, ST_E_TIMEOUT on silence, ST_E_FRAME when a NAK or
 * a corrupt frame says the exchange should be retried at once,
 * ST_E_HANGUP, or ST_E_PROTO.  A BUSY reply gives every frame a fresh
 * attempt window.  *retry (may be NULL) says whether a NAK or a corrupt
 * frame came before the reply returned: with several frames in flight,
 * another one needs sending again.
 */
st_err
client_wait_replies(struct client *c, const struct frame *req, size_t n,
    const bool *answered, struct deadline *dl, int attempt_ms, size_t *idx,
    struct reply *out, int *retry_seen, char **cause)
{
	/* A bad frame or a NAK asks for a retransmission, but only once the
	 * bytes already read are looked at: the good reply may be in them. */
	int retry = 0;

	for (;;) {
		struct frame f;
		size_t i;
		st_err err;

		if (retry && c->rpos == c->rlen)
			return st_fail(cause, ST_E_FRAME,
			    "corrupt reply or NAK from the device");
		err = next_frame(c, *dl, &f, cause);
		if (err == ST_E_FRAME) {
			retry = 1;
			continue;
		}
		if (err)
			return err;
		/* A compact frame is a reply only to a compact CONTINUE in
		 * flight (its 7 bits of seq tell which: at most 16 are in
		 * flight, consecutive); anything else, our own echoed chunks
		 * included, is stale. */
		if (f.compact) {
			for (i = 0; i < n; i++)
				if ((req[i].flags & PROTO_FLAG_COMPACT) &&
				    req[i].cmd == PROTO_CMD_CONTINUE &&
				    (req[i].seq & PROTO_COMPACT_SEQ_MASK) ==
					f.seq &&
				    !(answered && answered[i]))
					break;
			if (i == n) {
				c->stats.stale_frames++;
				log_debug("ignored a stale compact frame");
				continue;
			}
			*idx = i;
			if (retry_seen)
				*retry_seen = retry;
			memset(out, 0, sizeof *out);
			out->compact = 1;
			out->cmd = PROTO_CMD_CONTINUE;
			out->status = PROTO_ST_OK;
			out->payload = xmemdup(f.payload, f.payload_len);
			out->payload_len = f.payload_len;
			return ST_OK;
		}
		if (!(f.flags & PROTO_FLAG_RESPONSE)) {
			c->stats.stale_frames++;
			log_info("ignored a frame without the reply flag");
			continue;
		}
		if (f.cmd == PROTO_CMD_NAK) {
			c->stats.naks++;
			log_info("device NAKed a frame (%s)",
			    proto_status_name(f.status));
			free(c->last_bad);
			c->last_bad = xstrdup("the device answered NAK: it "
					      "received the request corrupt");
			retry = 1;
			continue;
		}
		for (i = 0; i < n; i++)
			if (f.seq == req[i].seq && !(answered && answered[i]))
				break;
		if (i == n) {
			c->stats.stale_frames++;
			log_debug("ignored stale reply seq %u", f.seq);
			continue;
		}
		if (f.cmd != req[i].cmd) {
			char what[96];

			client_exchange_label(c, &req[i], what, sizeof what);
			return st_fail(cause, ST_E_PROTO,
			    "%s: the reply carries command %s (0x%02x); a "
			    "reply echoes the request's command",
			    what, proto_cmd_name(f.cmd), f.cmd);
		}
		if (f.status == PROTO_ST_BUSY) {
			/* The device is alive and working: give it a fresh
			 * attempt window. */
			struct deadline fresh =
			    deadline_in((uint64_t)attempt_ms);
			*dl = c->has_overall ? deadline_min(fresh, c->overall) :
					       fresh;
			continue;
		}
		*idx = i;
		if (retry_seen)
			*retry_seen = retry;
		out->compact = 0;
		out->cmd = f.cmd;
		out->status = f.status;
		out->offset = f.offset;
		out->total = f.total;
		out->payload = xmemdup(f.payload, f.payload_len);
		out->payload_len = f.payload_len;
		return ST_OK;
	}
}

bool
client_count_retry(st_err err, int *silent, int *corrupt)
{
	if (err == ST_E_TIMEOUT) {
		(*silent)++;
		return true;
	}
	if (err == ST_E_FRAME) {
		(*corrupt)++;
		return true;
	}
	return false;
}

st_err
client_attempts_fault(const struct client *c, st_err last, const char *what,
    int attempts, int attempt_ms, char **cause)
{
	if (last == ST_E_FRAME)
		return st_fail(cause, ST_E_FRAME,
		    "%s: %s; no intact reply after %d attempts", what,
		    c->last_bad ? c->last_bad : "corrupt reply", attempts);
	return st_fail(cause, ST_E_TIMEOUT,
	    "device did not answer %s (%d attempts, %d ms each)", what,
	    attempts, attempt_ms);
}

/* One exchange with retransmission. */
static st_err
exchange(struct client *c, struct frame *req, struct reply *out, char **cause)
{
	int attempt_ms = client_attempt_timeout_ms(c, req->cmd,
	    frame_wire_size(req->payload_len), frame_wire_size(c->send_max));
	int tries = c->opts.retries + 1;
	/* A corrupt reply or a NAK proves the device alive and costs only a
	 * frame time, while a 1 KiB frame at a bit error rate of 1e-4 is lost
	 * about half the time: corruption gets a larger budget than silence
	 * (still bounded by the caller's overall deadline). */
	int corrupt_tries = tries * CORRUPT_TRIES_FACTOR;
	int silent = 0, corrupt = 0, attempt = 0;
	size_t one = 0;
	char *why = NULL, what[96];
	st_err err = ST_OK;

	client_exchange_label(c, req, what, sizeof what);
	req->seq = ++c->seq;
	c->stats.requests++;
	for (; silent < tries && corrupt < corrupt_tries; attempt++) {
		struct deadline dl = deadline_in((uint64_t)attempt_ms);

		if (c->has_overall) {
			if (deadline_passed(c->overall))
				break;
			dl = deadline_min(dl, c->overall);
		}
		if (attempt > 0) {
			c->stats.retransmits++;
			log_info("retransmitting %s seq %u (attempt %d)",
			    proto_cmd_name(req->cmd), req->seq, attempt + 1);
		}
		/* Each attempt explains itself in `why`; only a final failure
		 * hands it to the caller, so a call that succeeded after a
		 * retransmission leaves *cause untouched. */
		free(why);
		why = NULL;
		err = client_send_frame(c, req, dl, &why);
		if (err == ST_OK)
			err = client_wait_replies(c, req, 1, NULL, &dl,
			    attempt_ms, &one, out, NULL, &why);
		if (err == ST_OK)
			goto out;
		/* Silence, a NAK or a corrupt reply: send the same frame
		 * again; anything else (hangup, protocol error) is final. */
		if (!client_count_retry(err, &silent, &corrupt)) {
			err = st_fail(cause, err, "%s",
			    why ? why : st_strerror(err));
			goto out;
		}
	}
	err = client_attempts_fault(c, err, what, attempt, attempt_ms, cause);
out:
	free(why);
	return err;
}

/* MESSAGE as the operator sees it (caller frees), or NULL when the
 * reply has none.  It is the device's text: shown whatever bytes it
 * holds, cut to the 200 bytes the rules allow and escaped
 * (text_escape_bytes), with the rule it breaks named, never dropped
 * (docs/protocol.md 7.1). */
static char *
device_message(const struct reply *r)
{
	struct tlv t;
	const char *broke = NULL;
	char *shown, *msg;

	if (tlv_validate(r->payload, r->payload_len, NULL) != ST_OK ||
	    !tlv_find(r->payload, r->payload_len, PROTO_T_MESSAGE, &t))
		return NULL;
	for (size_t i = 0; i < t.len && broke == NULL; i++)
		if (t.val[i] < 0x20 || t.val[i] == 0x7F)
			broke = "it holds control bytes";
	if (broke == NULL && !text_utf8_valid((const char *)t.val, t.len))
		broke = "it is not UTF-8";
	if (broke == NULL && t.len > PROTO_MESSAGE_MAX)
		broke = "it is longer than 200 bytes";
	shown = text_escape_bytes(t.val, t.len, PROTO_MESSAGE_MAX);
	if (broke == NULL)
		return shown;
	msg = xasprintf("%s (MESSAGE breaks the rules: %s)", shown, broke);
	free(shown);
	return msg;
}

/* A device's error status for the exchange `what`. */
st_err
client_status_error(const struct reply *r, const char *what, char **cause)
{
	char *msg = device_message(r);

	st_fail(cause, ST_E_DEVICE, "device refused %s: %s%s%s%s", what,
	    proto_status_name(r->status), msg ? " - device message '" : "",
	    msg ? msg : "", msg ? "'" : "");
	free(msg);
	return ST_E_DEVICE;
}

st_err
client_call(struct client *c, uint8_t cmd, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len, uint8_t *status, char **cause)
{
	size_t chunk_max = c->send_max - PROTO_OVERHEAD;
	bool windowed = c->window > 1 && req_len > chunk_max;
	struct reply r = { 0 };
	uint8_t *msg = NULL;
	size_t off = 0, have;
	uint16_t total;
	char what[96];
	st_err err;

	*resp = NULL;
	*resp_len = 0;
	c->call_cmd = cmd;
	free(c->last_bad);
	c->last_bad = NULL;
	if (req_len > PROTO_MAX_MESSAGE)
		return st_fail(cause, ST_E_ARG,
		    "%s request of %zu bytes is too large", proto_cmd_name(cmd),
		    req_len);
	/* Request: one frame per chunk; all but the last answered CONTINUE;
	 * several in flight when HELLO negotiated a window. */
	if (windowed) {
		uint8_t st = PROTO_ST_OK;

		err = client_send_request_window(c, cmd, req, req_len, &r, &st,
		    cause);
		if (status)
			*status = st;
		if (err)
			goto out;
	}
	while (!windowed) {
		size_t n =
		    req_len - off < chunk_max ? req_len - off : chunk_max;
		struct frame f = { .version = PROTO_VERSION,
			.cmd = cmd,
			.offset = (uint16_t)off,
			.total = (uint16_t)req_len,
			.payload = req ? req + off : NULL,
			.payload_len = n };

		client_reply_clear(&r);
		err = exchange(c, &f, &r, cause);
		if (err)
			goto out;
		off += n;
		if (off >= req_len)
			break;
		if (r.status != PROTO_ST_CONTINUE) {
			if (status)
				*status = r.status;
			client_exchange_label(c, &f, what, sizeof what);
			err = r.status == PROTO_ST_OK ?
			    st_fail(cause, ST_E_PROTO,
				"%s: answered OK, a request chunk but the "
				"last is answered CONTINUE",
				what) :
			    client_status_error(&r, what, cause);
			goto out;
		}
	}
	if (status)
		*status = r.status;
	if (r.status != PROTO_ST_OK) {
		err = client_status_error(&r, proto_cmd_name(cmd), cause);
		goto out;
	}
	/* Reply: fetch the rest with CONTINUE if it was chunked. */
	if (r.offset != 0 || r.payload_len > r.total) {
		err = st_fail(cause, ST_E_PROTO,
		    "%s: the reply's first chunk is at offset %u; a reply "
		    "starts at offset 0",
		    proto_cmd_name(cmd), r.offset);
		goto out;
	}
	msg = xmalloc((size_t)r.total + PROTO_MSG_CRC_LEN);
	memcpy(msg, r.payload, r.payload_len);
	have = r.payload_len;
	total = r.total;
	/* (A first chunk without payload leaves the chunk length unknown:
	 * the device's mistake is found by asking for offset 0 below.) */
	if (c->window > 1 && have > 0 && have < total) {
		err = client_fetch_reply_window(c, msg, have, r.payload_len,
		    total, cause);
		if (err)
			goto out;
		have = total;
		if (client_reply_compact(c, total)) {
			err = client_check_msg_crc(msg, total, cmd, cause);
			if (err)
				goto out;
		}
	}
	while (have < total) {
		struct frame f = { .version = PROTO_VERSION,
			.cmd = PROTO_CMD_CONTINUE,
			.offset = (uint16_t)have };

		client_reply_clear(&r);
		client_exchange_label(c, &f, what, sizeof what);
		err = exchange(c, &f, &r, cause);
		if (err == ST_OK && r.status != PROTO_ST_OK)
			err = client_status_error(&r, what, cause);
		if (err == ST_OK &&
		    (r.offset != have || r.total != total ||
			r.payload_len == 0 || have + r.payload_len > total))
			err = st_fail(cause, ST_E_PROTO,
			    "%s: chunk at offset %u, total %u, %zu bytes; "
			    "expected offset %zu, total %u and 1 to %zu bytes",
			    what, r.offset, r.total, r.payload_len, have, total,
			    total - have);
		if (err)
			goto out;
		memcpy(msg + have, r.payload, r.payload_len);
		have += r.payload_len;
	}
	err = tlv_validate(msg, total, cause);
	if (err) {
		err = st_wrap(cause, err, "reply to %s", proto_cmd_name(cmd));
		goto out;
	}
	/* The caller takes the message. */
	*resp = msg;
	*resp_len = total;
	msg = NULL;
out:
	client_reply_clear(&r);
	free(msg);
	return err;
}

void
client_set_send_max(struct client *c, size_t max_frame)
{
	c->send_max = max_frame;
}

int
client_get_deadline(const struct client *c, struct deadline *dl)
{
	if (c->has_overall)
		*dl = c->overall;
	return c->has_overall;
}
