/* A station home and a broker trusting its CA (see smoke_env.h). */
#include "tests/support/smoke_env.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "station/util/xalloc.h"
#include "tests/support/scratch.h"

struct smoke_env *
smoke_env_new(const char *profile_lines, const char *broker_extra,
    int lifetime_s)
{
	struct smoke_env *s = xcalloc(1, sizeof *s);
	char *rest = xasprintf("[profile default]\n%s",
	    profile_lines ? profile_lines : "");
	char *root;

	s->env = prov_env_new();
	prov_env_config(s->env, NULL, rest);
	free(rest);
	s->broker_dir = xasprintf("%s/broker", s->env->home);
	assert_int_equal(mkdir(s->broker_dir, 0700), 0);
	if (broker_extra != NULL)
		free(scratch_write(s->broker_dir, "extra.conf", broker_extra,
		    0600));
	root = xasprintf("%s/ca/root.pem", s->env->home);
	assert_int_equal(test_broker_start(&s->broker, s->broker_dir, root,
			     lifetime_s),
	    0);
	free(root);
	s->broker_arg = xasprintf("127.0.0.1:%d", s->broker.port);
	return s;
}

void
smoke_env_free(struct smoke_env *s)
{
	if (s == NULL)
		return;
	json_decref(s->res);
	if (s->broker.pid > 0)
		test_broker_stop(&s->broker);
	prov_env_free(s->env);
	free(s->broker_arg);
	free(s->broker_dir);
	free(s);
}

int
smoke_env_provision(struct smoke_env *s, const char *uri, const char *broker_at)
{
	const char *extra[] = { "--broker",
		broker_at ? broker_at : s->broker_arg, "--broker-ca",
		s->broker.ca_file, NULL };
	int status = -1;

	json_decref(s->res);
	s->res = prov_provision(s->env, uri, extra, &status);
	assert_non_null(s->res);
	return status;
}
