/* Helpers of the remote CA backend tests (see ca_test_util.h). */
#include "tests/support/ca_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "station/util/log.h"

static FILE *log_capture;
static char *causes;
static size_t causes_len;

struct ca_settings *
ca_test_settings(struct ca_test_settings *t, ...)
{
	va_list ap;
	size_t n = 0;
	const char *k;

	memset(t, 0, sizeof *t);
	va_start(ap, t);
	for (;;) {
		k = va_arg(ap, const char *);
		if (k == NULL || n >= CA_SETTINGS_MAX)
			break;
		t->kv[n].key = k;
		t->kv[n].value = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	t->s.extra = t->kv;
	return &t->s;
}

void
ca_test_capture_logs(void)
{
	log_capture = tmpfile();
	if (log_capture == NULL)
		abort();
	log_set_file(log_capture);
	log_set_level(LOG_LEVEL_DEBUG);
}

void
ca_test_note_cause(const char *cause)
{
	size_t n;

	if (cause == NULL)
		return;
	n = strlen(cause);
	causes = realloc(causes, causes_len + n + 2);
	if (causes == NULL)
		abort();
	memcpy(causes + causes_len, cause, n);
	causes_len += n;
	causes[causes_len++] = '\n';
	causes[causes_len] = '\0';
}

static int
search(const char *secret, int quiet)
{
	char line[4096];
	int leaked = 0;

	if (causes && strstr(causes, secret)) {
		if (!quiet)
			fprintf(stderr, "secret found in a cause\n");
		leaked = 1;
	}
	if (log_capture == NULL)
		return leaked;
	fflush(log_capture);
	rewind(log_capture);
	while (fgets(line, sizeof line, log_capture) != NULL) {
		if (strstr(line, secret)) {
			if (!quiet)
				fprintf(stderr, "secret found in the log: %s",
				    line);
			leaked = 1;
		}
	}
	fseek(log_capture, 0, SEEK_END);
	return leaked;
}

int
ca_test_secret_leaked(const char *secret)
{
	return search(secret, 0);
}

int
ca_test_seen(const char *text)
{
	return search(text, 1);
}

void
ca_test_done(char *cause, struct ca_issued *issued, struct ca_backend *ca)
{
	ca_test_note_cause(cause);
	if (getenv("SHOW_CAUSES") && cause)
		print_message("cause: %s\n", cause);
	free(cause);
	if (issued != NULL)
		ca_issued_clear(issued);
	ca_free(ca);
}
