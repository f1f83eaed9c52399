/* core_tasks.c -- Mesos task events translated for the fleet (fleet.h), and
 * the task record's two clocks.
 *
 * What: a status update and a batch of offers are turned into fleet events
 * (fleet_status, fleet_offer: each offer matched by offer.c, with a fresh
 * task ID), decided by the fleet and run by the runner (core_run.c). The
 * rules themselves (store before acknowledging, persist before launching,
 * orphans, partitions, launches refused or lost) are the fleet's.
 *
 * Records: a task's drain deadline is monotonic in the table and wall clock
 * in ZooKeeper, so that a new leader continues the same drain (same server,
 * same end); the conversions live here, next to the one write of a record.
 *
 * Thread: core. */
#define LOG_COMPONENT "tasks"
#include "core_int.h"
#include "launch.h"
#include "log.h"
#include "offer_fleet.h"
#include "place_mesos.h"
#include "state_batch.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    snprintf(s->attrs, sizeof(s->attrs), "%s", t->attrs);
    snprintf(s->region, sizeof(s->region), "%s", t->region);
    snprintf(s->zone, sizeof(s->zone), "%s", t->zone);
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
    snprintf(t->attrs, sizeof(t->attrs), "%s", s->attrs);
    snprintf(t->region, sizeof(t->region), "%s", s->region);
    snprintf(t->zone, sizeof(t->zone), "%s", s->zone);
}

int core_persist_tasks(core *c, const fleet_action *const *a, int n, int *stored) {
    char err[512];
    state_task *s = calloc((size_t)(n > 0 ? n : 1), sizeof(*s));
    int *fresh = calloc((size_t)(n > 0 ? n : 1), sizeof(*fresh));
    int rc = MCM_ERR;
    *stored = 0;
    if (s && fresh) {
        for (int i = 0; i < n; i++) {
            to_state_task(&a[i]->task, &s[i]);
            fresh[i] = a[i]->fresh;
        }
        rc = state_put_tasks(c->st, s, fresh, n, stored, err, sizeof(err));
    } else {
        snprintf(err, sizeof(err), "out of memory");
    }
    free(s);
    free(fresh);
    return core_fenced_result(c, rc, n > 1 ? "storing task records" : "storing a task", err);
}

/* TaskStatus.healthy of a TASK_RUNNING, from the executor's own probe of
 * memcached (src/executor/exec_health.h): logged once per change and shown
 * as "healthy" in /v1/tasks. An unhealthy server stays published: a hung one
 * is failed by its executor soon after, and the loss path replaces it. */
static void note_health(core *c, const Mesos__V1__TaskStatus *st) {
    if (!st->has_healthy || st->state != MESOS__V1__TASK_STATE__TASK_RUNNING) return;
    tt_task *t = tt_find(fleet_table(c->fl), st->task_id->value);
    if (!t || t->unhealthy == !st->healthy) return;
    t->unhealthy = !st->healthy;
    if (t->unhealthy)
        log_warn("server %s (%s:%d) is unhealthy: %s", t->id, t->hostname, t->port, st->message ? st->message : "");
    else
        log_notice("server %s (%s:%d) is healthy again", t->id, t->hostname, t->port);
}

static fleet_status status_of(const Mesos__V1__TaskStatus *st) {
    fleet_status fs = {st->task_id->value, st->agent_id ? st->agent_id->value : NULL, (int)st->state, st->message,
                       st->has_uuid ? st->uuid.data : NULL, st->has_uuid ? st->uuid.len : 0};
    return fs;
}

/* What every update does before the fleet decides it. */
static void heard(core *c, const Mesos__V1__TaskStatus *st) {
    core_maint_update(c, st);
    note_health(c, st);
    const char *lv[] = {tt_state_name(st->state)};
    metrics_inc(c->mm.status_updates, lv);
    log_verbose("update %s: %s%s%s", st->task_id->value, tt_state_name(st->state), st->message ? ": " : "",
                st->message ? st->message : "");
}

void core_on_update(core *c, const Mesos__V1__TaskStatus *st) {
    heard(c, st);
    fleet_status fs = status_of(st);
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_update(c->fl, &fs, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
}

/* m's TaskStatus if m is a status update of this term that may join a batch
 * for the tasks ids[0..n) (fleet_update_batchable), else NULL. */
static const Mesos__V1__TaskStatus *batchable(core *c, const cq_msg *m, const char *const *ids, int n) {
    if (m->type != MSG_MESOS_EVENT || m->num != atomic_load(&c->term) || !m->data) return NULL;
    const Mesos__V1__Scheduler__Event *ev = m->data;
    if (ev->type != MESOS__V1__SCHEDULER__EVENT__TYPE__UPDATE || !ev->update || !ev->update->status) return NULL;
    const Mesos__V1__TaskStatus *st = ev->update->status;
    if (!st->task_id || !st->task_id->value) return NULL;
    fleet_status fs = status_of(st);
    return fleet_update_batchable(c->fl, &fs, ids, n) ? st : NULL;
}

cq_msg *core_take_updates(core *c, cq_msg *m, int *taken_n) {
    *taken_n = 0;
    if (!core_may_act(c)) return m;
    cq_msg *taken[CORE_UPDATE_BATCH], *next = NULL;
    const char *ids[CORE_UPDATE_BATCH];
    fleet_status fs[CORE_UPDATE_BATCH];
    int n = 0;
    for (cq_msg *x = m; x; x = n < CORE_UPDATE_BATCH ? cq_take(c->q, 0) : NULL) {
        const Mesos__V1__TaskStatus *st = batchable(c, x, ids, n);
        if (!st) {
            next = x;   /* not this batch's: handled as usual, after it */
            break;
        }
        heard(c, st);
        taken[n] = x;
        fs[n] = status_of(st);
        ids[n++] = st->task_id->value;
    }
    if (!n) return m;   /* m itself is not an update to batch (next is m) */
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_updates(c->fl, fs, n, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
    for (int i = 0; i < n; i++) cq_msg_free(taken[i]);   /* fs points into them until here */
    *taken_n = n;
    return next;
}

/* Each offer matched against one server's needs, with a fresh task ID and
 * its agent's attributes and fault domain (pa[i], for placement). */
static void match_offers(core *c, Mesos__V1__Offer **offers, size_t n, core_offers *ro, fleet_offer *fo,
                         char (*ids)[TT_ID_MAX], place_agent_buf *pa) {
    offer_need need;
    offer_need_init(&need, c->cfg->cpus, (double)(c->cfg->mem_bytes >> 20));
    for (size_t i = 0; i < n; i++) {
        launch_new_task_id(ids[i], TT_ID_MAX);
        offer_to_fleet(offers[i], &need, ids[i], &ro->matched[i], &pa[i], &fo[i]);
    }
}

void core_on_offers(core *c, Mesos__V1__Offer **offers, size_t n) {
    metrics_add(c->mm.offers_received, NULL, (double)n);
    if (!n) return;
    core_offers ro = {offers, calloc(n, sizeof(offer_launch)), (int)n};
    fleet_offer *fo = calloc(n, sizeof(*fo));
    char (*ids)[TT_ID_MAX] = calloc(n, sizeof(*ids));
    place_agent_buf *pa = calloc(n, sizeof(*pa));
    if (ro.matched && fo && ids && pa) {
        match_offers(c, offers, n, &ro, fo, ids, pa);
        fleet_actions l;
        fleet_actions_init(&l);
        fleet_on_offers(c->fl, fo, (int)n, core_clock(), &l);
        core_run_actions(c, &l, &ro, NULL);
    } else {
        log_error("out of memory handling %zu offers", n);
    }
    for (size_t i = 0; ro.matched && i < n; i++) offer_launch_clear(&ro.matched[i]);
    free(ro.matched);
    free(fo);
    free(ids);
    free(pa);
}

/* The other fleet events the core forwards: each decided, then run. */
void core_decide_drain(core *c, const char *id, const char *why) {
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_drain(c->fl, id, why, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
}

void core_tick_fleet(core *c) {
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_tick(c->fl, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
}

void core_start_reconciling(core *c) {
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_subscribed(c->fl, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
}
