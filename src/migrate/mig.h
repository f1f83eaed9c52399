/* mig.h -- the key-copy engine of warm ring transitions (issue 15).
 *
 * One engine per (source server S, transition R -> R'). S is the memcached
 * of the executor that runs the engine; R' is the new ring, given as its
 * server list plus an owner decision the engine does not compute itself
 * (mig_owner_fn; mig_new uses mcm's ring, ring.h, when none is given).
 *
 *   copy      walk S's keys (`lru_crawler metadump hash`), select those whose
 *             owner under R' is another server, hottest first (metadump's
 *             last access), and copy each with its value, client flags and
 *             remaining TTL to that owner, within `rate` bytes/s and
 *             nine tenths of `budget_ms` (the rest is for the first check,
 *             mig_follow's first_by_ms). Every selected key that was not copied (budget
 *             out, gone, too large, target error) is DELETED on its new
 *             owner. Per copied key the record keeps the CAS read on S and
 *             the CAS of the copy written on the target.
 *   catchup   after R' is published: a key whose CAS on S changed is copied
 *             again, a key gone from S is deleted on its new owner, in both
 *             cases only while the target still holds the copy mcm wrote
 *             (ms/md with C<target CAS>), so a value a client wrote on the new
 *             owner is never overwritten. Keys not checked within the budget
 *             are deleted where mcm's copy is still there.
 *   cleanup   S deletes every key it does not own under R'.
 *   abort     (R' not published) deletes on the targets every copy this
 *             engine wrote and that is still its copy (md C<target CAS>).
 *
 * Threads: mig_copy/catchup/cleanup/undo block (each phase opens and closes
 * its own connections) and belong to one worker thread at a time.
 * mig_progress_get and mig_cancel may be called from any thread meanwhile.
 * Ownership: mig_new copies everything in the config. */
#ifndef MCM_MIG_H
#define MCM_MIG_H

#include <stddef.h>
#include <stdint.h>

/* bytes/s when nothing else is said. Measured (bench_migrate: 3 memcached,
 * the engine and a client on 2 cores shared with other work, 100-byte
 * values): unlimited, the copy runs at ~100-180k keys/s (11-20 MB/s) and a
 * client's p99 on the source grows up to ~10x; at 5 MiB/s still up to ~10x;
 * at 1 MiB/s between x1.0 and x5 of steady state (the machine's own noise is
 * that large). With small values the cost is per key, not per byte:
 * operators with large values can raise the rate. */
#define MIG_DEFAULT_RATE (1u * 1024 * 1024)
#define MIG_DEFAULT_BUDGET_MS (120 * 1000)     /* per phase: --migrate-timeout default */
#define MIG_IO_TIMEOUT_MS 5000                 /* one wait on one connection */
#define MIG_TTL_RELATIVE_MAX 2592000           /* memcached: larger T is a unix time */

typedef enum {
    MIG_PHASE_IDLE,
    MIG_PHASE_COPY,
    MIG_PHASE_CATCHUP,
    MIG_PHASE_CLEANUP,
    MIG_PHASE_ABORT,
} mig_phase;

/* Index into the config's servers of the key's owner under R', -1 if none. */
typedef int (*mig_owner_fn)(void *arg, const void *key, size_t len);

typedef struct mig_config {
    const char *source;            /* "host:port" where S's memcached answers */
    const char *const *servers;    /* R': "host:port" of every server */
    int nservers;
    int self;                      /* S's index in servers; -1: S leaves the ring */
    mig_owner_fn owner;            /* NULL: mcm's ring (ring.h) over servers */
    void *owner_arg;
    uint64_t rate;                 /* bytes/s copied at most; 0 = unlimited */
    int64_t budget_ms;             /* per copy or catch-up phase; 0 = MIG_DEFAULT_BUDGET_MS */
    int io_timeout_ms;             /* 0 = MIG_IO_TIMEOUT_MS */
} mig_config;

typedef struct mig_progress {
    mig_phase phase;
    int running;                   /* a phase is in progress */
    uint64_t keys_seen;            /* items metadump listed on S */
    uint64_t keys_total;           /* of these, owned by another server under R' */
    uint64_t keys_copied, bytes_copied;
    uint64_t keys_remaining, bytes_remaining;   /* still to do in this phase */
    uint64_t keys_skipped;         /* gone from S, expiring, or a key no command can name */
    uint64_t errors;               /* operations refused or lost (target down, too large) */
    uint64_t invalidated;          /* deleted on a new owner (not copied, or stale copy) */
    uint64_t recopied;             /* catch-up: copied again (changed on S) */
    uint64_t kept;                 /* catch-up/abort: the target holds a client's value: left alone */
    uint64_t deleted;              /* cleanup: deleted on S */
    uint64_t hinted;               /* catch-up: keys re-checked because a client touched them */
    int64_t elapsed_ms, eta_ms;    /* of the current/last phase; eta -1 unknown */
    char error[256];               /* last phase's failure, "" if none */
} mig_progress;

typedef struct mig mig;

/* NULL with a reason in err on a bad config (no servers, self out of range,
 * a server name the ring refuses) or no memory. */
mig *mig_new(const mig_config *cfg, char *err, size_t errlen);
void mig_free(mig *m);                       /* NULL-safe */

/* The phases. MCM_OK when the phase ran to its end (per-key errors are
 * counted, not fatal); MCM_ERR with a reason in err when it could not (S
 * unreachable, cancelled, catch-up without a copy). */
int mig_copy(mig *m, char *err, size_t errlen);
int mig_catchup(mig *m, char *err, size_t errlen);
int mig_cleanup(mig *m, char *err, size_t errlen);
int mig_undo(mig *m, char *err, size_t errlen);

/* Catch-up that follows the clients for the drain window (mig_follow.c):
 * passes repeat, and every key memcached's `watch` stream shows a client
 * touching on S is re-checked within milliseconds, until yield(arg) returns
 * non-zero (the next command is waiting), a cancel, the budget, or S lost.
 * Ends like mig_catchup: copies left unverified are deleted. A source that
 * refuses `watch` is followed by passes alone. */
typedef int (*mig_yield_fn)(void *arg);
/* passed(arg), if given, is called once, after the first pass: every write
 * a client made on S before that pass began is then on the new owner (or
 * its copy deleted there), and later ones are hinted. first_by_ms (monotonic
 * ms, 0 = none) bounds that first pass: right after a copy, the end of the
 * copy's budget, past which the scheduler publishes R' whether or not the
 * copy's done has come. Copies the pass has not checked by then are deleted
 * on their new owners (where still mcm's) before passed() runs: past the
 * budget a key is cold, never stale. */
int mig_follow(mig *m, mig_yield_fn yield, void (*passed)(void *arg), void *arg, int64_t first_by_ms,
               char *err, size_t errlen);
/* The end of the current (or last) phase's budget, monotonic ms (util_now_ms).
 * A copy stops copying MIG_CHECK_SHARE-th of its budget earlier, so that
 * its first check fits before this. */
int64_t mig_budget_end(const mig *m);
#define MIG_CHECK_SHARE 10

/* 1 after a copy phase ran (catch-up has a record), 0 after undo or none. */
int mig_has_copy(const mig *m);

/* Any thread: the running phase stops at its next step (within one
 * connection timeout) and returns MCM_ERR "cancelled". A cancelled copy
 * skips its invalidation: it is cancelled to abort (mig_undo follows) or
 * because the executor ends. Sticky until mig_uncancel. */
void mig_cancel(mig *m);
void mig_uncancel(mig *m);
/* Any thread: a consistent snapshot of the counters. */
void mig_progress_get(mig *m, mig_progress *out);
const char *mig_phase_name(mig_phase p);
int mig_phase_parse(const char *name);      /* -1 if unknown */

/* The T token for a copy of an item with `remaining` seconds left (-1: no
 * expiry): 0 for none, a relative TTL one second short of what is left (the
 * copy must never outlive the original), or a unix time past
 * MIG_TTL_RELATIVE_MAX. Returns 0 when the item expires too soon to copy. */
int mig_copy_ttl(int64_t remaining, int64_t now_unix, int64_t *t_out);

#endif
