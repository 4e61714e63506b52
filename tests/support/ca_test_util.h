/*
 * What the remote CA backend tests share: settings built inline and the
 * record of every log line and cause a test program produced, searched at
 * the end for secrets.
 */
#ifndef TEST_CA_TEST_UTIL_H
#define TEST_CA_TEST_UTIL_H

#include <sys/types.h>

#include "station/ca/ca.h"

#define CA_SETTINGS_MAX 24

struct ca_test_settings {
	struct ca_setting kv[CA_SETTINGS_MAX + 1];
	struct ca_settings s;
};

/* Fill from "key", "value", ... NULL; returns &t->s. */
struct ca_settings *ca_test_settings(struct ca_test_settings *t, ...);

/*
 * What every backend test's teardown does with its outcome: the cause
 * noted for ca_test_secret_leaked (and shown when SHOW_CAUSES is set),
 * then freed; the issued certificate cleared; the backend freed.  Each
 * may be NULL or empty.
 */
void ca_test_done(char *cause, struct ca_issued *issued, struct ca_backend *ca);

/* Send the station's log (debug level) to a capture file. */
void ca_test_capture_logs(void);
/* Remember a cause (may be NULL) for ca_test_secret_leaked. */
void ca_test_note_cause(const char *cause);
/* 1 if `secret` appears in the captured log or a noted cause; the place
 * is printed. */
int ca_test_secret_leaked(const char *secret);
/* 1 if `text` appears there (to prove the capture works). */
int ca_test_seen(const char *text);

#endif
