/* exec_loop.c -- the executor's owner loop (see exec_loop.h; contract in
 * exec_main.c).
 *
 * Shape: a mailbox (queue.h) fed by the Mesos stream thread's callbacks, and
 * a tick between messages (50 ms, 250 ms while a server runs with no probe
 * in flight: IDLE_TICK_MS) for what no event announces: memcached
 * becoming ready or exiting, the report interval, the ACK deadline, and
 * SIGTERM/SIGINT (polled with sigtimedwait, so no signal-handler code). Long
 * waits are cut into ticks (readiness is polled 100 ms at a time), so a KILL
 * or SHUTDOWN during start-up is handled within a tick.
 *
 *   IDLE --LAUNCH--> STARTING --answers `version`--> RUNNING
 *     |                 |  \--exited / ready timeout: TASK_FAILED--\
 *     |                 |                                          v
 *     |                 +--KILL / SHUTDOWN / signal: TASK_KILLED--> FINISHING --all ACKed
 *     |                                                    ^           or deadline--> exit
 *     +--SHUTDOWN / signal / bad TaskInfo -----------------+
 *   RUNNING --memcached exited: TASK_FAILED / KILL, SHUTDOWN: TASK_KILLED--> FINISHING
 *   RUNNING --hung (exec_health.h: fail_after probes in a row unanswered):
 *             SIGKILL, TASK_FAILED healthy=false--> FINISHING
 *   any state --client gave up on the agent (final disconnect)--> stop memcached, exit 1
 *
 * Hung memcached: in RUNNING a `version` probe (probe.h, non-blocking,
 * its own connection) starts every health interval and is polled each tick;
 * exec_health.h counts the failures in a row and says when to send
 * TASK_RUNNING healthy=false, healthy=true again, or to fail the task. The
 * first TASK_RUNNING says healthy=true (memcached just answered `version`).
 * While a probe is failing no report is attempted: `stats` would block the
 * loop for its timeout on a memcached that answers nothing.
 *
 * Events: exec_event_decide (exec_event.h, pure) says what an agent event
 * means for the current state; on_event_msg performs that decision.
 *
 * Warm ring transitions: a MESSAGE holding a migrate command (mig_msg.h)
 * goes to exec_migrate, which runs the copy engine on its own worker thread
 * while this loop keeps serving Mesos; each tick sends the progress it has
 * (exec_mig_poll) as an executor MESSAGE. Only in RUNNING: otherwise the
 * command is answered with a done progress naming why.
 *
 * Threads: main only (everything here), except on_event/on_disconnected,
 * which run on the stream thread and only post to the mailbox.
 * Invariants:
 *   1. At most one memcached: x->m is non-NULL only in STARTING and RUNNING.
 *   2. Exactly one terminal update per launched task, sent before FINISHING.
 *   3. Nothing is left running at exit: memcached is stopped (and its child
 *      dies with us anyway, PR_SET_PDEATHSIG); the migrate worker is
 *      cancelled and joined before memcached stops. */
#define LOG_COMPONENT "executor"
#include "exec_loop.h"

#include "exec_event.h"
#include "exec_health.h"
#include "exec_migrate.h"
#include "probe.h"
#include "exec_task.h"
#include "log.h"
#include "mcd.h"
#include "mcm.h"
#include "parse.h"
#include "queue.h"
#include "report.h"
#include "util.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 50
/* A running server with no probe in flight waits this long between ticks:
 * memcached's exit, a signal and the next report are seen at most this late.
 * At 50 ms, 1,000 idle executors woke 20,000 times a second, about a core
 * of this 2-core machine (bench/scale at N = 1,000); mailbox messages
 * (Mesos events, a migration phase's end) still wake the loop at once. */
#define IDLE_TICK_MS 250
#define READY_STEP_MS 100
#define STATS_TIMEOUT_MS 2000
#define NO_REASON (-1)
#define REASON_FAILED MESOS__V1__TASK_STATUS__REASON__REASON_COMMAND_EXECUTOR_FAILED
#define REASON_INVALID MESOS__V1__TASK_STATUS__REASON__REASON_TASK_INVALID
#define REASON_HEALTH MESOS__V1__TASK_STATUS__REASON__REASON_TASK_HEALTH_CHECK_STATUS_UPDATED
#define NO_HEALTH (-1)

enum { MSG_EVENT = 1, MSG_DISCONNECTED, MSG_MIGRATE };   /* states: xe_phase, exec_event.h */

typedef struct xl {
    const exec_opts *o;
    const mesos_exec_config *mc;
    mesos_exec *mx;
    cq *q;
    sigset_t sigs;
    xe_phase st;
    char task_id[XE_TASK_ID_MAX]; /* the one task this executor runs (or ran) */
    exec_task task;
    mcd *m;
    exec_mig *mg;             /* warm transitions: created by the first command */
    probe *probe;        /* hung-memcached probe: RUNNING only */
    exec_health health;
    int killing_state;        /* the framework takes TASK_KILLING */
    int64_t ready_deadline, next_report, finish_deadline, shutdown_deadline;
    int exit_status;
    int done;
} xl;

/* --- stream thread: callbacks only post ------------------------------------ */

static void free_event(void *ev) { mesos__v1__executor__event__free_unpacked(ev, NULL); }

static void on_event(void *ctx, Mesos__V1__Executor__Event *ev) {
    xl *x = ctx;
    cq_post(x->q, MSG_EVENT, ev, free_event, 0);
}

static void on_disconnected(void *ctx, const char *why, int final) {
    xl *x = ctx;
    char *copy = strdup(why);
    if (copy) cq_post(x->q, MSG_DISCONNECTED, copy, NULL, final);
    else if (final) cq_post(x->q, MSG_DISCONNECTED, NULL, NULL, final);
}

/* Worker thread of exec_migrate: a phase ended. */
static void on_migrate_wake(void *ctx) {
    xl *x = ctx;
    cq_post(x->q, MSG_MIGRATE, NULL, NULL, 0);
}

static void send_message(xl *x, const char *buf, int n, const char *what) {
    char err[512];
    if (mesos_exec_message(x->mx, buf, (size_t)n, err, sizeof(err)) != MCM_OK)
        LOG_AT(mesos_exec_subscribed(x->mx) ? LOG_WARNING : LOG_VERBOSE, "%s not sent: %s", what, err);
    else
        log_debug("%s: %.*s", what, n, buf);
}

/* --- updates -------------------------------------------------------------------- */

static void send_status(xl *x, const char *task_id, Mesos__V1__TaskState state, int reason,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* healthy: 1, 0, or NO_HEALTH (the field is left out); msg NULL: none. */
static void update(xl *x, const char *task_id, Mesos__V1__TaskState state, int reason, int healthy,
                   const char *msg) {
    char err[512];
    int terminal = state == MESOS__V1__TASK_STATE__TASK_FAILED || state == MESOS__V1__TASK_STATE__TASK_KILLED;
    LOG_AT(terminal || healthy == 0 ? LOG_NOTICE : LOG_INFO, "%s %s%s%s%s", task_id, mesos_exec_state_name(state),
           healthy == 0 ? " (unhealthy)" : "", msg ? ": " : "", msg ? msg : "");
    if (mesos_exec_update_health(x->mx, task_id, state, reason, healthy, msg, NULL, err, sizeof(err)) != MCM_OK)
        log_info("%s %s not delivered yet (%s); it is resent until the agent acknowledges it", task_id,
                 mesos_exec_state_name(state), err);
}

static void send_status(xl *x, const char *task_id, Mesos__V1__TaskState state, int reason,
                        const char *fmt, ...) {
    char msg[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    update(x, task_id, state, reason, NO_HEALTH, fmt ? msg : NULL);
}

/* The task is over (terminal update sent): wait for the agent's ACKs, bounded. */
static void finish(xl *x, int status) {
    int64_t now = util_now_ms(), deadline = now + x->o->ack_timeout_ms;
    exec_mig_free(x->mg);     /* before memcached goes: the copy reads from it */
    x->mg = NULL;
    probe_free(x->probe);
    x->probe = NULL;
    mcd_free(x->m);
    x->m = NULL;
    if (x->shutdown_deadline && deadline > x->shutdown_deadline - 200)
        deadline = x->shutdown_deadline - 200 > now ? x->shutdown_deadline - 200 : now;
    if (x->st != XE_FINISHING) {
        x->exit_status = status;
        x->finish_deadline = deadline;
    } else if (deadline < x->finish_deadline) {
        x->finish_deadline = deadline;
    }
    x->st = XE_FINISHING;
}

static void fail_task(xl *x, int reason, const char *why) {
    send_status(x, x->task_id, MESOS__V1__TASK_STATE__TASK_FAILED, reason, "%s", why);
    finish(x, 1);
}

/* --- LAUNCH ------------------------------------------------------------------------- */

static void start_memcached(xl *x) {
    char err[512];
    mcd_config c = {.command = x->o->memcached_command, .docker_image = x->o->docker_image,
                    .listen = x->o->listen, .port = x->task.port, .task_mem_mib = x->task.mem_mib,
                    .name = x->task_id};
    send_status(x, x->task_id, MESOS__V1__TASK_STATE__TASK_STARTING, NO_REASON, NULL);
    if (!(x->m = mcd_start(&c, err, sizeof(err)))) {
        char why[600];
        snprintf(why, sizeof(why), "cannot start memcached: %s", err);
        fail_task(x, REASON_FAILED, why);
        return;
    }
    x->st = XE_STARTING;
    x->ready_deadline = util_now_ms() + x->o->ready_timeout_ms;
}

static void on_launch(xl *x, const xe_decision *d) {
    snprintf(x->task_id, sizeof(x->task_id), "%s", d->task_id);
    log_notice("LAUNCH %s", d->task_id);
    if (d->kind == XE_LAUNCH_INVALID) {          /* by the event's id: x->task_id may be cut */
        send_status(x, d->task_id, MESOS__V1__TASK_STATE__TASK_FAILED, REASON_INVALID, "%s", d->why);
        finish(x, 1);
        return;
    }
    x->task = d->task;
    start_memcached(x);
}

/* --- KILL, SHUTDOWN, signals ------------------------------------------------------ */

static int live(const xl *x) { return x->st == XE_STARTING || x->st == XE_RUNNING; }

static void kill_task(xl *x, int64_t grace_ms, const char *why) {
    if (x->killing_state) send_status(x, x->task_id, MESOS__V1__TASK_STATE__TASK_KILLING, NO_REASON, NULL);
    mcd_stop(x->m, grace_ms);
    send_status(x, x->task_id, MESOS__V1__TASK_STATE__TASK_KILLED, NO_REASON, "%s", why);
    finish(x, 0);
}

/* SHUTDOWN or SIGTERM: everything must be over within the shutdown grace period. */
static void shut_down(xl *x, const char *why) {
    if (x->shutdown_deadline) return;
    log_notice("%s: shutting down within %lldms", why, (long long)x->mc->shutdown_grace_ms);
    x->shutdown_deadline = util_now_ms() + x->mc->shutdown_grace_ms;
    if (live(x)) {
        int64_t grace = x->o->stop_grace_ms;
        if (grace > x->mc->shutdown_grace_ms / 2) grace = x->mc->shutdown_grace_ms / 2;
        char msg[300];
        snprintf(msg, sizeof(msg), "executor shut down (%s)", why);
        kill_task(x, grace, msg);
    } else {
        finish(x, 0);
    }
}

static void poll_signals(xl *x) {
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&x->sigs, NULL, &zero);
    if (sig > 0) {
        char why[64];
        snprintf(why, sizeof(why), "signal %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        shut_down(x, why);
    }
}

/* --- warm ring transitions --------------------------------------------------------- */

static void send_migrate_progress(xl *x) {
    char buf[MIG_MSG_PROGRESS_MAX + 1];
    int n;
    while (x->mg && (n = exec_mig_poll(x->mg, util_now_ms(), buf, sizeof(buf))) > 0)
        send_message(x, buf, n, "migrate progress");
}

static void migrate_source(const xl *x, char *buf, size_t len) {
    const char *l = x->o->listen;
    if (!strcmp(l, "0.0.0.0")) snprintf(buf, len, "127.0.0.1:%d", x->task.port);
    else if (!strcmp(l, "::")) snprintf(buf, len, "[::1]:%d", x->task.port);
    else if (strchr(l, ':')) snprintf(buf, len, "[%s]:%d", l, x->task.port);
    else snprintf(buf, len, "%s:%d", l, x->task.port);
}

static void refuse_command(xl *x, const mig_cmd *c, const char *why) {
    char buf[MIG_MSG_PROGRESS_MAX + 1];
    log_warn("migrate command refused: %s", why);
    int n = exec_mig_refusal(x->task_id[0] ? x->task_id : x->mc->executor_id, c ? c->id : 1,
                             c ? c->phase : MIG_CMD_COPY, why, buf, sizeof(buf));
    if (n > 0) send_message(x, buf, n, "migrate refusal");
}

/* d: XE_MIGRATE (only in RUNNING) or XE_MIGRATE_REFUSED. */
static void on_migrate_command(xl *x, const xe_decision *d) {
    char err[256], src[MIG_MSG_ADDR_MAX];
    if (d->kind == XE_MIGRATE_REFUSED) {
        refuse_command(x, d->has_cmd ? &d->cmd : NULL, d->why);
    } else if (!x->mg && (migrate_source(x, src, sizeof(src)),
                          !(x->mg = exec_mig_new(x->task_id, src, on_migrate_wake, x, err, sizeof(err))))) {
        refuse_command(x, &d->cmd, err);
    } else {
        log_info("transition %lld: %s command (%d servers, self %s)", (long long)d->cmd.id,
                 mig_cmd_phase_name(d->cmd.phase), d->cmd.nring, d->cmd.self);
        exec_mig_command(x->mg, &d->cmd);
        send_migrate_progress(x);
    }
}

/* --- events ------------------------------------------------------------------------- */

static void on_subscribed(xl *x, const Mesos__V1__Executor__Event__Subscribed *s, int killing_state) {
    x->killing_state = killing_state;
    log_notice("subscribed to agent %s (%s)", x->mc->agent_endpoint,
               s && s->agent_info && s->agent_info->hostname ? s->agent_info->hostname : "?");
}

/* exec_event.h decides, this performs. */
static void on_event_msg(xl *x, const Mesos__V1__Executor__Event *ev) {
    xe_decision d;
    xe_view v = {x->st, x->task_id, x->mc->executor_id,
                 x->task.kill_grace_ms >= 0 ? x->task.kill_grace_ms : x->o->stop_grace_ms};
    exec_event_decide(&v, ev, &d);
    switch (d.kind) {
    case XE_NOTE: LOG_AT(d.level, "%s", d.why); break;
    case XE_SUBSCRIBED: on_subscribed(x, ev->subscribed, d.killing_state); break;
    case XE_LAUNCH:
    case XE_LAUNCH_INVALID: on_launch(x, &d); break;
    case XE_LAUNCH_REFUSED:
        send_status(x, d.task_id, MESOS__V1__TASK_STATE__TASK_FAILED, REASON_INVALID, "%s", d.why);
        break;
    case XE_KILL: kill_task(x, d.grace_ms, "killed by the scheduler"); break;
    case XE_SHUTDOWN: shut_down(x, "SHUTDOWN from the agent"); break;
    case XE_MIGRATE:
    case XE_MIGRATE_REFUSED: on_migrate_command(x, &d); break;
    }
    exec_event_clear(&d);
}

static void on_disconnected_msg(xl *x, const char *why, int final) {
    if (!final) {
        log_warn("lost the agent (%s); memcached keeps serving while the executor subscribes again",
                 why ? why : "?");
        return;
    }
    log_error("lost the agent for good (%s); stopping memcached and exiting", why ? why : "?");
    exec_mig_free(x->mg);
    x->mg = NULL;
    if (x->m) mcd_stop(x->m, x->o->stop_grace_ms);
    if (x->st != XE_FINISHING) x->exit_status = 1;
    x->done = 1;
}

static void handle(xl *x, cq_msg *m) {
    if (m->type == MSG_EVENT) on_event_msg(x, m->data);
    else if (m->type == MSG_DISCONNECTED) on_disconnected_msg(x, m->data, (int)m->num);
    else if (m->type == MSG_MIGRATE) send_migrate_progress(x);
}

/* --- ticks ----------------------------------------------------------------------------- */

/* Where the probe connects: memcached's own address, loopback for a wildcard. */
static const char *probe_host(const xl *x) {
    const char *l = x->o->listen;
    return !strcmp(l, "0.0.0.0") ? "127.0.0.1" : !strcmp(l, "::") ? "::1" : l;
}

static void became_ready(xl *x) {
    char version[64], err[256], msg[512];
    if (mcd_version(x->m, version, sizeof(version), 1000, err, sizeof(err)) != MCM_OK)
        snprintf(version, sizeof(version), "(unknown version)");
    snprintf(msg, sizeof(msg), "memcached %s on %s:%d", version, x->o->listen, x->task.port);
    if (!(x->probe = probe_new(probe_host(x), x->task.port, err, sizeof(err))))
        log_warn("memcached will not be probed for hangs: %s", err);
    update(x, x->task_id, MESOS__V1__TASK_STATE__TASK_RUNNING, NO_REASON, x->probe ? 1 : NO_HEALTH, msg);
    x->st = XE_RUNNING;
    int64_t now = util_now_ms();
    x->next_report = now + x->o->report_interval_ms;
    exec_health_init(&x->health, x->o->health_interval_ms, (int)x->o->health_unhealthy_after,
                     (int)x->o->health_fail_after, now);
}

static void tick_starting(xl *x) {
    char err[512];
    int64_t left = x->ready_deadline - util_now_ms();
    if (mcd_wait_ready(x->m, left < READY_STEP_MS ? (left > 1 ? left : 1) : READY_STEP_MS, err,
                       sizeof(err)) == MCM_OK) {
        became_ready(x);
    } else if (mcd_exited_early(x->m, err, sizeof(err))) {
        /* It may have exited after this step's wait gave up: the exit is the
         * reason, not the step's timeout. */
        fail_task(x, REASON_FAILED, err);
    } else if (util_now_ms() >= x->ready_deadline) {
        char dur[32], why[512];
        parse_format_duration(x->o->ready_timeout_ms, dur, sizeof(dur));
        snprintf(why, sizeof(why), "memcached did not answer `version` on port %d within %s (is the port taken?)",
                 x->task.port, dur);
        mcd_stop(x->m, x->o->stop_grace_ms);
        fail_task(x, REASON_FAILED, why);
    }
}

static void send_report(xl *x) {
    report r;
    char err[512], buf[REPORT_MAX_BYTES];
    memset(&r, 0, sizeof(r));
    if (mcd_stats(x->m, &r, STATS_TIMEOUT_MS, err, sizeof(err)) != MCM_OK) {
        log_warn("no report this interval: %s", err);
        return;
    }
    snprintf(r.task_id, sizeof(r.task_id), "%s", x->task_id);
    r.time_ms = util_wall_ms();
    int n = report_encode(&r, buf, sizeof(buf));
    if (n < 0) {
        log_error("report for %s does not fit in %d bytes", x->task_id, REPORT_MAX_BYTES);
        return;
    }
    send_message(x, buf, n, "report");
}

/* fail_after probes in a row unanswered: memcached is hung. SIGKILL at once
 * (a stopped or deadlocked process does not act on SIGTERM), then fail. */
static void fail_hung(xl *x, const char *why) {
    char dur_i[32], dur_t[32], msg[512];
    parse_format_duration(x->o->health_interval_ms, dur_i, sizeof(dur_i));
    parse_format_duration(x->o->health_timeout_ms, dur_t, sizeof(dur_t));
    snprintf(msg, sizeof(msg), "memcached hung: %d probes in a row unanswered (every %s, timeout %s; last: %s); "
             "killed", exec_health_misses(&x->health), dur_i, dur_t, why);
    log_error("%s", msg);
    exec_mig_free(x->mg);     /* before memcached goes: the copy reads from it */
    x->mg = NULL;
    mcd_kill(x->m);
    update(x, x->task_id, MESOS__V1__TASK_STATE__TASK_FAILED, REASON_FAILED, 0, msg);
    finish(x, 1);
}

static void on_verdict(xl *x, eh_verdict v, const char *why) {
    char msg[512];
    if (v == EH_UNHEALTHY) {
        snprintf(msg, sizeof(msg), "memcached unhealthy: %d probes in a row unanswered (last: %s); the task fails "
                 "after %lld", exec_health_misses(&x->health), why, (long long)x->o->health_fail_after);
        update(x, x->task_id, MESOS__V1__TASK_STATE__TASK_RUNNING, REASON_HEALTH, 0, msg);
    } else if (v == EH_HEALTHY) {
        update(x, x->task_id, MESOS__V1__TASK_STATE__TASK_RUNNING, REASON_HEALTH, 1,
               "memcached answers `version` again: healthy");
    } else if (v == EH_FAIL) {
        fail_hung(x, why);
    }
}

/* Starts a probe when one is due, and takes the outcome of the one in flight. */
static void tick_health(xl *x, int64_t now) {
    char why[256] = "";
    if (!x->probe) return;
    if (!probe_busy(x->probe)) {
        if (!exec_health_due(&x->health, now)) return;
        probe_start(x->probe, now, x->o->health_timeout_ms);
        exec_health_started(&x->health, now);
    }
    int r = probe_poll(x->probe, now, why, sizeof(why));
    if (r == PROBE_PENDING) return;
    if (r == PROBE_FAILED)
        log_warn("memcached probe failed (%d in a row): %s", exec_health_misses(&x->health) + 1, why);
    on_verdict(x, exec_health_result(&x->health, r == PROBE_OK), why);
}

static void tick_running(xl *x) {
    char why[256];
    if (mcd_exited(x->m, why, sizeof(why))) {
        fail_task(x, REASON_FAILED, why);
        return;
    }
    int64_t now = util_now_ms();
    tick_health(x, now);
    if (x->st != XE_RUNNING) return;
    if (now >= x->next_report) {
        if (exec_health_misses(&x->health)) log_verbose("no report this interval: memcached's probe is failing");
        else send_report(x);
        x->next_report = now + x->o->report_interval_ms;
    }
    send_migrate_progress(x);
}

static void tick_finishing(xl *x) {
    size_t n = mesos_exec_unacked(x->mx);
    if (n == 0) {
        log_info("every update acknowledged; exiting with status %d", x->exit_status);
        x->done = 1;
    } else if (util_now_ms() >= x->finish_deadline) {
        log_warn("%zu update(s) still not acknowledged by the agent; exiting anyway with status %d", n,
                 x->exit_status);
        x->done = 1;
    }
}

static void tick(xl *x) {
    switch (x->st) {
    case XE_STARTING: tick_starting(x); break;
    case XE_RUNNING: tick_running(x); break;
    case XE_FINISHING: tick_finishing(x); break;
    case XE_IDLE: break;
    }
}

/* --- run ------------------------------------------------------------------------------ */

static int64_t tick_ms(const xl *x) {
    int idle = x->st == XE_RUNNING && !(x->probe && probe_busy(x->probe));
    return idle ? IDLE_TICK_MS : TICK_MS;
}

static void loop(xl *x) {
    while (!x->done) {
        cq_msg *m = cq_take(x->q, tick_ms(x));
        if (m) {
            handle(x, m);
            cq_msg_free(m);
        }
        if (!x->done) poll_signals(x);
        if (!x->done) tick(x);
    }
}

int exec_loop_run(const exec_opts *o, const mesos_exec_config *mc) {
    char err[512];
    xl x = {.o = o, .mc = mc, .st = XE_IDLE};
    sigemptyset(&x.sigs);
    sigaddset(&x.sigs, SIGTERM);
    sigaddset(&x.sigs, SIGINT);
    mesos_exec_callbacks cb = {.ctx = &x, .on_event = on_event, .on_disconnected = on_disconnected};
    if (!(x.q = cq_create()) || !(x.mx = mesos_exec_new(mc, &cb, err, sizeof(err))) ||
        mesos_exec_start(x.mx) != MCM_OK) {
        log_error("cannot start the executor client: %s", x.q && !x.mx ? err : "out of resources");
        mesos_exec_free(x.mx);
        cq_free(x.q);
        return 1;
    }
    log_info("executor %s of framework %s, agent %s, checkpoint %s", mc->executor_id, mc->framework_id,
             mc->agent_endpoint, mc->checkpoint ? "on" : "off");
    loop(&x);
    exec_mig_free(x.mg);        /* joins the worker before memcached and the mailbox go */
    probe_free(x.probe);
    mesos_exec_free(x.mx);      /* joins the stream thread: no callback after this */
    mcd_free(x.m);
    cq_free(x.q);
    return x.exit_status;
}
