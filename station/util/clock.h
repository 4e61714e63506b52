/*
 * Monotonic time and deadlines.  Every blocking call in the station takes a
 * deadline (an absolute monotonic time), never a bare "wait forever".
 */
#ifndef ST_CLOCK_H
#define ST_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_now_ms(void);
/* Microseconds on CLOCK_MONOTONIC (for benchmarks and timings). */
uint64_t clock_now_us(void);

struct deadline {
	uint64_t at_ms; /* absolute CLOCK_MONOTONIC milliseconds */
};

/* A deadline `ms` milliseconds from now. */
struct deadline deadline_in(uint64_t ms);
/* The earlier of two deadlines. */
struct deadline deadline_min(struct deadline a, struct deadline b);
/* Milliseconds left, 0 once passed; clamped to INT32_MAX for poll(). */
int deadline_left_ms(struct deadline d);
bool deadline_passed(struct deadline d);

/* Wall-clock time as "2026-11-22T14:05:25Z" into buf (at least 21 bytes). */
void clock_iso8601_utc(char buf[static 21], int64_t unix_seconds);

#endif
