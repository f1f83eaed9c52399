/* sim_maint.c -- Mesos maintenance primitives: the schedule, Offer.unavailability,
 * inverse offers and the frameworks' answers to them.
 *
 * What: POST /sim/maintenance takes a schedule in the body of the master's
 * POST /maintenance/schedule ({"windows":[{"machine_ids":[{"hostname","ip"}],
 * "unavailability":{"start":{"nanoseconds"},"duration":{"nanoseconds"}}}]}).
 * As in Mesos it replaces the whole schedule. Agents match a machine by
 * hostname (case-insensitive) and/or IP, each field given having to be equal.
 * One extension: a machine may name "agent" (index or agent ID), since the
 * sim's agents usually share one hostname and IP.
 * Then, following apache/mesos (src/master/master.cpp,
 * src/master/allocator/mesos/hierarchical.cpp):
 *  - Master::updateUnavailability: for every agent whose unavailability
 *    changed, its outstanding offers are rescinded and its inverse offers are
 *    rescinded (RESCIND_INVERSE_OFFER); the allocator drops the frameworks'
 *    inverse-offer filters for it (updateUnavailability).
 *  - Master::offer: an offer from an agent with unavailability carries it
 *    (Offer.unavailability = 9), however far away the window is.
 *  - HierarchicalAllocatorProcess::generateInverseOffers, run in the same
 *    allocation cycle after the offers: an agent with unavailability gets one
 *    inverse offer per framework that has resources offered or allocated
 *    there, is connected, has none outstanding for that agent and has no
 *    live inverse-offer filter for it. Resources are empty (the whole agent).
 *  - Master::inverseOffer: InverseOffer{id from the offer ID generator,
 *    url = http://<agent hostname, ip, port>/slave(1), framework_id,
 *    agent_id, unavailability}; deactivated (draining) agents get none.
 *  - acceptInverseOffers / declineInverseOffers: an unknown ID is ignored
 *    (202 anyway, logged); a known one is answered, removed and a filter of
 *    filters.refuse_seconds (default 5 s, at most 365 days) installed for
 *    that framework and agent: the next inverse offer comes after it. The
 *    answer is recorded (GET /sim/state "maintenance").
 *  - A framework that loses its subscription loses its inverse offers
 *    without a rescind (Master::deactivate(Framework*)).
 * Not modelled: /machine/down and /machine/up (agents stay up through their
 * window), offer timeouts.
 *
 * Why this shape: the schedule is per agent (one window each, as Mesos'
 * validation allows one per machine), so offers and inverse offers only ask
 * an array; inverse offers and filters are short lists.
 * Threads: MHD threads and the loop thread, always under s->mu.
 * Invariants: (1) at most one outstanding inverse offer per (framework,
 * agent); (2) every inverse offer belongs to an agent with unavailability. */
#include "sim_int.h"

#include "mcm.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAINT_ANSWERS_MAX 256          /* answers kept for /sim/state (a ring) */
#define MAINT_FILTER_DEFAULT_S 5.0     /* Filters.refuse_seconds default */
#define MAINT_FILTER_MAX_S (365.0 * 86400.0)
#define NS_PER_MS 1000000LL

typedef struct maint_window {
    int has;
    int64_t start_ns;
    int64_t duration_ns;               /* -1: no duration (forever) */
} maint_window;

typedef struct maint_inv {
    struct maint_inv *next;
    char id[SIM_ID_MAX];
    sim_fw *fw;
    int agent;
} maint_inv;

typedef struct maint_filter {
    struct maint_filter *next;
    sim_fw *fw;
    int agent;
    int64_t until_ms;
} maint_filter;

typedef struct maint_answer {
    char id[SIM_ID_MAX], fw[SIM_ID_MAX], agent[SIM_ID_MAX];
    int accepted;
    int64_t wall_ms;
} maint_answer;

struct sim_maint {
    maint_window *win;                 /* one per agent */
    maint_inv *invs;
    maint_filter *filters;
    maint_answer answers[MAINT_ANSWERS_MAX];
    int64_t nanswers;
    int64_t sent;                      /* inverse offers sent, ever */
};

int sim_maint_new(sim *s) {
    s->maint = calloc(1, sizeof(*s->maint));
    if (!s->maint || !(s->maint->win = calloc((size_t)s->nagents, sizeof(maint_window)))) return MCM_ERR;
    return MCM_OK;
}

void sim_maint_free(sim *s) {
    if (!s->maint) return;
    for (maint_inv *i = s->maint->invs, *n; i; i = n) {
        n = i->next;
        free(i);
    }
    for (maint_filter *f = s->maint->filters, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    free(s->maint->win);
    free(s->maint);
    s->maint = NULL;
}

/* --- events ------------------------------------------------------------------ */

static Mesos__V1__Unavailability *unavail_pb(sim_arena *a, const maint_window *w) {
    Mesos__V1__Unavailability *u = sim_arena_alloc(a, sizeof(*u));
    mesos__v1__unavailability__init(u);
    u->start = sim_arena_alloc(a, sizeof(*u->start));
    mesos__v1__time_info__init(u->start);
    u->start->nanoseconds = w->start_ns;
    if (w->duration_ns >= 0) {
        u->duration = sim_arena_alloc(a, sizeof(*u->duration));
        mesos__v1__duration_info__init(u->duration);
        u->duration->nanoseconds = w->duration_ns;
    }
    return u;
}

Mesos__V1__Unavailability *sim_maint_unavailability(sim *s, sim_arena *a, int agent) {
    if (!s->maint || agent < 0 || agent >= s->nagents || !s->maint->win[agent].has) return NULL;
    return unavail_pb(a, &s->maint->win[agent]);
}

static void send_offer_rescind(sim_fw *fw, const char *id, int inverse) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
    Mesos__V1__Scheduler__Event__Rescind r = MESOS__V1__SCHEDULER__EVENT__RESCIND__INIT;
    Mesos__V1__Scheduler__Event__RescindInverseOffer ri = MESOS__V1__SCHEDULER__EVENT__RESCIND_INVERSE_OFFER__INIT;
    ev.has_type = 1;
    if (inverse) {
        ri.inverse_offer_id = sim_pb_offerid(a, id);
        ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND_INVERSE_OFFER;
        ev.rescind_inverse_offer = &ri;
    } else {
        r.offer_id = sim_pb_offerid(a, id);
        ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__RESCIND;
        ev.rescind = &r;
    }
    sim_send(fw, &ev);
    sim_arena_free(a);
}

static void inv_remove(sim *s, maint_inv *victim) {
    for (maint_inv **pp = &s->maint->invs; *pp; pp = &(*pp)->next)
        if (*pp == victim) {
            *pp = victim->next;
            free(victim);
            return;
        }
}

void sim_maint_rescind_agent(sim *s, int agent, const char *why) {
    if (!s->maint) return;
    for (sim_offer *o = s->offers, *n; o; o = n) {
        n = o->next;
        if (o->agent != agent) continue;
        log_info("offer %s to framework %s rescinded: %s", o->id, o->fw->id, why);
        send_offer_rescind(o->fw, o->id, 0);
        sim_offer_remove(s, o);
    }
    for (maint_inv *i = s->maint->invs, *n; i; i = n) {
        n = i->next;
        if (i->agent != agent) continue;
        log_info("inverse offer %s to framework %s rescinded: %s", i->id, i->fw->id, why);
        send_offer_rescind(i->fw, i->id, 1);
        inv_remove(s, i);
    }
}

/* --- the schedule ---------------------------------------------------------------- */

static int json_ns(json_t *o, const char *key, int64_t *out) {
    json_t *v = json_object_get(o, key), *ns = v ? json_object_get(v, "nanoseconds") : NULL;
    if (!ns || !json_is_integer(ns)) return MCM_ERR;
    *out = (int64_t)json_integer_value(ns);
    return MCM_OK;
}

static int agent_of(sim *s, const char *v) {
    sim_agent *a = sim_agent_by_id(s, v);
    if (a) return a->idx;
    char *end;
    long i = strtol(v, &end, 10);
    return *v && *end == 0 && i >= 0 && i < s->nagents ? (int)i : -1;
}

/* Marks in hit[] the agents machine m names; MCM_ERR with err if m is malformed. */
static int match_machine(sim *s, json_t *m, char *hit, char *err, size_t errlen) {
    const char *host = json_string_value(json_object_get(m, "hostname"));
    const char *ip = json_string_value(json_object_get(m, "ip"));
    const char *ag = json_string_value(json_object_get(m, "agent"));
    if (!json_is_object(m) || (!host && !ip && !ag)) {
        snprintf(err, errlen, "a machine ID needs 'hostname' or 'ip' (or the sim's 'agent')");
        return MCM_ERR;
    }
    if (ag) {
        int i = agent_of(s, ag);
        if (i < 0) {
            snprintf(err, errlen, "no agent '%.64s'", ag);
            return MCM_ERR;
        }
        hit[i] = 1;
        return MCM_OK;
    }
    for (int i = 0; i < s->nagents; i++)
        if ((!host || strcasecmp(host, s->agents[i].hostname) == 0) && (!ip || strcmp(ip, s->host) == 0)) hit[i] = 1;
    return MCM_OK;
}

/* One window into next[] (per agent); a machine twice in the schedule is refused, as Mesos' validation does. */
static int take_window(sim *s, json_t *w, maint_window *next, char *err, size_t errlen) {
    json_t *ids = json_object_get(w, "machine_ids"), *un = json_object_get(w, "unavailability");
    maint_window mw = {1, 0, -1};
    if (!json_is_array(ids) || json_array_size(ids) == 0 || !json_is_object(un)) {
        snprintf(err, errlen, "each window needs a non-empty 'machine_ids' and an 'unavailability'");
        return MCM_ERR;
    }
    if (json_ns(un, "start", &mw.start_ns) != MCM_OK) {
        snprintf(err, errlen, "unavailability.start.nanoseconds (an integer) is required");
        return MCM_ERR;
    }
    if (json_object_get(un, "duration") && (json_ns(un, "duration", &mw.duration_ns) != MCM_OK || mw.duration_ns < 0)) {
        snprintf(err, errlen, "unavailability.duration.nanoseconds must be a non-negative integer");
        return MCM_ERR;
    }
    char *hit = calloc((size_t)s->nagents, 1);
    if (!hit) abort();
    size_t k;
    json_t *m;
    int rc = MCM_OK;
    json_array_foreach(ids, k, m) if (rc == MCM_OK) rc = match_machine(s, m, hit, err, errlen);
    for (int i = 0; rc == MCM_OK && i < s->nagents; i++) {
        if (!hit[i]) continue;
        if (next[i].has) {
            snprintf(err, errlen, "agent %s is in more than one window", s->agents[i].id);
            rc = MCM_ERR;
        }
        next[i] = mw;
    }
    free(hit);
    return rc;
}

static int parse_schedule(sim *s, const char *body, size_t len, maint_window *next, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = body && len ? json_loadb(body, len, 0, &je) : NULL;
    json_t *wins = root ? json_object_get(root, "windows") : NULL;
    int rc = MCM_OK;
    if (!root || !json_is_object(root) || (wins && !json_is_array(wins))) {
        snprintf(err, errlen, "the body must be a JSON schedule {\"windows\":[...]}%s%s", root ? "" : ": ",
                 root ? "" : (body && len ? je.text : "empty body"));
        rc = MCM_ERR;
    }
    size_t k;
    json_t *w;
    if (rc == MCM_OK && wins)
        json_array_foreach(wins, k, w) if (rc == MCM_OK) rc = take_window(s, w, next, err, errlen);
    json_decref(root);
    return rc;
}

static void filters_drop_agent(sim *s, int agent) {
    for (maint_filter **pp = &s->maint->filters; *pp;) {
        maint_filter *f = *pp;
        if (f->agent == agent) {
            *pp = f->next;
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

int sim_maint_schedule(sim *s, const char *body, size_t len, char *err, size_t errlen) {
    maint_window *next = calloc((size_t)s->nagents, sizeof(*next));
    if (!next) abort();
    if (parse_schedule(s, body, len, next, err, errlen) != MCM_OK) {
        free(next);
        return MCM_ERR;
    }
    for (int i = 0; i < s->nagents; i++) {
        maint_window *was = &s->maint->win[i];
        if (was->has == next[i].has && (!was->has || (was->start_ns == next[i].start_ns &&
                                                      was->duration_ns == next[i].duration_ns)))
            continue;   /* unchanged: Mesos rescinds anyway (its TODO), we spare the frameworks */
        *was = next[i];
        if (was->has)
            log_notice("maintenance: agent %s unavailable from %lld ms (epoch) for %lld ms", s->agents[i].id,
                       (long long)(was->start_ns / NS_PER_MS),
                       (long long)(was->duration_ns < 0 ? -1 : was->duration_ns / NS_PER_MS));
        else
            log_notice("maintenance: agent %s no longer scheduled", s->agents[i].id);
        sim_maint_rescind_agent(s, i, "its unavailability changed");
        filters_drop_agent(s, i);
    }
    free(next);
    return MCM_OK;
}

/* --- inverse offers ----------------------------------------------------------------- */

static int uses_agent(sim *s, sim_fw *fw, int agent) {
    for (sim_task *t = s->tasks; t; t = t->next)
        if (t->fw == fw && t->agent == agent && !sim_pb_terminal(t->state)) return 1;
    for (sim_offer *o = s->offers; o; o = o->next)
        if (o->fw == fw && o->agent == agent) return 1;
    return 0;
}

static int outstanding(sim *s, sim_fw *fw, int agent) {
    for (maint_inv *i = s->maint->invs; i; i = i->next)
        if (i->fw == fw && i->agent == agent) return 1;
    return 0;
}

static int inv_filtered(sim *s, sim_fw *fw, int agent, int64_t now) {
    int hit = 0;
    for (maint_filter **pp = &s->maint->filters; *pp;) {
        maint_filter *f = *pp;
        if (f->until_ms <= now) {
            *pp = f->next;
            free(f);
            continue;
        }
        hit |= f->fw == fw && f->agent == agent;
        pp = &f->next;
    }
    return hit;
}

static Mesos__V1__InverseOffer *make_inv(sim *s, sim_arena *a, sim_fw *fw, int agent) {
    maint_inv *i = calloc(1, sizeof(*i));
    if (!i) abort();
    snprintf(i->id, sizeof(i->id), "%s-O%lld", s->master_id, (long long)s->offer_seq++);
    i->fw = fw;
    i->agent = agent;
    i->next = s->maint->invs;
    s->maint->invs = i;
    s->maint->sent++;
    Mesos__V1__InverseOffer *p = sim_arena_alloc(a, sizeof(*p));
    mesos__v1__inverse_offer__init(p);
    p->id = sim_pb_offerid(a, i->id);
    p->framework_id = sim_pb_fwid(a, fw->id);
    p->agent_id = sim_pb_agentid(a, s->agents[agent].id);
    p->unavailability = unavail_pb(a, &s->maint->win[agent]);
    p->url = sim_arena_alloc(a, sizeof(*p->url));
    mesos__v1__url__init(p->url);
    p->url->scheme = sim_arena_strdup(a, "http");
    p->url->address = sim_arena_alloc(a, sizeof(*p->url->address));
    mesos__v1__address__init(p->url->address);
    p->url->address->hostname = sim_arena_strdup(a, s->agents[agent].hostname);
    p->url->address->ip = sim_arena_strdup(a, s->host);
    p->url->address->port = s->agents[agent].port;
    p->url->path = sim_arena_strdup(a, "/slave(1)");
    log_info("inverse offer %s to framework %s: agent %s is scheduled for maintenance", i->id, fw->id,
             s->agents[agent].id);
    return p;
}

/* One INVERSE_OFFERS event for fw with every agent it should give back. */
static void offer_fw(sim *s, sim_fw *fw, int64_t now) {
    sim_arena *a = sim_arena_new();
    Mesos__V1__InverseOffer **v = sim_arena_alloc(a, sizeof(*v) * (size_t)s->nagents);
    size_t n = 0;
    for (int ag = 0; ag < s->nagents; ag++) {
        if (!s->maint->win[ag].has || s->agents[ag].gone || sim_partitioned(s, ag) || !sim_drain_offerable(s, ag))
            continue;
        if (!uses_agent(s, fw, ag) || outstanding(s, fw, ag) || inv_filtered(s, fw, ag, now)) continue;
        v[n++] = make_inv(s, a, fw, ag);
    }
    if (n) {
        Mesos__V1__Scheduler__Event ev = MESOS__V1__SCHEDULER__EVENT__INIT;
        Mesos__V1__Scheduler__Event__InverseOffers io = MESOS__V1__SCHEDULER__EVENT__INVERSE_OFFERS__INIT;
        io.n_inverse_offers = n;
        io.inverse_offers = v;
        ev.has_type = 1;
        ev.type = MESOS__V1__SCHEDULER__EVENT__TYPE__INVERSE_OFFERS;
        ev.inverse_offers = &io;
        sim_send(fw, &ev);
    }
    sim_arena_free(a);
}

void sim_maint_run(sim *s, int64_t now) {
    if (!s->maint) return;
    for (maint_inv *i = s->maint->invs, *n; i; i = n) {   /* disconnected: dropped, no rescind */
        n = i->next;
        if (!i->fw->stream || i->fw->removed) inv_remove(s, i);
    }
    for (sim_fw *fw = s->fws; fw; fw = fw->next)
        if (fw->stream && !fw->removed) offer_fw(s, fw, now);
}

static maint_inv *inv_find(sim *s, const sim_fw *fw, const char *id) {
    for (maint_inv *i = s->maint->invs; i; i = i->next)
        if (i->fw == fw && strcmp(i->id, id) == 0) return i;
    return NULL;
}

static void record_answer(sim *s, const maint_inv *i, int accepted) {
    maint_answer *r = &s->maint->answers[s->maint->nanswers++ % MAINT_ANSWERS_MAX];
    snprintf(r->id, sizeof(r->id), "%s", i->id);
    snprintf(r->fw, sizeof(r->fw), "%s", i->fw->id);
    snprintf(r->agent, sizeof(r->agent), "%s", s->agents[i->agent].id);
    r->accepted = accepted;
    r->wall_ms = util_wall_ms();
}

static void add_filter(sim *s, sim_fw *fw, int agent, const Mesos__V1__Filters *f) {
    double secs = f && f->has_refuse_seconds ? f->refuse_seconds : MAINT_FILTER_DEFAULT_S;
    if (secs < 0) secs = MAINT_FILTER_DEFAULT_S;   /* hierarchical.cpp: negative -> the default */
    if (secs > MAINT_FILTER_MAX_S) secs = MAINT_FILTER_MAX_S;
    if (secs <= 0) return;
    maint_filter *nf = calloc(1, sizeof(*nf));
    if (!nf) abort();
    nf->fw = fw;
    nf->agent = agent;
    nf->until_ms = util_now_ms() + (int64_t)(secs * 1000.0);
    nf->next = s->maint->filters;
    s->maint->filters = nf;
}

void sim_maint_answer(sim *s, sim_fw *fw, Mesos__V1__OfferID **ids, size_t n, const Mesos__V1__Filters *filters,
                      int accepted) {
    for (size_t k = 0; s->maint && k < n; k++) {
        maint_inv *i = ids[k] && ids[k]->value ? inv_find(s, fw, ids[k]->value) : NULL;
        if (!i) {
            log_warn("framework %s: %s of inverse offer %s ignored: it is no longer valid", fw->id,
                     accepted ? "accept" : "decline", ids[k] && ids[k]->value ? ids[k]->value : "?");
            continue;
        }
        log_notice("framework %s %s inverse offer %s for agent %s", fw->id, accepted ? "accepted" : "declined", i->id,
                   s->agents[i->agent].id);
        record_answer(s, i, accepted);
        add_filter(s, fw, i->agent, filters);
        inv_remove(s, i);
    }
}

/* --- state -------------------------------------------------------------------------- */

static json_t *windows_json(sim *s) {
    json_t *arr = json_array();
    for (int i = 0; i < s->nagents; i++) {
        const maint_window *w = &s->maint->win[i];
        if (!w->has) continue;
        json_array_append_new(arr, json_pack("{s:s, s:I, s:I}", "agent_id", s->agents[i].id, "start_ms",
                                             (json_int_t)(w->start_ns / NS_PER_MS), "duration_ms",
                                             (json_int_t)(w->duration_ns < 0 ? -1 : w->duration_ns / NS_PER_MS)));
    }
    return arr;
}

json_t *sim_maint_json(sim *s) {
    if (!s->maint) return json_object();
    json_t *invs = json_array(), *answers = json_array();
    for (maint_inv *i = s->maint->invs; i; i = i->next)
        json_array_append_new(invs, json_pack("{s:s, s:s, s:s}", "id", i->id, "framework_id", i->fw->id, "agent_id",
                                              s->agents[i->agent].id));
    int64_t first = s->maint->nanswers > MAINT_ANSWERS_MAX ? s->maint->nanswers - MAINT_ANSWERS_MAX : 0;
    for (int64_t k = first; k < s->maint->nanswers; k++) {
        const maint_answer *r = &s->maint->answers[k % MAINT_ANSWERS_MAX];
        json_array_append_new(answers, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", r->id, "framework_id", r->fw,
                                                 "agent_id", r->agent, "answer", r->accepted ? "ACCEPT" : "DECLINE",
                                                 "wall_ms", (json_int_t)r->wall_ms));
    }
    return json_pack("{s:o, s:o, s:o, s:I, s:o}", "windows", windows_json(s), "inverse_offers", invs,
                     "inverse_offer_answers", answers, "inverse_offers_sent", (json_int_t)s->maint->sent, "drains",
                     sim_drain_json(s));
}
