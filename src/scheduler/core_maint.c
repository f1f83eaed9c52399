/* core_maint.c -- Mesos maintenance events translated for fleet_maint, and
 * its decisions performed.
 *
 * What: inverse offers and their rescinds, Offer.unavailability and the
 * REASON_AGENT_DRAINING of status updates go to the pure rules
 * (fleet_maint.h); offers from an agent that is blocked (a window due within
 * --maintenance-horizon, or drained) are declined here before the fleet sees
 * them, so no new server goes there; every tick while LEADING the rules'
 * drains go through fleet_drain (the warm planned-restart path: the
 * replacement is running and published before the old server is removed)
 * and their ACCEPT_INVERSE_OFFERS to the call worker.
 *
 * Why this shape: the fleet's placement stays the fleet's; a blocked agent
 * is simply not offered to it, which is what Mesos itself does with a
 * drained agent. The state is per term: created at the first event of a
 * term and freed when the term ends (core_step_down), since the master
 * drops inverse offers with the subscription.
 *
 * Thread: core. Invariant: nothing is decided or sent unless core_may_act
 * (the runner checks it for fleet lists; the ACCEPT here checks it too). */
#define LOG_COMPONENT "maint"
#include "core_int.h"
#include "fleet_maint.h"
#include "log.h"
#include "mcm.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The term's state, created on first use. NULL if out of memory (logged). */
static fmaint *maint(core *c) {
    int64_t term = atomic_load(&c->term);
    if (c->maint && c->maint_term != term) fmaint_clear(c->maint);
    c->maint_term = term;
    if (!c->maint && !(c->maint = fmaint_new(c->cfg->maintenance_horizon_ms)))
        log_error("out of memory: maintenance windows are not followed");
    return c->maint;
}

void core_maint_end_term(core *c) {
    fmaint_free(c->maint);
    c->maint = NULL;
}

static int window_of(const Mesos__V1__Unavailability *u, fmaint_window *w) {
    return mesos_unavailability(u, &w->start_ms, &w->duration_ms);
}

static void on_inverse_offers(core *c, fmaint *m, const Mesos__V1__Scheduler__Event__InverseOffers *io) {
    for (size_t i = 0; io && i < io->n_inverse_offers; i++) {
        const Mesos__V1__InverseOffer *v = io->inverse_offers[i];
        fmaint_window w;
        const char *id = v && v->id ? v->id->value : NULL, *agent = v && v->agent_id ? v->agent_id->value : NULL;
        if (!id || !agent || window_of(v->unavailability, &w) != MCM_OK || fmaint_on_inverse(m, id, agent, &w) != MCM_OK)
            log_warn("inverse offer %s (agent %s) ignored: no agent, no unavailability, or too many outstanding",
                     id ? id : "?", agent ? agent : "?");
    }
    (void)c;
}

void core_maint_event(core *c, const Mesos__V1__Scheduler__Event *ev) {
    fmaint *m = maint(c);
    if (!m) return;
    switch (ev->type) {
    case MESOS__V1__SCHEDULER__EVENT__TYPE__SUBSCRIBED:
        fmaint_clear(m);   /* a new subscription: the master sends the inverse offers again */
        break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__INVERSE_OFFERS: on_inverse_offers(c, m, ev->inverse_offers); break;
    case MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND_INVERSE_OFFER:
        if (ev->rescind_inverse_offer && ev->rescind_inverse_offer->inverse_offer_id)
            fmaint_on_rescind(m, ev->rescind_inverse_offer->inverse_offer_id->value);
        break;
    default: break;
    }
}

void core_maint_update(core *c, const Mesos__V1__TaskStatus *st) {
    fmaint *m = maint(c);
    if (m && st->has_reason && st->reason == MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_DRAINING && st->agent_id)
        fmaint_on_drained(m, st->agent_id->value);
}

/* DECLINE of the blocked offers offers[from..n), with the usual filter. */
static void decline_blocked(core *c, Mesos__V1__Offer **offers, size_t from, size_t n) {
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_action *a = l.v = calloc(1, sizeof(*l.v));   /* a list of one, freed by fleet_actions_clear */
    if (a) {
        l.n = l.cap = 1;
        a->kind = FA_DECLINE;
        a->ids = calloc(n - from, sizeof(*a->ids));
    }
    if (a && a->ids) {
        for (size_t i = from; i < n; i++) snprintf(a->ids[a->n++], TT_ID_MAX, "%s", offers[i]->id->value);
        a->refuse_s = c->cfg->refuse_ms / 1000.0;
        snprintf(a->why, sizeof(a->why), "agents under maintenance");
        core_run_actions(c, &l, NULL, NULL);
    } else {
        log_error("out of memory declining %zu offers of agents under maintenance", n - from);
    }
    fleet_actions_clear(&l);
}

size_t core_maint_offers(core *c, Mesos__V1__Offer **offers, size_t n) {
    fmaint *m = maint(c);
    if (!m) return n;
    int64_t now = util_wall_ms();
    size_t keep = 0;
    for (size_t i = 0; i < n; i++) {
        Mesos__V1__Offer *o = offers[i];
        fmaint_window w;
        int has = window_of(o->unavailability, &w) == MCM_OK;
        fmaint_on_offer(m, o->agent_id->value, has ? &w : NULL);
        if (fmaint_blocked(m, o->agent_id->value, now)) {
            log_verbose("offer %s from %s declined: its agent is under maintenance", o->id->value, o->hostname);
            continue;
        }
        offers[i] = offers[keep];   /* usable offers to the front; the event still owns them all */
        offers[keep++] = o;
    }
    if (keep < n) {
        metrics_add(c->mm.offers_received, NULL, (double)(n - keep));   /* core_on_offers counts the rest */
        decline_blocked(c, offers, keep, n);
    }
    return keep;
}

static void accept_inverse(core *c, fmaint *m, const fmaint_action *a) {
    callq_job *j = core_may_act(c) ? callq_job_new(&(fleet_action){0}, atomic_load(&c->term)) : NULL;
    if (!j) {
        fmaint_done(m, a->id, 0);
        return;
    }
    j->inverse = 1;
    j->a.refuse_s = c->cfg->refuse_ms / 1000.0;
    snprintf(j->offer_id, sizeof(j->offer_id), "%s", a->id);
    log_notice("accepting inverse offer %s: %s", a->id, a->why);
    callq_submit(c->calls, j);
}

void core_maint_tick(core *c) {
    fmaint *m = maint(c);
    if (!m || !core_may_act(c)) return;
    fmaint_actions ml;
    fleet_actions l;
    fmaint_actions_init(&ml);
    fleet_actions_init(&l);
    fmaint_tick(m, fleet_table(c->fl), util_wall_ms(), &ml);
    for (int i = 0; i < ml.n; i++)
        if (ml.v[i].kind == FM_DRAIN) fleet_drain(c->fl, ml.v[i].task_id, ml.v[i].why, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);   /* the drains are stored before any ACCEPT is sent */
    for (int i = 0; i < ml.n; i++)
        if (ml.v[i].kind == FM_ACCEPT) accept_inverse(c, m, &ml.v[i]);
    fmaint_actions_clear(&ml);
}

void core_maint_done(core *c, const callq_job *j) {
    if (!c->maint || j->term != atomic_load(&c->term)) return;
    if (!j->ok) log_warn("ACCEPT_INVERSE_OFFERS %s failed: %s (sent again)", j->offer_id, j->err);
    fmaint_done(c->maint, j->offer_id, j->ok);
}
