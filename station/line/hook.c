/* Fixture hooks under a deadline (hook.h). */
#define LOG_MODULE "hook"
#include "station/line/hook.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "station/util/clock.h"
#include "station/util/log.h"
#include "station/util/xalloc.h"

extern char **environ;

#define POLL_MS 5

/* environ plus `extra`, as a new array of borrowed strings. */
static char **
make_env(const char *const *extra)
{
	size_t n = 0, m = 0;

	while (environ[n] != NULL)
		n++;
	while (extra && extra[m] != NULL)
		m++;
	char **env = xcalloc(n + m + 1, sizeof *env);
	for (size_t i = 0; i < m; i++)
		env[i] = (char *)extra[i];
	memcpy(env + m, environ, n * sizeof *env);
	return env;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Reap `pid` before the deadline, polling; 0 and *status on exit. */
static int
wait_until(pid_t pid, struct deadline dl, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (deadline_passed(dl))
			return 1;
		sleep_ms(POLL_MS);
	}
}

st_err
hook_run(const char *cmd, int timeout_ms, const char *const *env, char **cause)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char **envp = make_env(env);
	struct deadline dl = deadline_in((uint64_t)timeout_ms);
	st_err err = ST_OK;
	pid_t pid;
	int status = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (rc != 0)
		return st_fail(cause, ST_E_IO,
		    "hook '%s': cannot start "
		    "/bin/sh: %s",
		    cmd, strerror(rc));
	log_debug("hook '%s' started (pid %ld)", cmd, (long)pid);
	rc = wait_until(pid, dl, &status);
	if (rc == 1) {
		kill(-pid, SIGKILL);
		waitpid(pid, &status, 0);
		err = st_fail(cause, ST_E_TIMEOUT,
		    "hook '%s' did not finish "
		    "within %d ms (killed)",
		    cmd, timeout_ms);
	} else if (rc < 0) {
		err = st_fail(cause, ST_E_IO, "hook '%s': waiting for it: %s",
		    cmd, strerror(errno));
	} else if (WIFSIGNALED(status)) {
		err = st_fail(cause, ST_E_IO, "hook '%s' died of signal %d",
		    cmd, WTERMSIG(status));
	} else if (WEXITSTATUS(status) != 0) {
		err = st_fail(cause, ST_E_IO, "hook '%s' exited with status %d",
		    cmd, WEXITSTATUS(status));
	}
	return err;
}
