/* mig_int.h -- what the engine's files share (mig.c, mig_copy.c,
 * mig_catchup.c, mig_cleanup.c). Not for callers: see mig.h.
 *
 * The record: one mig_entry per key S must hand over, keys packed in an
 * arena. Entry states:
 *
 *   PENDING --copy--> COPIED --catchup ms HD--> COPIED (new CASes)
 *      |                |--catchup md HD / budget out--> INVALIDATED
 *      |                |--target holds another value (EX)--> KEPT
 *      |                |--target lost it (NF)--> GONE
 *      |                '--undo md HD--> INVALIDATED
 *      '--not copied (budget, gone, error)--> md on the new owner --> INVALIDATED
 *                                              (or FAILED if that md failed)
 *
 * Threads: the worker running a phase owns everything here except `prog`
 * (under `lock`) and `cancelled` (atomic). */
#ifndef MCM_MIG_INT_H
#define MCM_MIG_INT_H

#include "mig.h"
#include "mig_conn.h"
#include "mig_key.h"
#include "mig_rate.h"

#include <pthread.h>
#include <stdatomic.h>

#define MIG_BATCH_KEYS 512              /* requests in one pipeline (see mig.h, MIG_DEFAULT_RATE) */
#define MIG_CLEANUP_WALKS 3             /* cleanup walks S at most this often (mig_cleanup.c) */
#define MIG_BATCH_BYTES (256 * 1024)    /* estimated value bytes in one pipeline */
/* Under a rate (mig_copy.c): a pipeline holds at most MIG_PACED_SLICE_MS of
 * the rate's bytes and MIG_PACED_BATCH_KEYS keys, so the copy is a stream of
 * small pipelines, each of which a client's request on the same memcached
 * waits behind for tens of microseconds, not one of 512 keys every 100 ms
 * (bench_resize: a 4 -> 5 client p99 during the copy x3.0 with those). */
#define MIG_PACED_SLICE_MS 10
#define MIG_PACED_BATCH_KEYS 64
#define MIG_SLEEP_SLICE_MS 50           /* rate waits wake this often to see cancel */
#define MIG_BUSY_RETRY_MS 200           /* metadump BUSY: retry after */
#define MIG_BUSY_WAIT_MS 30000          /* ...for at most this long */
#define MIG_DUMP_COMMAND "lru_crawler metadump hash"
#define MIG_DUMP_FALLBACK "lru_crawler metadump all"

enum { ST_PENDING, ST_COPIED, ST_INVALIDATED, ST_KEPT, ST_GONE, ST_FAILED, ST_SKIPPED };

typedef struct mig_entry {
    size_t koff;                 /* key bytes at list->keys + koff */
    uint8_t klen;
    uint8_t state;               /* ST_* */
    uint8_t op;                  /* per-batch scratch: what the batch does with it */
    int32_t owner;               /* index into servers under R' */
    int64_t la;
    uint64_t size;               /* metadump's item size: the batch estimate */
    uint64_t src_cas, tgt_cas;
} mig_entry;

typedef struct mig_list {
    mig_entry *e;
    size_t n, cap;
    unsigned char *keys;
    size_t klen, kcap;
} mig_list;

typedef struct mig_target {
    char *addr;
    mig_conn *c;
    int dead;                    /* a connection failed: no more requests this phase */
    size_t *pend;                /* entries awaiting a reply, in request order */
    size_t npend, cappend;
} mig_target;

struct mig {
    char *source;
    char **servers;
    int nservers, self;
    mig_owner_fn owner;
    void *owner_arg;
    struct ring *ring;           /* when mig_new built the owner itself */
    uint64_t rate;
    int64_t budget_ms;
    int io_timeout_ms;

    mig_list rec;                /* the copy record */
    int have_copy;               /* mig_copy ran: catch-up has a record */
    mig_target *t;               /* per server, this phase's connections */
    mig_rate limiter;
    int64_t phase_start, deadline;
    int64_t budget_end;                /* phase_start + budget_ms: a copy's deadline is earlier (MIG_CHECK_SHARE) */

    pthread_mutex_t lock;
    mig_progress prog;
    atomic_int cancelled;
};

/* --- mig.c: helpers for the phases ---------------------------------------- */
const unsigned char *mig_entry_key(const mig_list *l, const mig_entry *e);
int mig_entry_token(const mig_list *l, const mig_entry *e, mig_key *k);
void mig_list_clear(mig_list *l);
/* Walks S's metadump into l: every key whose owner under R' is not S. */
int mig_collect(mig *m, mig_list *l, char *err, size_t errlen);

/* Starts a phase: counters reset (not keys_seen/keys_total of the record). */
void mig_phase_begin(mig *m, mig_phase p);
int mig_phase_end(mig *m, int rc, const char *err);
int mig_is_cancelled(mig *m);
int mig_out_of_time(mig *m);
/* Sleeps what the limiter asks after taking n bytes; 0, or -1 if the
 * deadline or a cancel came first. */
int mig_pace(mig *m, uint64_t n);

/* A target's connection (opened on first use); NULL if it is dead. */
mig_conn *mig_target_conn(mig *m, int i);
void mig_target_fail(mig *m, int i, const char *why);
int mig_target_push(mig_target *t, size_t entry);
void mig_targets_close(mig *m);

/* Progress updates (take the lock). */
#define MIG_ADD(m, field, v) do { pthread_mutex_lock(&(m)->lock); (m)->prog.field += (v); \
                                  pthread_mutex_unlock(&(m)->lock); } while (0)
void mig_set_remaining(mig *m, uint64_t keys, uint64_t bytes);

/* Deletes on their owners every entry of l that pick() chooses: used when a
 * phase must leave no stale copy. Guarded by tgt_cas when `guarded`. Moves
 * entries to INVALIDATED / KEPT (EX) / GONE (NF) / FAILED. */
void mig_invalidate(mig *m, mig_list *l, int (*pick)(const mig_entry *e), int guarded);

/* --- mig_copy.c: the copy step shared by copy and catch-up ------------------ */
enum { OP_NONE, OP_SET, OP_DEL };
/* Reads entries idx[0..n) from S (mg v f t c u) and queues, per entry, an ms
 * on its owner (C<tgt_cas> when guarded) or, when guarded and S no longer
 * has it, an md C<tgt_cas>. *bytes: key+value bytes queued. MCM_ERR (reason
 * in err) if S's connection failed. */
int mig_read_and_queue(mig *m, mig_list *l, mig_conn *src, const size_t *idx, size_t n, int guarded,
                       uint64_t *bytes, char *err, size_t errlen);
/* Sends every target's queue and reads the replies into the entries' states. */
void mig_write_replies(mig *m, mig_list *l, int guarded);

/* --- mig_catchup.c: the catch-up steps mig_follow.c repeats ----------------- */
/* One batch of COPIED entries: CAS check on S, then the guarded re-copy or
 * delete on the owner. MCM_ERR (reason in err) if S's connection failed. */
int mig_catchup_batch(mig *m, mig_conn *src, const size_t *batch, size_t n, uint64_t *bytes, char *err,
                      size_t errlen);
/* Begins a catch-up phase; MCM_ERR (phase ended, reason in err) when the
 * engine holds no copy record. */
int mig_catchup_begin(mig *m, char *err, size_t errlen);
/* A pass over every COPIED entry; *cursor: entries from there on were not
 * checked (the budget ran out, or S was lost); rec.n when the pass is whole. */
int mig_catchup_pass(mig *m, mig_conn *src, size_t *cursor, char *err, size_t errlen);
/* Ends a catch-up phase: the copies not verified (from cursor on, and those
 * left PENDING) are deleted where they are still mcm's, unless cancelled. */
int mig_catchup_end(mig *m, size_t cursor, int rc, const char *err);
/* Deletes on their new owners (guarded: only mcm's copies) the COPIED
 * entries from cursor on and the PENDING ones: the unverified. */
void mig_catchup_drop_unchecked(mig *m, size_t cursor);

#endif
