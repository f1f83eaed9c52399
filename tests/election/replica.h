/* replica.h -- one scheduler replica's ZooKeeper side, for tests and benchmarks.
 *
 * A replica owns a zks session, an elect and a state object, and runs the
 * owner loop elect.h describes on its own thread:
 *   wake / ZKS_CONNECTED -> elect_check;  ZKS_EXPIRED -> elect_session_lost,
 *   zks_reopen, elect_join, elect_check;  every 20 ms -> elect_tick.
 * Every elected/deposed callback is recorded with its monotonic time, so a
 * test can check that leadership intervals of replicas never overlap.
 * replica_call runs a function on the owner thread (state_* calls must run
 * there). A paused replica only runs calls: no checks, ticks or reopen, so a
 * test can hold a stale "leader" still while the world moves on.
 * Threads: replica_* from the test's main thread. */
#ifndef MCM_TEST_REPLICA_H
#define MCM_TEST_REPLICA_H

#include <stdint.h>

#include "elect.h"
#include "state.h"
#include "zks.h"

#define REPLICA_MAX_EVENTS 256

typedef struct rep_event {
    int64_t t_ms;                /* util_now_ms() when the callback ran */
    int elected;                 /* 1 elected, 0 deposed */
    char why[160];
} rep_event;

typedef struct replica replica;

/* hosts "127.0.0.1:p"; auth may be NULL. Aborts the test on failure. */
replica *replica_start(const char *name, const char *hosts, const char *root, int64_t timeout_ms,
                       const char *auth);
/* resign: elect_resign first (graceful); else the session just closes (as if
 * the process was killed: its ephemeral node goes at once). Returns the
 * util_now_ms() just before the resignation or the close. */
int64_t replica_stop(replica *r, int resign);
int replica_is_leader(replica *r);
const char *replica_name(const replica *r);
void replica_pause(replica *r, int paused);
/* Runs fn(r, arg) on the owner thread and returns its result. */
int replica_call(replica *r, int (*fn)(replica *r, void *arg), void *arg);
/* For use inside replica_call (owner thread). */
zks *replica_zks(replica *r);
elect *replica_elect(replica *r);
state *replica_state(replica *r);
/* Copies the recorded events; returns how many. */
int replica_events(replica *r, rep_event *out, int max);
/* Time of the first elected event at or after t (or -1). */
int64_t replica_elected_after(replica *r, int64_t t);

/* Waits until exactly one of n replicas leads; returns its index or -1. */
int replicas_wait_one_leader(replica **rs, int n, int timeout_ms);
/* Asserts that no two replicas' leadership intervals overlap (an interval
 * still open ends now). */
void replicas_assert_no_overlap(replica **rs, int n);

#endif
