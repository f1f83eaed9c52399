/* trn_keep.h -- the ring keeper: what the scheduler publishes, and how it
 * gets from one ring to the next.
 *
 * The keeper owns the published ring P (the list clients see) and the current
 * transition (trn.h), and turns what the fleet is now (trn_plan.h's members)
 * into trn actions for the scheduler's runner:
 *   - a published server that stopped serving is dropped from P at once
 *     (cold: trn_keep_published() already leaves it out, the next tick
 *     publishes without it);
 *   - any other difference between P and the serving servers becomes a warm
 *     transition, or with warm transitions off a plain publication (the old
 *     behaviour: new servers start empty, removed ones go at once);
Retiring: a transition RETIREs the servers it removed. The fleet's drain
 * deadline of a LEAVING server stays as a safety net: with warm transitions it
 * must outlast a whole transition (budget + drain + cleanup + prepare).
 * P changes only with a PUBLISH action the keeper emits, so what the runner
 * writes to the servers znode is always the keeper's P.
 *
 * Writes that fail: the runner reports every PERSIST, CLEAR and PUBLISH with
 * trn_keep_stored(). After a failure the keeper emits, on the next tick, the
 * record (or its deletion) and P again before anything else: the stored state
 * catches up with the machine, which never waits for ZooKeeper.
 *
 * Ids: a transition's id is max(previous + 1, now_ms): growing within a
 * term, and across leaders as long as clocks agree to the millisecond
 * (executors only compare ids for equality).
 *
 * PURE, like trn.h: time comes in, actions go out. Threads: one owner. */
#ifndef MCM_TRN_KEEP_H
#define MCM_TRN_KEEP_H

#include "trn.h"
#include "trn_plan.h"

typedef struct trn_keep_config {
    trn_config trn;
    int warm;                      /* --warm-transitions */
    int64_t prepare_timeout_ms;    /* how long a ring change waits for starting servers */
} trn_keep_config;

/* Defaults: trn_config_default, warm on, prepare 60 s. */
void trn_keep_config_default(trn_keep_config *cfg);

typedef struct trn_keep trn_keep;

trn_keep *trn_keep_new(const trn_keep_config *cfg);
void trn_keep_free(trn_keep *k);                     /* NULL-safe */

/* A term begins with the stored list and the stored transition record
 * (NULL/0: none). A record that does not load is dropped (CLEAR is emitted)
 * and MCM_ERR returned with the reason, for the caller's warning; the keeper
 * then goes on from the published list. A loaded record is continued
 * (trn_resume: publish its ring, resend its commands). */
int trn_keep_begin_term(trn_keep *k, const trn_server *published, int n, const char *record,
                        size_t len, int64_t now_ms, trn_actions *out, char *err, size_t errlen);
void trn_keep_end_term(trn_keep *k);
/* Nonzero when the last tick planned nothing (the published ring is the one
 * wanted), no transition runs and no write is owed: a tick over the same
 * members would do nothing, so the caller may skip it until they change. */
int trn_keep_settled(const trn_keep *k);

/* Every tick while leading. awaiting, starting_since_ms: as trn_plan_make. */
void trn_keep_tick(trn_keep *k, const trn_member *m, int nm, int awaiting, int64_t starting_since_ms,
                   int64_t now_ms, trn_actions *out);
void trn_keep_on_progress(trn_keep *k, const trn_progress *p, int64_t now_ms, trn_actions *out);
/* A server ended or became unreachable. */
void trn_keep_on_lost(trn_keep *k, const char *task_id, int64_t now_ms, trn_actions *out);
/* The runner's outcome of a PERSIST, CLEAR or PUBLISH (not run counts as failed). */
void trn_keep_stored(trn_keep *k, trn_act_kind kind, int ok);

/* P less the members that no longer serve or leave: what to write now
 * (during an ABORT, P as it is: see trn.h).
 * Fills out (capacity cap) and returns the count; -1 when out of memory. */
int trn_keep_published(const trn_keep *k, const trn_member *m, int nm, trn_server *out, int cap);
const trn *trn_keep_machine(const trn_keep *k);

#endif
