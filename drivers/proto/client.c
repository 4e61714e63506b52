/*
 * Device-protocol client (see client.h and docs/protocol.md).
 *
 * One exchange = one request frame and one reply frame with the same seq.
 * A message larger than a frame travels as several exchanges: request
 * chunks answered by CONTINUE, reply chunks fetched with CONTINUE requests.
 * Every exchange retransmits the *same* frame (same seq) on silence, on a
 * NAK or on a corrupt reply; the device answers a repeated seq from its
 * reply cache without executing the command twice.
 */
#include "drivers/proto/client.h"

#include <stdlib.h>
#include <string.h>

#include "station/util/log.h"
#include "station/util/text.h"
#include "station/util/xalloc.h"
#include "drivers/proto/client_int.h"
#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"
#include "drivers/proto/tlv.h"

#define LOG_MODULE "client"

/* Attempts ending in corruption allowed per attempt ending in silence. */
#define CORRUPT_TRIES_FACTOR 4

struct client {
	struct transport *t;
	struct client_opts opts;
	struct frame_reader reader;
	uint16_t seq;
	size_t send_max; /* negotiated decoded frame size for requests */
	struct deadline overall;
	int has_overall;
	struct client_stats stats;
	uint8_t wire[PROTO_MAX_FRAME + PROTO_MAX_FRAME / 254 + 8];
};

/* A reply frame copied out of the reader's scratch buffer. */
struct reply {
	uint8_t cmd, status;
	uint16_t offset, total;
	uint8_t *payload;
	size_t payload_len;
};

void
client_opts_default(struct client_opts *o)
{
	o->reply_timeout_ms = 500;
	o->keygen_timeout_ms = 15000;
	o->crypto_timeout_ms = 5000;
	o->retries = 3;
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

static void
reply_clear(struct reply *r)
{
	free(r->payload);
	memset(r, 0, sizeof *r);
}

static int
attempt_timeout_ms(const struct client *c, uint8_t cmd, size_t bytes_out,
    size_t bytes_in)
{
	int ms;

	switch (cmd) {
	case PROTO_CMD_KEYGEN:
		ms = c->opts.keygen_timeout_ms;
		break;
	case PROTO_CMD_CSR:
	case PROTO_CMD_SIGN:
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

static st_err
send_frame(struct client *c, const struct frame *f, struct deadline dl,
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
 * Wait for the reply to `req` until `dl`.  Returns ST_OK with the reply,
 * ST_E_TIMEOUT on silence, ST_E_FRAME when a NAK or a corrupt frame says
 * the exchange should be retried at once, ST_E_HANGUP, or ST_E_PROTO.
 */
static st_err
wait_reply(struct client *c, const struct frame *req, struct deadline *dl,
    int attempt_ms, struct reply *out, char **cause)
{
	uint8_t buf[512];

	for (;;) {
		size_t got = 0, left;
		const uint8_t *p = buf;
		/* A bad frame or a NAK asks for a retransmission, but only once
		 * the rest of this read is looked at: the good reply may be in
		 * it too. */
		int retry = 0;
		st_err err =
		    c->t->ops->read(c->t, buf, sizeof buf, &got, *dl, cause);

		if (err)
			return err;
		c->stats.bytes_in += got;
		if (log_debug_enabled())
			log_hexdump(LOG_MODULE, "rx", buf, got);
		left = got;
		while (left > 0) {
			struct frame f;
			int have = 0;
			char *why = NULL;

			err = frame_reader_feed(&c->reader, &p, &left, &f,
			    &have, &why);
			if (err) {
				c->stats.bad_frames++;
				log_info("dropped a bad frame: %s", why);
				free(why);
				retry = 1;
				continue;
			}
			if (!have)
				continue;
			if (!(f.flags & PROTO_FLAG_RESPONSE)) {
				c->stats.stale_frames++;
				log_info(
				    "ignored a frame without the reply flag");
				continue;
			}
			if (f.cmd == PROTO_CMD_NAK) {
				c->stats.naks++;
				log_info("device NAKed a frame (%s)",
				    proto_status_name(f.status));
				retry = 1;
				continue;
			}
			if (f.seq != req->seq) {
				c->stats.stale_frames++;
				log_debug(
				    "ignored stale reply seq %u (want %u)",
				    f.seq, req->seq);
				continue;
			}
			if (f.cmd != req->cmd)
				return st_fail(cause, ST_E_PROTO,
				    "reply to %s carries command %s (0x%02x)",
				    proto_cmd_name(req->cmd),
				    proto_cmd_name(f.cmd), f.cmd);
			if (f.status == PROTO_ST_BUSY) {
				/* The device is alive and working: give it a
				 * fresh attempt window. */
				struct deadline fresh =
				    deadline_in((uint64_t)attempt_ms);
				*dl = c->has_overall ?
				    deadline_min(fresh, c->overall) :
				    fresh;
				continue;
			}
			out->cmd = f.cmd;
			out->status = f.status;
			out->offset = f.offset;
			out->total = f.total;
			out->payload = xmemdup(f.payload, f.payload_len);
			out->payload_len = f.payload_len;
			return ST_OK;
		}
		if (retry)
			return st_fail(cause, ST_E_FRAME,
			    "corrupt reply or NAK from the device");
	}
}

/* One exchange with retransmission. */
static st_err
exchange(struct client *c, struct frame *req, struct reply *out, char **cause)
{
	int attempt_ms = attempt_timeout_ms(c, req->cmd,
	    frame_wire_size(req->payload_len), frame_wire_size(c->send_max));
	int tries = c->opts.retries + 1;
	/* A corrupt reply or a NAK proves the device alive and costs only a
	 * frame time, while a 1 KiB frame at a bit error rate of 1e-4 is lost
	 * about half the time: corruption gets a larger budget than silence
	 * (still bounded by the caller's overall deadline). */
	int corrupt_tries = tries * CORRUPT_TRIES_FACTOR;
	int silent = 0, corrupt = 0, attempt = 0;
	char *why = NULL;
	st_err err = ST_OK;

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
		err = send_frame(c, req, dl, &why);
		if (err == ST_OK)
			err = wait_reply(c, req, &dl, attempt_ms, out, &why);
		if (err == ST_OK)
			goto out;
		/* Silence, a NAK or a corrupt reply: send the same frame
		 * again; anything else (hangup, protocol error) is final. */
		if (err != ST_E_TIMEOUT && err != ST_E_FRAME) {
			err = st_fail(cause, err, "%s",
			    why ? why : st_strerror(err));
			goto out;
		}
		if (err == ST_E_TIMEOUT)
			silent++;
		else
			corrupt++;
	}
	if (err == ST_E_FRAME)
		err = st_fail(cause, ST_E_FRAME,
		    "no intact reply to %s after %d attempts (line noise?)",
		    proto_cmd_name(req->cmd), attempt);
	else
		err = st_fail(cause, ST_E_TIMEOUT,
		    "device did not answer %s (%d attempts, %d ms each)",
		    proto_cmd_name(req->cmd), attempt, attempt_ms);
out:
	free(why);
	return err;
}

/* The device's MESSAGE is quoted through text_escape: it is the
 * device's text, shown whatever bytes it holds (a message with a control
 * byte is shown escaped, not dropped). */
static st_err
status_error(const struct reply *r, uint8_t cmd, char **cause)
{
	const uint8_t *val = NULL;
	size_t vlen = 0;
	char *raw = NULL, *msg = NULL;

	if (tlv_validate(r->payload, r->payload_len, NULL) == ST_OK &&
	    tlv_get_bytes(r->payload, r->payload_len, PROTO_T_MESSAGE, 200,
		&val, &vlen, NULL) == ST_OK) {
		raw = xstrndup((const char *)val, vlen);
		msg = text_escape(raw, 200);
	}
	st_fail(cause, ST_E_DEVICE, "device refused %s: %s%s%s%s",
	    proto_cmd_name(cmd), proto_status_name(r->status),
	    msg ? " - device message '" : "", msg ? msg : "", msg ? "'" : "");
	free(raw);
	free(msg);
	return ST_E_DEVICE;
}

st_err
client_call(struct client *c, uint8_t cmd, const uint8_t *req, size_t req_len,
    uint8_t **resp, size_t *resp_len, uint8_t *status, char **cause)
{
	size_t chunk_max = c->send_max - PROTO_OVERHEAD;
	struct reply r = { 0 };
	uint8_t *msg = NULL;
	size_t off = 0, have;
	uint16_t total;
	st_err err;

	*resp = NULL;
	*resp_len = 0;
	if (req_len > PROTO_MAX_MESSAGE)
		return st_fail(cause, ST_E_ARG,
		    "%s request of %zu bytes is too large", proto_cmd_name(cmd),
		    req_len);
	/* Request: one frame per chunk; all but the last answered CONTINUE. */
	for (;;) {
		size_t n =
		    req_len - off < chunk_max ? req_len - off : chunk_max;
		struct frame f = { .version = PROTO_VERSION,
			.cmd = cmd,
			.offset = (uint16_t)off,
			.total = (uint16_t)req_len,
			.payload = req ? req + off : NULL,
			.payload_len = n };

		reply_clear(&r);
		err = exchange(c, &f, &r, cause);
		if (err)
			goto out;
		off += n;
		if (off >= req_len)
			break;
		if (r.status != PROTO_ST_CONTINUE) {
			if (status)
				*status = r.status;
			err = r.status == PROTO_ST_OK ?
			    st_fail(cause, ST_E_PROTO,
				"device answered %s chunk "
				"at %zu with OK instead of CONTINUE",
				proto_cmd_name(cmd), off - n) :
			    status_error(&r, cmd, cause);
			goto out;
		}
	}
	if (status)
		*status = r.status;
	if (r.status != PROTO_ST_OK) {
		err = status_error(&r, cmd, cause);
		goto out;
	}
	/* Reply: fetch the rest with CONTINUE if it was chunked. */
	if (r.offset != 0 || r.payload_len > r.total) {
		err = st_fail(cause, ST_E_PROTO,
		    "first reply chunk at offset %u", r.offset);
		goto out;
	}
	msg = xmalloc(r.total ? r.total : 1);
	memcpy(msg, r.payload, r.payload_len);
	have = r.payload_len;
	total = r.total;
	while (have < total) {
		struct frame f = { .version = PROTO_VERSION,
			.cmd = PROTO_CMD_CONTINUE,
			.offset = (uint16_t)have };

		reply_clear(&r);
		err = exchange(c, &f, &r, cause);
		if (err == ST_OK && r.status != PROTO_ST_OK)
			err = status_error(&r, PROTO_CMD_CONTINUE, cause);
		if (err == ST_OK &&
		    (r.offset != have || r.total != total ||
			r.payload_len == 0 || have + r.payload_len > total))
			err = st_fail(cause, ST_E_PROTO,
			    "reply chunk offset %u/total %u/len %zu, expected "
			    "offset %zu/total %u",
			    r.offset, r.total, r.payload_len, have, total);
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
	reply_clear(&r);
	free(msg);
	return err;
}

void
client_set_send_max(struct client *c, size_t max_frame)
{
	c->send_max = max_frame;
}
