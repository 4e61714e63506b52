/* The CA backend table (ca.c): what ca_open accepts comes from it, and
 * the ca_sign/ca_revoke/ca_find_by_key wrappers answer for a backend
 * that lacks an operation.  Real backends throughout: a local CA made in
 * a scratch directory, and the hub backend (which cannot look a
 * certificate up by key) opened against an address nobody listens on,
 * since opening it makes no call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "station/ca/ca.h"
#include "station/ca/local.h"
#include "tests/support/scratch.h"

static int
never_called(X509 *cert, void *arg)
{
	(void)cert;
	*(int *)arg += 1;
	return 0;
}

/* Every backend in the table is reachable by its name, and an unknown
 * name is answered with the table's names, in order. */
static void
test_unknown_backend_lists_the_table(void **state)
{
	struct ca_backend *ca = NULL;
	char *cause = NULL;
	char expect[256] = "";
	size_t used = 0;

	(void)state;
	for (size_t i = 0; ca_backend_name(i) != NULL; i++)
		used += (size_t)snprintf(expect + used, sizeof expect - used,
		    "%s%s", i ? ", " : "", ca_backend_name(i));
	assert_true(used < sizeof expect);
	assert_string_equal(expect, "local, vault, cfssl, hub");
	assert_int_equal(ca_open("openssl", &(struct ca_settings){ 0 }, &ca,
			     &cause),
	    ST_E_CONFIG);
	assert_null(ca);
	assert_non_null(strstr(cause, "unknown CA backend 'openssl'"));
	assert_non_null(strstr(cause, expect));
	free(cause);
}

/* A key of another backend is refused by ca_open, naming the key and the
 * backend, before the backend itself looks at anything. */
static void
test_key_of_another_backend_refused(void **state)
{
	static const struct ca_setting extra[] = { { "role", "device" },
		{ NULL, NULL } };
	struct ca_settings s = { .dir = "/nonexistent", .extra = extra };
	struct ca_backend *ca = NULL;
	char *cause = NULL;

	(void)state;
	assert_int_equal(ca_open("local", &s, &ca, &cause), ST_E_CONFIG);
	assert_null(ca);
	assert_string_equal(cause,
	    "[ca] key 'role' does not apply to the "
	    "local backend");
	free(cause);
}

/* Every key a backend lists is described once in the key table (the
 * configuration checks values by that description). */
static void
test_every_key_has_a_type(void **state)
{
	size_t n = 0;

	(void)state;
	for (size_t i = 0; ca_key_at(i) != NULL; i++) {
		const struct ca_key *k = ca_key_at(i);

		assert_ptr_equal(ca_key_find(k->name), k);
		if (k->type == CA_KEY_INT)
			assert_true(k->min <= k->max);
		n++;
	}
	assert_true(n > 0);
	assert_null(ca_key_find("token")); /* a secret is never a key */
	assert_non_null(ca_key_find("token_env"));
}

static void
test_key_values_checked_by_type(void **state)
{
	char *why = NULL;

	(void)state;
	assert_int_equal(ca_key_check(ca_key_find("retries"), "10", &why),
	    ST_OK);
	assert_int_equal(ca_key_check(ca_key_find("retries"), "11", &why),
	    ST_E_CONFIG);
	assert_string_equal(why, "expected an integer 0..10");
	assert_int_equal(ca_key_check(ca_key_find("timeout_ms"), "0", &why),
	    ST_E_CONFIG);
	assert_string_equal(why, "expected an integer 1..3600000");
	assert_int_equal(ca_key_check(ca_key_find("token_env"), "s.Secret1",
			     &why),
	    ST_E_CONFIG);
	assert_null(strstr(why, "s.Secret1"));
	assert_int_equal(ca_key_check(ca_key_find("token_env"), "VAULT_TOKEN",
			     &why),
	    ST_OK);
	assert_int_equal(ca_key_check(ca_key_find("key"), "file:/x", &why),
	    ST_E_CONFIG);
	assert_int_equal(ca_key_check(ca_key_find("addr"), "", &why),
	    ST_E_CONFIG);
	assert_string_equal(why, "expected a non-empty value");
	free(why);
}

/* The hub cannot look certificates up by key: the wrapper says so with
 * ST_E_UNSUPPORTED and never calls back; the backend keeps its table
 * name for the ledger. */
static void
test_missing_operation_is_unsupported(void **state)
{
	static const struct ca_setting extra[] = {
		{ "addr", "https://127.0.0.1:9" }, { NULL, NULL }
	};
	struct ca_settings s = { .extra = extra };
	struct ca_backend *ca = NULL;
	char *cause = NULL;
	int calls = 0;

	(void)state;
	assert_int_equal(ca_open("hub", &s, &ca, &cause), ST_OK);
	assert_string_equal(ca_name(ca), "hub");
	assert_int_equal(ca_find_by_key(ca, "00", never_called, &calls, &cause),
	    ST_E_UNSUPPORTED);
	assert_int_equal(calls, 0);
	assert_non_null(strstr(cause, "device hub"));
	assert_non_null(strstr(cause, "cannot look up"));
	free(cause);
	ca_free(ca);
}

/* The local CA implements every operation: the wrappers reach it. */
static void
test_local_ca_through_the_wrappers(void **state)
{
	char *dir = scratch_dir();
	char *cadir = NULL;
	struct ca_settings s = { 0 };
	struct ca_backend *ca = NULL;
	char *cause = NULL;
	int calls = 0;

	(void)state;
	cadir = malloc(strlen(dir) + 4);
	snprintf(cadir, strlen(dir) + 4, "%s/ca", dir);
	assert_int_equal(local_ca_init(cadir, NULL), ST_OK);
	s.dir = cadir;
	assert_int_equal(ca_open("local", &s, &ca, &cause), ST_OK);
	assert_string_equal(ca_name(ca), "local");
	assert_int_equal(ca_find_by_key(ca, "00", never_called, &calls, &cause),
	    ST_OK);
	assert_int_equal(calls, 0);
	assert_int_equal(ca_revoke(ca, "0123abcd", "unspecified", &cause),
	    ST_E_NOTFOUND);
	free(cause);
	ca_free(ca);
	/* Opened directly, not through the table: no table name. */
	assert_int_equal(local_ca_open(cadir, &ca, NULL), ST_OK);
	assert_string_equal(ca_name(ca), "");
	ca_free(ca);
	scratch_rmtree(dir);
	free(cadir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_backend_lists_the_table),
		cmocka_unit_test(test_key_of_another_backend_refused),
		cmocka_unit_test(test_every_key_has_a_type),
		cmocka_unit_test(test_key_values_checked_by_type),
		cmocka_unit_test(test_missing_operation_is_unsupported),
		cmocka_unit_test(test_local_ca_through_the_wrappers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
