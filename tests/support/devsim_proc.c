/* Test support: devsim and station as child processes (devsim_proc.h). */
#include "devsim_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "station/util/clock.h"
#include "station/util/xalloc.h"

#define START_MS 10000
#define STOP_MS 5000
#define RUN_MS 30000

const char *
test_bin(const char *env, const char *fallback)
{
	const char *v = getenv(env);

	return v && v[0] ? v : fallback;
}

static bool
has_arg(const char *const *args, const char *name)
{
	for (size_t i = 0; args && args[i]; i++) {
		if (strcmp(args[i], name) == 0)
			return true;
	}
	return false;
}

/* fork + exec with stdout into a pipe; returns the pid, *rfd the pipe. */
static pid_t
spawn(const char *const *argv, int *rfd)
{
	int p[2];

	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* Read from `fd` until EOF, a newline (if `line`) or the deadline. */
static char *
read_until(int fd, bool line, struct deadline dl)
{
	size_t len = 0, cap = 256;
	char *buf = xmalloc(cap);

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, deadline_left_ms(dl));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + len, line ? 1 : cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (line && buf[len - 1] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

/* Wait for `pid` up to `ms`; returns the wait status or -1. */
static int
wait_for(pid_t pid, int ms)
{
	struct deadline dl = deadline_in((uint64_t)ms);
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (deadline_passed(dl))
			return -1;
		struct timespec ts = { 0, 10 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

struct devsim_proc *
devsim_proc_start(const char *const *args)
{
	const char *argv[64];
	size_t n = 0;
	int fd = -1;

	argv[n++] = test_bin("DEVSIM_BIN", "build/bin/devsim");
	if (!has_arg(args, "--listen")) {
		argv[n++] = "--listen";
		argv[n++] = "tcp:127.0.0.1:0";
	}
	if (!has_arg(args, "--lifetime")) {
		argv[n++] = "--lifetime";
		argv[n++] = "120";
	}
	for (size_t i = 0; args && args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	pid_t pid = spawn(argv, &fd);
	if (pid < 0) {
		fprintf(stderr, "devsim_proc: cannot start %s\n", argv[0]);
		return NULL;
	}
	char *line = read_until(fd, true, deadline_in(START_MS));
	close(fd);
	const char *prefix = "listening ";
	size_t len = strlen(line);
	if (strncmp(line, prefix, strlen(prefix)) != 0 || len < 2 ||
	    line[len - 1] != '\n') {
		fprintf(stderr, "devsim_proc: devsim said '%s' instead of a "
		    "listening line\n", line);
		free(line);
		kill(pid, SIGKILL);
		wait_for(pid, STOP_MS);
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
	kill(d->pid, SIGKILL);
	wait_for(d->pid, STOP_MS);
	d->pid = 0;
}

void
devsim_proc_stop(struct devsim_proc *d)
{
	if (d == NULL)
		return;
	if (d->pid != 0) {
		kill(d->pid, SIGTERM);
		if (wait_for(d->pid, STOP_MS) == -1)
			devsim_proc_kill(d);
	}
	free(d->uri);
	free(d);
}

int
proc_run_capture(const char *const *argv, char **out)
{
	int fd = -1;
	pid_t pid = spawn(argv, &fd);

	*out = NULL;
	if (pid < 0)
		return -1;
	*out = read_until(fd, false, deadline_in(RUN_MS));
	close(fd);
	int status = wait_for(pid, RUN_MS);
	if (status == -1) {
		kill(pid, SIGKILL);
		wait_for(pid, STOP_MS);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
