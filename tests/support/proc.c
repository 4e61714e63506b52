/* Test support: child processes with bounded waits (see proc.h). */
#include "tests/support/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "station/util/clock.h"
#include "station/util/num.h"
#include "station/util/xalloc.h"

const char *
test_bin(const char *env, const char *fallback)
{
	const char *v = getenv(env);

	return v && v[0] ? v : fallback;
}

long
test_env_long(const char *name, long dflt)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return dflt;
	v = strtol(s, &end, 10);
	return *end == '\0' && v > 0 ? v : dflt;
}

int
test_ms(int ms)
{
	const char *s = getenv("STATION_TEST_SLOW");
	long long factor = 20;

	if (s == NULL || *s == '\0')
		return ms;
	if (!num_valid(s, 2, 100, &factor))
		factor = 20;
	/* A limit stays within INT_MAX ms (24 days): callers pass
	 * seconds to minutes. */
	if ((long long)ms * factor > INT_MAX)
		return INT_MAX;
	return (int)(ms * factor);
}

void
proc_out_clear(struct proc_out *o)
{
	free(o->out);
	free(o->err);
	memset(o, 0, sizeof *o);
}

static void
die(const char *what)
{
	fprintf(stderr, "proc: %s: %s\n", what, strerror(errno));
	abort();
}

/* Child side: the pipes become stdout (and stderr if err_fd >= 0). */
static void
exec_child(const char *const *argv, int out_fd, int err_fd, const char *home)
{
	dup2(out_fd, STDOUT_FILENO);
	if (err_fd >= 0)
		dup2(err_fd, STDERR_FILENO);
	/* A home without a configuration is a demo station (--config, when
	 * the test gives one, wins over STATION_DEMO). */
	if (home != NULL) {
		setenv("STATION_HOME", home, 1);
		setenv("STATION_DEMO", "1",
		    1); /* no --config: a demo station */
		setenv("STATION_DEMO", "1", 1);
	}
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* A pipe whose ends the child does not inherit (dup2 clears the flag on
 * the copies it makes). */
static int
cloexec_pipe(int p[2])
{
	if (pipe(p) < 0)
		return -1;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

pid_t
proc_spawn_piped(const char *const *argv, int *rfd)
{
	int p[2];

	if (cloexec_pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0)
		exec_child(argv, p[1], -1, NULL);
	close(p[1]);
	*rfd = p[0];
	return pid;
}

char *
proc_read_line(int fd, int ms)
{
	struct deadline dl = deadline_in((uint64_t)test_ms(ms));
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
		ssize_t r = read(fd, buf + len, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (buf[len - 1] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

int
proc_wait_ms(pid_t pid, int ms)
{
	struct timespec step = { 0, 2 * 1000000L };
	long waited_us = 0;
	int limit = test_ms(ms);
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited_us / 1000 >= limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		nanosleep(&step, NULL);
		waited_us += 2000;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

struct sink {
	int fd;
	char *buf;
	size_t len, cap;
};

/* Read what is there; at EOF or error the fd is closed. */
static void
sink_read(struct sink *s)
{
	if (s->len + 4096 + 1 > s->cap) {
		s->cap = s->len + 4096 + 1;
		s->buf = xrealloc(s->buf, s->cap);
	}
	ssize_t n = read(s->fd, s->buf + s->len, 4096);
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->len += (size_t)n;
}

static char *
sink_take(struct sink *s)
{
	char *b = s->buf ? s->buf : xmalloc(1);

	b[s->len] = '\0';
	return b;
}

int
proc_run(const char *const *argv, const char *home, int limit_ms,
    struct proc_out *o)
{
	int po[2], pe[2];
	struct sink s[2] = { { .fd = -1 }, { .fd = -1 } };
	struct deadline dl = deadline_in((uint64_t)test_ms(limit_ms));
	int status;

	memset(o, 0, sizeof *o);
	if (cloexec_pipe(po) < 0 || cloexec_pipe(pe) < 0)
		die("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		exec_child(argv, po[1], pe[1], home);
	close(po[1]);
	close(pe[1]);
	s[0].fd = po[0];
	s[1].fd = pe[0];
	while ((s[0].fd >= 0 || s[1].fd >= 0) && !deadline_passed(dl)) {
		struct pollfd p[2] = {
			{ .fd = s[0].fd, .events = POLLIN },
			{ .fd = s[1].fd, .events = POLLIN },
		};
		int n = poll(p, 2, deadline_left_ms(dl));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (int i = 0; i < 2; i++) {
			if (p[i].revents)
				sink_read(&s[i]);
		}
	}
	for (int i = 0; i < 2; i++) {
		if (s[i].fd >= 0) {
			/* Still open at the limit: the program hangs. */
			kill(pid, SIGKILL);
			close(s[i].fd);
		}
	}
	o->out = sink_take(&s[0]);
	o->err = sink_take(&s[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid");
	}
	o->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return o->status;
}

int
proc_run_env(const char *const *argv, const char *home, struct proc_out *o)
{
	return proc_run(argv, home, 60000, o);
}

int
proc_run_capture(const char *const *argv, char **out)
{
	struct proc_out o;

	proc_run(argv, NULL, 30000, &o);
	fputs(o.err, stderr);
	*out = o.out;
	free(o.err);
	return o.status;
}

pid_t
proc_dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		die("fork");
	waitpid(pid, NULL, 0);
	return pid;
}

void
proc_gate_init(struct proc_gate *g)
{
	int p[2];

	if (cloexec_pipe(p) < 0)
		die("pipe");
	g->rfd = p[0];
	g->wfd = p[1];
}

pid_t
proc_spawn_gated(const char *const *argv, const struct proc_gate *g,
    const char *home, const char *out_path)
{
	pid_t pid = fork();
	char c;

	if (pid != 0)
		return pid;
	/* The child's copy of the write end would keep its own wait from
	 * ever ending. */
	close(g->wfd);
	while (read(g->rfd, &c, 1) != 0 && errno == EINTR)
		;
	close(g->rfd);
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		_exit(126);
	exec_child(argv, fd, -1, home);
	return -1;
}

void
proc_gate_open(struct proc_gate *g)
{
	close(g->wfd);
	close(g->rfd);
	g->wfd = g->rfd = -1;
}

int
proc_sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *out = NULL;
	int rc;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	rc = proc_run_capture(argv, &out);
	free(out);
	free(cmd);
	return rc;
}
