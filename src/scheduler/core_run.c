/* core_run.c -- the runner: performs a fleet's action list (fleet.h) in order.
 *
 * What: core_run_actions() checks once that the replica may act, then runs
 * each action: persists as fenced ZooKeeper writes (state.h), Mesos calls
 * through the scheduler client, PUBLISH through core_publish.c, PHASE through
 * core_set_role. It reports every outcome back to the fleet (fleet_stored,
 * fleet_done) and runs the follow-ups the fleet hands back, after the rest.
 *
 * Why one loop: "store an update before acknowledging it" and "store a task
 * before launching it" are list order plus one rule here: the first failed
 * persist stops the list. Nothing else in the core calls Mesos for a task.
 * When a list stops, the actions left are reported as not run, and the offers
 * of launches left are declined (held offers would otherwise be kept from
 * every framework until rescinded).
 *
 * Thread: core. Invariant: no action runs unless core_may_act() said yes at
 * the start of its list; a fenced write steps down and stops the list. */
#define LOG_COMPONENT "run"
#include "core_int.h"
#include "launch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fleet_clock core_clock(void) { return (fleet_clock){util_now_ms(), util_wall_ms()}; }

static int is_persist(fleet_action_kind k) { return k == FA_PUT_TASK || k == FA_DELETE_TASK; }

static int persist(core *c, const fleet_action *a) {
    char err[512];
    if (a->kind == FA_PUT_TASK) return core_persist_task(c, &a->task);
    int rc = state_delete_task(c->st, a->task.id, err, sizeof(err));
    return core_fenced_result(c, rc, "removing a task record", err);
}

static int launch(core *c, const fleet_action *a, const core_offers *ro, char *err, size_t len) {
    if (!ro || a->offer < 0 || a->offer >= ro->n) {
        snprintf(err, len, "no offer for the launch");
        return MCM_ERR;
    }
    launch_spec spec;
    const Mesos__V1__Offer *o = ro->offers[a->offer];
    Mesos__V1__TaskInfo *ti = launch_build(&spec, c->cfg, a->task.id, o, &ro->matched[a->offer]);
    return mesos_sched_launch(c->ms, o->id->value, &ti, 1, a->refuse_s, err, len);
}

/* Pointer arrays over an action's id arrays (for the client's calls). */
static const char **ptrs(char (*v)[TT_ID_MAX], int n, int empty_is_null) {
    const char **p = calloc(n ? (size_t)n : 1, sizeof(*p));
    for (int i = 0; p && i < n; i++) p[i] = empty_is_null && !v[i][0] ? NULL : v[i];
    return p;
}

static int list_call(core *c, const fleet_action *a, char *err, size_t len) {
    const char **ids = ptrs(a->ids, a->n, 0), **agents = a->agents ? ptrs(a->agents, a->n, 1) : NULL;
    int rc = MCM_ERR;
    if (!ids || (a->agents && !agents)) snprintf(err, len, "out of memory");
    else if (a->kind == FA_DECLINE) rc = mesos_sched_decline(c->ms, ids, (size_t)a->n, a->refuse_s, err, len);
    else rc = mesos_sched_reconcile(c->ms, ids, agents, (size_t)a->n, err, len);
    free(ids);
    free(agents);
    return rc;
}

static int call(core *c, const fleet_action *a, const core_offers *ro, char *err, size_t len) {
    const tt_task *t = &a->task;
    char exec_id[TT_ID_MAX + 16];
    switch (a->kind) {
    case FA_ACK:
        return mesos_sched_acknowledge(c->ms, t->agent_id, t->id, a->uuid, a->uuid_len, err, len);
    case FA_KILL: return mesos_sched_kill(c->ms, t->id, t->agent_id[0] ? t->agent_id : NULL, err, len);
    case FA_LAUNCH: return launch(c, a, ro, err, len);
    case FA_REVIVE: return mesos_sched_revive(c->ms, err, len);
    case FA_SUPPRESS: return mesos_sched_suppress(c->ms, err, len);
    case FA_DECLINE:
    case FA_RECONCILE:
        if (a->kind == FA_RECONCILE && a->n == 0) return mesos_sched_reconcile(c->ms, NULL, NULL, 0, err, len);
        return list_call(c, a, err, len);
    case FA_MESSAGE:
        snprintf(exec_id, sizeof(exec_id), "%s.executor", t->id);   /* launch.c names executors so */
        return mesos_sched_message(c->ms, t->agent_id, exec_id, a->data, a->data_len, err, len);
    default:
        snprintf(err, len, "not a Mesos call");
        return MCM_ERR;
    }
}

/* The log line and metrics of a call's outcome. */
static void told(core *c, const fleet_action *a, int ok, const char *err) {
    const tt_task *t = &a->task;
    const char *name = fleet_action_name(a->kind);
    if (a->kind == FA_KILL && ok) log_info("killing %s on %s:%d: %s", t->id, t->hostname, t->port, a->why);
    else if (a->kind == FA_ACK && !ok) log_warn("ACKNOWLEDGE %s failed: %s (Mesos will resend the update)", t->id, err);
    else if (a->kind == FA_LAUNCH && ok) {
        log_notice("launching %s on %s:%d (agent %s)", t->id, t->hostname, t->port, t->agent_id);
        metrics_inc(c->mm.launches, NULL);
        metrics_inc(c->mm.offers_accepted, NULL);
        if (a->relaunch) metrics_inc(c->mm.relaunches, NULL);
    } else if (a->kind == FA_DECLINE && ok) metrics_add(c->mm.offers_declined, NULL, (double)a->n);
    else if ((a->kind == FA_REVIVE || a->kind == FA_SUPPRESS || a->kind == FA_RECONCILE) && ok)
        log_info("%s: %s", name, a->why);
    else if (a->kind == FA_LAUNCH) return;   /* the fleet says what a failed LAUNCH means */
    else if (!ok) log_warn("%s %s failed: %s (%s; retried)", name, t->id[0] ? t->id : "", err, a->why);
}

static void phase(core *c, const fleet_action *a) {
    if (a->phase == FLEET_RECONCILING) {
        core_set_role(c, ROLE_RECONCILING);
        return;
    }
    if (!c->term_reconciled_ms) c->term_reconciled_ms = util_wall_ms();
    core_set_role(c, ROLE_LEADING);
}

/* The list stopped at `from`: every call left is reported as not run, and
 * the offers of launches left are declined. */
static void skip_from(core *c, fleet_actions *l, int from, const core_offers *ro) {
    fleet_actions ignored;
    fleet_actions_init(&ignored);
    const char **offer_ids = calloc((size_t)(l->n > 0 ? l->n : 1), sizeof(*offer_ids));
    size_t nd = 0;
    double refuse = c->cfg->refuse_ms / 1000.0;
    for (int i = from; i < l->n; i++) {
        fleet_action a = l->v[i];
        if (a.kind == FA_LAUNCH && ro && offer_ids && a.offer >= 0 && a.offer < ro->n)
            offer_ids[nd++] = ro->offers[a.offer]->id->value;
        if (!is_persist(a.kind) && a.kind != FA_PUBLISH && a.kind != FA_PHASE)
            fleet_done(c->fl, &a, 0, "not run", core_clock(), &ignored);
    }
    char err[512];
    if (nd && core_may_act(c) && mesos_sched_decline(c->ms, offer_ids, nd, refuse, err, sizeof(err)) != MCM_OK)
        log_warn("DECLINE of %zu offers not used failed: %s", nd, err);
    free(offer_ids);
    fleet_actions_clear(&ignored);
}

int core_run_actions(core *c, fleet_actions *l, const core_offers *ro) {
    int rc = MCM_OK;
    if (l->oom) log_error("out of memory while deciding: some actions were dropped");
    if (l->n && !core_may_act(c)) {
        skip_from(c, l, 0, ro);
        fleet_actions_clear(l);
        return MCM_ERR;
    }
    for (int i = 0; i < l->n; i++) {
        fleet_action a = l->v[i];   /* a copy: follow-ups may grow (move) the list */
        if (is_persist(a.kind)) {
            int ok = persist(c, &a) == MCM_OK;
            fleet_stored(c->fl, &a, ok, core_clock());
            if (!ok) {
                skip_from(c, l, i + 1, ro);
                rc = MCM_ERR;
                break;
            }
            if (a.kind == FA_DELETE_TASK && c->pol) policy_forget(c->pol, a.task.id);
        } else if (a.kind == FA_PUBLISH) {
            core_publish_servers(c);
            core_publish_snapshot(c);   /* /v1/tasks agrees with /v1/servers at once */
        } else if (a.kind == FA_PHASE) {
            phase(c, &a);
        } else {
            char err[512] = "";
            int ok = call(c, &a, ro, err, sizeof(err)) == MCM_OK;
            if (!ok) rc = MCM_ERR;
            fleet_done(c->fl, &a, ok, err, core_clock(), l);
            told(c, &a, ok, err);
        }
    }
    fleet_actions_clear(l);
    return rc;
}
