/* core_lead.c -- a leader's term: load state, subscribe, dispatch Mesos events.
 *
 * What: core_start_leading() (STARTING) loads the framework ID, the desired
 * count and the task set from ZooKeeper and starts the Mesos subscription;
 * SUBSCRIBED persists a new framework ID before anything else and starts
 * reconciliation (RECONCILING, decided by the fleet, fleet.c); the rest of
 * the Events are dispatched to core_tasks.c and core_scale.c.
 *
 * Why: the order is the HA contract: a framework ID that is not in ZooKeeper
 * before the first launch would orphan every task on the next failover.
 *
 * Thread: core. Mesos Events arrive through the mailbox; the Event is owned
 * here and freed after dispatch. */
#define LOG_COMPONENT "lead"
#include "core_int.h"
#include "state_batch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The fleet's term begins with the stored records; a drain the previous
 * leader began goes on. */
static void load_tasks(core *c, const state_snapshot *snap, int desired) {
    tt_task *v = calloc(snap->ntasks ? (size_t)snap->ntasks : 1, sizeof(*v));
    for (int i = 0; v && i < snap->ntasks; i++) core_task_from_record(&v[i], &snap->tasks[i]);
    if (!v || fleet_begin_term(c->fl, v, snap->ntasks, desired) != MCM_OK)
        log_error("out of memory loading %d tasks", snap->ntasks);
    free(v);
}

/* Records of tasks that already ended (a final state: mcm never stores one,
 * it deletes the record when the final update comes) are deleted now, in a
 * few fenced multis, instead of being reconciled and then deleted one write
 * each: 10,000 of them held a new leader in RECONCILING for 9.8 s
 * (bench/scale). On failure they stay in the snapshot and are reconciled as
 * before. Returns MCM_ERR only when a fenced write stepped us down. */
static int drop_ended(core *c, state_snapshot *snap) {
    char err[512];
    const char **ids = calloc((size_t)snap->ntasks + 1, sizeof(*ids));
    int n = 0, deleted = 0, kept = 0;
    for (int i = 0; ids && i < snap->ntasks; i++)
        if (tt_state_is_final(snap->tasks[i].state)) ids[n++] = snap->tasks[i].id;
    if (!n) {
        free(ids);
        return MCM_OK;
    }
    int rc = state_delete_tasks(c->st, ids, n, &deleted, err, sizeof(err));
    free(ids);
    if (rc != MCM_OK) log_warn("deleting %d records of ended tasks: %s (%d deleted; the rest are reconciled)", n, err,
                               deleted);
    else log_notice("deleted %d records of tasks that had ended", deleted);
    for (int i = 0, gone = 0; i < snap->ntasks; i++) {   /* the deleted ones are the first `deleted` final ones */
        int final = tt_state_is_final(snap->tasks[i].state);
        if (final && gone < deleted) gone++;
        else snap->tasks[kept++] = snap->tasks[i];
    }
    snap->ntasks = kept;
    return core_fenced_result(c, rc == STATE_FENCED ? rc : MCM_OK, "deleting records of ended tasks", err) == MCM_OK
               ? MCM_OK : MCM_ERR;
}

#define REFUSED_REJOIN_MS 30000
#define LOAD_RETRY_MS 2000

/* Malformed state an operator must fix: give the leadership to another
 * replica (which will most likely refuse too, and say so in its log) and
 * come back to the election later. */
static void refuse_to_lead(core *c, const char *why) {
    char err[256];
    log_error("%s; resigning, will rejoin the election in %ds", why, REFUSED_REJOIN_MS / 1000);
    core_step_down(c, why);
    if (elect_resign(c->el, err, sizeof(err)) != MCM_OK) log_warn("resign failed: %s", err);
    c->rejoin_at_ms = util_now_ms() + REFUSED_REJOIN_MS;
}

/* The stored list is where publishing continues from. A fresh installation
 * gets an empty list at once, so every replica's /readyz can turn ready
 * before Mesos is even reachable. */
static int init_servers(core *c) {
    char err[512];
    srvlist_free(c->published);
    c->published = state_read_servers(c->st, err, sizeof(err));
    if (c->published) {
        c->servers_version = c->published->version;
        return MCM_OK;
    }
    if (!strstr(err, "no such znode")) {   /* unreadable or malformed: the first real publish replaces it */
        log_warn("stored server list: %s", err);
        return MCM_OK;
    }
    log_info("no server list stored yet: publishing an empty one");
    srvlist *empty = srvlist_new();
    int64_t v = 0;
    int rc = empty ? state_publish_servers(c->st, empty, &v, err, sizeof(err)) : MCM_ERR;
    if (core_fenced_result(c, rc, "publishing the first server list", err) != MCM_OK) {
        srvlist_free(empty);
        return c->role == ROLE_FOLLOWER ? MCM_ERR : MCM_OK;
    }
    c->published = empty;
    c->servers_version = v;
    return MCM_OK;
}

/* The published list and the transition record the ring keeper continues
 * from (fleet_ring.c), once the leader is LEADING. A record the keeper
 * refuses is dropped there, with a warning; one ZooKeeper cannot read stops
 * the start like any state read. */
static int load_ring(core *c) {
    char err[512], *rec = NULL;
    size_t len = 0;
    int n = c->published ? c->published->n : 0;
    trn_server *pub = calloc((size_t)(n ? n : 1), sizeof(*pub));
    int rc = pub ? state_read_transition(c->st, &rec, &len, err, sizeof(err)) : MCM_ERR;
    if (rc == STATE_MALFORMED) {
        log_warn("%s: dropped; the published list is the ring", err);
        rc = MCM_OK;
    } else if (rc != MCM_OK) {
        log_warn("cannot read the ring transition record: %s", pub ? err : "out of memory");
    }
    for (int i = 0; rc == MCM_OK && i < n; i++) {
        const srv_entry *e = &c->published->servers[i];
        snprintf(pub[i].task_id, sizeof(pub[i].task_id), "%s", e->task_id ? e->task_id : "");
        snprintf(pub[i].addr, sizeof(pub[i].addr), "%.*s:%d", (int)sizeof(pub[i].addr) - 8, e->host, e->port);
    }
    if (rc == MCM_OK && fleet_set_ring(c->fl, pub, n, rec, len) != MCM_OK) rc = MCM_ERR;
    free(pub);
    free(rec);
    return rc;
}

/* The Mesos client is started once per term; if it cannot start (out of
 * threads, say) the tick tries again every few seconds. */
static void start_mesos(core *c) {
    if (mesos_sched_start(c->ms, c->framework_id[0] ? c->framework_id : NULL) == MCM_OK) return;
    log_error("cannot start the Mesos client; retrying in 5s");
    snprintf(c->mesos_why, sizeof(c->mesos_why), "cannot start the Mesos client (see the log)");
    c->mesos_retry_ms = util_now_ms() + 5000;
}

void core_start_leading(core *c) {
    char err[512];
    state_snapshot snap, warm = c->warm;   /* taken before the role change: a leader keeps no copy */
    memset(&c->warm, 0, sizeof(c->warm));
    c->warm_at_ms = 0;
    core_set_role(c, ROLE_STARTING);
    const char *to[] = {"leader"};
    metrics_inc(c->mm.leadership_changes, to);
    int64_t t0 = util_now_ms();
    int reused = 0;
    int rc = state_init(c->st, err, sizeof(err));
    if (rc == MCM_OK) rc = state_load_warm(c->st, &snap, &warm, &reused, err, sizeof(err));
    state_snapshot_clear(&warm);
    int64_t t_loaded = util_now_ms();
    if (rc == STATE_MALFORMED || rc == STATE_CONTRADICTION) {   /* an operator must repair it: say so */
        refuse_to_lead(c, err);
        return;
    }
    if (rc != MCM_OK) {   /* ZooKeeper trouble: keep our place, try again shortly */
        log_warn("cannot read the state from ZooKeeper: %s; trying again in %ds", err, LOAD_RETRY_MS / 1000);
        core_step_down(c, "state not readable");
        c->recheck_at_ms = util_now_ms() + LOAD_RETRY_MS;
        return;
    }
    snprintf(c->framework_id, sizeof(c->framework_id), "%s", snap.framework_id);
    int desired = snap.desired >= 0 ? snap.desired : (int)c->cfg->instances;
    int nstored = snap.ntasks;
    if (drop_ended(c, &snap) != MCM_OK) {
        state_snapshot_clear(&snap);
        return;
    }
    log_info("state: %d task records %s in %lld ms, %d of ended tasks deleted in %lld ms", nstored,
             reused ? "taken from the follower's copy" : "read", (long long)(t_loaded - t0),
             nstored - snap.ntasks, (long long)(util_now_ms() - t_loaded));
    load_tasks(c, &snap, desired);
    if (fleet_set_quarantine(c->fl, (const char (*)[TT_ID_MAX])snap.skipped, snap.nskipped) != MCM_OK)
        log_error("out of memory noting %d unreadable task records", snap.nskipped);
    c->servers_version = 0;
    core_scale_load(c, snap.autoscale_json);
    int stored_desired = snap.desired;
    state_snapshot_clear(&snap);
    if (stored_desired < 0 &&
        core_fenced_result(c, state_set_desired(c->st, desired, NULL, err, sizeof(err)),
                           "storing the desired count", err) != MCM_OK && c->role == ROLE_FOLLOWER)
        return;
    if (init_servers(c) != MCM_OK) return;
    if (load_ring(c) != MCM_OK) {   /* ZooKeeper trouble: as for the state above */
        core_step_down(c, "state not readable");
        c->recheck_at_ms = util_now_ms() + LOAD_RETRY_MS;
        return;
    }
    if (c->framework_id[0]) metrics_inc(c->mm.failovers, NULL);
    log_notice("leading: framework %s, %d stored tasks, %d servers desired; subscribing to Mesos",
               c->framework_id[0] ? c->framework_id : "(new)", tt_count(fleet_table(c->fl)), desired);
    metrics_set(c->mm.desired, NULL, desired);
    start_mesos(c);
    core_publish_snapshot(c);
}

/* A new framework ID is stored (fenced) before anything else happens: a
 * failover to a replica that does not know it would orphan every task. On
 * ZooKeeper trouble the leader keeps the subscription and retries once a
 * second (core_lead_tick); stepping down would make the next term subscribe
 * without an ID and register yet another framework. */
static void store_framework_id(core *c) {
    char err[512];
    int rc = state_set_framework_id(c->st, c->fwid_pending, err, sizeof(err));
    if (core_fenced_result(c, rc, "storing the framework ID", err) != MCM_OK) {
        c->fwid_retry_ms = util_now_ms() + 1000;
        return;
    }
    snprintf(c->framework_id, sizeof(c->framework_id), "%s", c->fwid_pending);
    c->fwid_pending[0] = '\0';
    log_notice("subscribed as new framework %s; stored in ZooKeeper; reconciling %d tasks", c->framework_id,
               tt_count(fleet_table(c->fl)));
    core_start_reconciling(c);
}

static void on_subscribed(core *c, const Mesos__V1__Scheduler__Event__Subscribed *s) {
    const char *id = s && s->framework_id ? s->framework_id->value : "";
    const char *res[] = {"subscribed"};
    metrics_inc(c->mm.mesos_subscriptions, res);
    metrics_set(c->mm.mesos_subscribed, NULL, 1);
    c->subscribed = 1;
    c->term_subscribed_ms = util_wall_ms();
    if (strcmp(id, c->framework_id) != 0) {
        if (c->framework_id[0])
            log_warn("master gave framework ID %s, we asked for %s: keeping the new one", id, c->framework_id);
        snprintf(c->fwid_pending, sizeof(c->fwid_pending), "%s", id);
        store_framework_id(c);   /* nothing else happens until it is stored */
        return;
    }
    log_notice("subscribed as framework %s (heartbeat %.0fs); reconciling %d tasks", id,
               s && s->has_heartbeat_interval_seconds ? s->heartbeat_interval_seconds : 0.0,
               tt_count(fleet_table(c->fl)));
    core_start_reconciling(c);
}

/* Mesos no longer knows the framework (TEARDOWN, or removed when its
 * failover timeout ran out): its tasks are gone and its ID is refused
 * forever. Forget the tasks, publish an empty list, clear the ID, then start
 * a new term, which registers a new framework. MCM_ERR if a write failed:
 * the next SUBSCRIBE earns the same ERROR and this runs again. */
int core_forget_framework(core *c, const char *why) {
    char err[512];
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_forget_all(c->fl, &l);
    int rc = core_run_actions(c, &l, NULL, NULL) == MCM_OK ? MCM_OK : MCM_ERR;
    if (rc == MCM_OK && tt_count(fleet_table(c->fl)) > 0) rc = MCM_ERR;
    srvlist *empty = rc == MCM_OK ? srvlist_new() : NULL;
    if (empty) rc = core_fenced_result(c, state_publish_servers(c->st, empty, NULL, err, sizeof(err)),
                                       "publishing an empty server list", err);
    srvlist_free(empty);
    if (rc == MCM_OK)
        rc = core_fenced_result(c, state_clear_framework_id(c->st, err, sizeof(err)), "clearing the framework ID", err);
    if (rc != MCM_OK || c->role == ROLE_FOLLOWER) return MCM_ERR;
    log_warn("forgot framework %s (%s); a new framework will be registered with %d servers desired",
             c->framework_id, why, fleet_desired(c->fl));
    core_step_down(c, why);
    c->rejoin_at_ms = 0;
    cq_post(c->q, MSG_ELECT_WAKE, NULL, NULL, 0);   /* still elected: a new term starts */
    return MCM_OK;
}

static void on_error(core *c, const Mesos__V1__Scheduler__Event__Error *e) {
    const char *msg = e && e->message ? e->message : "";
    if (!strstr(msg, "removed")) {
        log_warn("Mesos error event: %s", msg);
        return;
    }
    log_error("Mesos says: %s (framework %s)", msg, c->framework_id);
    if (core_forget_framework(c, "Mesos removed the framework") != MCM_OK)
        log_warn("could not clear the removed framework from ZooKeeper; trying again on the next answer");
}

/* An executor ended. Mesos sends its wait status: 0 after every ordinary
 * kill, so only other endings are worth a warning. */
static void on_failure(core *c, const Mesos__V1__Scheduler__Event__Failure *f) {
    if (!f || !f->executor_id) return;
    const char *ex = f->executor_id->value, *agent = f->agent_id ? f->agent_id->value : "-";
    int st = f->has_status ? f->status : 0;
    if (st == 0) log_info("executor %s on agent %s exited", ex, agent);
    else if (WIFSIGNALED(st)) log_warn("executor %s on agent %s was killed by signal %d", ex, agent, WTERMSIG(st));
    else log_warn("executor %s on agent %s exited with status %d", ex, agent, WEXITSTATUS(st));
}

static void on_rescind(core *c, const Mesos__V1__Scheduler__Event__Rescind *r) {
    log_verbose("offer %s rescinded", r && r->offer_id ? r->offer_id->value : "?");
}

void core_on_mesos_event(core *c, Mesos__V1__Scheduler__Event *ev) {
    if (!core_may_act(c)) {
        mesos__v1__scheduler__event__free_unpacked(ev, NULL);
        return;
    }
    switch (ev->type) {
    case MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED:
        core_maint_event(c, ev);
        on_subscribed(c, ev->subscribed);
        break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS:   /* agents under maintenance are declined first */
        if (ev->offers) core_on_offers(c, ev->offers->offers, core_maint_offers(c, ev->offers->offers, ev->offers->n_offers));
        break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE:
        if (ev->update && ev->update->status) core_on_update(c, ev->update->status);
        break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__INVERSE_OFFERS:
    case MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND_INVERSE_OFFER: core_maint_event(c, ev); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__MESSAGE: core_on_report(c, ev->message); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND: on_rescind(c, ev->rescind); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__FAILURE: on_failure(c, ev->failure); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__ERROR: on_error(c, ev->error); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__HEARTBEAT: break;
    default: log_debug("ignoring Mesos event type %d", (int)ev->type);
    }
    mesos__v1__scheduler__event__free_unpacked(ev, NULL);
}

void core_on_mesos_down(core *c, const char *why) {
    if (c->role == ROLE_FOLLOWER) return;
    const char *res[] = {"failed"};
    metrics_inc(c->mm.mesos_subscriptions, res);
    metrics_set(c->mm.mesos_subscribed, NULL, 0);
    snprintf(c->mesos_why, sizeof(c->mesos_why), "%s", why ? why : "");
    int was = c->subscribed;
    c->subscribed = 0;
    if (why && strstr(why, "failed over")) {
        /* Another scheduler holds the framework now. If ZooKeeper still names
         * us leader, a new term starts after a pause (core.c maybe_recheck). */
        core_step_down(c, "another scheduler subscribed with our framework ID");
        c->recheck_at_ms = util_now_ms() + 5000;
        return;
    }
    if (was) log_warn("Mesos subscription lost: %s (the client re-subscribes)", why ? why : "?");
    else log_verbose("Mesos subscription attempt failed: %s", why ? why : "?");
    fleet_on_unsubscribed(c->fl);
    if (c->role != ROLE_STARTING) core_set_role(c, ROLE_STARTING);
}

void core_lead_tick(core *c, int64_t now) {
    if (c->role == ROLE_STARTING && !mesos_sched_running(c->ms) && now >= c->mesos_retry_ms) start_mesos(c);
    if (!core_may_act(c) || !c->subscribed) return;
    if (c->fwid_pending[0]) {
        if (now >= c->fwid_retry_ms) store_framework_id(c);
        return;
    }
    core_tick_fleet(c);
    if (c->role == ROLE_LEADING) {
        core_maint_tick(c);
        core_probe_tick(c, now);
        core_publish_tick(c, now);
        core_scale_tick(c, now);
    }
}
