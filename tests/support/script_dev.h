/*
 * Test support: a scripted device, for the replies no honest device
 * gives (an oversize frame, a MESSAGE that breaks the rules, an error to
 * a reply chunk, capability bits nobody has defined yet).  It is not a
 * device implementation (devsim and the agent are): it decodes each
 * request frame with the station's own codec and hands it to a script,
 * which writes whatever bytes the test wants on the wire.
 *
 * It listens on 127.0.0.1 at a random port in a thread of the test,
 * serves one connection after another, and stops at script_dev_stop or
 * by itself after SCRIPT_DEV_IDLE_S seconds without a connection or a
 * byte.
 */
#ifndef TEST_SCRIPT_DEV_H
#define TEST_SCRIPT_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/proto/frame.h"

#define SCRIPT_DEV_IDLE_S 30

/* The answer to `req` (a decoded request frame, RESPONSE flag clear):
 * up to `cap` bytes in `out`, sent as they are; 0 says nothing. */
typedef size_t (
    *script_fn)(void *ctx, const struct frame *req, uint8_t *out, size_t cap);

struct script_dev;

/* Start listening (aborts the test process if no socket can be had). */
struct script_dev *script_dev_start(script_fn fn, void *ctx);
/* "tcp:127.0.0.1:PORT" */
const char *script_dev_uri(const struct script_dev *d);
/* Requests the script has seen. */
unsigned long script_dev_requests(const struct script_dev *d);
/* Stop the thread and free; accepts NULL. */
void script_dev_stop(struct script_dev *d);

/* One reply frame to `req` (same seq and cmd, RESPONSE set) on the wire,
 * both delimiters included, into out[cap]; its length. */
size_t script_reply(const struct frame *req, uint8_t status, uint16_t offset,
    uint16_t total, const void *payload, size_t len, uint8_t *out, size_t cap);
/* A whole one-frame reply message (offset 0, total = len). */
size_t script_reply_msg(const struct frame *req, uint8_t status,
    const void *payload, size_t len, uint8_t *out, size_t cap);

#endif
