/* Monotonic time and deadlines (see clock.h). */
#include "station/util/clock.h"

#include <time.h>

uint64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
clock_now_ms(void)
{
	return clock_now_us() / 1000u;
}

struct deadline
deadline_in(uint64_t ms)
{
	struct deadline d = { clock_now_ms() + ms };

	return d;
}

struct deadline
deadline_min(struct deadline a, struct deadline b)
{
	return a.at_ms < b.at_ms ? a : b;
}

int
deadline_left_ms(struct deadline d)
{
	uint64_t now = clock_now_ms();

	if (now >= d.at_ms)
		return 0;
	if (d.at_ms - now > INT32_MAX)
		return INT32_MAX;
	return (int)(d.at_ms - now);
}

bool
deadline_passed(struct deadline d)
{
	return deadline_left_ms(d) == 0;
}

void
clock_iso8601_utc(char buf[static 21], int64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
