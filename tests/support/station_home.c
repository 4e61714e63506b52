/* Test support: a scratch station home (station_home.h). */
#include "tests/support/station_home.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/scratch.h"
#include "station/ca/local.h"
#include "station/util/xalloc.h"

struct station_home *
station_home_new(const char *sub)
{
	struct station_home *h = xcalloc(1, sizeof *h);

	h->dir = scratch_dir();
	if (sub == NULL) {
		h->home = xstrdup(h->dir);
	} else {
		h->home = xasprintf("%s/%s", h->dir, sub);
		if (mkdir(h->home, 0700) != 0) {
			fprintf(stderr, "station_home: cannot create %s\n",
			    h->home);
			abort();
		}
	}
	h->ca_dir = xasprintf("%s/ca", h->home);
	return h;
}

void
station_home_free(struct station_home *h)
{
	char *key;

	if (h == NULL)
		return;
	scratch_rmtree(h->dir);
	/* The ledger key a home that is the scratch directory itself got
	 * beside it (ledger_key_default_path). */
	key = xasprintf("%s-key", h->dir);
	scratch_rmtree(key);
	free(key);
	free(h->dir);
	free(h->home);
	free(h->config);
	free(h->ca_dir);
	free(h);
}

char *
station_home_write(struct station_home *h, const char *name, const char *text)
{
	return scratch_write(h->dir, name, text, 0600);
}

/* The station's default step_timeout_ms and its largest (docs/admin.md). */
#define DEFAULT_STEP_MS 10000
#define MAX_STEP_MS 3600000

/*
 * `extra` with its step_timeout_ms stretched by test_ms (a value that is
 * not a plain number is kept: a test of the config's refusal), or with
 * the default's stretch added when it sets none and the tests run slow.
 * Caller frees.
 */
static char *
stretch_step_timeout(const char *extra)
{
	const char *key = strstr(extra, "step_timeout_ms");
	const char *v;
	char *end;
	long ms;

	if (key == NULL) {
		size_t len = strlen(extra);

		if (test_ms(DEFAULT_STEP_MS) == DEFAULT_STEP_MS)
			return xstrdup(extra);
		/* On the blank line that follows `extra` in the file when
		 * it is empty or ends its lines, so that the lines after it
		 * keep their numbers in the station's messages. */
		return xasprintf("%s%sstep_timeout_ms = %d", extra,
		    len == 0 || extra[len - 1] == '\n' ? "" : "\n",
		    test_ms(DEFAULT_STEP_MS));
	}
	v = key + strlen("step_timeout_ms");
	v += strspn(v, " \t");
	if (*v != '=')
		return xstrdup(extra);
	v++;
	v += strspn(v, " \t");
	ms = strtol(v, &end, 10);
	if (end == v || (*end != '\n' && *end != '\0') || ms <= 0 ||
	    ms > MAX_STEP_MS)
		return xstrdup(extra);
	ms = test_ms((int)ms);
	return xasprintf("%.*s%ld%s", (int)(v - extra), extra,
	    ms < MAX_STEP_MS ? ms : MAX_STEP_MS, end);
}

void
station_home_config(struct station_home *h, const char *station_extra,
    const char *rest)
{
	/* The CA made below is a TEST CA: the station refuses it unless
	 * [ca] says allow_test_ca: put at the end of the test's own [ca]
	 * if any, else in a [ca] of its own at the end, so that the lines
	 * a test wrote up to there keep their numbers in the station's
	 * messages. */
	char *extra = stretch_step_timeout(station_extra ? station_extra : "");
	const char *more = rest ? rest : "";
	const char *ca = strstr(more, "[ca]\n");
	char *text;

	if (strstr(more, "allow_test_ca") != NULL)
		text = xasprintf("[station]\nhome = %s\n%s\n%s", h->home, extra,
		    more);
	else if (ca != NULL) {
		/* at the end of the test's [ca] section */
		const char *next = strstr(ca, "\n[");
		int upto =
		    next != NULL ? (int)(next + 1 - more) : (int)strlen(more);
		const char *nl = upto > 0 && more[upto - 1] != '\n' ? "\n" : "";

		text = xasprintf("[station]\nhome = %s\n%s\n%.*s%s"
				 "allow_test_ca = yes\n%s",
		    h->home, extra, upto, more, nl, more + upto);
	} else
		text = xasprintf("[station]\nhome = %s\n%s\n%s\n[ca]\n"
				 "allow_test_ca = yes\n",
		    h->home, extra, more);
	char *root = xasprintf("%s/root.pem", h->ca_dir);
	char *cause = NULL;

	free(h->config);
	h->config = station_home_write(h, "station.ini", text);
	if (access(root, F_OK) != 0 && local_ca_init(h->ca_dir, &cause)) {
		fprintf(stderr, "station_home: local CA: %s\n", cause);
		abort();
	}
	free(root);
	free(text);
	free(extra);
}
