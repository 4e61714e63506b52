/* Test support: `cfssl serve` as a child process (cfssl_serve.h). */
#include "tests/support/cfssl_serve.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/loopback.h"
#include "tests/support/scratch.h"
#include "station/util/xalloc.h"

int
cfssl_installed(void)
{
	return system("command -v cfssl >/dev/null 2>&1") == 0;
}

int
cfssl_serve_start(struct cfssl_serve *c, const char *dir,
    const char *config_name, const struct pki_chain *pki, const char *auth_key)
{
	char port[16];
	char *config, *log;
	/* Keys are hex, as CFSSL expects. */
	char *text = xasprintf(
	    "{\"signing\": {"
	    "\"default\": {\"expiry\": \"8760h\", \"usages\": "
	    "[\"digital signature\", \"client auth\"]},"
	    "\"profiles\": {\"device\": {\"expiry\": \"8760h\", \"usages\": "
	    "[\"digital signature\", \"client auth\"], \"auth_key\": "
	    "\"line\"}}},"
	    "\"auth_keys\": {\"line\": {\"type\": \"standard\", \"key\": "
	    "\"%s\"}}}",
	    auth_key);

	config = scratch_write(dir, config_name, text, 0600);
	log = xasprintf("%s/cfssl.log", dir);
	c->port = loopback_free_port();
	snprintf(port, sizeof port, "%d", c->port);
	snprintf(c->addr, sizeof c->addr, "https://127.0.0.1:%d", c->port);
	c->pid = fork();
	if (c->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("cfssl", "cfssl", "serve", "-address", "127.0.0.1",
		    "-port", port, "-ca", pki->inter_pem, "-ca-key",
		    pki->inter_key_file, "-config", config, "-tls-cert",
		    pki->server_pem, "-tls-key", pki->server_key_file,
		    "-loglevel", "2", (char *)NULL);
		_exit(127);
	}
	/* Bounded wait until it listens. */
	for (int i = 0; i < 200 && !loopback_listening(c->port); i++)
		poll(NULL, 0, 50);
	free(text);
	free(config);
	free(log);
	return loopback_listening(c->port) ? 0 : -1;
}

void
cfssl_serve_stop(struct cfssl_serve *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGTERM);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}
