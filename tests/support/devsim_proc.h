/*
 * Test support: run the simulated device (build/bin/devsim, or $DEVSIM_BIN)
 * as a real process (other programs: proc.h, included here).  devsim stops
 * by itself if a test dies (parent-death signal and --lifetime), so a
 * failed test never leaves a server behind.
 */
#ifndef TEST_DEVSIM_PROC_H
#define TEST_DEVSIM_PROC_H

#include <sys/types.h>

#include "tests/support/proc.h"

struct devsim_proc {
	pid_t pid; /* 0 once stopped */
	char *uri; /* what devsim printed after "listening ", e.g.
	               "tcp:127.0.0.1:45678" */
};

/*
 * Start devsim with `args` (NULL-terminated, without the program name).
 * Adds "--listen tcp:127.0.0.1:0" and "--lifetime 120" unless `args` has
 * them.  Waits (at most 10 s) for the "listening" line.  Returns NULL and
 * prints why on stderr if devsim did not come up.  Free with
 * devsim_proc_stop().
 */
struct devsim_proc *devsim_proc_start(const char *const *args);
/* SIGTERM, wait for the exit (SIGKILL after 5 s), free.  Accepts NULL. */
void devsim_proc_stop(struct devsim_proc *d);
/* SIGKILL and reap at once, as if the device lost power; the struct stays
 * valid (pid becomes 0) and is still freed by devsim_proc_stop(). */
void devsim_proc_kill(struct devsim_proc *d);

#endif
