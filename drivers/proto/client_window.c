/*
 * The windowed transfer of the device-protocol client (see client.c and
 * docs/protocol.md 6.3, 6.4).
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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "station/util/log.h"
#include "station/util/xalloc.h"
#include "drivers/proto/client_engine.h"
#include "drivers/proto/client_int.h"
#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"

#define LOG_MODULE "client"

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
	attempt_ms =
	    client_attempt_timeout_ms(c, n ? fs[0].cmd : PROTO_CMD_CONTINUE,
		c->window * frame_wire_size(max_payload),
		c->window * frame_wire_size(c->send_max));
	dl = deadline_in((uint64_t)attempt_ms);
	while (base < n) {
		struct reply r = { 0 };

		if (c->has_overall) {
			if (deadline_passed(c->overall)) {
				client_exchange_label(c, &fs[base], what,
				    sizeof what);
				err = st_fail(cause, ST_E_TIMEOUT,
				    "no time left for %s (%zu of %zu chunks "
				    "answered)",
				    what, base, n);
				goto out;
			}
			dl = deadline_min(dl, c->overall);
		}
		while (next < n && next < base + c->window) {
			err = client_send_frame(c, &fs[next], dl, cause);
			if (err)
				goto out;
			next++;
		}
		free(why);
		why = NULL;
		err = client_wait_replies(c, fs + base, next - base,
		    answered + base, &dl, attempt_ms, &idx, &r, &retry, &why);
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
		if (!client_count_retry(err, &silent, &corrupt)) {
			err = st_fail(cause, err, "%s",
			    why ? why : st_strerror(err));
			goto out;
		}
		if (silent >= tries || corrupt >= corrupt_tries) {
			client_exchange_label(c, &fs[base], what, sizeof what);
			err = client_attempts_fault(c, err, what,
			    silent + corrupt, attempt_ms, cause);
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
			err = client_send_frame(c, &fs[i], dl, cause);
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
	client_exchange_label(rr->c, &rr->fs[i], what, sizeof what);
	if (r->status == PROTO_ST_OK)
		return st_fail(cause, ST_E_PROTO,
		    "%s: answered OK, a request chunk but the last is "
		    "answered CONTINUE",
		    what);
	return client_status_error(r, what, cause);
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
	client_exchange_label(rf->c, &rf->fs[i], what, sizeof what);
	if (r->status != PROTO_ST_OK)
		return client_status_error(r, what, cause);
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
st_err
client_send_request_window(struct client *c, uint8_t cmd, const uint8_t *req,
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
		client_reply_clear(&rs[i]);
	free(stream);
	free(fs);
	free(rs);
	return err;
}

/* 1 when a reply of `total` bytes is fetched in compact frames: agreed,
 * and every offset into it and its CRC-32 fits a CONTINUE's header. */
int
client_reply_compact(const struct client *c, size_t total)
{
	return c->compact &&
	    total + PROTO_MSG_CRC_LEN - 1 <= (size_t)PROTO_MAX_MESSAGE;
}

/* The rest of a chunked reply with the window: CONTINUEs for the offsets
 * after the first chunk, whose length every chunk but the last has.  With
 * compact frames (client_reply_compact) the chunks after the first are compact,
 * 11 bytes longer (the same frame size), and the message's CRC-32 follows
 * it into msg[total..total + 3] (msg holds that much); the caller checks
 * it. */
st_err
client_fetch_reply_window(struct client *c, uint8_t *msg, size_t have,
    size_t chunk, size_t total, char **cause)
{
	int compact = client_reply_compact(c, total);
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
		client_reply_clear(&rs[i]);
	free(fs);
	free(rs);
	return err;
}

/* The CRC-32 after a message that came in compact frames (6.4): what a
 * frame's CRC-16 missed is found here, and the message is not used. */
st_err
client_check_msg_crc(const uint8_t *msg, size_t len, uint8_t cmd, char **cause)
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
