/* folread.h -- a follower's copy of the task records, read off the core.
 *
 * A follower shows the records the leader stored (/v1/tasks) and keeps them
 * so that its own term can start from them (state_load_warm). Reading them
 * is a ZooKeeper round trip per few hundred records: at N = 1,000 under a
 * launch burst it took up to 20 s, and on the core thread it held every
 * event behind it -- the election's watch included, which delayed a
 * successor's start by 0.8-13 s (bench/scale). So a thread of its own reads
 * them, on a ZooKeeper session of its own (the core's handle is replaced on
 * expiry by the core, and a read on it from here would race that), and
 * hands each copy to a callback.
 *
 * What it reads and when: while following, every FR_LOOK_MS it reads the
 * mark (state_read_mark: two stats); when the mark moved, the task log and
 * the records it names as written since the last look (state_catch_up), so
 * the copy stays current under a launch burst or a ring transition for the
 * cost of what changed; all the records when the log cannot tell (a hand
 * edit, a write of thousands, a log trimmed past the copy), when
 * FR_FULL_MS passed since the last full read, and at once when following
 * starts. While full reads are needed from look to look (churn the log
 * cannot follow), they back off from every 5 s to every FR_FULL_MS, and
 * come back to every look once two looks agree. Not following: nothing,
 * and no copy kept.
 *
 * Threads: fr_new, fr_follow and fr_free on any one thread (the core); the
 * callback on the reader's thread, which it must not block for long.
 * Ownership: a copy handed to the callback is the callback's (fr_copy_free). */
#ifndef MCM_FOLREAD_H
#define MCM_FOLREAD_H

#include "state.h"
#include "zks.h"

#include <stdint.h>

#define FR_LOOK_MS 5000
#define FR_FULL_MS 60000

typedef struct fr_copy {
    state_snapshot snap;   /* the records with their mark (owned) */
    char *tasks_json;      /* the records as a JSON array, /v1/tasks' "tasks" (owned) */
    int64_t read_ms;       /* how long the read took */
    int full;              /* 1: the minute's full read; 0: the mark moved */
    int caught_up;         /* 1: brought up to date from the task log, not read in full */
    int fetched;           /* ...by reading this many records again */
} fr_copy;

void fr_copy_free(fr_copy *c);   /* NULL-safe */

/* Takes the copy, whatever it returns; 0: it was not delivered (a full
 * mailbox), so the next look reads again even if the mark has not moved. */
typedef int (*fr_cb)(void *ud, fr_copy *copy);

typedef struct folread folread;

/* The session settings are copied (on_event and ctx are not used); the
 * session is opened by the reader when it first needs it, and reopened
 * after an expiry. NULL: out of resources. */
folread *fr_new(const zks_config *zc, int instances_max, fr_cb cb, void *ud);
/* on: read after delay_ms, then as above; off: stop reading (a copy in
 * flight may still be delivered: the receiver checks its role). A leader
 * that steps down waits a few seconds: its successor is reading the same
 * records to take over, and a replica shutting down should not start a
 * read that its exit then waits for. */
void fr_follow(folread *r, int on, int64_t delay_ms);
void fr_free(folread *r);   /* joins the reader, closes its session; NULL-safe */

#endif
