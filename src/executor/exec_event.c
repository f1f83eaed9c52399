/* exec_event.c -- the executor's decision on one agent event (see
 * exec_event.h).
 *
 * Shape: one small function per event type, each filling the decision;
 * exec_loop.c's on_event_msg performs it. Kept apart from the loop so the
 * whole reading of an event (TaskInfo, KillPolicy, the migrate command in a
 * MESSAGE) runs in the fuzz target exactly as in the executor.
 * Threads: any (pure). Invariants:
 *   1. XE_LAUNCH only in XE_IDLE, with a task id of 1..XE_TASK_ID_MAX-1
 *      characters (kept whole by the loop, so a KILL can name it) and a
 *      TaskInfo that exec_task_parse accepts (port 1..65535, mem >= 1 MiB).
 *   2. XE_KILL only while STARTING or RUNNING, naming the adopted task.
 *   3. XE_MIGRATE only in XE_RUNNING, with a command mig_cmd_decode accepted.
 *   4. why is non-empty for every kind that reports one. */
#include "exec_event.h"

#include "mcm.h"
#include "mesos_exec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void note(xe_decision *d, log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void note(xe_decision *d, log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->why, sizeof(d->why), fmt, ap);
    va_end(ap);
    d->kind = XE_NOTE;
    d->level = level;
}

static void on_subscribed(const Mesos__V1__Executor__Event__Subscribed *s, xe_decision *d) {
    const Mesos__V1__FrameworkInfo *fi = s ? s->framework_info : NULL;
    d->kind = XE_SUBSCRIBED;
    for (size_t i = 0; fi && i < fi->n_capabilities; i++)
        if (fi->capabilities[i]->has_type &&
            fi->capabilities[i]->type == MESOS__V1__FRAMEWORK_INFO__CAPABILITY__TYPE__TASK_KILLING_STATE)
            d->killing_state = 1;
}

static void on_launch(const xe_view *v, const Mesos__V1__TaskInfo *t, xe_decision *d) {
    if (!t || !t->task_id || !t->task_id->value) {
        note(d, LOG_DEBUG, "LAUNCH without a task id: ignored");
        return;
    }
    d->task_id = t->task_id->value;
    if (v->phase != XE_IDLE) {
        d->kind = XE_LAUNCH_REFUSED;
        snprintf(d->why, sizeof(d->why), "executor %s already has task %s: one memcached per executor",
                 v->executor_id, v->task_id);
        return;
    }
    size_t n = strlen(d->task_id);
    if (n == 0 || n >= XE_TASK_ID_MAX) {
        d->kind = XE_LAUNCH_INVALID;
        snprintf(d->why, sizeof(d->why), "a task id of %zu characters (Mesos allows 1 to %d)", n,
                 XE_TASK_ID_MAX - 1);
        return;
    }
    d->kind = exec_task_parse(t, &d->task, d->why, sizeof(d->why)) == MCM_OK ? XE_LAUNCH : XE_LAUNCH_INVALID;
}

static void on_kill(const xe_view *v, const Mesos__V1__Executor__Event__Kill *k, xe_decision *d) {
    if (!k || !k->task_id || !k->task_id->value) {
        note(d, LOG_DEBUG, "KILL without a task id: ignored");
        return;
    }
    int live = v->phase == XE_STARTING || v->phase == XE_RUNNING;
    if (!live || strcmp(k->task_id->value, v->task_id)) {
        note(d, LOG_INFO, "KILL for task %s, which this executor does not run (now): ignored", k->task_id->value);
        return;
    }
    d->kind = XE_KILL;
    d->task_id = k->task_id->value;
    d->grace_ms = exec_kill_grace_ms(k->kill_policy, v->kill_grace_ms);
}

static void on_message(const xe_view *v, const Mesos__V1__Executor__Event__Message *m, xe_decision *d) {
    size_t len = m ? m->data.len : 0;
    if (!len || mig_msg_type(m->data.data, len) != MIG_MSG_COMMAND) {
        note(d, LOG_VERBOSE, "MESSAGE from the scheduler (%zu bytes): not a migrate command, ignored", len);
        return;
    }
    d->kind = XE_MIGRATE_REFUSED;
    if (mig_cmd_decode(m->data.data, len, &d->cmd, d->why, sizeof(d->why)) != MCM_OK) {
        if (!d->why[0]) snprintf(d->why, sizeof(d->why), "undecodable migrate command");
        return;
    }
    d->has_cmd = 1;
    if (v->phase != XE_RUNNING) snprintf(d->why, sizeof(d->why), "no memcached running on this executor");
    else d->kind = XE_MIGRATE;
}

void exec_event_decide(const xe_view *v, const Mesos__V1__Executor__Event *ev, xe_decision *d) {
    int type = ev->has_type ? (int)ev->type : 0;
    memset(d, 0, sizeof(*d));
    switch (type) {
    case MESOS__V1__EXECUTOR__EVENT__TYPE__SUBSCRIBED: on_subscribed(ev->subscribed, d); break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH: on_launch(v, ev->launch ? ev->launch->task : NULL, d); break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__KILL: on_kill(v, ev->kill, d); break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__SHUTDOWN: d->kind = XE_SHUTDOWN; break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__ERROR:
        note(d, LOG_ERROR, "ERROR from the agent: %s", ev->error && ev->error->message ? ev->error->message : "");
        break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__MESSAGE: on_message(v, ev->message, d); break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__LAUNCH_GROUP:
        note(d, LOG_WARNING, "LAUNCH_GROUP is not supported by mcm-executor: ignored");
        break;
    case MESOS__V1__EXECUTOR__EVENT__TYPE__ACKNOWLEDGED:
    case MESOS__V1__EXECUTOR__EVENT__TYPE__HEARTBEAT: note(d, LOG_DEBUG, "%s", mesos_exec_event_name(type)); break;
    default: note(d, LOG_VERBOSE, "event of unknown type %d: ignored", type); break;
    }
}

void exec_event_clear(xe_decision *d) {
    if (!d) return;
    if (d->has_cmd) mig_cmd_clear(&d->cmd);
    d->has_cmd = 0;
}
