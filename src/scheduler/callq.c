/* callq.c -- the Mesos call workers (see callq.h).
 *
 * Shape: per lane, a mailbox (queue.h) its worker thread alone takes from;
 * a job's lane is a hash of its task ID (lane 0 without one); a job is a
 * deep copy of one fleet action (plus the packed TaskInfo of a LAUNCH, since
 * the offer it was built from is freed once the core has handled the event).
 * A STOP message ends a lane's loop; callq_free joins every thread.
 *
 * Thread: the worker runs call(), the only place where the scheduler client's
 * blocking calls are made. Invariant: a job whose term is no longer the
 * core's is reported as not run, never sent. */
#define LOG_COMPONENT "calls"
#include "callq.h"
#include "log.h"
#include "mcm.h"
#include "queue.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { JOB = 1, STOP };

typedef struct lane {
    struct callq *cq;
    cq *q;
    pthread_t thread;
    int started;
} lane;

struct callq {
    mesos_sched *ms;
    lane lanes[CALLQ_LANES];
    atomic_llong *term;
    atomic_int pending;
    callq_done_fn done;
    void *ctx;
};

/* --- jobs --------------------------------------------------------------------- */

static void *dup_bytes(const void *p, size_t n) {
    void *c = malloc(n ? n : 1);
    if (c && n) memcpy(c, p, n);
    return c;
}

callq_job *callq_job_new(const fleet_action *a, int64_t term) {
    callq_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    j->a = *a;
    j->a.ids = NULL;
    j->a.agents = NULL;
    j->a.data = NULL;
    j->term = term;
    size_t ids = sizeof(*a->ids) * (size_t)a->n;
    if ((a->ids && !(j->a.ids = dup_bytes(a->ids, ids))) || (a->agents && !(j->a.agents = dup_bytes(a->agents, ids))) ||
        (a->data && !(j->a.data = dup_bytes(a->data, a->data_len)))) {
        callq_job_free(j);
        return NULL;
    }
    return j;
}

void callq_job_free(callq_job *j) {
    if (!j) return;
    if (j->op && j->op_release) j->op_release(j->op);
    free(j->a.ids);
    free(j->a.agents);
    free(j->a.data);
    free(j->task_info);
    free(j);
}

static void job_free_data(void *d) { callq_job_free(d); }

/* --- the calls (worker thread) --------------------------------------------------- */

static const char **ptrs(char (*v)[TT_ID_MAX], int n, int empty_is_null) {
    const char **p = calloc(n ? (size_t)n : 1, sizeof(*p));
    for (int i = 0; p && i < n; i++) p[i] = empty_is_null && !v[i][0] ? NULL : v[i];
    return p;
}

static int list_call(mesos_sched *ms, const fleet_action *a, char *err, size_t len) {
    const char **ids = ptrs(a->ids, a->n, 0), **agents = a->agents ? ptrs(a->agents, a->n, 1) : NULL;
    int rc = MCM_ERR;
    if (!ids || (a->agents && !agents)) snprintf(err, len, "out of memory");
    else if (a->kind == FA_DECLINE) rc = mesos_sched_decline(ms, ids, (size_t)a->n, a->refuse_s, err, len);
    else rc = mesos_sched_reconcile(ms, ids, agents, (size_t)a->n, err, len);
    free(ids);
    free(agents);
    return rc;
}

static int launch(mesos_sched *ms, const callq_job *j, char *err, size_t len) {
    Mesos__V1__TaskInfo *ti = j->task_info ? mesos__v1__task_info__unpack(NULL, j->task_info_len, j->task_info) : NULL;
    if (!ti) {
        snprintf(err, len, "no TaskInfo to launch");
        return MCM_ERR;
    }
    int rc = mesos_sched_launch(ms, j->offer_id, &ti, 1, j->a.refuse_s, err, len);
    mesos__v1__task_info__free_unpacked(ti, NULL);
    return rc;
}

static int call(mesos_sched *ms, const callq_job *j, char *err, size_t len) {
    const fleet_action *a = &j->a;
    const tt_task *t = &a->task;
    char exec_id[TT_ID_MAX + 16];
    if (j->teardown) return mesos_sched_teardown(ms, err, len);
    if (j->inverse) {
        const char *ids[1] = {j->offer_id};
        return j->inverse > 0 ? mesos_sched_accept_inverse(ms, ids, 1, a->refuse_s, err, len)
                              : mesos_sched_decline_inverse(ms, ids, 1, a->refuse_s, err, len);
    }
    switch (a->kind) {
    case FA_ACK: return mesos_sched_acknowledge(ms, t->agent_id, t->id, a->uuid, a->uuid_len, err, len);
    case FA_KILL: return mesos_sched_kill(ms, t->id, t->agent_id[0] ? t->agent_id : NULL, err, len);
    case FA_LAUNCH: return launch(ms, j, err, len);
    case FA_REVIVE: return mesos_sched_revive(ms, err, len);
    case FA_SUPPRESS: return mesos_sched_suppress(ms, err, len);
    case FA_RECONCILE:
        if (a->n == 0) return mesos_sched_reconcile(ms, NULL, NULL, 0, err, len);   /* implicit */
        return list_call(ms, a, err, len);
    case FA_DECLINE: return list_call(ms, a, err, len);
    case FA_MESSAGE:
        snprintf(exec_id, sizeof(exec_id), "%s.executor", t->id);   /* launch.c names executors so */
        return mesos_sched_message(ms, t->agent_id, exec_id, a->data, a->data_len, err, len);
    default:
        snprintf(err, len, "%s is not a Mesos call", fleet_action_name(a->kind));
        return MCM_ERR;
    }
}

static void *worker(void *arg) {
    lane *ln = arg;
    callq *q = ln->cq;
    for (;;) {
        cq_msg *m = cq_take(ln->q, -1);
        if (!m) continue;
        if (m->type == STOP) {
            cq_msg_free(m);
            return NULL;
        }
        callq_job *j = m->data;
        m->data = NULL;
        cq_msg_free(m);
        if (j->term != atomic_load(q->term)) {
            snprintf(j->err, sizeof(j->err), "not run: its leadership term ended");
        } else {
            j->ok = call(q->ms, j, j->err, sizeof(j->err)) == MCM_OK;
        }
        atomic_fetch_sub(&q->pending, 1);
        q->done(q->ctx, j);
    }
}

/* --- life ------------------------------------------------------------------------ */

callq *callq_new(mesos_sched *ms, atomic_llong *term, callq_done_fn done, void *ctx) {
    callq *q = calloc(1, sizeof(*q));
    if (!q) return NULL;
    q->ms = ms;
    q->term = term;
    q->done = done;
    q->ctx = ctx;
    for (int i = 0; i < CALLQ_LANES; i++) {
        lane *ln = &q->lanes[i];
        ln->cq = q;
        ln->q = cq_create();
        if (!ln->q || pthread_create(&ln->thread, NULL, worker, ln) != 0) {
            callq_free(q);
            return NULL;
        }
        ln->started = 1;
    }
    return q;
}

void callq_free(callq *q) {
    if (!q) return;
    for (int i = 0; i < CALLQ_LANES; i++) {
        lane *ln = &q->lanes[i];
        if (ln->started && cq_post(ln->q, STOP, NULL, NULL, 0) == MCM_OK) pthread_join(ln->thread, NULL);
        cq_free(ln->q);   /* jobs left: freed unsent */
    }
    free(q);
}

/* The job's lane: every call about one task in one lane (FNV-1a of its ID),
 * the calls about no task in lane 0. */
static lane *lane_of(callq *q, const callq_job *j) {
    const char *id = j->teardown || j->inverse ? "" : j->a.task.id;
    if (!id[0]) return &q->lanes[0];
    return &q->lanes[util_fnv1a(UTIL_FNV1A_INIT, id, strlen(id)) % CALLQ_LANES];
}

int callq_submit(callq *q, callq_job *j) {
    if (atomic_load(&q->pending) >= CALLQ_MAX_PENDING) {
        snprintf(j->err, sizeof(j->err), "not run: %d calls already waiting for the master", CALLQ_MAX_PENDING);
        q->done(q->ctx, j);   /* refused like any outcome: through the owner's mailbox */
        return MCM_ERR;
    }
    atomic_fetch_add(&q->pending, 1);
    if (cq_post(lane_of(q, j)->q, JOB, j, job_free_data, 0) == MCM_OK) return MCM_OK;
    atomic_fetch_sub(&q->pending, 1);   /* out of memory: cq_post freed the job */
    log_error("out of memory queueing a %s call", fleet_action_name(j->a.kind));
    return MCM_ERR;
}

int callq_pending(callq *q) { return atomic_load(&q->pending); }
