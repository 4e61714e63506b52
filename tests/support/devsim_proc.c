/* Test support: devsim as a child process (devsim_proc.h). */
#include "tests/support/devsim_proc.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "station/util/xalloc.h"

#define START_MS 10000
#define STOP_MS 5000

static bool
has_arg(const char *const *args, const char *name)
{
	for (size_t i = 0; args && args[i]; i++) {
		if (strcmp(args[i], name) == 0)
			return true;
	}
	return false;
}

struct devsim_proc *
devsim_proc_start(const char *const *args)
{
	const char *argv[64];
	char life[16];
	size_t n = 0;
	int fd = -1;

	argv[n++] = test_bin("DEVSIM_BIN", "build/bin/devsim");
	if (!has_arg(args, "--listen")) {
		argv[n++] = "--listen";
		argv[n++] = "tcp:127.0.0.1:0";
	}
	if (!has_arg(args, "--lifetime")) {
		/* Seconds: a guard that stops devsim should the test die,
		 * stretched like every limit (test_ms). */
		snprintf(life, sizeof life, "%d", test_ms(120));
		argv[n++] = "--lifetime";
		argv[n++] = life;
	}
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	pid_t pid = proc_spawn_piped(argv, &fd);
	if (pid < 0) {
		fprintf(stderr, "devsim_proc: cannot start %s\n", argv[0]);
		return NULL;
	}
	char *line = proc_read_line(fd, START_MS);
	close(fd);
	const char *prefix = "listening ";
	size_t len = strlen(line);
	if (strncmp(line, prefix, strlen(prefix)) != 0 || len < 2 ||
	    line[len - 1] != '\n') {
		fprintf(stderr,
		    "devsim_proc: devsim said '%s' instead of a "
		    "listening line\n",
		    line);
		free(line);
		proc_wait_ms(pid, 0);
		return NULL;
	}
	line[len - 1] = '\0';
	struct devsim_proc *d = xcalloc(1, sizeof *d);
	d->pid = pid;
	d->uri = xstrdup(line + strlen(prefix));
	free(line);
	return d;
}

void
devsim_proc_kill(struct devsim_proc *d)
{
	if (d == NULL || d->pid == 0)
		return;
	proc_wait_ms(d->pid, 0); /* no grace: SIGKILL and reap */
	d->pid = 0;
}

void
devsim_proc_stop(struct devsim_proc *d)
{
	if (d == NULL)
		return;
	if (d->pid != 0) {
		kill(d->pid, SIGTERM);
		proc_wait_ms(d->pid, STOP_MS); /* SIGKILL after STOP_MS */
	}
	free(d->uri);
	free(d);
}
