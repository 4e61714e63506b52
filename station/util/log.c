/* The logger (see log.h).  One fprintf per line keeps lines whole when
 * several slot threads log at once. */
#include "station/util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "station/util/text.h"

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static struct {
	pthread_once_t once;
	enum log_level level;
	FILE *fp;
	const char *ident;
} logger = { PTHREAD_ONCE_INIT, LOG_LEVEL_WARN, NULL, "station" };

static void
log_init_from_env(void)
{
	const char *env = getenv("STATION_LOG");

	if (env != NULL && log_level_parse(env) >= 0)
		logger.level = (enum log_level)log_level_parse(env);
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0];
	     i++) {
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	}
	return -1;
}

void
log_set_level(enum log_level level)
{
	pthread_once(&logger.once, log_init_from_env);
	logger.level = level;
}

enum log_level
log_get_level(void)
{
	pthread_once(&logger.once, log_init_from_env);
	return logger.level;
}

void
log_set_file(FILE *fp)
{
	logger.fp = fp;
}

void
log_set_ident(const char *ident)
{
	logger.ident = ident;
}

void
log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char stamp[32], text[1024], *shown;
	struct timeval tv;
	struct tm tm;
	va_list ap;

	if (level > log_get_level())
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	/* Escaping the finished message, not each %s argument: the logger
	 * cannot tell an outside string from its own words, and a clean
	 * message (the usual case) passes unchanged. */
	shown = text_show(text, sizeof text);
	fprintf(logger.fp ? logger.fp : stderr, "%s.%03ldZ %s[%ld] %s %s: %s\n",
	    stamp, (long)(tv.tv_usec / 1000), logger.ident, (long)getpid(),
	    level_names[level], module, shown);
	free(shown);
}

void
log_hexdump(const char *module, const char *what, const void *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = buf;

	if (log_get_level() < LOG_LEVEL_DEBUG)
		return;
	for (size_t off = 0; off < len || off == 0; off += 32) {
		char line[32 * 3 + 1];
		size_t n = len - off < 32 ? len - off : 32, o = 0;

		for (size_t i = 0; i < n; i++) {
			line[o++] = hex[p[off + i] >> 4];
			line[o++] = hex[p[off + i] & 15];
			line[o++] = ' ';
		}
		line[o ? o - 1 : 0] = '\0';
		log_msg(LOG_LEVEL_DEBUG, module, "%s [%zu+%zu/%zu] %s", what,
		    off, n, len, line);
		if (len == 0)
			break;
	}
}
