/* callq.h -- Mesos calls off the core thread: a few workers, each in
 * submission order.
 *
 * Why: a call blocks until the master answers (up to the client's call
 * timeout, 5 s). On the core thread a slow master would hold it past the
 * pause detector's limit (half the ZooKeeper session timeout: 2 s in the
 * demo), and the leader would step down as if its process had been stopped.
 * So the runner (core_run.c) hands every Mesos call to this worker and goes
 * on; the outcome comes back to the core's mailbox, where the fleet learns it
 * (fleet_done) like any other event. The core thread then never waits for
 * Mesos, whatever the bound: the pause detector and the call timeout no
 * longer need to agree.
 *
 * Order: CALLQ_LANES workers, each with its own connection to the master
 * (mesos_sched.h), run their jobs one at a time in the order submitted. The
 * calls about one task (its LAUNCH, ACKNOWLEDGEs, KILL, MESSAGEs) always go
 * to the same lane, chosen by the task ID, so they reach the master in the
 * order the runner ran them: a KILL never overtakes its LAUNCH. Calls about
 * no task (DECLINE, REVIVE, SUPPRESS, RECONCILE, TEARDOWN, inverse offers)
 * share lane 0, so they keep their order among themselves. One worker was
 * the launch burst's limit at N = 1,000: acknowledgements were refused at
 * the bound below while it sent one call at a time (bench/scale). A job
 * submitted in one leadership term is never sent in another: the worker
 * compares the job's term with the core's current term just before sending,
 * and reports a job of an ended term as not run.
 *
 * Ownership: callq_submit takes the job; the done callback receives it and
 * must free it with callq_job_free (which also releases job->op).
 * Threads: callq_new/submit/free on the core; done runs on the worker thread
 * and must only post and return. */
#ifndef MCM_CALLQ_H
#define MCM_CALLQ_H

#include "fleet.h"
#include "mesos_sched.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CALLQ_MAX_PENDING 1000   /* beyond this, submit refuses (the master is far behind) */
#define CALLQ_LANES MESOS_CALL_CONNS   /* workers: one per connection of the client (mesos_sched.h) */

typedef struct callq_job {
    fleet_action a;              /* the call; its arrays are the job's */
    int teardown;                /* 1: TEARDOWN (not a fleet action; a.kind is 0) */
    int inverse;                 /* 1: ACCEPT_INVERSE_OFFERS, -1: DECLINE_INVERSE_OFFERS of offer_id with
                                    a.refuse_s (not a fleet action; a.kind is 0; core_maint.c) */
    int64_t term;                /* the leadership term that decided it */
    uint8_t *task_info;          /* LAUNCH: the packed TaskInfo */
    size_t task_info_len;
    char offer_id[TT_ID_MAX];    /* LAUNCH; the inverse offer of an ACCEPT/DECLINE_INVERSE_OFFERS */
    void *op;                    /* an operator call waiting for the outcome, or NULL */
    void (*op_release)(void *op);
    /* the outcome, set by the worker */
    int ok;
    char err[512];
} callq_job;

typedef struct callq callq;
typedef void (*callq_done_fn)(void *ctx, callq_job *job);

/* term: the core's term counter, read by the worker. NULL if out of memory
 * or the thread cannot start. */
callq *callq_new(mesos_sched *ms, atomic_llong *term, callq_done_fn done, void *ctx);
/* Stops the worker after the call in flight; jobs left are freed, unsent. */
void callq_free(callq *q);                    /* NULL-safe */

/* A job for action a (copied deeply), decided in `term`. NULL if out of memory. */
callq_job *callq_job_new(const fleet_action *a, int64_t term);
void callq_job_free(callq_job *j);            /* NULL-safe; releases op */
/* Takes the job. Its outcome always comes through `done`, a refusal too
 * (CALLQ_MAX_PENDING reached: MCM_ERR, done called at once on this thread);
 * only out of memory loses it (MCM_ERR, logged, freed). */
int callq_submit(callq *q, callq_job *j);
int callq_pending(callq *q);                  /* submitted and not yet done; any thread */

#endif
