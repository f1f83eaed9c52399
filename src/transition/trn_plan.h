/* trn_plan.h -- when a ring change begins, and between which rings.
 *
 * The published ring changes in two ways only:
 *   cold   a published server that no longer serves (it ended, or Mesos lost
 *          it) leaves the published list at once: there is nothing to copy
 *          from, and clients must stop using it. Its keys go to their owners
 *          under the smaller ring, which hold no copy of them (the
 *          invariant), so this is a miss, never a stale read.
 *   warm   every other difference between what is published and what should
 *          serve (a new server, a server leaving for a step down, a planned
 *          replacement) is a transition R -> R' (trn.h).
 * trn_plan() is that rule as a pure function: the published list and the
 * servers with their class in, what to do out. It waits while servers are
 * still starting (bounded by prepare_timeout_ms), so a replacement or a step
 * of several servers is one transition, not one per server.
 *
 * Threads: any; pure. */
#ifndef MCM_TRN_PLAN_H
#define MCM_TRN_PLAN_H

#include "trn.h"

typedef enum trn_class {
    TRN_SERVING = 1,    /* running, answering, wanted in the ring */
    TRN_LEAVING,        /* running, to be removed (step down, replaced, drained) */
    TRN_STARTING,       /* launched, not yet running: not in any ring yet */
} trn_class;

typedef struct trn_member {
    trn_server s;
    trn_class cls;
} trn_member;

/* Members by task ID, for lookups in O(log n): the leader matches the fleet
 * against the published list on every tick. by points into the members
 * given, which must outlive it. */
typedef struct trn_index {
    const trn_member **by;      /* malloc'd, trn_index_free() */
    int n;
} trn_index;

int trn_index_build(trn_index *ix, const trn_member *m, int n);   /* MCM_ERR: out of memory */
const trn_member *trn_index_find(const trn_index *ix, const char *task_id);   /* NULL: none */
void trn_index_free(trn_index *ix);

typedef enum trn_plan_kind {
    TRN_PLAN_NONE = 0,  /* the published ring is the one wanted */
    TRN_PLAN_WAIT,      /* servers are starting: wait for them (why says so) */
    TRN_PLAN_PUBLISH,   /* publish `to` as it is, cold (removals, or nothing to copy from) */
    TRN_PLAN_BEGIN,     /* begin a transition `from` -> `to` */
} trn_plan_kind;

typedef struct trn_plan {
    trn_plan_kind kind;
    trn_server *from, *to;      /* malloc'd, trn_plan_free() */
    int nfrom, nto;
    char why[160];
} trn_plan;

/* published: the list clients see now. members: every server the fleet has
 * (any order). awaiting: servers the fleet wants but has not launched yet (a
 * replacement waiting for an offer). starting_since_ms: when the oldest of the
 * STARTING members was launched, or the awaited ones were first wanted (0 if
 * none). A published server missing from members, or not SERVING/LEAVING, is
 * removed cold (PUBLISH) before any transition begins. MCM_ERR only when out
 * of memory. */
int trn_plan_make(const trn_server *published, int npublished, const trn_member *members,
                  int nmembers, int awaiting, int64_t starting_since_ms, int64_t prepare_timeout_ms,
                  int64_t now_ms, trn_plan *out);
void trn_plan_free(trn_plan *p);   /* NULL-safe; leaves it empty */

#endif
