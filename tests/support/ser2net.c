/* Test support: ser2net in telnet(rfc2217) mode (ser2net.h). */
#include "tests/support/ser2net.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/support/loopback.h"
#include "tests/support/scratch.h"

/* Debian installs it in /usr/sbin, which a user's PATH may not hold. */
static const char *
ser2net_path(void)
{
	return access("/usr/sbin/ser2net", X_OK) == 0 ? "/usr/sbin/ser2net" :
							"ser2net";
}

int
ser2net_installed(void)
{
	return system("command -v ser2net >/dev/null 2>&1 || "
		      "test -x /usr/sbin/ser2net") == 0;
}

int
ser2net_start(struct ser2net *s, const char *dir, const char *tty,
    const char *line)
{
	char *yaml, *config, *log, *pidfile;

	s->port = loopback_free_port();
	snprintf(s->uri, sizeof s->uri, "rfc2217:127.0.0.1:%d", s->port);
	/* No uucp lock: the test's pty is nobody else's, and /var/lock may
	 * not be writable by the user running the tests. */
	yaml = xasprintf("connection: &dut\n"
			 "  accepter: telnet(rfc2217),tcp,127.0.0.1,%d\n"
			 "  connector: serialdev(nouucplock=true),%s,%s,local\n"
			 "  options:\n"
			 "    trace-both: %s/ser2net.trace\n"
			 "    trace-timestamp: true\n",
	    s->port, tty, line, dir);
	config = scratch_write(dir, "ser2net.yaml", yaml, 0600);
	log = xasprintf("%s/ser2net.log", dir);
	pidfile = xasprintf("%s/ser2net.pid", dir);
	s->pid = fork();
	if (s->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp(ser2net_path(), "ser2net", "-n", "-d", "-c", config,
		    "-P", pidfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !loopback_listening(s->port); i++)
		poll(NULL, 0, 50);
	free(yaml);
	free(config);
	free(log);
	free(pidfile);
	if (loopback_listening(s->port))
		return 0;
	ser2net_stop(s);
	return -1;
}

void
ser2net_stop(struct ser2net *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}
