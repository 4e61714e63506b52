/* A private SoftHSM2 token for a test program (see softhsm.h). */
#include "tests/support/softhsm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/devsim_proc.h"
#include "tests/support/pki.h"
#include "tests/support/scratch.h"
#include "station/util/xalloc.h"

static const char *const modules[] = { "/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so", NULL };

char *
softhsm_write(struct softhsm *h, const char *name, const char *text,
    unsigned mode)
{
	char *path = xasprintf("%s/%s", h->dir, name);
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, (mode_t)mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, (mode_t)mode) != 0) {
		perror(path);
		abort();
	}
	close(fd);
	return path;
}

struct softhsm *
softhsm_new(void)
{
	struct softhsm *h;
	const char *module = NULL;
	char *out = NULL;

	for (size_t i = 0; modules[i] != NULL; i++) {
		if (access(modules[i], R_OK) == 0) {
			module = modules[i];
			break;
		}
	}
	if (module == NULL || access("/usr/bin/softhsm2-util", X_OK) != 0) {
		fprintf(stderr,
		    "softhsm2 is not installed (apt-get install "
		    "softhsm2): skipping the PKCS#11 tests\n");
		return NULL;
	}
	h = xcalloc(1, sizeof *h);
	h->module = xstrdup(module);
	h->dir = xstrdup("/tmp/station-hsm-XXXXXX");
	if (mkdtemp(h->dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	char *tokens = xasprintf("%s/tokens", h->dir);
	if (mkdir(tokens, 0700) != 0) {
		perror(tokens);
		abort();
	}
	char *conf_text =
	    xasprintf("directories.tokendir = %s\n"
		      "objectstore.backend = file\nlog.level = ERROR\n",
		tokens);
	char *conf = softhsm_write(h, "softhsm2.conf", conf_text, 0600);
	setenv("SOFTHSM2_CONF", conf, 1);
	h->pin_file = softhsm_write(h, "pin", SOFTHSM_PIN "\n", 0600);
	const char *argv[] = { "/usr/bin/softhsm2-util", "--init-token",
		"--free", "--label", SOFTHSM_TOKEN, "--pin", SOFTHSM_PIN,
		"--so-pin", SOFTHSM_SO_PIN, NULL };
	if (proc_run_capture(argv, &out) != 0) {
		fprintf(stderr, "softhsm2-util --init-token failed: %s\n",
		    out ? out : "");
		abort();
	}
	free(out);
	free(conf);
	free(conf_text);
	free(tokens);
	return h;
}

void
softhsm_free(struct softhsm *h)
{
	if (h == NULL)
		return;
	scratch_rmtree(h->dir);
	free(h->dir);
	free(h->module);
	free(h->pin_file);
	free(h);
}

char *
softhsm_uri(const char *label)
{
	return xasprintf("pkcs11:token=" SOFTHSM_TOKEN ";object=%s", label);
}
