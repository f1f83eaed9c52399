/* exec_migrate.c -- the copy engine on a worker thread (see exec_migrate.h).
 *
 * Shape: one worker thread per executor (started on the first command) and
 * a one-slot job queue under a mutex: `pending` is the next job, `running`
 * the phase in progress. A command only edits the slot (and cancels the
 * engine when the running phase must stop); the worker takes the slot,
 * creates the engine for a new transition id, runs the phase, records how it
 * ended and wakes the loop. Progress is read with mig_progress_get, which is
 * thread-safe, so the loop samples it without waiting for the worker.
 *
 *   idle --command--> pending --worker takes it--> running --ends--> idle
 *                                 (done_unsent: the loop sends the final progress)
 *   running --abort / newer id--> mig_cancel; pending = the new job
 *
 * Threads: the owner loop (new, command, poll, free) and the worker (run).
 * Invariants: `engine`, `running`, `pending`, `last` change only under
 * `lock`; the engine is freed only by the worker (or by free, after join);
 * mig_cancel is called only while a phase of that engine runs. */
#define LOG_COMPONENT "migrate"
#include "exec_migrate.h"
#include "log.h"
#include "ring.h"
#include "mcm.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct job {
    int set;
    mig_cmd cmd;                 /* owned (ring strings) */
} job;

struct exec_mig {
    char task_id[MIG_MSG_TASK_ID_MAX];
    char source[MIG_MSG_ADDR_MAX];
    void (*wake)(void *ctx);
    void *ctx;
    pthread_t thread;
    int started, stop;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    mig *engine;
    int64_t engine_id;           /* the transition the engine belongs to (0: none) */
    job pending;
    int running;
    mig_cmd_phase running_phase;
    int64_t running_id;
    struct {
        int64_t id;
        mig_cmd_phase phase;
        int unsupported;
        char error[256];
        mig_progress p;          /* the engine's counters as it ended */
    } last;                      /* the last phase that ended */
    int64_t copied_id;           /* the transition whose copy ended well here (0: none) */
    mig_progress copied;         /* ...and its counters, to answer a resent copy */
    int done_unsent;
    int hold_done;               /* the copy's done waits for the first catch-up pass (follow_after_copy) */
    int64_t next_progress;
};

static void job_clear(job *j) {
    if (j->set) mig_cmd_clear(&j->cmd);
    memset(j, 0, sizeof(*j));
}

static int list_copy(char ***dst, char *const *src, int n) {
    *dst = NULL;
    if (!src || n <= 0) return MCM_OK;
    if (!(*dst = calloc((size_t)n, sizeof(**dst)))) return MCM_ERR;
    for (int i = 0; i < n; i++)
        if (!((*dst)[i] = strdup(src[i]))) return MCM_ERR;
    return MCM_OK;
}

/* A deep copy (the command's lists belong to the message being handled). */
static int cmd_copy(mig_cmd *dst, const mig_cmd *src) {
    *dst = *src;
    if (list_copy(&dst->ring, src->ring, src->nring) != MCM_OK || list_copy(&dst->from, src->from, src->nfrom) != MCM_OK ||
        list_copy(&dst->to, src->to, src->nto) != MCM_OK || list_copy(&dst->lost, src->lost, src->nlost) != MCM_OK) {
        mig_cmd_clear(dst);   /* frees what was copied: a list's missing tail is NULL */
        return MCM_ERR;
    }
    return MCM_OK;
}

/* --- purge: delete what self must not hold ------------------------------------------ */

/* A purge deletes every key self does not own under the command's ring and,
 * when servers were lost during a transition, every key whose owner under
 * from (or to) is one of them. The engine deletes on S the keys its owner
 * function places elsewhere; `sentinel` is an index past the ring that
 * stands for "elsewhere" (the one-server ring has no other index). */
typedef struct purge_rule {
    ring *cur, *from, *to;
    int self, sentinel;
    char *const *lost;
    int nlost;
} purge_rule;

static int is_lost(const purge_rule *r, const char *name) {
    for (int i = 0; name && i < r->nlost; i++)
        if (!strcmp(r->lost[i], name)) return 1;
    return 0;
}

static int purge_owner(void *arg, const void *key, size_t len) {
    const purge_rule *r = arg;
    if (ring_owner(r->cur, key, len) != r->self) return r->sentinel;
    if (r->from && is_lost(r, ring_owner_name(r->from, key, len))) return r->sentinel;
    if (r->to && is_lost(r, ring_owner_name(r->to, key, len))) return r->sentinel;
    return r->self;
}

static int run_purge(exec_mig *x, const mig_cmd *c, char *err, size_t errlen) {
    purge_rule r = {0};
    const char **names = calloc((size_t)c->nring + 1, sizeof(*names));
    int rc = MCM_ERR;
    r.cur = ring_new((const char *const *)c->ring, c->nring, err, errlen);
    if (c->nfrom) r.from = ring_new((const char *const *)c->from, c->nfrom, err, errlen);
    if (c->nto) r.to = ring_new((const char *const *)c->to, c->nto, err, errlen);
    if (names && r.cur && (!c->nfrom || r.from) && (!c->nto || r.to)) {
        for (int i = 0; i < c->nring; i++) names[i] = c->ring[i];
        names[c->nring] = "forgotten.invalid:1";   /* the sentinel: never connected to */
        r.self = ring_find(r.cur, c->self);
        r.sentinel = c->nring;
        r.lost = c->lost;
        r.nlost = c->nlost;
        mig_config cfg = {.source = x->source, .servers = names, .nservers = c->nring + 1, .self = r.self,
                          .owner = purge_owner, .owner_arg = &r};
        mig *m = mig_new(&cfg, err, errlen);
        rc = m ? mig_cleanup(m, err, errlen) : MCM_ERR;
        if (m) {
            mig_progress p;
            mig_progress_get(m, &p);
            log_info("transition %lld: purge deleted %llu keys", (long long)c->id, (unsigned long long)p.deleted);
        }
        mig_free(m);
    }
    ring_free(r.cur);
    ring_free(r.from);
    ring_free(r.to);
    free(names);
    return rc;
}

/* --- worker ------------------------------------------------------------------ */

/* The engine for the job's transition (under lock); NULL with err. */
static mig *engine_for(exec_mig *x, const mig_cmd *c, char *err, size_t errlen) {
    if (x->engine && x->engine_id == c->id) return x->engine;
    mig_free(x->engine);
    x->engine = NULL;
    x->engine_id = 0;
    if (c->phase == MIG_CMD_ABORT) return NULL;     /* nothing of it here: nothing to undo */
    mig_config cfg = {.source = x->source, .servers = (const char *const *)c->ring, .nservers = c->nring,
                      .self = mig_cmd_self_index(c), .rate = c->rate, .budget_ms = c->budget_ms};
    if ((x->engine = mig_new(&cfg, err, errlen))) x->engine_id = c->id;
    return x->engine;
}

/* mig_yield_fn: a catch-up follows until the next command is waiting. */
static int next_waiting(void *arg) {
    exec_mig *x = arg;
    pthread_mutex_lock(&x->lock);
    int set = x->pending.set || x->stop;
    pthread_mutex_unlock(&x->lock);
    return set;
}

static int run_phase(exec_mig *x, mig *m, mig_cmd_phase p, char *err, size_t errlen) {
    switch (p) {
    case MIG_CMD_COPY: return mig_copy(m, err, errlen);
    case MIG_CMD_CATCHUP: return mig_follow(m, next_waiting, NULL, x, 0, err, errlen);
    case MIG_CMD_PURGE: return mig_cleanup(m, err, errlen);
    case MIG_CMD_CLEANUP:
        if (mig_has_copy(m) && mig_catchup(m, err, errlen) != MCM_OK) return MCM_ERR;
        return mig_cleanup(m, err, errlen);
    case MIG_CMD_ABORT: return mig_undo(m, err, errlen);
    }
    snprintf(err, errlen, "unknown phase");
    return MCM_ERR;
}

/* Under lock: the phase that ended is what the next progress reports. */
static void finish_job(exec_mig *x, const mig_cmd *c, int rc, const char *err) {
    x->running = 0;
    x->last.id = c->id;
    x->last.phase = c->phase;
    memset(&x->last.p, 0, sizeof(x->last.p));
    x->last.p.eta_ms = -1;
    if (x->engine && x->engine_id == c->id) mig_progress_get(x->engine, &x->last.p);
    if (c->phase == MIG_CMD_COPY && rc == MCM_OK) {
        x->copied_id = c->id;
        x->copied = x->last.p;
    }
    x->last.unsupported = rc != MCM_OK && strstr(err, "metadump refused: ERROR") != NULL;
    snprintf(x->last.error, sizeof(x->last.error), "%s", rc == MCM_OK ? "" : err);
    x->done_unsent = 1;
    if (x->last.unsupported)
        log_warn("memcached at %s has no `lru_crawler metadump` (memcached 1.6 or later is needed): "
                 "transitions from this server are cold", x->source);
}

/* mig_follow's first pass is over: the copy's done may go. */
static void release_done(void *arg) {
    exec_mig *x = arg;
    pthread_mutex_lock(&x->lock);
    x->hold_done = 0;
    pthread_mutex_unlock(&x->lock);
    x->wake(x->ctx);
}

/* Under lock, after a copy ended well: catch-up starts at once, without
 * waiting for R' to be published and the scheduler's first `catchup` to
 * arrive. The copy's done (on which the scheduler publishes R') is held
 * until the first catch-up pass is over: a client that wrote a copied key
 * on S during the copy would otherwise read mcm's older copy on the new
 * owner once it switched, until the pass reached that key (bench_resize at
 * a low --migrate-rate: 18 such reads in 100,000 keys). Safe before the
 * publication: no client writes a moving key on its new owner yet, and
 * every write is guarded by the copy's CAS anyway. The first pass ends by
 * the copy's budget (mig_budget_end), when the scheduler publishes R'
 * whether or not this done has come: what it has not checked by then is
 * deleted on the new owners first (cold, never stale). The copy itself
 * stops a tenth of its budget earlier to leave that pass its time. The
 * `catchup` commands that follow find it running; the next other command
 * ends it. */
static void follow_after_copy(exec_mig *x, mig *m, int64_t id) {
    if (x->pending.set || x->stop) return;
    x->running = 1;
    x->running_phase = MIG_CMD_CATCHUP;
    x->running_id = id;
    x->hold_done = 1;
    pthread_mutex_unlock(&x->lock);
    char err[256] = "";
    log_info("transition %lld: catchup from %s (right after the copy)", (long long)id, x->source);
    int rc = mig_follow(m, next_waiting, release_done, x, mig_budget_end(m), err, sizeof(err));
    pthread_mutex_lock(&x->lock);
    /* Ended before a whole pass (S lost, cancelled): the copies it could not
     * verify are deleted (mig_catchup_end); the scheduler's resent copy is
     * answered from `copied` (take_command). */
    x->hold_done = 0;
    mig_cmd c = {.id = id, .phase = MIG_CMD_CATCHUP};
    finish_job(x, &c, rc, err);
}

/* Serving first: the copy's own CPU (parsing the dump, hashing keys onto
 * the ring, building pipelines) runs at a lower priority than memcached and
 * the clients on the same host, so it takes what they leave. Not the
 * lowest: under full load a copy at nice 19 would get almost nothing and
 * run out of its budget, which makes the rest of the transition cold. */
#define WORKER_NICE 10

static void lower_priority(void) {
    errno = 0;
    /* Linux: with PRIO_PROCESS, a thread ID names that thread alone */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE) != 0)
        log_info("the copy worker keeps its priority (setpriority: %s)", strerror(errno));
}

static void *worker(void *arg) {
    exec_mig *x = arg;
    lower_priority();
    pthread_mutex_lock(&x->lock);
    for (;;) {
        while (!x->stop && !x->pending.set) pthread_cond_wait(&x->cond, &x->lock);
        if (x->stop) break;
        job j = x->pending;
        memset(&x->pending, 0, sizeof(x->pending));
        char err[256] = "";
        mig *m = j.cmd.phase == MIG_CMD_PURGE ? NULL : engine_for(x, &j.cmd, err, sizeof(err));   /* a purge has its own */
        x->running = 1;
        x->running_phase = j.cmd.phase;
        x->running_id = j.cmd.id;
        if (m) mig_uncancel(m);
        pthread_mutex_unlock(&x->lock);
        log_info("transition %lld: %s from %s", (long long)j.cmd.id, mig_cmd_phase_name(j.cmd.phase), x->source);
        int rc = j.cmd.phase == MIG_CMD_PURGE ? run_purge(x, &j.cmd, err, sizeof(err))
                 : m ? run_phase(x, m, j.cmd.phase, err, sizeof(err))
                     : (j.cmd.phase == MIG_CMD_ABORT ? MCM_OK : MCM_ERR);
        pthread_mutex_lock(&x->lock);
        finish_job(x, &j.cmd, rc, err);
        if (j.cmd.phase == MIG_CMD_COPY && rc == MCM_OK && m) follow_after_copy(x, m, j.cmd.id);
        job_clear(&j);
        pthread_mutex_unlock(&x->lock);
        x->wake(x->ctx);
        pthread_mutex_lock(&x->lock);
    }
    pthread_mutex_unlock(&x->lock);
    return NULL;
}

/* --- owner loop ---------------------------------------------------------------- */

exec_mig *exec_mig_new(const char *task_id, const char *source, void (*wake)(void *ctx), void *ctx,
                       char *err, size_t errlen) {
    exec_mig *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(x->task_id, sizeof(x->task_id), "%s", task_id);
    snprintf(x->source, sizeof(x->source), "%s", source);
    x->wake = wake;
    x->ctx = ctx;
    pthread_mutex_init(&x->lock, NULL);
    pthread_cond_init(&x->cond, NULL);
    if (pthread_create(&x->thread, NULL, worker, x) != 0) {
        snprintf(err, errlen, "cannot start the migrate worker thread");
        exec_mig_free(x);
        return NULL;
    }
    x->started = 1;
    return x;
}

void exec_mig_free(exec_mig *x) {
    if (!x) return;
    pthread_mutex_lock(&x->lock);
    x->stop = 1;
    if (x->running && x->engine) mig_cancel(x->engine);
    pthread_cond_signal(&x->cond);
    pthread_mutex_unlock(&x->lock);
    if (x->started) pthread_join(x->thread, NULL);
    job_clear(&x->pending);
    mig_free(x->engine);
    pthread_cond_destroy(&x->cond);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

/* Under lock: what the command changes. */
static void take_command(exec_mig *x, const mig_cmd *c) {
    int64_t cur = x->running ? x->running_id : x->pending.set ? x->pending.cmd.id : x->last.id;
    if (c->id < cur || (c->id < x->engine_id)) {
        log_info("transition %lld: %s ignored, transition %lld is newer", (long long)c->id,
                 mig_cmd_phase_name(c->phase), (long long)cur);
        return;
    }
    int same_running = x->running && x->running_id == c->id && x->running_phase == c->phase;
    if (same_running && c->phase != MIG_CMD_ABORT) return;        /* progress keeps coming */
    /* Done once per transition: a copy, an abort, a cleanup (a second cleanup's
     * catch-up would find the moved keys gone from here and delete the copies
     * on their new owners). A purge may come again with other lost servers. */
    if (c->phase == MIG_CMD_COPY && x->copied_id == c->id) {
        x->last.id = c->id;                                         /* its answer was lost: again */
        x->last.phase = MIG_CMD_COPY;
        x->last.unsupported = 0;
        x->last.error[0] = '\0';
        x->last.p = x->copied;
        x->done_unsent = 1;
        return;
    }
    int once = c->phase == MIG_CMD_COPY || c->phase == MIG_CMD_ABORT || c->phase == MIG_CMD_CLEANUP;
    if (!x->running && !x->pending.set && once && x->last.id == c->id && x->last.phase == c->phase) {
        x->done_unsent = 1;                                        /* answer again, do not redo */
        return;
    }
    if (x->running && (c->id != x->running_id || c->phase == MIG_CMD_ABORT) && x->engine)
        mig_cancel(x->engine);
    job_clear(&x->pending);
    if (cmd_copy(&x->pending.cmd, c) != MCM_OK) {
        log_error("transition %lld: out of memory for the %s command", (long long)c->id, mig_cmd_phase_name(c->phase));
        return;
    }
    x->pending.set = 1;
    pthread_cond_signal(&x->cond);
}

void exec_mig_command(exec_mig *x, const mig_cmd *c) {
    pthread_mutex_lock(&x->lock);
    take_command(x, c);
    pthread_mutex_unlock(&x->lock);
}

int exec_mig_poll(exec_mig *x, int64_t now_ms, char *buf, size_t len) {
    mig_msg_progress m;
    memset(&m, 0, sizeof(m));
    pthread_mutex_lock(&x->lock);
    int done = x->done_unsent && !x->hold_done;
    int due = done || (x->running && now_ms >= x->next_progress);
    if (due) {
        if (x->engine) mig_progress_get(x->engine, &m.p);
        else m.p.eta_ms = -1;
        if (done) {
            m.p = x->last.p;                                   /* the phase as it ended */
            m.id = x->last.id;
            m.phase = x->last.phase;
            m.done = 1;
            m.unsupported = x->last.unsupported;
            snprintf(m.error, sizeof(m.error), "%s", x->last.error);
            x->done_unsent = 0;
        } else {
            m.id = x->running_id;
            m.phase = x->running_phase;
        }
        x->next_progress = now_ms + EXEC_MIG_PROGRESS_MS;
    }
    pthread_mutex_unlock(&x->lock);
    if (!due) return 0;
    snprintf(m.task_id, sizeof(m.task_id), "%s", x->task_id);
    int n = mig_progress_encode(&m, buf, len);
    return n < 0 ? 0 : n;
}

int exec_mig_refusal(const char *task_id, int64_t id, mig_cmd_phase phase, const char *why, char *buf, size_t len) {
    mig_msg_progress m;
    memset(&m, 0, sizeof(m));
    snprintf(m.task_id, sizeof(m.task_id), "%s", task_id);
    m.id = id > 0 ? id : 1;
    m.phase = phase ? phase : MIG_CMD_COPY;
    m.done = 1;
    m.p.eta_ms = -1;
    snprintf(m.error, sizeof(m.error), "%s", why);
    int n = mig_progress_encode(&m, buf, len);
    return n < 0 ? 0 : n;
}
