/* sim_alloc.c -- offers: the allocator, filters, rescinds.
 *
 * Every --offer-interval the loop thread offers each live agent's free
 * resources (total - tasks' - live executors' - outstanding offers') to one
 * eligible framework (connected, not suppressed, not filtered for that
 * agent), rotating which framework comes first so several frameworks share.
 * An agent's whole free set goes into one offer, as Mesos' allocator does
 * when one framework is eligible. Offers never time out (Mesos' default).
 * Filters follow Mesos: a DECLINE (or the unused part of an ACCEPT) refuses
 * those resources on that agent for refuse_seconds; an offer is held back
 * while what it would contain fits in a live filter. REVIVE clears them.
 * With MULTI_ROLE the offer and each resource carry allocation_info{role}.
 * Offers carry the agent's attributes and, if it has one, its DomainInfo
 * (sim_attr.c); an agent in a region other than the master's is offered
 * only to REGION_AWARE frameworks (Mesos' isRemoteSlave).
 * Threads: loop thread (alloc_run) and MHD threads, all under s->mu. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sim_offer *sim_offer_find(sim *s, const char *id) {
    for (sim_offer *o = s->offers; o; o = o->next)
        if (strcmp(o->id, id) == 0) return o;
    return NULL;
}

void sim_offer_remove(sim *s, sim_offer *o) {
    for (sim_offer **pp = &s->offers; *pp; pp = &(*pp)->next)
        if (*pp == o) {
            *pp = o->next;
            break;
        }
    sim_res_free(o->res);
    free(o);
}

void sim_offers_drop_fw(sim *s, sim_fw *fw) {
    for (sim_offer *o = s->offers, *n; o; o = n) {
        n = o->next;
        if (o->fw == fw) sim_offer_remove(s, o);
    }
}

static void send_rescind(sim_fw *fw, const char *offer_id) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Rescind r = MESOS__V1__SCHEDULER__EVENT__RESCIND__INIT;
    r.offer_id = sim_pb_offerid(a, offer_id);
    ev.has_type = 1;
    ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND;
    ev.rescind = &r;
    sim_send(fw, &ev);
    sim_arena_free(a);
}

void sim_offers_rescind_agent(sim *s, int agent) {
    for (sim_offer *o = s->offers, *n; o; o = n) {
        n = o->next;
        if (o->agent != agent) continue;
        log_info("offer %s to framework %s rescinded: agent %s is gone", o->id, o->fw->id, s->agents[agent].id);
        send_rescind(o->fw, o->id);
        sim_offer_remove(s, o);
    }
}

void sim_filter_add(sim *s, sim_fw *fw, int agent, const sim_res *res, double refuse_s) {
    if (refuse_s <= 0 || sim_res_empty(res)) return;
    sim_filter *f = calloc(1, sizeof(*f));
    if (!f) abort();
    f->agent = agent;
    f->res = sim_res_copy(res);
    f->until_ms = util_now_ms() + (int64_t)(refuse_s * 1000.0);
    f->next = fw->filters;
    fw->filters = f;
    log_verbose("framework %s refuses agent %s resources for %.1fs", fw->id, s->agents[agent].id, refuse_s);
}

void sim_filters_clear(sim_fw *fw) {
    for (sim_filter *f = fw->filters, *n; f; f = n) {
        n = f->next;
        sim_res_free(f->res);
        free(f);
    }
    fw->filters = NULL;
}

/* Drops expired filters; 1 if a live one holds res back on agent. */
static int filtered(sim_fw *fw, int agent, const sim_res *res, int64_t now) {
    int hit = 0;
    for (sim_filter **pp = &fw->filters; *pp;) {
        sim_filter *f = *pp;
        if (f->until_ms <= now) {
            *pp = f->next;
            sim_res_free(f->res);
            free(f);
            continue;
        }
        if (f->agent == agent && sim_res_contains(f->res, res)) hit = 1;
        pp = &f->next;
    }
    return hit;
}

sim_res *sim_agent_free_res(sim *s, int agent) {
    sim_res *r = sim_res_copy(s->agents[agent].total);
    for (sim_task *t = s->tasks; t; t = t->next)
        if (t->agent == agent && !sim_pb_terminal(t->state) && !t->unreachable) sim_res_sub(r, t->res);
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->agent == agent && ex->state != EX_DONE) sim_res_sub(r, ex->res);
    for (sim_offer *o = s->offers; o; o = o->next)
        if (o->agent == agent) sim_res_sub(r, o->res);
    return r;
}

/* Mesos offers only sets with at least MIN_CPUS or MIN_MEM. */
static int allocatable(const sim_res *r) {
    return sim_res_scalar_milli(r, "cpus") >= 10 || sim_res_scalar_milli(r, "mem") >= 32 * 1000;
}

static Mesos__V1__Offer *make_offer(sim *s, sim_arena *a, sim_fw *fw, int agent, sim_res *res) {
    sim_offer *o = calloc(1, sizeof(*o));
    if (!o) abort();
    snprintf(o->id, sizeof(o->id), "%s-O%lld", s->master_id, (long long)s->offer_seq++);
    o->fw = fw;
    o->agent = agent;
    o->res = res;
    o->next = s->offers;
    s->offers = o;
    Mesos__V1__Offer *p = sim_arena_alloc(a, sizeof(*p));
    mesos__v1__offer__init(p);
    p->id = sim_pb_offerid(a, o->id);
    p->framework_id = sim_pb_fwid(a, fw->id);
    p->agent_id = sim_pb_agentid(a, s->agents[agent].id);
    p->hostname = sim_arena_strdup(a, s->agents[agent].hostname);
    const char *role = fw->multi_role ? fw->role : NULL;
    p->resources = sim_res_to_pb(o->res, role, sim_arena_alloc, a, &p->n_resources);
    char err[256];
    p->attributes = sim_attr_to_pb(a, s->agents[agent].attributes, &p->n_attributes, err, sizeof(err));
    p->domain = sim_domain_to_pb(a, s->agents[agent].region, s->agents[agent].zone);
    p->unavailability = sim_maint_unavailability(s, a, agent);   /* Master::offer: maintenance scheduled */
    if (role) {
        p->allocation_info = sim_arena_alloc(a, sizeof(*p->allocation_info));
        mesos__v1__resource__allocation_info__init(p->allocation_info);
        p->allocation_info->role = sim_arena_strdup(a, role);
    }
    int nex = 0;
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->fw == fw && ex->agent == agent && ex->state != EX_DONE) nex++;
    p->executor_ids = sim_arena_alloc(a, sizeof(void *) * (size_t)(nex ? nex : 1));
    for (sim_exec *ex = s->execs; ex; ex = ex->next)
        if (ex->fw == fw && ex->agent == agent && ex->state != EX_DONE)
            p->executor_ids[p->n_executor_ids++] = sim_pb_execid(a, ex->id);
    char text[512];
    sim_res_format(o->res, text, sizeof(text));
    log_verbose("offer %s to framework %s: agent %s %s", o->id, fw->id, s->agents[agent].id, text);
    return p;
}

static int eligible(const sim_fw *fw) { return fw->stream && !fw->removed && !fw->suppressed; }

void sim_alloc_run(sim *s, int64_t now) {
    int nfw = 0;
    for (sim_fw *fw = s->fws; fw; fw = fw->next) nfw++;
    if (nfw == 0) return;
    sim_fw **order = calloc((size_t)nfw, sizeof(*order));
    Mesos__V1__Offer ***per = calloc((size_t)nfw, sizeof(*per));
    size_t *nper = calloc((size_t)nfw, sizeof(*nper));
    if (!order || !per || !nper) abort();
    int i = 0;
    for (sim_fw *fw = s->fws; fw; fw = fw->next) order[i++] = fw;
    sim_arena *a = sim_arena_new();
    s->rr++;
    for (int ag = 0; ag < s->nagents; ag++) {
        if (s->agents[ag].gone || sim_partitioned(s, ag) || !sim_drain_offerable(s, ag)) continue;   /* drained: deactivated */
        sim_res *avail = sim_agent_free_res(s, ag);
        for (int k = 0; k < nfw && avail; k++) {
            int idx = (int)((s->rr + ag + k) % nfw);
            sim_fw *fw = order[idx];
            if (!allocatable(avail) || !eligible(fw) || filtered(fw, ag, avail, now)) continue;
            if (sim_agent_remote(s, ag) && !sim_fw_region_aware(fw)) continue;   /* Mesos: remote regions */
            if (!per[idx]) per[idx] = sim_arena_alloc(a, sizeof(void *) * (size_t)s->nagents);
            per[idx][nper[idx]++] = make_offer(s, a, fw, ag, avail);
            avail = NULL;
        }
        sim_res_free(avail);
    }
    for (int k = 0; k < nfw; k++) {
        if (!nper[k]) continue;
        Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
        Mesos__V1__Scheduler__Event__Offers of = MESOS__V1__SCHEDULER__EVENT__OFFERS__INIT;
        of.n_offers = nper[k];
        of.offers = per[k];
        ev.has_type = 1;
        ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__OFFERS;
        ev.offers = &of;
        sim_send(order[k], &ev);
    }
    sim_arena_free(a);
    free(order);
    free(per);
    free(nper);
}
