/*
 * The power-cut harness, the test's side of the shim (shim.c, built as
 * $BUILD/tests/reliability/powercut/libpowercut.so): a directory tree
 * whose processes run under the shim is put back, after they were killed,
 * to what a power cut would have left of it: what was fsynced,
 * fdatasynced or syncfs'ed, and nothing else (shim.c says exactly what
 * counts).  One epoch: powercut_begin (everything on disk now counts as
 * durable), powercut_arm, the processes started, killed (by the test, or
 * by the shim itself at the Nth write), powercut_disarm, powercut_cut.
 */
#ifndef TEST_POWERCUT_H
#define TEST_POWERCUT_H

struct powercut;

/* A harness for the tree `root` (it must exist); state in a scratch
 * directory.  Set-up failures abort. */
struct powercut *powercut_new(const char *root);
void powercut_free(struct powercut *pc);

/* BUILD/tests/reliability/powercut/NAME (the shim libpowercut.so, the
 * tiny program), BUILD found from $STATION_BIN (caller frees). */
char *powercut_build_file(const char *name);

/* Start an epoch: the tree as it is now is the durable image. */
void powercut_begin(struct powercut *pc);

/* Children started from now on run under the shim (LD_PRELOAD and its
 * variables set in this process's environment); cut_at_write > 0: the
 * shim kills the process making the Nth write to the tree. */
void powercut_arm(const struct powercut *pc, long cut_at_write);
void powercut_disarm(void);

/* Whether the shim cut a process at the write count. */
int powercut_was_cut(const struct powercut *pc);
/* Writes the shim counted in this epoch (only while armed with a
 * cut_at_write: arm with one beyond reach to count a whole epoch). */
long powercut_writes(const struct powercut *pc);

/*
 * The cut, once every process of the epoch is dead: the tree becomes the
 * durable image.  With `tear`, the last write that no sync covered and
 * whose file survives is then half applied (a torn page: the first half
 * of its bytes, in 512-byte sectors when it spans more than one); its
 * number of bytes kept goes to *torn (0: nothing torn).  Returns 0, or -1
 * if the tree could not be restored.
 */
int powercut_cut(struct powercut *pc, int tear, long *torn);

#endif
