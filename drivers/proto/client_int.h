/* Private to drivers/client*.c: what the typed commands need of the
 * exchange engine beyond client.h. */
#ifndef ST_CLIENT_INT_H
#define ST_CLIENT_INT_H

#include <stddef.h>

struct client;

/* The decoded frame size requests may use: PROTO_MIN_FRAME until HELLO
 * negotiates more. */
void client_set_send_max(struct client *c, size_t max_frame);
/* Exchanges in flight at most (docs/protocol.md 6.3): 1 until HELLO
 * negotiates a window, and again after a HELLO that does not. */
void client_set_window(struct client *c, size_t window);

#endif
