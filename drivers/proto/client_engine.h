/* Private to drivers/proto/client.c and client_window.c: the exchange
 * engine's state and the single steps the windowed transfer
 * (client_window.c) builds on.  client_cmds.c sees only client_int.h. */
#ifndef ST_CLIENT_ENGINE_H
#define ST_CLIENT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "station/util/clock.h"
#include "station/util/err.h"
#include "drivers/proto/client.h"
#include "drivers/proto/frame.h"
#include "drivers/proto/proto.h"

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

/* What the exchange of `f` is, for a fault, in buf (cap bytes): the
 * command, and for a chunk where in the message. */
void client_exchange_label(const struct client *c, const struct frame *f,
    char *buf, size_t cap);
/* Frees r's payload and zeroes it (r stays usable). */
void client_reply_clear(struct reply *r);
/* One attempt's time for `cmd` with the bytes each way on the line. */
int client_attempt_timeout_ms(const struct client *c, uint8_t cmd,
    size_t bytes_out, size_t bytes_in);
/* Encodes and writes one frame until dl. */
st_err client_send_frame(struct client *c, const struct frame *f,
    struct deadline dl, char **cause);
/* The reply to one of the n frames of req not yet answered (answered may
 * be NULL): see client.c for the returns.  out's payload is owned by the
 * caller (client_reply_clear). */
st_err client_wait_replies(struct client *c, const struct frame *req, size_t n,
    const bool *answered, struct deadline *dl, int attempt_ms, size_t *idx,
    struct reply *out, int *retry_seen, char **cause);
/* An attempt that failed with `err`: silence (ST_E_TIMEOUT) or a NAK or
 * corrupt reply (ST_E_FRAME) is counted in *silent or *corrupt and true
 * returned (send again); anything else is final (false). */
bool client_count_retry(st_err err, int *silent, int *corrupt);
/* The fault that ends the exchange `what` after `attempts` without an
 * intact reply: the last bad frame's rule when `last` is ST_E_FRAME,
 * silence (ST_E_TIMEOUT) otherwise.  Returns the kind. */
st_err client_attempts_fault(const struct client *c, st_err last,
    const char *what, int attempts, int attempt_ms, char **cause);
/* A device's error status for the exchange `what`: always ST_E_DEVICE,
 * with the status and the device's message in *cause. */
st_err client_status_error(const struct reply *r, const char *what,
    char **cause);

/* client_window.c: a message's chunks with several exchanges in flight
 * (docs/protocol.md 6.3, 6.4). */

/* The request's chunks with the window (c->window > 1): ST_OK with the
 * last chunk's reply in *last (caller clears it), or an error; *status
 * gets the status of the reply that ended the call. */
st_err client_send_request_window(struct client *c, uint8_t cmd,
    const uint8_t *req, size_t req_len, struct reply *last, uint8_t *status,
    char **cause);
/* 1 when a reply of `total` bytes is fetched in compact frames. */
int client_reply_compact(const struct client *c, size_t total);
/* The rest of a chunked reply with the window into msg[have..total) (and
 * with compact frames its CRC-32 after it: msg holds total + 4). */
st_err client_fetch_reply_window(struct client *c, uint8_t *msg, size_t have,
    size_t chunk, size_t total, char **cause);
/* The CRC-32 after a message of len bytes that came in compact frames. */
st_err client_check_msg_crc(const uint8_t *msg, size_t len, uint8_t cmd,
    char **cause);

#endif
