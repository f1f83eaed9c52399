/* core_tasks.c -- task lifecycle on the leader: launch, status updates, kills,
 * and keeping the fleet at the desired count.
 *
 * What: offers are matched (offer.c) and used to launch one server per agent
 * (up to --max-per-agent), honouring the per-agent relaunch backoff; the rest
 * are declined with the --refuse-time filter. Status updates are stored in
 * ZooKeeper (fenced) BEFORE they are acknowledged, so a failover never loses
 * a state Mesos believes we have seen. core_balance() runs every tick: it
 * revives or suppresses offers, drains and kills a surplus, and re-sends
 * kills that went unanswered.
 *
 * Counting: a task is "active" (counts toward the desired number) unless it
 * has ended, is unreachable, is draining or is being killed.
 *
 * Thread: core. Invariant: a task is in ZooKeeper before its LAUNCH is sent. */
#define LOG_COMPONENT "tasks"
#include "core_int.h"
#include "launch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KILL_RESEND_MS 30000
#define NOT_LEADING_REFUSE_S 5.0

/* A drain deadline moved from one clock to the other: monotonic in the table,
 * wall clock in ZooKeeper (a new leader continues the same drain, same server,
 * same end). A deadline already passed stays passed; 0 means none. */
static int64_t deadline_shift(int64_t t, int64_t from_now, int64_t to_now) {
    if (!t) return 0;
    int64_t left = t - from_now;
    return to_now + (left > 0 ? left : 0);
}

static void to_state_task(const tt_task *t, state_task *s) {
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", t->id);
    snprintf(s->agent_id, sizeof(s->agent_id), "%s", t->agent_id);
    snprintf(s->hostname, sizeof(s->hostname), "%s", t->hostname);
    snprintf(s->reason, sizeof(s->reason), "%s", t->reason);
    s->port = t->port;
    s->state = t->state;
    s->changed_ms = t->changed_ms;
    s->cpus = t->cpus;
    s->mem_mb = t->mem_mb;
    s->drain_until_ms = deadline_shift(t->drain_until_ms, util_now_ms(), util_wall_ms());
}

void core_task_from_record(tt_task *t, const state_task *s) {
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", s->id);
    snprintf(t->agent_id, sizeof(t->agent_id), "%s", s->agent_id);
    snprintf(t->hostname, sizeof(t->hostname), "%s", s->hostname);
    snprintf(t->reason, sizeof(t->reason), "%s", s->reason);
    t->port = s->port;
    t->state = s->state;
    t->changed_ms = s->changed_ms;
    t->cpus = s->cpus;
    t->mem_mb = s->mem_mb;
    t->drain_until_ms = deadline_shift(s->drain_until_ms, util_wall_ms(), util_now_ms());
}

int core_persist_task(core *c, const tt_task *t) {
    char err[512];
    state_task s;
    to_state_task(t, &s);
    return core_fenced_result(c, state_put_task(c->st, &s, err, sizeof(err)), "storing a task", err);
}

static int is_active(const tt_task *t) {
    return !tt_state_is_final(t->state) && t->state != 10 /* TASK_UNREACHABLE */ &&
           !t->drain_until_ms && !t->kill_sent_ms;
}

int core_active_count(core *c) {
    int n = 0;
    for (int i = 0; i < tt_count(c->tasks); i++) n += is_active(tt_at(c->tasks, i));
    return n;
}

int core_kill(core *c, tt_task *t, const char *why) {
    char err[512];
    if (!core_may_act(c)) return MCM_ERR;
    if (mesos_sched_kill(c->ms, t->id, t->agent_id[0] ? t->agent_id : NULL, err, sizeof(err)) != MCM_OK) {
        log_warn("KILL %s failed: %s (retrying)", t->id, err);
        return MCM_ERR;
    }
    log_info("killing %s on %s:%d: %s", t->id, t->hostname, t->port, why);
    t->kill_sent_ms = util_now_ms();
    return MCM_OK;
}

/* --- status updates --------------------------------------------------------- */

static int failure_state(int st) {
    /* FAILED, LOST, ERROR, DROPPED, GONE, UNKNOWN: the agent may be at fault. */
    return st == 3 || st == 5 || st == 7 || st == 9 || st == 11 || st == 13;
}

static void ack(core *c, const Mesos__V1__TaskStatus *st) {
    char err[512];
    if (!st->has_uuid || !st->agent_id) return;   /* master-made: nothing to acknowledge */
    if (mesos_sched_acknowledge(c->ms, st->agent_id->value, st->task_id->value, st->uuid.data,
                                st->uuid.len, err, sizeof(err)) != MCM_OK)
        log_warn("ACKNOWLEDGE %s failed: %s (Mesos will resend the update)", st->task_id->value, err);
}

static void orphan(core *c, const Mesos__V1__TaskStatus *st) {
    char err[512];
    if (!tt_state_is_final(st->state) && core_may_act(c)) {
        log_warn("Mesos reports task %s (%s) that mcm does not know: killing it", st->task_id->value,
                 tt_state_name(st->state));
        if (mesos_sched_kill(c->ms, st->task_id->value, st->agent_id ? st->agent_id->value : NULL, err,
                             sizeof(err)) != MCM_OK)
            log_warn("KILL of unknown task %s failed: %s", st->task_id->value, err);
    }
    ack(c, st);
}

/* Stores the new state (or removes an ended task), then changes the table:
 * a write that fails leaves the table as it was, so the update Mesos
 * resends (it was not acknowledged) is seen as a change again and stored
 * then. MCM_ERR: not stored, do not acknowledge. */
static int apply(core *c, tt_task *t, const Mesos__V1__TaskStatus *st) {
    char err[512];
    tt_task next = *t;
    next.state = st->state;
    next.changed_ms = util_wall_ms();
    snprintf(next.reason, sizeof(next.reason), "%s", st->message ? st->message : "");
    int rc = !tt_state_is_final(next.state)
                 ? core_persist_task(c, &next)
                 : core_fenced_result(c, state_delete_task(c->st, t->id, err, sizeof(err)), "removing an ended task",
                                      err);
    if (rc == MCM_OK && c->role != ROLE_FOLLOWER) *t = next;
    return rc;
}

/* A server that comes back from TASK_UNREACHABLE after a replacement was
 * launched missed every write made during the partition: it is killed, not
 * published again (its replacement is). */
static void back_from_partition(core *c, tt_task *t, int was) {
    if (was != 10 /* TASK_UNREACHABLE */ || t->state != 1 || core_active_count(c) <= c->desired) return;
    core_kill(c, t, "back from a partition after its replacement started: its data is stale");
}

/* Servers that fail before they ever ran, in a row across the fleet: a bad
 * --memcached-command or --executor-command looks like this, and deserves one
 * clear warning rather than a line per agent. */
static void count_start_failure(core *c, const tt_task *t, int was) {
    if (was == 1) return;                       /* it ran: not a start failure */
    if (++c->start_failures == 3 || c->start_failures % 20 == 0)
        log_warn("the last %d servers all failed before running (latest: %s%s%s); check --memcached-command, "
                 "--executor-command and --executor-uri, and the executor's stderr in the agent sandbox",
                 c->start_failures, tt_state_name(t->state), t->reason[0] ? ": " : "", t->reason);
}

static void ended(core *c, tt_task *t, int was) {
    int deliberate = t->kill_sent_ms || t->drain_until_ms;
    if (!deliberate) count_start_failure(c, t, was);
    log_notice("server %s on %s:%d ended: %s%s%s", t->id, t->hostname, t->port, tt_state_name(t->state),
               t->reason[0] ? ": " : "", t->reason);
    if (!deliberate && failure_state(t->state)) backoff_failure(c->bo, t->agent_id, util_now_ms());
    if (!deliberate) c->relaunch_due++;
    policy_forget(c->pol, t->id);
    tt_remove(c->tasks, t->id);
}

void core_on_update(core *c, const Mesos__V1__TaskStatus *st) {
    const char *lv[] = {tt_state_name(st->state)};
    metrics_inc(c->mm.status_updates, lv);
    tt_task *t = tt_find(c->tasks, st->task_id->value);
    if (!t) {
        orphan(c, st);
        return;
    }
    core_recon_heard(c, t);
    if (st->agent_id && !t->agent_id[0]) snprintf(t->agent_id, sizeof(t->agent_id), "%s", st->agent_id->value);
    int changed = t->state != (int)st->state;
    log_verbose("update %s: %s%s%s", t->id, tt_state_name(st->state), st->message ? ": " : "",
                st->message ? st->message : "");
    int was = t->state;
    if (changed && apply(c, t, st) != MCM_OK) return;   /* not stored: no ACK, Mesos resends */
    if (c->role == ROLE_FOLLOWER) return;                 /* fenced: stepped down meanwhile */
    if (st->state == 1 /* TASK_RUNNING */ && changed) {
        backoff_success(c->bo, t->agent_id);
        c->start_failures = 0;
    }
    ack(c, st);
    if (changed) back_from_partition(c, t, was);
    if (changed && tt_state_is_final(t->state)) ended(c, t, was);
    if (!changed) return;
    core_publish_servers(c);
    core_publish_snapshot(c);   /* /v1/tasks agrees with /v1/servers at once */
}

/* --- offers and launches ---------------------------------------------------- */

/* A LAUNCH the master answered 4xx was refused: the task never existed and
 * its record goes. Any other failure (timeout, connection lost) leaves it
 * unknown whether the master took it: the record stays (STAGING, so nothing
 * replaces it yet) and a reconciliation run asks Mesos what became of it. */
static void launch_failed(core *c, const char *id, const char *host, const char *why) {
    char err[512];
    tt_task *t = tt_find(c->tasks, id);
    if (why[0] == '4' && why[1] >= '0' && why[1] <= '9') {
        log_warn("LAUNCH of %s on %s refused: %s", id, host, why);
        if (core_fenced_result(c, state_delete_task(c->st, id, err, sizeof(err)), "removing a refused task", err) ==
            MCM_OK)
            tt_remove(c->tasks, id);
        return;
    }
    log_warn("LAUNCH of %s on %s may or may not have reached the master (%s): asking Mesos about it", id, host, why);
    if (t) t->confirmed = 0;
    if (!c->recon_active) core_recon_start(c, 1);
}

static int launch_one(core *c, const Mesos__V1__Offer *o, offer_launch *ol) {
    char err[512], id[TT_ID_MAX];
    tt_task t;
    memset(&t, 0, sizeof(t));
    launch_new_task_id(id, sizeof(id));
    snprintf(t.id, sizeof(t.id), "%s", id);
    snprintf(t.agent_id, sizeof(t.agent_id), "%s", o->agent_id->value);
    snprintf(t.hostname, sizeof(t.hostname), "%s", o->hostname);
    t.port = ol->port;
    t.state = 6; /* TASK_STAGING */
    t.changed_ms = util_wall_ms();
    t.cpus = c->cfg->cpus;
    t.mem_mb = (double)(c->cfg->mem_bytes >> 20);
    t.confirmed = 1;
    if (core_persist_task(c, &t) != MCM_OK || !tt_add(c->tasks, &t)) return MCM_ERR;
    launch_spec spec;
    Mesos__V1__TaskInfo *ti = launch_build(&spec, c->cfg, id, o, ol);
    if (mesos_sched_launch(c->ms, o->id->value, &ti, 1, c->cfg->refuse_ms / 1000.0, err, sizeof(err)) != MCM_OK) {
        launch_failed(c, id, o->hostname, err);
        return MCM_ERR;
    }
    log_notice("launching %s on %s:%d (agent %s)", id, o->hostname, ol->port, o->agent_id->value);
    metrics_inc(c->mm.launches, NULL);
    if (c->relaunch_due > 0) {
        c->relaunch_due--;
        metrics_inc(c->mm.relaunches, NULL);
    }
    return MCM_OK;
}

/* MCM_OK if the offer was used for a launch. */
static int try_offer(core *c, const Mesos__V1__Offer *o, int *need) {
    char why[256];
    if (*need <= 0) return MCM_ERR;
    if (tt_on_agent(c->tasks, o->agent_id->value) >= c->cfg->max_per_agent) return MCM_ERR;
    int64_t wait = backoff_wait_ms(c->bo, o->agent_id->value, util_now_ms());
    if (wait > 0) {
        log_verbose("agent %s in relaunch backoff for %lld ms", o->hostname, (long long)wait);
        return MCM_ERR;
    }
    offer_need n;
    offer_need_init(&n, c->cfg->cpus, (double)(c->cfg->mem_bytes >> 20));
    offer_launch ol;
    if (offer_match(o, &n, &ol, why, sizeof(why)) != MCM_OK) {
        log_verbose("offer %s from %s does not fit: %s", o->id->value, o->hostname, why);
        return MCM_ERR;
    }
    int rc = launch_one(c, o, &ol);
    offer_launch_clear(&ol);
    if (rc == MCM_OK) (*need)--;
    return rc;
}

void core_on_offers(core *c, Mesos__V1__Offer **offers, size_t n) {
    char err[512];
    const char **decline = calloc(n ? n : 1, sizeof(*decline));
    size_t nd = 0;
    int leading = c->role == ROLE_LEADING;
    int need = c->desired - core_active_count(c);
    metrics_add(c->mm.offers_received, NULL, (double)n);
    for (size_t i = 0; i < n; i++) {
        if (leading && core_may_act(c) && try_offer(c, offers[i], &need) == MCM_OK) {
            metrics_inc(c->mm.offers_accepted, NULL);
            continue;
        }
        if (decline) decline[nd++] = offers[i]->id->value;
    }
    double refuse = leading ? c->cfg->refuse_ms / 1000.0 : NOT_LEADING_REFUSE_S;
    if (nd && core_may_act(c)) {
        if (mesos_sched_decline(c->ms, decline, nd, refuse, err, sizeof(err)) != MCM_OK)
            log_warn("DECLINE of %zu offers failed: %s", nd, err);
        else
            metrics_add(c->mm.offers_declined, NULL, (double)nd);
    }
    free(decline);
}

/* --- balance ------------------------------------------------------------------- */

static void offers_wanted(core *c, int want) {
    char err[512];
    if (want && c->suppressed) {
        if (mesos_sched_revive(c->ms, err, sizeof(err)) == MCM_OK) {
            log_info("REVIVE: %d more servers wanted", c->desired - core_active_count(c));
            c->suppressed = 0;
        } else {
            log_warn("REVIVE failed: %s", err);
        }
    } else if (!want && !c->suppressed) {
        if (mesos_sched_suppress(c->ms, err, sizeof(err)) == MCM_OK) {
            log_info("SUPPRESS: the fleet is at its desired size (%d)", c->desired);
            c->suppressed = 1;
        } else {
            log_warn("SUPPRESS failed: %s", err);
        }
    }
}

/* The surplus server to remove: not running first, then least memory in use. */
static tt_task *surplus_victim(core *c) {
    tt_task *best = NULL;
    for (int i = 0; i < tt_count(c->tasks); i++) {
        tt_task *t = tt_at(c->tasks, i);
        if (!is_active(t)) continue;
        if (!best) { best = t; continue; }
        int tr = t->state == 1, br = best->state == 1;
        if (tr != br) { if (!tr) best = t; continue; }
        uint64_t tb = t->has_report ? t->last.bytes : 0, bb = best->has_report ? best->last.bytes : 0;
        if (tb < bb) best = t;
    }
    return best;
}

/* Starts draining t: unpublished now, killed after --drain-time. */
void core_drain(core *c, tt_task *t, const char *why) {
    if (t->state != 1) {
        core_kill(c, t, why);
        return;
    }
    t->drain_until_ms = util_now_ms() + c->cfg->drain_time_ms;
    if (core_persist_task(c, t) != MCM_OK) {   /* a new leader must not publish it again */
        t->drain_until_ms = 0;
        return;
    }
    log_notice("draining %s on %s:%d (%s): unpublished now, killed in %lld ms", t->id, t->hostname, t->port, why,
               (long long)c->cfg->drain_time_ms);
    core_publish_servers(c);
}

void core_balance(core *c) {
    int64_t now = util_now_ms();
    int active = core_active_count(c);
    offers_wanted(c, active < c->desired);
    if (active > c->desired) {
        tt_task *v = surplus_victim(c);
        if (v) core_drain(c, v, "more servers than desired");
    }
    for (int i = 0; i < tt_count(c->tasks); i++) {
        tt_task *t = tt_at(c->tasks, i);
        if (t->drain_until_ms && now >= t->drain_until_ms && !t->kill_sent_ms) core_kill(c, t, "drain time over");
        else if (t->kill_sent_ms && now - t->kill_sent_ms >= KILL_RESEND_MS) core_kill(c, t, "no answer to KILL");
    }
}
