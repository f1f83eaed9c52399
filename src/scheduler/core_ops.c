/* core_ops.c -- operator calls (POST /v1/scale, /v1/tasks/<id>/restart,
 * /v1/teardown) carried from libmicrohttpd's threads to the core.
 *
 * What: a hook (HTTP thread) posts a core_op to the mailbox and waits up to
 * OP_WAIT_MS for the core to answer; the core runs it between two messages
 * like anything else, so an operator call never races a Mesos event.
 *
 * An op whose answer depends on a Mesos call (restart: the KILL; teardown:
 * the TEARDOWN) is answered when the call's outcome reaches the core
 * (core_op_call_done): the call runs on the call worker (callq.h), never on
 * the core thread.
 *
 * Ownership: a core_op has a reference for the waiting hook, one for the
 * core, and one per call job it waits for; whoever drops the last one frees
 * it, so a hook that timed out can return while the core still holds the op.
 *
 * Threads: op_* hooks on HTTP threads; core_on_op on the core. */
#define LOG_COMPONENT "ops"
#include "core_int.h"
#include "callq.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OP_WAIT_MS 10000

typedef enum { OP_SCALE, OP_RESTART, OP_TEARDOWN } op_kind;

/* do_* answers: the op waits for a call's outcome (core_op_call_done). */
#define OP_DEFERRED ((http_hook_result)-1)

typedef struct core_op {
    op_kind kind;
    int instances;
    char arg[256];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, done;
    http_hook_result result;
    char msg[1024];
} core_op;

static void op_unref(core_op *op) {
    pthread_mutex_lock(&op->mu);
    int last = --op->refs == 0;
    pthread_mutex_unlock(&op->mu);
    if (!last) return;
    pthread_mutex_destroy(&op->mu);
    pthread_cond_destroy(&op->cv);
    free(op);
}

static void op_free_data(void *d) { op_unref(d); }

static http_hook_result op_run(core *c, op_kind kind, int n, const char *arg, char *msg, size_t msglen) {
    core_op *op = calloc(1, sizeof(*op));
    if (!op) return HTTP_HOOK_ERROR;
    op->kind = kind;
    op->instances = n;
    snprintf(op->arg, sizeof(op->arg), "%s", arg ? arg : "");
    pthread_mutex_init(&op->mu, NULL);
    util_cond_init_monotonic(&op->cv);   /* a step of the wall clock cannot cut the wait short or stretch it */
    op->refs = 2;
    if (cq_post(c->q, MSG_OP, op, op_free_data, 0) != MCM_OK) {
        op_unref(op);
        return HTTP_HOOK_ERROR;
    }
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    dl.tv_sec += OP_WAIT_MS / 1000;
    pthread_mutex_lock(&op->mu);
    while (!op->done && pthread_cond_timedwait(&op->cv, &op->mu, &dl) == 0) {}
    http_hook_result r = op->done ? op->result : HTTP_HOOK_TIMEOUT;
    snprintf(msg, msglen, "%s", op->done ? op->msg : "the scheduler core did not answer in time");
    pthread_mutex_unlock(&op->mu);
    op_unref(op);
    return r;
}

static http_hook_result hook_scale(void *ctx, int n, char *msg, size_t len) {
    return op_run(ctx, OP_SCALE, n, NULL, msg, len);
}
static http_hook_result hook_restart(void *ctx, const char *id, char *msg, size_t len) {
    return op_run(ctx, OP_RESTART, 0, id, msg, len);
}
static http_hook_result hook_teardown(void *ctx, const char *fw, char *msg, size_t len) {
    return op_run(ctx, OP_TEARDOWN, 0, fw, msg, len);
}

void core_ops_hooks(core *c, http_hooks *h) {
    h->ctx = c;
    h->scale = hook_scale;
    h->restart = hook_restart;
    h->teardown = hook_teardown;
}

/* --- on the core --------------------------------------------------------------- */

/* The pause and cooldown go into the policy first, so the one write below
 * stores them with the new count: a leader that dies right after cannot
 * leave its successor the count without the pause. */
static http_hook_result do_scale(core *c, core_op *op) {
    char err[256];
    int from = fleet_desired(c->fl);
    char *before = c->pol ? policy_history_json(c->pol) : NULL;   /* to undo the pause if the write fails */
    if (c->pol) policy_operator_set(c->pol, from, op->instances, util_wall_ms());
    if (core_set_desired(c, op->instances, "operator") != MCM_OK) {
        if (before && policy_history_load(c->pol, before, strlen(before), util_wall_ms(), err, sizeof(err)) != MCM_OK)
            log_warn("autoscaling history not restored after a failed scale: %s", err);
        free(before);
        snprintf(op->msg, sizeof(op->msg), "could not store the desired count; try again");
        return c->role == ROLE_FOLLOWER ? HTTP_HOOK_NOT_LEADER : HTTP_HOOK_ERROR;
    }
    free(before);
    snprintf(op->msg, sizeof(op->msg), "desired servers %d -> %d; autoscaling paused for %llds", from,
             op->instances, (long long)(c->cfg->operator_pause_ms / 1000));
    return HTTP_HOOK_OK;
}

static http_hook_result do_restart(core *c, core_op *op) {
    fleet_actions l;
    fleet_actions_init(&l);
    int rc = fleet_restart(c->fl, op->arg, core_clock(), &l);
    if (rc == FLEET_NOT_FOUND) {
        snprintf(op->msg, sizeof(op->msg), "no task %.255s", op->arg);
        return HTTP_HOOK_NOT_FOUND;
    }
    if (rc == FLEET_CONFLICT) {
        snprintf(op->msg, sizeof(op->msg), "task %.255s is already being killed", op->arg);
        return HTTP_HOOK_CONFLICT;
    }
    int warm = l.n > 0 && l.v[0].kind == FA_PUT_TASK;   /* a warm replacement: drained, no KILL yet */
    int ran = core_run_actions(c, &l, NULL, op);
    if (warm && ran == MCM_OK) {
        snprintf(op->msg, sizeof(op->msg), "task %.255s is replaced warm: a new server starts, takes over its "
                 "keys, and then it is killed", op->arg);
        return HTTP_HOOK_ACCEPTED;
    }
    if (ran != CORE_RUN_DEFERRED) {
        snprintf(op->msg, sizeof(op->msg), "%s failed; see the scheduler log", warm ? "storing the drain" : "KILL");
        return HTTP_HOOK_ERROR;
    }
    return OP_DEFERRED;
}

static http_hook_result restart_done(core_op *op, int ok, const char *err) {
    if (!ok) {
        snprintf(op->msg, sizeof(op->msg), "KILL failed: %.512s; see the scheduler log", err);
        return HTTP_HOOK_ERROR;
    }
    snprintf(op->msg, sizeof(op->msg), "task %.255s killed; a replacement will be launched", op->arg);
    return HTTP_HOOK_ACCEPTED;
}

/* Removes the framework from Mesos (which kills every server) and forgets
 * it. The desired count goes to 0 first, so the new framework the next term
 * registers starts nothing until an operator scales up. */
static http_hook_result do_teardown(core *c, core_op *op) {
    if (strcmp(op->arg, c->framework_id) != 0) {
        snprintf(op->msg, sizeof(op->msg), "framework is %.192s, not %.255s", c->framework_id, op->arg);
        return HTTP_HOOK_INVALID;
    }
    if (core_set_desired(c, 0, "teardown") != MCM_OK) {
        snprintf(op->msg, sizeof(op->msg), "could not store the desired count 0; nothing was torn down");
        return c->role == ROLE_FOLLOWER ? HTTP_HOOK_NOT_LEADER : HTTP_HOOK_ERROR;
    }
    callq_job *j = c->subscribed ? callq_job_new(&(fleet_action){0}, atomic_load(&c->term)) : NULL;
    if (!j) {
        snprintf(op->msg, sizeof(op->msg), "TEARDOWN failed: %s (desired servers are now 0)",
                 c->subscribed ? "out of memory" : "not subscribed");
        return HTTP_HOOK_CONFLICT;
    }
    j->teardown = 1;
    core_op_attach(j, op);
    callq_submit(c->calls, j);
    return OP_DEFERRED;
}

static http_hook_result teardown_done(core *c, core_op *op, int ok, const char *err) {
    if (!ok) {
        snprintf(op->msg, sizeof(op->msg), "TEARDOWN failed: %.512s (desired servers are now 0)", err);
        return HTTP_HOOK_CONFLICT;
    }
    log_warn("framework %s torn down by an operator", c->framework_id);
    if (core_forget_framework(c, "framework torn down") != MCM_OK) {
        snprintf(op->msg, sizeof(op->msg), "framework %.255s torn down in Mesos, but its state in ZooKeeper "
                 "could not be cleared yet; the leader clears it when Mesos next reports the framework removed",
                 op->arg);
        return HTTP_HOOK_ACCEPTED;
    }
    snprintf(op->msg, sizeof(op->msg), "framework %.255s torn down; desired servers set to 0", op->arg);
    return HTTP_HOOK_OK;
}

static void answer(core_op *op, http_hook_result r) {
    if (op->kind == OP_SCALE) log_notice("operator scale(%d): %s", op->instances, op->msg);
    else log_notice("operator %s(%s): %s", op->kind == OP_RESTART ? "restart" : "teardown", op->arg, op->msg);
    pthread_mutex_lock(&op->mu);
    op->result = r;
    op->done = 1;
    pthread_cond_signal(&op->cv);
    pthread_mutex_unlock(&op->mu);
}

void core_op_attach(callq_job *j, void *data) {
    core_op *op = data;
    pthread_mutex_lock(&op->mu);
    op->refs++;
    pthread_mutex_unlock(&op->mu);
    j->op = op;
    j->op_release = op_free_data;
}

/* A call that was made counts even if the term ended meanwhile (Mesos may
 * report a torn-down framework removed before the TEARDOWN's own answer
 * reaches the core, and the leader then forgets it on that path). */
void core_op_call_done(core *c, void *data, int same_term, int ok, const char *err) {
    core_op *op = data;
    http_hook_result r;
    if (!ok && !same_term) {
        snprintf(op->msg, sizeof(op->msg), "leadership was lost before the call was made");
        r = HTTP_HOOK_NOT_LEADER;
    } else if (op->kind == OP_RESTART) {
        r = restart_done(op, ok, err);
    } else if (same_term) {
        r = teardown_done(c, op, ok, err);
    } else {
        snprintf(op->msg, sizeof(op->msg), "framework %.255s torn down; desired servers set to 0", op->arg);
        r = HTTP_HOOK_OK;
    }
    answer(op, r);
}

void core_on_op(core *c, void *data) {
    core_op *op = data;
    http_hook_result r;
    if (!core_may_act(c) || (op->kind != OP_SCALE && c->role != ROLE_LEADING)) {
        r = c->role == ROLE_FOLLOWER ? HTTP_HOOK_NOT_LEADER : HTTP_HOOK_CONFLICT;
        snprintf(op->msg, sizeof(op->msg), "%s", c->role == ROLE_FOLLOWER ? "not the leader"
                                                  : "the leader is still starting; try again shortly");
    } else if (op->kind == OP_SCALE) {
        r = do_scale(c, op);
    } else if (op->kind == OP_RESTART) {
        r = do_restart(c, op);
    } else {
        r = do_teardown(c, op);
    }
    if (r != OP_DEFERRED) answer(op, r);
    op_unref(op);
}
