/* sim_agent.c -- the agents: executor API (POST /api/v1/executor on each
 * agent's port), executor lifecycle, agent loss.
 *
 * Executor states (sim_exec.state), with the function behind each move:
 *   EX_PENDING --sim_proc_launch (loop thread)--> EX_LAUNCHED
 *   EX_LAUNCHED --SUBSCRIBE (exec_subscribe)--> EX_SUBSCRIBED
 *   any --process reaped / launch failed (exec_terminated)--> EX_DONE
 * A registration timeout or a SHUTDOWN grace expiry only sends SIGKILL to the
 * process group; the reaper does the rest. An executor's subscription may
 * drop and come back (SUBSCRIBE again with unacknowledged updates/tasks).
 *
 * Checks of an executor Call, as the Mesos agent (slave/http.cpp executor()):
 * 405 method, 400/415 Content-Type, 400 parse, 400 validation (type, its
 * message; UPDATE: uuid, SOURCE_EXECUTOR, not STAGING, executor_id), 400
 * framework or executor unknown, 403 not subscribed (calls but SUBSCRIBE),
 * then SUBSCRIBE: 200 + stream; UPDATE/MESSAGE/HEARTBEAT: 202.
 *
 * Threads: MHD threads (agent ports) and the loop thread, under s->mu. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* --- events to executors ---------------------------------------------------- */

static void exec_send(sim_exec *ex, const Mesos__V1__Executor__Event *ev) {
    if (!ex->stream) return;
    size_t n;
    uint8_t *rec = sim_pb_record(&ev->base, &n);
    sim_stream_push(ex->stream, rec, n);
    free(rec);
}

static void send_simple(sim_exec *ex, Mesos__V1__Executor__Event__Type type) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    ev.has_type = 1;
    ev.type = type;
    exec_send(ex, &ev);
}

static void send_launch(sim_exec *ex, sim_task *t) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Launch l = MESOS__V1__EXECUTOR__EVENT__LAUNCH__INIT;
    l.task = t->info;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH;
    ev.launch = &l;
    exec_send(ex, &ev);
    t->launched = 1;
}

static void send_acked(sim_exec *ex, const char *task_id, const ProtobufCBinaryData *uuid) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Acknowledged ak = MESOS__V1__EXECUTOR__EVENT__ACKNOWLEDGED__INIT;
    Mesos__V1__TaskID tid = MESOS__V1__TASK_ID__INIT;
    tid.value = (char *)task_id;
    ak.task_id = &tid;
    ak.uuid = *uuid;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED;
    ev.acknowledged = &ak;
    exec_send(ex, &ev);
}

void sim_agent_message(sim *s, sim_exec *ex, const ProtobufCBinaryData *data) {
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Message m = MESOS__V1__EXECUTOR__EVENT__MESSAGE__INIT;
    m.data = *data;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE;
    ev.message = &m;
    exec_send(ex, &ev);
}

static void send_subscribed(sim *s, sim_exec *ex) {
    sim_arena *a = sim_arena_new();
    sim_agent *ag = &s->agents[ex->agent];
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Subscribed sub = MESOS__V1__EXECUTOR__EVENT__SUBSCRIBED__INIT;
    Mesos__V1__AgentInfo ai = MESOS__V1__AGENT_INFO__INIT;
    Mesos__V1__ContainerID cid = MESOS__V1__CONTAINER_ID__INIT;
    ai.hostname = ag->hostname;
    char aerr[256];
    ai.attributes = sim_attr_to_pb(a, ag->attributes, &ai.n_attributes, aerr, sizeof(aerr));
    ai.domain = sim_domain_to_pb(a, ag->region, ag->zone);
    ai.has_port = 1;
    ai.port = ag->port;
    ai.id = sim_pb_agentid(a, ag->id);
    ai.resources = sim_res_to_pb(ag->total, NULL, sim_arena_alloc, a, &ai.n_resources);
    cid.value = ex->container;
    sub.executor_info = ex->info;
    sub.framework_info = ex->fw->info;
    sub.agent_info = &ai;
    sub.container_id = &cid;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED;
    ev.subscribed = &sub;
    exec_send(ex, &ev);
    sim_arena_free(a);
}

/* --- executor records ---------------------------------------------------------- */

sim_exec *sim_exec_find(sim *s, int agent, const char *fw_id, const char *exec_id) {
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->state != EX_DONE && ex->agent == agent && strcmp(ex->fw->id, fw_id) == 0 &&
            strcmp(ex->id, exec_id) == 0)
            return ex;
    return NULL;
}

/* ei as it would be stored: framework_id filled in. Caller frees. */
static Mesos__V1__ExecutorInfo *normalized(const sim_fw *fw, const Mesos__V1__ExecutorInfo *ei) {
    Mesos__V1__ExecutorInfo *c = sim_pb_dup(&ei->base);
    if (!c->framework_id) {
        c->framework_id = malloc(sizeof(*c->framework_id));
        mesos__v1__framework_id__init(c->framework_id);
        c->framework_id->value = strdup(fw->id);
    }
    return c;
}

int sim_exec_lookup(sim *s, sim_fw *fw, int agent, const Mesos__V1__ExecutorInfo *ei, sim_exec **out, char *err,
                    size_t errlen) {
    *out = sim_exec_find(s, agent, fw->id, ei->executor_id->value);
    if (!*out) return MCM_OK;
    Mesos__V1__ExecutorInfo *c = normalized(fw, ei);
    int same = sim_pb_equal(&c->base, &(*out)->info->base);
    mesos__v1__executor_info__free_unpacked(c, NULL);
    if (same) return MCM_OK;
    snprintf(err, errlen, "ExecutorInfo for executor '%s' differs from the one of the running executor",
             ei->executor_id->value);
    return MCM_ERR;
}

sim_exec *sim_exec_create(sim *s, sim_fw *fw, int agent, const Mesos__V1__ExecutorInfo *ei, sim_res *res) {
    sim_exec *ex = calloc(1, sizeof(*ex));
    if (!ex) abort();
    ex->fw = fw;
    ex->agent = agent;
    snprintf(ex->id, sizeof(ex->id), "%s", ei->executor_id->value);
    ex->info = normalized(fw, ei);
    ex->res = res ? res : sim_res_new();
    ex->state = EX_PENDING;
    ex->reason = MESOS__V1__TASK_STATUS__REASON__REASON_EXECUTOR_TERMINATED;
    uint8_t u[16];
    util_uuid4(u);
    util_uuid_str(u, ex->container);
    ex->next = s->execs;
    s->execs = ex;
    return ex;
}

void sim_agent_launch_task(sim *s, sim_task *t) {
    if (t->ex->state == EX_SUBSCRIBED && t->ex->stream) send_launch(t->ex, t);
}

static int live_tasks(sim *s, sim_exec *ex) {
    int n = 0;
    for (sim_task *t = s->tasks; t; t = t->next)
        if (t->ex == ex && !sim_pb_terminal(t->state)) n++;
    return n;
}

void sim_agent_kill_task(sim *s, sim_task *t) {
    if (s->agents[t->agent].gone || sim_partitioned(s, t->agent)) {
        log_info("kill of task %s ignored: agent %s is unreachable", t->id, s->agents[t->agent].id);
        return;
    }
    if (!t->launched) {
        sim_task_agent_status(s, t, MESOS__V1__TASK_STATE__TASK_KILLED,
                              MESOS__V1__TASK_STATUS__REASON__REASON_TASK_KILLED_DURING_LAUNCH,
                              "Killed before delivery to the executor");
        t->launched = 1;
        if (t->ex->state != EX_SUBSCRIBED && live_tasks(s, t->ex) == 0) sim_exec_shutdown(s, t->ex);
        return;
    }
    if (!t->ex->stream) {
        log_warn("kill of task %s dropped: executor %s is not connected", t->id, t->ex->id);
        return;
    }
    Mesos__V1__Executor__Event ev = MESOS__V1__EXECUTOR__EVENT__INIT;
    Mesos__V1__Executor__Event__Kill k = MESOS__V1__EXECUTOR__EVENT__KILL__INIT;
    k.task_id = t->info->task_id;
    k.kill_policy = t->info->kill_policy;
    ev.has_type = 1;
    ev.type = MESOS__V1__EXECUTOR__EVENT__TYPE__KILL;
    ev.kill = &k;
    exec_send(t->ex, &ev);
    log_info("task %s: KILL sent to executor %s", t->id, t->ex->id);
}

static void kill_group(sim_exec *ex, int sig) {
    if (ex->pid > 0) kill(-ex->pid, sig);
}

void sim_exec_shutdown(sim *s, sim_exec *ex) {
    if (ex->state == EX_DONE) return;
    if (ex->state == EX_PENDING) {
        ex->state = EX_DONE;
        return;
    }
    if (ex->state == EX_SUBSCRIBED && ex->stream) {
        send_simple(ex, MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN);
        int64_t grace = s->cfg.shutdown_grace_ms;
        if (ex->info->shutdown_grace_period) grace = ex->info->shutdown_grace_period->nanoseconds / 1000000;
        if (!ex->kill_at_ms) ex->kill_at_ms = util_now_ms() + grace;
        log_info("executor %s: SHUTDOWN sent; killed in %lld ms unless it exits", ex->id, (long long)grace);
        return;
    }
    log_info("executor %s: not connected; killed now", ex->id);
    kill_group(ex, SIGKILL);
}

/* --- termination ------------------------------------------------------------------ */

static void send_failure(sim *s, sim_exec *ex, int status) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Failure f = MESOS__V1__SCHEDULER__EVENT__FAILURE__INIT;
    f.agent_id = sim_pb_agentid(a, s->agents[ex->agent].id);
    f.executor_id = sim_pb_execid(a, ex->id);
    f.has_status = 1;
    f.status = status;
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__FAILURE;
    ev.failure = &f;
    sim_send(ex->fw, &ev);
    sim_arena_free(a);
}

static void exec_terminated(sim *s, sim_exec *ex, int status, const char *why) {
    ex->state = EX_DONE;
    ex->kill_at_ms = 0;
    if (ex->stream) {
        sim_stream_close(ex->stream, 1);
        sim_stream_unref(ex->stream);
        ex->stream = NULL;
    }
    if (ex->silent) return;
    log_info("executor %s of framework %s on agent %s terminated (%s)", ex->id, ex->fw->id, s->agents[ex->agent].id,
             why);
    for (sim_task *t = s->tasks, *n; t; t = n) {
        n = t->next;
        if (t->ex == ex && !sim_pb_terminal(t->state))
            sim_task_agent_status(s, t, MESOS__V1__TASK_STATE__TASK_FAILED, ex->reason, why);
    }
    if (!ex->fw->removed) send_failure(s, ex, status);
}

static void describe_exit(int st, char *buf, size_t len) {
    if (WIFEXITED(st)) snprintf(buf, len, "Executor exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) snprintf(buf, len, "Executor terminated by signal %s", strsignal(WTERMSIG(st)));
    else snprintf(buf, len, "Executor terminated (wait status %d)", st);
}

static void launch_pending(sim *s, sim_exec *ex) {
    char err[512];
    if (sim_proc_launch(s, ex, err, sizeof(err)) == MCM_OK) return;
    log_warn("executor %s of framework %s: launch failed: %s", ex->id, ex->fw->id, err);
    ex->reason = MESOS__V1__TASK_STATUS__REASON__REASON_CONTAINER_LAUNCH_FAILED;
    char why[600];
    snprintf(why, sizeof(why), "Failed to launch container: %s", err);
    exec_terminated(s, ex, 0x100 /* exit 1 */, why);
}

static void reap(sim *s, sim_exec *ex, int64_t now) {
    int st;
    pid_t r = waitpid(ex->pid, &st, WNOHANG);
    if (r != ex->pid) return;
    kill(-ex->pid, SIGKILL);         /* the container goes with its executor */
    ex->pid = 0;
    char why[200];
    if (ex->reason == MESOS__V1__TASK_STATUS__REASON__REASON_EXECUTOR_REGISTRATION_TIMEOUT)
        snprintf(why, sizeof(why), "Executor did not register within %lld ms",
                 (long long)s->cfg.registration_timeout_ms);
    else describe_exit(st, why, sizeof(why));
    exec_terminated(s, ex, st, why);
}

void sim_agent_tick(sim *s, int64_t now) {
    for (sim_exec *ex = s->execs; ex; ex = ex->next) {
        if (ex->state == EX_PENDING && !s->agents[ex->agent].gone) launch_pending(s, ex);
        if (ex->pid > 0) reap(s, ex, now);
        if (ex->state == EX_DONE && ex->pid <= 0) continue;
        if (ex->silent && ex->pid <= 0) ex->state = EX_DONE;
        if (ex->state == EX_LAUNCHED && now - ex->launched_ms >= s->cfg.registration_timeout_ms &&
            ex->reason != MESOS__V1__TASK_STATUS__REASON__REASON_EXECUTOR_REGISTRATION_TIMEOUT) {
            log_warn("executor %s did not subscribe within %lld ms; killing it", ex->id,
                     (long long)s->cfg.registration_timeout_ms);
            ex->reason = MESOS__V1__TASK_STATUS__REASON__REASON_EXECUTOR_REGISTRATION_TIMEOUT;
            kill_group(ex, SIGKILL);
        }
        if (ex->kill_at_ms && now >= ex->kill_at_ms) {
            log_info("executor %s: shutdown grace period over; SIGKILL", ex->id);
            kill_group(ex, SIGKILL);
            ex->kill_at_ms = 0;
        }
        if (ex->stream && sim_stream_dead(ex->stream)) {
            log_info("executor %s: subscription connection closed", ex->id);
            sim_stream_unref(ex->stream);
            ex->stream = NULL;
        }
    }
}

void sim_exec_kill_all(sim *s) {
    for (sim_exec *ex = s->execs; ex; ex = ex->next) {
        if (ex->pid <= 0) continue;
        kill(-ex->pid, SIGKILL);
        while (waitpid(ex->pid, NULL, 0) < 0 && errno == EINTR) {}
        ex->pid = 0;
        ex->state = EX_DONE;
    }
}

/* --- agent loss -------------------------------------------------------------------- */

void sim_agent_down(sim *s, int agent) {
    sim_agent *a = &s->agents[agent];
    if (a->gone) return;
    a->gone = 1;
    a->partitioned = 0;   /* a partitioned agent that dies: its tasks are unreachable already */
    log_notice("agent %s disappears: executors killed, tasks unreachable, offers rescinded", a->id);
    for (sim_exec *ex = s->execs; ex; ex = ex->next) {
        if (ex->agent != agent || ex->state == EX_DONE) continue;
        ex->silent = 1;
        kill_group(ex, SIGKILL);
        if (ex->stream) sim_stream_close(ex->stream, 1);
        if (ex->pid <= 0) ex->state = EX_DONE;
    }
    for (sim_task *t = s->tasks, *n; t; t = n) {
        n = t->next;
        if (t->agent != agent) continue;
        for (sim_upd *u = t->updates, *un; u; u = un) {
            un = u->next;
            mesos__v1__task_status__free_unpacked(u->status, NULL);
            free(u);
        }
        t->updates = NULL;
        if (sim_pb_terminal(t->state)) {
            sim_task_free(s, t);
            continue;
        }
        t->unreachable = 1;
        t->state = MESOS__V1__TASK_STATE__TASK_UNREACHABLE;
        sim_task_master_update(s, t->fw, t->id, a->id, t->ex ? t->ex->id : NULL, t->state,
                               MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_REMOVED, "Agent is unreachable");
    }
    sim_offers_rescind_agent(s, agent);
}

void sim_agent_up(sim *s, int agent) {
    sim_agent *a = &s->agents[agent];
    if (!a->gone) return;
    a->gone = 0;
    int n = 0;
    for (sim_task *t = s->tasks, *nx; t; t = nx) {
        nx = t->next;
        if (t->agent == agent && t->unreachable) {
            t->state = MESOS__V1__TASK_STATE__TASK_GONE;
            sim_task_free(s, t);
            n++;
        }
    }
    log_notice("agent %s is back, empty (%d unreachable task(s) it no longer has are forgotten)", a->id, n);
}

/* --- executor API ------------------------------------------------------------------- */

static const char *validate(const Mesos__V1__Executor__Call *c, char *buf, size_t len) {
    if (!c->has_type) return "Expecting 'type' to be present";
    switch (c->type) {
    case MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE: return c->subscribe ? NULL : "Expecting 'subscribe' to be present";
    case MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE: return c->message ? NULL : "Expecting 'message' to be present";
    case MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE: break;
    default: return NULL;
    }
    if (!c->update) return "Expecting 'update' to be present";
    const Mesos__V1__TaskStatus *st = c->update->status;
    if (!st->has_uuid) return "Expecting 'uuid' to be present";
    if (st->uuid.len != 16 || (st->uuid.data[6] >> 4) < 1 || (st->uuid.data[6] >> 4) > 5)
        return "'uuid' is not a valid RFC 4122 UUID (16 bytes)";
    if (st->executor_id && strcmp(st->executor_id->value, c->executor_id->value) != 0) {
        snprintf(buf, len, "ExecutorID in Call: %s does not match ExecutorID in TaskStatus: %s",
                 c->executor_id->value, st->executor_id->value);
        return buf;
    }
    if (!st->has_source || st->source != MESOS__V1__TASK_STATUS__SOURCE__SOURCE_EXECUTOR)
        return "Received Call from executor with invalid source, expecting 'SOURCE_EXECUTOR'";
    if (st->state == MESOS__V1__TASK_STATE__TASK_STAGING) return "Received TASK_STAGING from executor which is not allowed";
    return NULL;
}

typedef struct areply {
    unsigned code;
    char text[400];
    struct MHD_Response *resp;
} areply;

/* One update from the executor: stored (or a duplicate), then ACKNOWLEDGED. */
static void exec_update(sim *s, sim_exec *ex, const Mesos__V1__TaskStatus *st) {
    sim_task *t = sim_task_find(s, ex->fw->id, st->task_id->value);
    if (!t || t->ex != ex)
        log_warn("executor %s sent an update for task %s it does not run; acknowledged and dropped", ex->id,
                 st->task_id->value);
    else
        sim_task_agent_update(s, t, sim_pb_dup(&st->base));
    send_acked(ex, st->task_id->value, &st->uuid);
}

static void exec_subscribe(sim *s, sim_exec *ex, struct MHD_Connection *c, const Mesos__V1__Executor__Call__Subscribe *sub,
                           areply *rp) {
    int again = ex->state == EX_SUBSCRIBED;
    if (ex->stream) {
        sim_stream_close(ex->stream, 0);
        sim_stream_unref(ex->stream);
    }
    char label[SIM_ID_MAX + 32];
    snprintf(label, sizeof(label), "executor %s", ex->id);
    ex->stream = sim_stream_new(label);
    ex->state = EX_SUBSCRIBED;
    rp->resp = sim_stream_response(ex->stream, c);
    rp->code = 200;
    log_info("executor %s of framework %s subscribed%s on agent %s (%zu unacknowledged update(s), %zu task(s))",
             ex->id, ex->fw->id, again ? " again" : "", s->agents[ex->agent].id, sub->n_unacknowledged_updates,
             sub->n_unacknowledged_tasks);
    send_subscribed(s, ex);
    for (size_t i = 0; i < sub->n_unacknowledged_updates; i++) {
        const Mesos__V1__TaskStatus *st = sub->unacknowledged_updates[i]->status;
        if (st->has_uuid && st->uuid.len == 16) exec_update(s, ex, st);
    }
    for (sim_task *t = s->tasks; t; t = t->next)
        if (t->ex == ex && !t->launched && !sim_pb_terminal(t->state)) send_launch(ex, t);
}

static void exec_call(sim *s, sim_agent *a, struct MHD_Connection *c, const Mesos__V1__Executor__Call *call,
                      areply *rp) {
    sim_fw *fw = sim_fw_find(s, call->framework_id->value);
    sim_exec *ex = fw ? sim_exec_find(s, a->idx, fw->id, call->executor_id->value) : NULL;
    rp->code = 202;
    if (!fw) snprintf(rp->text, sizeof(rp->text), "Framework cannot be found"), rp->code = 400;
    else if (!ex) snprintf(rp->text, sizeof(rp->text), "Executor cannot be found"), rp->code = 400;
    else if (call->type == MESOS__V1__EXECUTOR__CALL__TYPE__SUBSCRIBE) {
        int acc = sim_accepts_protobuf(c);
        if (acc <= 0) snprintf(rp->text, sizeof(rp->text), "mcm-sim streams only 'application/x-protobuf'"), rp->code = 406;
        else exec_subscribe(s, ex, c, call->subscribe, rp);
    } else if (ex->state != EX_SUBSCRIBED)
        snprintf(rp->text, sizeof(rp->text), "Executor is not subscribed"), rp->code = 403;
    else if (call->type == MESOS__V1__EXECUTOR__CALL__TYPE__UPDATE)
        exec_update(s, ex, call->update->status);
    else if (call->type == MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE && sim_partitioned(s, a->idx))
        log_verbose("executor %s: message dropped: agent %s is partitioned", ex->id, a->id);
    else if (call->type == MESOS__V1__EXECUTOR__CALL__TYPE__MESSAGE) {
        sim_arena *ar = sim_arena_new();
        Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
        Mesos__V1__Scheduler__Event__Message m = MESOS__V1__SCHEDULER__EVENT__MESSAGE__INIT;
        m.agent_id = sim_pb_agentid(ar, a->id);
        m.executor_id = sim_pb_execid(ar, ex->id);
        m.data = call->message->data;
        ev.has_type = 1;
        ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__MESSAGE;
        ev.message = &m;
        sim_send(ex->fw, &ev);
        sim_arena_free(ar);
    } else if (call->type != MESOS__V1__EXECUTOR__CALL__TYPE__HEARTBEAT)
        snprintf(rp->text, sizeof(rp->text), "Received 'UNKNOWN' call"), rp->code = 501;
}

enum MHD_Result sim_agent_handle(sim_agent *a, struct MHD_Connection *c, sim_req *r) {
    sim *s = a->s;
    if (strcmp(r->method, "POST") != 0)
        return sim_reply(c, 405, "text/plain", "Expecting a 'POST' request", MHD_HTTP_HEADER_ALLOW, "POST");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct) return sim_reply(c, 400, "text/plain", "Expecting 'Content-Type' to be present", NULL, NULL);
    if (strcmp(ct, "application/x-protobuf") != 0)
        return sim_reply(c, 415, "text/plain",
                         "Expecting 'Content-Type' of application/x-protobuf (mcm-sim does not take JSON)", NULL, NULL);
    Mesos__V1__Executor__Call *call = mesos__v1__executor__call__unpack(NULL, r->len, (const uint8_t *)r->body);
    if (!call) return sim_reply(c, 400, "text/plain", "Failed to parse body into Call protobuf", NULL, NULL);
    char buf[400], text[600];
    const char *bad = validate(call, buf, sizeof(buf));
    if (bad) {
        snprintf(text, sizeof(text), "Failed to validate Executor::Call: %s", bad);
        log_info("executor call from %s on agent %s -> 400 %s", r->remote, a->id, text);
        mesos__v1__executor__call__free_unpacked(call, NULL);
        return sim_reply(c, 400, "text/plain", text, NULL, NULL);
    }
    areply rp;
    memset(&rp, 0, sizeof(rp));
    pthread_mutex_lock(&s->mu);
    exec_call(s, a, c, call, &rp);
    pthread_mutex_unlock(&s->mu);
    log_verbose("executor call type %d executor=%s framework=%s on agent %s -> %u %s", (int)call->type,
                call->executor_id->value, call->framework_id->value, a->id, rp.code, rp.text);
    mesos__v1__executor__call__free_unpacked(call, NULL);
    if (rp.resp) {
        enum MHD_Result rc = MHD_queue_response(c, rp.code, rp.resp);
        MHD_destroy_response(rp.resp);
        return rc;
    }
    return sim_reply(c, rp.code, rp.code == 202 ? NULL : "text/plain", rp.text, NULL, NULL);
}
