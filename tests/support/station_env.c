/* Test support: a station home and the station as a child (station_env.h). */
#include "tests/support/station_env.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/devsim_proc.h"
#include "drivers/proto/client.h"
#include "drivers/transport/transport.h"
#include "tests/support/pki.h"
#include "tests/support/proc.h"
#include "station/util/xalloc.h"

struct station_env *
station_env_new(int step_timeout_ms, const char *extra)
{
	struct station_env *e = xcalloc(1, sizeof *e);
	char *more = xasprintf("id = st-test\n"
			       "log_level = warn\n"
			       "step_timeout_ms = %d",
	    step_timeout_ms);
	char *rest = xasprintf(
	    "[ca]\n"
	    "backend = local\n"
	    "dir = ca\n"
	    "[profile default]\n"
	    "key = ec-p256\n"
	    "subject = C=US,O=Example-Org,OU=IoT-Device,CN=${serial}\n"
	    "reprovision = allow\n"
	    "[profile rsa]\n"
	    "key = rsa-2048\n"
	    "subject = C=US,O=Example-Org,OU=IoT-Device,CN=${serial}\n"
	    "reprovision = allow\n"
	    "%s",
	    extra ? extra : "");

	e->sh = station_home_new("home");
	station_home_config(e->sh, more, rest);
	e->dir = e->sh->dir;
	e->home = e->sh->home;
	e->config = e->sh->config;
	e->ca_dir = e->sh->ca_dir;
	e->ledger = xasprintf("%s/ledger.db", e->home);
	free(more);
	free(rest);
	return e;
}

void
station_env_free(struct station_env *e)
{
	if (e == NULL)
		return;
	station_home_free(e->sh);
	free(e->ledger);
	free(e);
}

static void
redirect(int fd, const char *path)
{
	int f = open(path ? path : "/dev/null",
	    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (f >= 0) {
		dup2(f, fd);
		close(f);
	}
}

pid_t
station_env_spawn(const struct station_env *e, const char *const *args,
    const char *out_path, const char *err_path, const char *log_level)
{
	const char *argv[48];
	size_t n = 0;

	argv[n++] = test_bin("STATION_BIN", "build/bin/station");
	argv[n++] = "--config";
	argv[n++] = e->config;
	for (size_t i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	redirect(STDOUT_FILENO, out_path);
	redirect(STDERR_FILENO, err_path);
	if (log_level)
		setenv("STATION_LOG", log_level, 1);
	else
		unsetenv("STATION_LOG");
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int
station_env_run(const struct station_env *e, const char *const *args,
    const char *out_path)
{
	pid_t pid = station_env_spawn(e, args, out_path, NULL, NULL);

	return pid < 0 ? -1 : proc_wait_ms(pid, 60000);
}

uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t n = 0, cap = 0;

	if (fp == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = xrealloc(buf, cap);
		}
		size_t got = fread(buf + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0)
			break;
	}
	fclose(fp);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int
device_read_cert(const char *uri, uint8_t **der, size_t *len, int tries)
{
	*der = NULL;
	*len = 0;
	for (int i = 0; i < tries; i++) {
		struct deadline dl = deadline_in(test_ms(5000));
		struct transport *t = NULL;
		struct dev_info info = { 0 };
		st_err err = transport_open(uri, dl, &t, NULL);

		if (err)
			continue;
		struct client *c = client_new(t, NULL);
		client_set_deadline(c, dl);
		err = dev_hello(c, &info, NULL);
		if (err == ST_OK)
			err = dev_read_cert(c, der, len, NULL);
		dev_info_clear(&info);
		client_free(c);
		if (err == ST_OK)
			return 0;
	}
	return -1;
}

uint8_t *
pem_cert_der(const char *pem, size_t *len)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *p = NULL;
	int n = x ? i2d_X509(x, &p) : -1;
	uint8_t *out = NULL;

	if (n > 0) {
		out = xmemdup(p, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(p);
	X509_free(x);
	BIO_free(bio);
	return out;
}
