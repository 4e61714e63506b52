/*
 * The process's random generator (station/util/rng.h): Hash-DRBG unless
 * the OpenSSL configuration names another.  The choice is made once per
 * process, so each case runs in a child of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "station/util/rng.h"

/* Exit status of a child: 0 when `want` is the primary's name after
 * rng_prefer_hash_drbg returned `want_rc` and random bytes came. */
static int
child_case(int draw_first, int want_rc, const char *want)
{
	unsigned char b[32];
	const char *name;
	int rc;

	if (draw_first && RAND_bytes(b, sizeof b) != 1)
		return 2;
	rc = rng_prefer_hash_drbg();
	if (RAND_bytes(b, sizeof b) != 1)
		return 3;
	name = rng_primary_name();
	if (rc != want_rc) {
		fprintf(stderr, "rng_prefer_hash_drbg returned %d\n", rc);
		return 4;
	}
	if (name == NULL || strcmp(name, want) != 0) {
		fprintf(stderr, "primary generator %s, want %s\n",
		    name ? name : "(none)", want);
		return 5;
	}
	return 0;
}

static int
in_child(const char *conf, int draw_first, int want_rc, const char *want)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		if (conf != NULL)
			setenv("OPENSSL_CONF", conf, 1);
		else
			unsetenv("OPENSSL_CONF");
		_exit(child_case(draw_first, want_rc, want));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_the_station_draws_from_hash_drbg(void **state)
{
	(void)state;
	assert_int_equal(in_child(NULL, 0, 0, "HASH-DRBG"), 0);
}

static void
test_a_random_section_in_the_openssl_configuration_wins(void **state)
{
	char dir[] = "/tmp/station-rng-XXXXXX", path[64];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/openssl.cnf", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("openssl_conf = init\n[init]\nrandom = random_sect\n"
	      "[random_sect]\nrandom = CTR-DRBG\ncipher = AES-256-CTR\n",
	    fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(in_child(path, 0, 0, "CTR-DRBG"), 0);
	unlink(path);
	rmdir(dir);
}

static void
test_too_late_is_refused_and_changes_nothing(void **state)
{
	(void)state;
	assert_int_equal(in_child(NULL, 1, -1, "CTR-DRBG"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_station_draws_from_hash_drbg),
		cmocka_unit_test(
		    test_a_random_section_in_the_openssl_configuration_wins),
		cmocka_unit_test(test_too_late_is_refused_and_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
