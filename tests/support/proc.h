/*
 * Test support: programs under test run as child processes, their output
 * captured, every wait bounded.  A program that outlives its limit is
 * killed (SIGKILL) and reaped, so a hung child never outlives the test.
 */
#ifndef TEST_PROC_H
#define TEST_PROC_H

#include <sys/types.h>

/* Path of a program under test: the environment variable `env` if set,
 * else `fallback` (relative to the source tree root). */
const char *test_bin(const char *env, const char *fallback);

/* A positive number from the environment variable `name` (a knob such
 * as SOAK_RUNS), else `dflt`. */
long test_env_long(const char *name, long dflt);

/*
 * A time limit of `ms` milliseconds on the station, devsim or a test
 * server, stretched when the environment variable STATION_TEST_SLOW is
 * set (`make valgrind` sets it: valgrind runs every traced process 10-50x
 * slower, more on a loaded machine): multiplied by its value when that
 * is a whole number from 2 to 100, else by 20.  Every limit a test puts
 * on something that must finish in time goes through this one function
 * (the waits below apply it themselves); a limit the test expects to run
 * out (a device that never answers) need not, as a shorter wait proves
 * the same thing.
 */
int test_ms(int ms);

/* Output of one finished program. */
struct proc_out {
	int status; /* exit status, -1 if it did not exit normally */
	char *out;  /* stdout (owned, NUL-terminated) */
	char *err;  /* stderr (owned, NUL-terminated) */
};

void proc_out_clear(struct proc_out *o);

/*
 * Run argv[0] (a path, or a name looked up in PATH) to completion with
 * STATION_HOME = `home` (if not NULL; then also STATION_DEMO=1: a
 * home without --config is a demo station), capturing stdout and stderr,
 * for at most `limit_ms` (test_ms-stretched).  Returns o->status.
 */
int proc_run(const char *const *argv, const char *home, int limit_ms,
    struct proc_out *o);

/* proc_run with a 60 s limit. */
int proc_run_env(const char *const *argv, const char *home, struct proc_out *o);

/* proc_run with a 30 s limit: *out receives stdout (caller frees), stderr
 * is passed on to the test's stderr. */
int proc_run_capture(const char *const *argv, char **out);

/* `/bin/sh -c` of the formatted command line (openssl acting as a test
 * CA, say) through proc_run_capture, its output dropped; its status. */
int proc_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * fork + exec argv[0] (path or PATH name) with stdout into a pipe: returns
 * the pid (-1 on failure) and *rfd the pipe's read end.
 */
pid_t proc_spawn_piped(const char *const *argv, int *rfd);

/* One line (with its '\n') read from `fd` within `ms` (test_ms-stretched);
 * "" on EOF or at the limit.  Caller frees. */
char *proc_read_line(int fd, int ms);

/*
 * Wait at most `ms` (test_ms-stretched) for `pid`.  Returns its exit code, 128 + signal if a
 * signal ended it, or -1 if it was still running: then it is killed
 * (SIGKILL) and reaped, and the caller counts a hang.
 */
int proc_wait_ms(pid_t pid, int ms);

/*
 * A start gate: children spawned behind it block before exec until
 * proc_gate_open, which releases them all at the same instant (it closes
 * the pipe they wait on, so every one of them sees end-of-file at once).
 */
struct proc_gate {
	int rfd, wfd; /* -1 once closed */
};

/* A closed gate (aborts if no pipe can be made). */
void proc_gate_init(struct proc_gate *g);
/*
 * fork; the child waits at the gate, then execs argv[0] (path or PATH
 * name) with STATION_HOME = `home` (if not NULL) and stdout into the file
 * `out_path` (created or truncated; stderr is kept).  Returns the pid, -1
 * on failure.  Bound its wait with proc_wait_ms.
 */
pid_t proc_spawn_gated(const char *const *argv, const struct proc_gate *g,
    const char *home, const char *out_path);
/* Release every child at the gate; the gate is then spent. */
void proc_gate_open(struct proc_gate *g);

/* The pid of a process that has lived and is gone (reaped): the owner of
 * a dead run. */
pid_t proc_dead_pid(void);

#endif
