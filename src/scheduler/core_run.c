/* core_run.c -- the runner: performs a fleet's action list (fleet.h) in order.
 *
 * What: core_run_actions() checks once that the replica may act, then runs
 * each action: persists as fenced ZooKeeper writes (state.h) at once, PUBLISH
 * through core_publish.c, PHASE through core_set_role, and hands each Mesos
 * call to the call worker (callq.h) in list order. Persist outcomes go back
 * to the fleet at once (fleet_stored); a call's outcome comes back through
 * the mailbox (core_on_call_done -> fleet_done), and the follow-ups the fleet
 * hands back then run as a list of their own.
 *
 * Why one loop: "store an update before acknowledging it" and "store a task
 * before launching it" are list order plus one rule here: the first failed
 * persist stops the list, so the call after it is never handed over. A run
 * of PUT_TASKs and calls (an offer burst: PUT, LAUNCH, PUT, LAUNCH, ...) is
 * stored first, in a few multis, and only then are its calls handed over:
 * the same order for every call, without one write per launch holding the
 * core (12 s for 1,000 launches at N = 1,000, bench/scale). When a
 * list stops, the calls left are reported as not run, and the offers of
 * launches left are declined (held offers would otherwise be kept from every
 * framework until rescinded). Nothing else in the core calls Mesos for a task.
 *
 * Thread: core; it never waits for the master. Invariant: no action runs
 * unless core_may_act() said yes at the start of its list; a fenced write
 * steps down and stops the list; a call's outcome from an ended term is not
 * shown to the fleet (the worker does not send such calls at all). */
#define LOG_COMPONENT "run"
#include "core_int.h"
#include "callq.h"
#include "launch.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fleet_clock core_clock(void) { return (fleet_clock){util_now_ms(), util_wall_ms()}; }

static int is_persist(fleet_action_kind k) {
    return k == FA_PUT_TASK || k == FA_DELETE_TASK || k == FA_PUT_RING || k == FA_CLEAR_RING;
}
static int is_call(fleet_action_kind k) { return !is_persist(k) && k != FA_PUBLISH && k != FA_PHASE; }

/* FA_DELETE_TASK, FA_PUT_RING, FA_CLEAR_RING (PUT_TASKs go by store_run). */
static int persist(core *c, const fleet_action *a) {
    char err[512];
    if (a->kind == FA_PUT_RING)
        return core_fenced_result(c, state_put_transition(c->st, a->data, err, sizeof(err)),
                                  "storing the ring transition", err);
    if (a->kind == FA_CLEAR_RING)
        return core_fenced_result(c, state_delete_transition(c->st, err, sizeof(err)),
                                  "removing the ring transition record", err);
    int rc = state_delete_task(c->st, a->task.id, err, sizeof(err));
    return core_fenced_result(c, rc, "removing a task record", err);
}

/* A LAUNCH job carries its TaskInfo packed: the offer it is built from is
 * freed once this event is handled, before the worker sends it. */
static int pack_launch(core *c, callq_job *j, const core_offers *ro) {
    const fleet_action *a = &j->a;
    if (!ro || a->offer < 0 || a->offer >= ro->n) return MCM_ERR;
    launch_spec spec;
    const Mesos__V1__Offer *o = ro->offers[a->offer];
    Mesos__V1__TaskInfo *ti = launch_build(&spec, c->cfg, a->task.id, o, &ro->matched[a->offer]);
    j->task_info_len = mesos__v1__task_info__get_packed_size(ti);
    j->task_info = malloc(j->task_info_len ? j->task_info_len : 1);
    if (!j->task_info) return MCM_ERR;
    mesos__v1__task_info__pack(ti, j->task_info);
    snprintf(j->offer_id, sizeof(j->offer_id), "%s", o->id->value);
    return MCM_OK;
}

/* Hands the call to the worker (callq.h); its outcome comes back through
 * the mailbox to core_on_call_done. MCM_ERR: not submitted (reported). */
static int submit(core *c, const fleet_action *a, const core_offers *ro, void *op) {
    fleet_actions ignored;
    callq_job *j = callq_job_new(a, atomic_load(&c->term));
    if (j && (a->kind != FA_LAUNCH || pack_launch(c, j, ro) == MCM_OK)) {
        if (op) core_op_attach(j, op);
        callq_submit(c->calls, j);
        return MCM_OK;
    }
    callq_job_free(j);
    log_error("out of memory preparing a %s call", fleet_action_name(a->kind));
    fleet_action copy = *a;
    fleet_actions_init(&ignored);
    fleet_done(c->fl, &copy, 0, "out of memory", core_clock(), &ignored);
    fleet_actions_clear(&ignored);
    return MCM_ERR;
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
    else if (a->kind == FA_MESSAGE && ok) {
        metrics_inc(c->mm.exec_messages, NULL);
        metrics_add(c->mm.exec_message_bytes, NULL, (double)a->data_len);
    }
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
    fleet_action d;
    memset(&d, 0, sizeof(d));
    d.kind = FA_DECLINE;
    d.refuse_s = c->cfg->refuse_ms / 1000.0;
    d.ids = calloc((size_t)(l->n > 0 ? l->n : 1), sizeof(*d.ids));
    snprintf(d.why, sizeof(d.why), "offers of launches not made");
    for (int i = from; i < l->n; i++) {
        fleet_action a = l->v[i];
        if (a.kind == FA_LAUNCH && ro && d.ids && a.offer >= 0 && a.offer < ro->n)
            snprintf(d.ids[d.n++], TT_ID_MAX, "%s", ro->offers[a.offer]->id->value);
        if (is_call(a.kind))
            fleet_done(c->fl, &a, 0, "not run", core_clock(), &ignored);
    }
    if (d.n && core_may_act(c)) submit(c, &d, NULL, NULL);
    free(d.ids);
    fleet_actions_clear(&ignored);
}

/* From l->v[from], a PUT_TASK: the end of the run of PUT_TASKs and calls
 * after it. Its records are stored together before any of its calls is
 * handed over, which keeps "store before launching (or acknowledging)" for
 * every call in it; anything else (a PUBLISH reads the table as stored, a
 * PHASE, another persist) ends the run. */
static int run_end(const fleet_actions *l, int from) {
    int end = from;
    while (end < l->n && (l->v[end].kind == FA_PUT_TASK || is_call(l->v[end].kind))) end++;
    return end;
}

/* Stores the records of the PUT_TASKs in l->v[from..end) (state_put_tasks:
 * a few multis, not two round trips each) and tells the fleet each outcome.
 * Returns the index of the first record not stored, or end. */
static int store_run(core *c, fleet_actions *l, int from, int end) {
    const fleet_action **puts = calloc((size_t)(end - from), sizeof(*puts));
    int *at = calloc((size_t)(end - from), sizeof(*at));
    int n = 0, stored = 0;
    if (!puts || !at) {
        log_error("out of memory storing task records");
        fleet_stored(c->fl, &l->v[from], 0, core_clock());
        free(puts);
        free(at);
        return from;
    }
    for (int i = from; i < end; i++)
        if (l->v[i].kind == FA_PUT_TASK) at[n] = i, puts[n++] = &l->v[i];
    core_persist_tasks(c, puts, n, &stored);
    for (int k = 0; k < stored; k++) fleet_stored(c->fl, &l->v[at[k]], 1, core_clock());
    int stop = stored < n ? at[stored] : end;
    if (stored < n) fleet_stored(c->fl, &l->v[stop], 0, core_clock());
    free(puts);
    free(at);
    return stop;
}

/* Hands l->v[i], a call, to the worker; rc as core_run_actions returns it. */
static void call(core *c, const fleet_actions *l, int i, const core_offers *ro, void *op, int last_call, int *rc) {
    fleet_action a = l->v[i];
    if (submit(c, &a, ro, i == last_call ? op : NULL) != MCM_OK) *rc = MCM_ERR;
    else if (i == last_call) *rc = CORE_RUN_DEFERRED;
}

int core_run_actions(core *c, fleet_actions *l, const core_offers *ro, void *op) {
    int rc = MCM_OK, last_call = -1;
    for (int i = 0; op && i < l->n; i++)
        if (is_call(l->v[i].kind)) last_call = i;
    if (l->oom) log_error("out of memory while deciding: some actions were dropped");
    if (l->n && !core_may_act(c)) {
        skip_from(c, l, 0, ro);
        fleet_actions_clear(l);
        return MCM_ERR;
    }
    for (int i = 0; i < l->n; i++) {
        fleet_action a = l->v[i];   /* a copy: follow-ups may grow (move) the list */
        if (a.kind == FA_PUT_TASK) {
            int end = run_end(l, i), stop = store_run(c, l, i, end);
            for (int j = i; j < stop; j++)
                if (is_call(l->v[j].kind)) call(c, l, j, ro, op, last_call, &rc);
            if (stop < end) {
                skip_from(c, l, stop + 1, ro);
                rc = MCM_ERR;
                break;
            }
            i = end - 1;
        } else if (is_persist(a.kind)) {
            int ok = persist(c, &a) == MCM_OK;
            fleet_stored(c->fl, &a, ok, core_clock());
            if (!ok) {
                skip_from(c, l, i + 1, ro);
                rc = MCM_ERR;
                break;
            }
            if (a.kind == FA_DELETE_TASK && c->pol) policy_forget(c->pol, a.task.id);
        } else if (a.kind == FA_PUBLISH) {
            const srvlist *before = c->published;   /* compared, never read: a publish replaces it */
            core_publish_servers(c);
            /* /v1/tasks agrees with /v1/servers at once when the list changed;
             * otherwise the 1 s tick refreshes it. Rendering every task per
             * event made reconciling 10,000 records O(n^2): 50 ms an update
             * (bench/scale). */
            if (c->published != before) core_publish_snapshot(c);
        } else if (a.kind == FA_PHASE) {
            phase(c, &a);
        } else {
            call(c, l, i, ro, op, last_call, &rc);
        }
    }
    fleet_actions_clear(l);
    return rc;
}

void core_on_call_done(core *c, callq_job *j) {
    fleet_actions l;
    fleet_actions_init(&l);
    if (j->inverse) core_maint_done(c, j);
    if (j->term == atomic_load(&c->term) && !j->teardown && !j->inverse) {
        fleet_done(c->fl, &j->a, j->ok, j->err, core_clock(), &l);
        told(c, &j->a, j->ok, j->err);
    }
    if (j->op) core_op_call_done(c, j->op, j->term == atomic_load(&c->term), j->ok, j->err);
    core_run_actions(c, &l, NULL, NULL);   /* follow-ups: a refused LAUNCH's record goes, LEADING, ... */
}
