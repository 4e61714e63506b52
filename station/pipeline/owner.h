/*
 * Run ownership by a lock the kernel releases on death
 * (docs/reliability.md, "Run ownership").
 *
 * Each station process takes, once, an open file description lock
 * (fcntl F_OFD_SETLK, Linux) on <home>/owners/<token>.lock, the token being
 * 32 random hex digits, and records the token in every run it starts.  The
 * lock lasts as long as that open file description, so the process's
 * death (any signal, any PID namespace, any /proc mount) releases it and
 * nothing else does.  OFD locks are the right tool: a classic POSIX lock
 * is dropped when the process closes *any* descriptor of the file, and a
 * second open of the file in the same process (its own recovery looking
 * at it) would merge into it instead of conflicting with it.
 *
 * Crash recovery asks owner_claim whether a run's owner lives: it does
 * while its lock is held.  A missing lock file means a dead owner: the
 * file is removed only by its owner at a clean exit and by a recovery
 * that holds its lock.  So stations sharing a ledger must share a home,
 * as they already do for recover.lock.
 */
#ifndef ST_OWNER_H
#define ST_OWNER_H

#include "station/util/err.h"

#define OWNER_TOKEN_LEN 32

struct owner;

/*
 * Create <home>/owners (0700) and take this process's lock there.  The
 * file is created under a temporary name, locked, then renamed into
 * place, so a sweep (owner_sweep) never sees an unlocked live one.
 * *out is owned by the caller (owner_free).
 */
st_err owner_acquire(const char *home, struct owner **out, char **cause);
/* The token (borrowed; NULL for a NULL owner). */
const char *owner_token(const struct owner *o);
/* Remove the lock file, then release the lock; NULL is accepted. */
void owner_free(struct owner *o);

/* 1 if `s` has the form of a token (lower-case hex, OWNER_TOKEN_LEN). */
int owner_token_valid(const char *s);

/* The lock of a dead owner, held while its runs are recovered. */
struct owner_claim {
	int fd;	    /* -1: nothing held */
	char *path; /* the lock file (owned) */
};

/*
 * Whether the owner `token` (which must be owner_token_valid) is gone:
 * *dead = 0 while some process holds its lock; *dead = 1 when its lock
 * file is missing or its lock could be taken, and then `c` holds that
 * lock (c->fd >= 0; -1 when the file was missing) until
 * owner_claim_release.  `c` must be released in every case.
 */
st_err owner_claim(const char *home, const char *token, int *dead,
    struct owner_claim *c, char **cause);
/* When the claim holds a lock (c->fd >= 0): remove the dead owner's lock
 * file, then drop the lock.  Frees the path either way. */
void owner_claim_release(struct owner_claim *c);

/* Remove the lock files of dead owners left in <home>/owners (a process
 * killed outside a run); *removed (may be NULL) counts them. */
st_err owner_sweep(const char *home, int *removed, char **cause);

#endif
