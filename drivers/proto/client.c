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
 * With a window negotiated in HELLO (PROTO_CAP_WINDOW, docs/protocol.md
 * 6.3), the chunks of one message travel with up to `window` exchanges in
 * flight: exchange_window() sends ahead, matches replies by seq and on
 * silence, a NAK or a corrupt reply sends every unanswered frame in flight
 * again, each with its own seq (the device answers those it already
 * handled from its reply cache of `window` entries).
 *
 * With compact frames as well (PROTO_CAP_COMPACT, 6.4), the chunks after
 * a message's first travel as compact frames (a 3-byte frame instead of a
 * 14-byte header and CRC-32), and the message is followed by its CRC-32,
 * checked by its receiver: the frames' CRC-16 finds a corrupt frame, the
 * message's CRC-32 what slipped through it.
 */
#include "drivers/proto/client.h"

#include <stdbool.h>
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
	size_t window;	 /* exchanges in flight at most: 1 until HELLO */
	int compact;	 /* compact frames agreed (needs window > 1) */
	struct deadline overall;
	int has_overall;
	struct client_stats stats;
	/* The command of the client_call in progress: a CONTINUE or a
	 * request chunk is named by it in every fault (docs/protocol.md 5.4),
	 * and why the last frame was not an intact reply (a bad frame's
	 * rule, or a NAK), for the fault that ends a run of them. */
	uint8_t call_cmd;
	char *last_bad;
	uint8_t wire[PROTO_MAX_FRAME + PROTO_MAX_FRAME / 254 + 8];
	/* Bytes read from the link and not yet fed to the frame reader: a
	 * read may hold several replies when exchanges overlap. */
	uint8_t rbuf[512];
	size_t rpos, rlen;
};

/* A reply frame copied out of the reader's scratch buffer. */
struct reply {
	uint8_t compact; /* a compact frame: the payload is all it says */
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
static void
exchange_label(const struct client *c, const struct frame *f, char *buf,
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
static st_err
wait_replies(struct client *c, const struct frame *req, size_t n,
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

			exchange_label(c, &req[i], what, sizeof what);
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
	size_t one = 0;
	char *why = NULL, what[96];
	st_err err = ST_OK;

	exchange_label(c, req, what, sizeof what);
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
			err = wait_replies(c, req, 1, NULL, &dl, attempt_ms,
			    &one, out, NULL, &why);
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
		    "%s: %s; no intact reply after %d attempts", what,
		    c->last_bad ? c->last_bad : "corrupt reply", attempt);
	else
		err = st_fail(cause, ST_E_TIMEOUT,
		    "device did not answer %s (%d attempts, %d ms each)", what,
		    attempt, attempt_ms);
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
static st_err
status_error(const struct reply *r, const char *what, char **cause)
{
	char *msg = device_message(r);

	st_fail(cause, ST_E_DEVICE, "device refused %s: %s%s%s%s", what,
	    proto_status_name(r->status), msg ? " - device message '" : "",
	    msg ? msg : "", msg ? "'" : "");
	free(msg);
	return ST_E_DEVICE;
}

/* Checks one reply of a windowed run as it arrives: ST_OK to go on,
 * anything else ends the run with that error. */
typedef st_err (*reply_check_fn)(size_t i, size_t n, const struct reply *r,
    void *ctx, char **cause);

/*
 * The `n` frames of `fs` (one message's chunks, or the CONTINUEs for one
 * reply's chunks) as exchanges with up to c->window in flight
 * (docs/protocol.md 6.3).  Each gets its own seq; replies, in rs[], are
 * matched by seq and handed to `check` as they come.  Silence (one
 * attempt time since the last progress), a NAK or a corrupt reply sends
 * every unanswered frame in flight again, in order, with its seq; the
 * attempt limits are those of exchange(), counted since the last reply
 * that let the window move.
 */
static st_err
exchange_window(struct client *c, struct frame *fs, size_t n, struct reply *rs,
    reply_check_fn check, void *ctx, char **cause)
{
	size_t max_payload = 0, base = 0, next = 0, idx = 0;
	int tries = c->opts.retries + 1;
	int corrupt_tries = tries * CORRUPT_TRIES_FACTOR;
	int silent = 0, corrupt = 0, attempt_ms, retry = 0;
	bool *answered = xcalloc(n ? n : 1, sizeof *answered);
	struct deadline dl;
	char *why = NULL, what[96];
	st_err err = ST_OK;

	for (size_t i = 0; i < n; i++) {
		fs[i].seq = ++c->seq;
		c->stats.requests++;
		if (fs[i].payload_len > max_payload)
			max_payload = fs[i].payload_len;
	}
	/* On a UART the whole window is on the line before the last reply. */
	attempt_ms = attempt_timeout_ms(c, n ? fs[0].cmd : PROTO_CMD_CONTINUE,
	    c->window * frame_wire_size(max_payload),
	    c->window * frame_wire_size(c->send_max));
	dl = deadline_in((uint64_t)attempt_ms);
	while (base < n) {
		struct reply r = { 0 };

		if (c->has_overall) {
			if (deadline_passed(c->overall)) {
				exchange_label(c, &fs[base], what, sizeof what);
				err = st_fail(cause, ST_E_TIMEOUT,
				    "no time left for %s (%zu of %zu chunks "
				    "answered)",
				    what, base, n);
				goto out;
			}
			dl = deadline_min(dl, c->overall);
		}
		while (next < n && next < base + c->window) {
			err = send_frame(c, &fs[next], dl, cause);
			if (err)
				goto out;
			next++;
		}
		free(why);
		why = NULL;
		err = wait_replies(c, fs + base, next - base, answered + base,
		    &dl, attempt_ms, &idx, &r, &retry, &why);
		if (err == ST_OK) {
			idx += base;
			rs[idx] = r;
			answered[idx] = true;
			err = check(idx, n, &rs[idx], ctx, cause);
			if (err)
				goto out;
			while (base < n && answered[base]) {
				base++;
				silent = 0;
				corrupt = 0;
			}
			dl = deadline_in((uint64_t)attempt_ms);
			/* A NAK came too: some frame in flight was lost. */
			if (!retry || base == n)
				continue;
			err = ST_E_FRAME;
		}
		if (err != ST_E_TIMEOUT && err != ST_E_FRAME) {
			err = st_fail(cause, err, "%s",
			    why ? why : st_strerror(err));
			goto out;
		}
		if (err == ST_E_TIMEOUT)
			silent++;
		else
			corrupt++;
		if (silent >= tries || corrupt >= corrupt_tries) {
			exchange_label(c, &fs[base], what, sizeof what);
			err = err == ST_E_FRAME ?
			    st_fail(cause, ST_E_FRAME,
				"%s: %s; no intact reply after %d attempts",
				what,
				c->last_bad ? c->last_bad : "corrupt reply",
				silent + corrupt) :
			    st_fail(cause, ST_E_TIMEOUT,
				"device did not answer %s (%d attempts, %d ms "
				"each)",
				what, silent + corrupt, attempt_ms);
			goto out;
		}
		/* Go back: everything in flight without a reply, in order. */
		dl = deadline_in((uint64_t)attempt_ms);
		if (c->has_overall)
			dl = deadline_min(dl, c->overall);
		for (size_t i = base; i < next; i++) {
			if (answered[i])
				continue;
			c->stats.retransmits++;
			log_info("retransmitting %s seq %u (chunk %zu of %zu)",
			    proto_cmd_name(fs[i].cmd), fs[i].seq, i + 1, n);
			err = send_frame(c, &fs[i], dl, cause);
			if (err)
				goto out;
		}
	}
	err = ST_OK;
out:
	free(why);
	free(answered);
	return err;
}

/* A request chunk but the last is answered CONTINUE (6.1); an error
 * status ends the call with its status in `status`. */
struct request_run {
	struct client *c;
	const struct frame *fs;
	uint8_t cmd, status;
};

static st_err
check_request_chunk(size_t i, size_t n, const struct reply *r, void *ctx,
    char **cause)
{
	struct request_run *rr = ctx;
	char what[96];

	if (i + 1 == n || r->status == PROTO_ST_CONTINUE)
		return ST_OK;
	rr->status = r->status;
	exchange_label(rr->c, &rr->fs[i], what, sizeof what);
	if (r->status == PROTO_ST_OK)
		return st_fail(cause, ST_E_PROTO,
		    "%s: answered OK, a request chunk but the last is "
		    "answered CONTINUE",
		    what);
	return status_error(r, what, cause);
}

/* Where the reply's chunks go: all but the last `chunk` bytes long;
 * `total` bytes in all (with compact frames: the message and its CRC-32,
 * which no header states). */
struct reply_fill {
	struct client *c;
	const struct frame *fs;
	uint8_t *msg;
	size_t start, chunk, total;
	int compact;
};

static st_err
check_reply_chunk(size_t i, size_t n, const struct reply *r, void *ctx,
    char **cause)
{
	struct reply_fill *rf = ctx;
	size_t off = rf->start + i * rf->chunk;
	size_t want = rf->total - off < rf->chunk ? rf->total - off : rf->chunk;
	char what[96];

	(void)n;
	exchange_label(rf->c, &rf->fs[i], what, sizeof what);
	if (r->status != PROTO_ST_OK)
		return status_error(r, what, cause);
	if (rf->compact && !r->compact)
		return st_fail(cause, ST_E_PROTO,
		    "%s: chunk at %zu is not a compact frame", what, off);
	if (rf->compact ? r->payload_len != want :
			  r->offset != off || r->total != rf->total ||
		    r->payload_len != want)
		return st_fail(cause, ST_E_PROTO,
		    "%s: chunk at offset %u, total %u, %zu bytes; with a "
		    "window every chunk but the last is as long as the "
		    "first (expected offset %zu, total %zu, %zu bytes)",
		    what, r->offset, r->total, r->payload_len, off, rf->total,
		    want);
	memcpy(rf->msg + off, r->payload, want);
	return ST_OK;
}

/* The request's chunks with the window (c->window > 1): ST_OK with the
 * last chunk's reply in *last, or an error; *status gets the status of
 * the reply that ended the call. */
static st_err
send_request_window(struct client *c, uint8_t cmd, const uint8_t *req,
    size_t req_len, struct reply *last, uint8_t *status, char **cause)
{
	size_t chunk_max = c->send_max - PROTO_OVERHEAD;
	size_t n = (req_len + chunk_max - 1) / chunk_max;
	struct frame *fs;
	struct reply *rs;
	struct request_run rr = { c, NULL, cmd, PROTO_ST_OK };
	uint8_t *stream = NULL;
	st_err err;

	/* Compact (6.4): a full first chunk that says so, then the rest of
	 * the message and its CRC-32 in compact frames. */
	if (c->compact) {
		size_t room = c->send_max - PROTO_COMPACT_OVERHEAD;
		size_t len = req_len + PROTO_MSG_CRC_LEN;
		uint32_t crc = crc32_ieee(req, req_len);

		stream = xmalloc(len);
		memcpy(stream, req, req_len);
		for (int k = 0; k < PROTO_MSG_CRC_LEN; k++)
			stream[req_len + (size_t)k] = (uint8_t)(crc >> (8 * k));
		n = 1 + (len - chunk_max + room - 1) / room;
		fs = xcalloc(n, sizeof *fs);
		fs[0] = (struct frame){ .version = PROTO_VERSION,
			.flags = PROTO_FLAG_COMPACT,
			.cmd = cmd,
			.total = (uint16_t)req_len,
			.payload = req,
			.payload_len = chunk_max };
		for (size_t i = 1, off = chunk_max; i < n; i++, off += room)
			fs[i] = (struct frame){ .compact = 1,
				.cmd = cmd,
				.payload = stream + off,
				.payload_len =
				    len - off < room ? len - off : room };
	} else {
		fs = xcalloc(n, sizeof *fs);
		for (size_t i = 0; i < n; i++) {
			size_t off = i * chunk_max;

			fs[i] = (struct frame){ .version = PROTO_VERSION,
				.cmd = cmd,
				.offset = (uint16_t)off,
				.total = (uint16_t)req_len,
				.payload = req + off,
				.payload_len = req_len - off < chunk_max ?
				    req_len - off :
				    chunk_max };
		}
	}
	rr.fs = fs;
	rs = xcalloc(n, sizeof *rs);
	err = exchange_window(c, fs, n, rs, check_request_chunk, &rr, cause);
	if (err == ST_OK) {
		*last = rs[n - 1];
		memset(&rs[n - 1], 0, sizeof rs[n - 1]);
	}
	*status = err == ST_OK ? last->status : rr.status;
	for (size_t i = 0; i < n; i++)
		reply_clear(&rs[i]);
	free(stream);
	free(fs);
	free(rs);
	return err;
}

/* 1 when a reply of `total` bytes is fetched in compact frames: agreed,
 * and every offset into it and its CRC-32 fits a CONTINUE's header. */
static int
reply_compact(const struct client *c, size_t total)
{
	return c->compact &&
	    total + PROTO_MSG_CRC_LEN - 1 <= (size_t)PROTO_MAX_MESSAGE;
}

/* The rest of a chunked reply with the window: CONTINUEs for the offsets
 * after the first chunk, whose length every chunk but the last has.  With
 * compact frames (reply_compact) the chunks after the first are compact,
 * 11 bytes longer (the same frame size), and the message's CRC-32 follows
 * it into msg[total..total + 3] (msg holds that much); the caller checks
 * it. */
static st_err
fetch_reply_window(struct client *c, uint8_t *msg, size_t have, size_t chunk,
    size_t total, char **cause)
{
	int compact = reply_compact(c, total);
	size_t len = compact ? total + PROTO_MSG_CRC_LEN : total;
	struct reply_fill rf = { c, NULL, msg, have, chunk, len, compact };
	size_t n;
	struct frame *fs;
	struct reply *rs;
	st_err err;

	if (compact)
		rf.chunk = chunk + PROTO_OVERHEAD - PROTO_COMPACT_OVERHEAD;
	n = (len - have + rf.chunk - 1) / rf.chunk;
	fs = xcalloc(n, sizeof *fs);
	rs = xcalloc(n, sizeof *rs);
	for (size_t i = 0; i < n; i++)
		fs[i] = (struct frame){ .version = PROTO_VERSION,
			.flags = compact ? PROTO_FLAG_COMPACT : 0,
			.cmd = PROTO_CMD_CONTINUE,
			.offset = (uint16_t)(have + i * rf.chunk) };
	rf.fs = fs;
	err = exchange_window(c, fs, n, rs, check_reply_chunk, &rf, cause);
	for (size_t i = 0; i < n; i++)
		reply_clear(&rs[i]);
	free(fs);
	free(rs);
	return err;
}

/* The CRC-32 after a message that came in compact frames (6.4): what a
 * frame's CRC-16 missed is found here, and the message is not used. */
static st_err
check_msg_crc(const uint8_t *msg, size_t len, uint8_t cmd, char **cause)
{
	const uint8_t *p = msg + len;
	uint32_t want = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	uint32_t got = crc32_ieee(msg, len);

	if (want == got)
		return ST_OK;
	return st_fail(cause, ST_E_FRAME,
	    "reply to %s corrupted on the line (message CRC-32 %08x, content "
	    "gives %08x); try again",
	    proto_cmd_name(cmd), want, got);
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

		err = send_request_window(c, cmd, req, req_len, &r, &st, cause);
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
			exchange_label(c, &f, what, sizeof what);
			err = r.status == PROTO_ST_OK ?
			    st_fail(cause, ST_E_PROTO,
				"%s: answered OK, a request chunk but the "
				"last is answered CONTINUE",
				what) :
			    status_error(&r, what, cause);
			goto out;
		}
	}
	if (status)
		*status = r.status;
	if (r.status != PROTO_ST_OK) {
		err = status_error(&r, proto_cmd_name(cmd), cause);
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
		err = fetch_reply_window(c, msg, have, r.payload_len, total,
		    cause);
		if (err)
			goto out;
		have = total;
		if (reply_compact(c, total)) {
			err = check_msg_crc(msg, total, cmd, cause);
			if (err)
				goto out;
		}
	}
	while (have < total) {
		struct frame f = { .version = PROTO_VERSION,
			.cmd = PROTO_CMD_CONTINUE,
			.offset = (uint16_t)have };

		reply_clear(&r);
		exchange_label(c, &f, what, sizeof what);
		err = exchange(c, &f, &r, cause);
		if (err == ST_OK && r.status != PROTO_ST_OK)
			err = status_error(&r, what, cause);
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
	reply_clear(&r);
	free(msg);
	return err;
}

void
client_set_send_max(struct client *c, size_t max_frame)
{
	c->send_max = max_frame;
}

void
client_set_window(struct client *c, size_t window)
{
	c->window = window < 1	      ? 1 :
	    window > PROTO_MAX_WINDOW ? PROTO_MAX_WINDOW :
					window;
	if (c->window < 2)
		c->compact = 0;
}

void
client_set_compact(struct client *c, int on)
{
	c->compact = on && c->window > 1;
}

int
client_compact(const struct client *c)
{
	return c->compact;
}

size_t
client_window(const struct client *c)
{
	return c->window;
}

int
client_get_deadline(const struct client *c, struct deadline *dl)
{
	if (c->has_overall)
		*dl = c->overall;
	return c->has_overall;
}
