/* sim_task.c -- tasks as the master sees them, status updates, reconciliation.
 *
 * Status updates follow the Mesos agent's status update manager: every update
 * with a uuid (executor- or agent-made) is stored in a per-task queue; only
 * the head is forwarded to the scheduler, and the next one only after the
 * scheduler ACKNOWLEDGEs the head's uuid. An unacknowledged head is resent
 * after --update-retry (10 s), doubling up to 10 min, and at once after the
 * framework re-subscribes. Duplicate uuids (an executor resending after a
 * reconnect) are dropped. Master-made updates (invalid launches, agent loss,
 * reconciliation) have no uuid and are sent once, straight away.
 *
 *   t->state is the LATEST state (what reconciliation answers); the head of
 *   t->updates is what the scheduler is being told now.
 *
 * Threads: MHD threads and the loop thread, under s->mu.
 * Invariant: a task whose latest state is terminal and whose queue is empty
 * is freed (remembered in s->done for /sim/state). */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sim_task *sim_task_new(sim *s, sim_fw *fw, int agent, sim_exec *ex, const Mesos__V1__TaskInfo *ti, sim_res *res) {
    sim_task *t = calloc(1, sizeof(*t));
    if (!t) abort();
    snprintf(t->id, sizeof(t->id), "%s", ti->task_id->value);
    t->fw = fw;
    t->agent = agent;
    t->ex = ex;
    t->info = sim_pb_dup(&ti->base);
    t->res = res;
    t->state = MESOS__V1__TASK_STATE__TASK_STAGING;
    t->next = s->tasks;
    s->tasks = t;
    return t;
}

static void upd_free(sim_upd *u) {
    if (!u) return;
    mesos__v1__task_status__free_unpacked(u->status, NULL);
    free(u);
}

void sim_task_free(sim *s, sim_task *t) {
    for (sim_task **pp = &s->tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    int slot = (int)(s->ndone++ % SIM_DONE_MAX);
    snprintf(s->done[slot].id, sizeof(s->done[slot].id), "%s", t->id);
    snprintf(s->done[slot].fw, sizeof(s->done[slot].fw), "%s", t->fw->id);
    s->done[slot].state = t->state;
    for (sim_upd *u = t->updates, *n; u; u = n) {
        n = u->next;
        upd_free(u);
    }
    mesos__v1__task_info__free_unpacked(t->info, NULL);
    sim_res_free(t->res);
    free(t);
}

static void send_update(sim_fw *fw, Mesos__V1__TaskStatus *st) {
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Update up = MESOS__V1__SCHEDULER__EVENT__UPDATE__INIT;
    up.status = st;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE;
    ev.update = &up;
    sim_send(fw, &ev);
}

/* A SOURCE_MASTER status without uuid, in arena a. */
static Mesos__V1__TaskStatus *master_status(sim_arena *a, const sim_fw *fw, const char *task_id,
                                            const char *agent_id, const char *exec_id, int state, int reason,
                                            const char *msg) {
    Mesos__V1__TaskStatus *st = sim_arena_alloc(a, sizeof(*st));
    mesos__v1__task_status__init(st);
    st->task_id = sim_pb_taskid(a, task_id);
    st->state = (Mesos__V1__TaskState)sim_visible_state(fw, state);
    st->has_source = 1;
    st->source = MESOS__V1__TASK_STATUS__SOURCE__SOURCE_MASTER;
    st->has_reason = 1;
    st->reason = (Mesos__V1__TaskStatus__Reason)reason;
    st->message = sim_arena_strdup(a, msg);
    if (agent_id) st->agent_id = sim_pb_agentid(a, agent_id);
    if (exec_id) st->executor_id = sim_pb_execid(a, exec_id);
    st->has_timestamp = 1;
    st->timestamp = (double)util_wall_ms() / 1000.0;
    if (state == MESOS__V1__TASK_STATE__TASK_UNREACHABLE) {
        st->unreachable_time = sim_arena_alloc(a, sizeof(*st->unreachable_time));
        mesos__v1__time_info__init(st->unreachable_time);
        st->unreachable_time->nanoseconds = util_wall_ms() * 1000000;
    }
    return st;
}

void sim_task_master_update(sim *s, sim_fw *fw, const char *task_id, const char *agent_id, const char *exec_id,
                            int state, int reason, const char *msg) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__TaskStatus *st = master_status(a, fw, task_id, agent_id, exec_id, state, reason, msg);
    log_verbose("framework %s: task %s %s (master, %s)", fw->id, task_id, sim_pb_task_state(st->state), msg);
    send_update(fw, st);
    sim_arena_free(a);
}

static void forward_head(sim *s, sim_task *t) {
    if (!t->updates || sim_partitioned(s, t->agent)) return;   /* the agent holds it */
    Mesos__V1__TaskStatus *st = t->updates->status;
    log_verbose("framework %s: task %s update %s forwarded%s", t->fw->id, t->id, sim_pb_task_state(st->state),
                t->fw->stream ? "" : " (framework disconnected: will resend)");
    send_update(t->fw, st);
}

static int seen(sim_task *t, const uint8_t *uuid) {
    int n = t->nseen < SIM_SEEN_UUIDS ? t->nseen : SIM_SEEN_UUIDS;
    for (int i = 0; i < n; i++)
        if (memcmp(t->seen[i], uuid, 16) == 0) return 1;
    memcpy(t->seen[t->nseen++ % SIM_SEEN_UUIDS], uuid, 16);
    return 0;
}

int sim_task_agent_update(sim *s, sim_task *t, Mesos__V1__TaskStatus *st) {
    if (!st->has_uuid || st->uuid.len != 16 || seen(t, st->uuid.data)) {
        mesos__v1__task_status__free_unpacked(st, NULL);
        return 0;
    }
    if (!st->agent_id) {
        st->agent_id = malloc(sizeof(*st->agent_id));
        mesos__v1__agent_id__init(st->agent_id);
        st->agent_id->value = strdup(s->agents[t->agent].id);
    }
    if (!st->executor_id && t->ex) {
        st->executor_id = malloc(sizeof(*st->executor_id));
        mesos__v1__executor_id__init(st->executor_id);
        st->executor_id->value = strdup(t->ex->id);
    }
    if (!st->has_timestamp) {
        st->has_timestamp = 1;
        st->timestamp = (double)util_wall_ms() / 1000.0;
    }
    sim_drain_status(s, t, st);   /* a draining agent's reason (Slave::statusUpdate) */
    if (sim_partitioned(s, t->agent)) t->agent_state = st->state;   /* the master still says UNREACHABLE */
    else if (!sim_pb_terminal(t->state)) t->state = st->state;
    sim_upd *u = calloc(1, sizeof(*u));
    if (!u) abort();
    u->status = st;
    sim_upd **tail = &t->updates;
    while (*tail) tail = &(*tail)->next;
    int was_empty = !t->updates;
    *tail = u;
    log_info("framework %s: task %s is %s (update from %s)", t->fw->id, t->id, sim_pb_task_state(st->state),
             st->source == MESOS__V1__TASK_STATUS__SOURCE__SOURCE_AGENT ? "agent" : "executor");
    if (was_empty) {
        t->retry_ms = s->cfg.update_retry_ms;
        t->next_retry_ms = util_now_ms() + t->retry_ms;
        forward_head(s, t);
    }
    return 1;
}

void sim_task_agent_status(sim *s, sim_task *t, int state, int reason, const char *msg) {
    Mesos__V1__TaskStatus st = MESOS__V1__TASK_STATUS__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    uint8_t uuid[16];
    util_uuid4(uuid);
    tid.value = t->id;
    st.task_id = &tid;
    st.state = (Mesos__V1__TaskState)state;
    st.has_source = 1;
    st.source = MESOS__V1__TASK_STATUS__SOURCE__SOURCE_AGENT;
    st.has_reason = 1;
    st.reason = (Mesos__V1__TaskStatus__Reason)reason;
    st.message = (char *)msg;
    st.has_uuid = 1;
    st.uuid.data = uuid;
    st.uuid.len = 16;
    sim_task_agent_update(s, t, sim_pb_dup(&st.base));
}

void sim_task_ack(sim *s, sim_task *t, const uint8_t *uuid, size_t len) {
    sim_upd *h = t->updates;
    if (!h || len != 16 || h->status->uuid.len != 16 || memcmp(h->status->uuid.data, uuid, 16) != 0) {
        log_info("framework %s: ACKNOWLEDGE for task %s does not match its pending update; ignored", t->fw->id,
                 t->id);
        return;
    }
    t->updates = h->next;
    upd_free(h);
    if (t->updates) {
        t->retry_ms = s->cfg.update_retry_ms;
        t->next_retry_ms = util_now_ms() + t->retry_ms;
        forward_head(s, t);
    } else if (sim_pb_terminal(t->state)) {
        sim_task_free(s, t);
    }
}

void sim_task_resend_fw(sim *s, sim_fw *fw) {
    for (sim_task *t = s->tasks; t; t = t->next)
        if (t->fw == fw && t->updates) {
            t->retry_ms = s->cfg.update_retry_ms;
            t->next_retry_ms = util_now_ms() + t->retry_ms;
            forward_head(s, t);
        }
}

void sim_task_resend(sim *s, sim_task *t) {
    if (!t->updates) return;
    t->retry_ms = s->cfg.update_retry_ms;
    t->next_retry_ms = util_now_ms() + t->retry_ms;
    forward_head(s, t);
}

void sim_task_retry(sim *s, int64_t now) {
    for (sim_task *t = s->tasks; t; t = t->next) {
        if (!t->updates || now < t->next_retry_ms) continue;
        if (t->fw->stream) log_info("framework %s: task %s update not acknowledged; resending", t->fw->id, t->id);
        forward_head(s, t);
        t->retry_ms = t->retry_ms * 2 > SIM_UPDATE_RETRY_MAX_MS ? SIM_UPDATE_RETRY_MAX_MS : t->retry_ms * 2;
        t->next_retry_ms = now + t->retry_ms;
    }
}

/* --- reconciliation ----------------------------------------------------------- */

static void reconcile_known(sim *s, sim_fw *fw, sim_task *t) {
    sim_task_master_update(s, fw, t->id, s->agents[t->agent].id, t->ex ? t->ex->id : NULL, t->state,
                           MESOS__V1__TASK_STATUS__REASON__REASON_RECONCILIATION, "Reconciliation: Latest task state");
}

static void reconcile_unknown(sim *s, sim_fw *fw, const char *task_id, const Mesos__V1__AgentID *aid) {
    int state = MESOS__V1__TASK_STATE__TASK_UNKNOWN;
    const char *msg = "Reconciliation: Task is unknown";
    sim_agent *a = aid ? sim_agent_by_id(s, aid->value) : NULL;
    if (a && !a->gone) {
        state = MESOS__V1__TASK_STATE__TASK_GONE;
        msg = "Reconciliation: Task is unknown to the agent";
    } else if (a) {
        state = MESOS__V1__TASK_STATE__TASK_UNREACHABLE;
        msg = "Reconciliation: Task is unreachable";
    }
    sim_task_master_update(s, fw, task_id, aid ? aid->value : NULL, NULL, state,
                           MESOS__V1__TASK_STATUS__REASON__REASON_RECONCILIATION, msg);
}

void sim_task_reconcile(sim *s, sim_fw *fw, const Mesos__V1__Scheduler__Call__Reconcile *rc) {
    if (rc->n_tasks == 0) {
        int n = 0;
        for (sim_task *t = s->tasks; t; t = t->next)
            if (t->fw == fw) {
                reconcile_known(s, fw, t);
                n++;
            }
        log_info("framework %s: implicit reconciliation: %d task(s)", fw->id, n);
        return;
    }
    for (size_t i = 0; i < rc->n_tasks; i++) {
        const Mesos__V1__Scheduler__Call__Reconcile__Task *rt = rc->tasks[i];
        sim_task *t = sim_task_find(s, fw->id, rt->task_id->value);
        if (t) reconcile_known(s, fw, t);
        else reconcile_unknown(s, fw, rt->task_id->value, rt->agent_id);
    }
    log_info("framework %s: explicit reconciliation of %zu task(s)", fw->id, rc->n_tasks);
}
