/* Private to drivers/client*.c: what the typed commands need of the
 * exchange engine beyond client.h. */
#ifndef ST_CLIENT_INT_H
#define ST_CLIENT_INT_H

#include <stddef.h>

#include "station/util/clock.h"

struct client;

/* The decoded frame size requests may use: PROTO_MIN_FRAME until HELLO
 * negotiates more. */
void client_set_send_max(struct client *c, size_t max_frame);
/* Exchanges in flight at most (docs/protocol.md 6.3): 1 until HELLO
 * negotiates a window, and again after a HELLO that does not. */
void client_set_window(struct client *c, size_t window);
/* Compact frames (docs/protocol.md 6.4) from now on: only with a window
 * (set after client_set_window; a window of 1 turns them off). */
void client_set_compact(struct client *c, int on);
/* The overall deadline client_set_deadline gave, if any (returns 0 and
 * leaves *dl alone when none is set). */
int client_get_deadline(const struct client *c, struct deadline *dl);

#endif
