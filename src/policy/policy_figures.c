/* policy_figures.c -- per-server figures from executor reports, and the fleet
 * figures the conditions are judged on.
 *
 * Shape: a table of servers sorted by task id (binary search; a fleet has at
 * most --instances-max servers and changes rarely, so inserting by memmove is
 * fine). Each server keeps its last report; a new report yields rates from the
 * difference. Reports carry memcached's cumulative counters, so a counter that
 * goes down means memcached restarted: that report is a new baseline.
 * The fleet figures come from running sums over the servers in the fleet
 * (policy_sums): a report takes its server's old part away and adds the new,
 * and policy__mark_fleet sums again from nothing once a decision.
 *
 * Threads: the core only.
 * Invariants: srv[0..nsrv) sorted by id, ids unique; a rate is -1 or >= 0;
 * since[c] is -1 or the time of the first evaluation of the current streak in
 * which condition c held. */
#include "policy_int.h"
#include "mcm.h"

#include <stdlib.h>
#include <string.h>

static int cmp_id(const void *key, const void *elem) {
    return strcmp((const char *)key, (*(policy_srv *const *)elem)->id);
}

policy_srv *policy__find(const policy *p, const char *id) {
    if (p->nsrv == 0) return NULL;
    policy_srv **hit = bsearch(id, p->srv, (size_t)p->nsrv, sizeof(*p->srv), cmp_id);
    return hit ? *hit : NULL;
}

/* Index where id is or would be inserted. */
static int position(const policy *p, const char *id) {
    int lo = 0, hi = p->nsrv;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(p->srv[mid]->id, id) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static policy_srv *insert(policy *p, const char *id) {
    if (p->nsrv == p->capsrv) {
        int cap = p->capsrv ? p->capsrv * 2 : 8;
        policy_srv **grown = realloc(p->srv, sizeof(*grown) * (size_t)cap);
        if (!grown) return NULL;
        p->srv = grown;
        p->capsrv = cap;
    }
    policy_srv *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    memcpy(s->id, id, strlen(id) + 1);
    s->evr = s->cpu = s->hit = -1;
    int at = position(p, id);
    memmove(&p->srv[at + 1], &p->srv[at], sizeof(*p->srv) * (size_t)(p->nsrv - at));
    p->srv[at] = s;
    p->nsrv++;
    return s;
}

void policy__srv_free_all(policy *p) {
    for (int i = 0; i < p->nsrv; i++) free(p->srv[i]);
    free(p->srv);
    p->srv = NULL;
    p->nsrv = p->capsrv = 0;
}

static int counters_went_down(const report *old, const report *r) {
    return r->uptime < old->uptime || r->evictions < old->evictions ||
           r->get_hits < old->get_hits || r->get_misses < old->get_misses ||
           r->cpu_seconds < old->cpu_seconds - 1e-6;
}

static void unknown_rates(policy_srv *s) {
    s->evr = s->cpu = s->hit = -1;
    s->has_dgets = 0;
}

/* Rates from s->last to r. Seconds between them from the executor's own
 * timestamps; from our observe times if those do not advance. */
static void derive(policy_srv *s, const report *r, double cpus, int64_t now_ms) {
    const report *o = &s->last;
    if (counters_went_down(o, r)) {
        unknown_rates(s);
        return;
    }
    double dt = 0;
    if (r->time_ms > o->time_ms) dt = (double)(r->time_ms - o->time_ms) / 1000.0;
    else if (now_ms > s->seen_ms) dt = (double)(now_ms - s->seen_ms) / 1000.0;
    if (dt <= 0) return;                  /* the same moment again: keep the rates */
    s->evr = (double)(r->evictions - o->evictions) / dt;
    s->cpu = cpus > 0 ? (r->cpu_seconds - o->cpu_seconds) / dt / cpus : -1;
    s->dhits = r->get_hits - o->get_hits;
    s->dmisses = r->get_misses - o->get_misses;
    s->has_dgets = 1;
    uint64_t gets = s->dhits + s->dmisses;
    s->hit = gets ? (double)s->dhits / (double)gets : -1;
}

/* Adds (sign 1) or takes away (sign -1) s's part of the fleet sums. */
static void contribute(policy_sums *t, const policy_srv *s, int sign) {
    if (!s->in_fleet) return;
    uint64_t used = s->last.limit_maxbytes ? s->last.bytes : 0, gets = s->has_dgets ? s->dhits + s->dmisses : 0;
    uint64_t hits = s->has_dgets ? s->dhits : 0;
    t->reporting += sign;
    t->evr_nonzero += sign * (s->evr != 0);
    if (s->evr >= 0) t->evr += sign * s->evr, t->nevr += sign;
    if (s->cpu >= 0) t->cpu += sign * s->cpu, t->ncpu += sign;
    if (sign > 0) {
        t->bytes += s->last.bytes, t->limit_bytes += s->last.limit_maxbytes, t->limit_used += used;
        t->hits += hits, t->gets += gets;
    } else {
        t->bytes -= s->last.bytes, t->limit_bytes -= s->last.limit_maxbytes, t->limit_used -= used;
        t->hits -= hits, t->gets -= gets;
    }
}

int policy_observe(policy *p, const char *task_id, const report *r, double cpus_allocated,
                   int64_t now_ms) {
    if (!task_id || !task_id[0] || strlen(task_id) >= POLICY_ID_MAX) return MCM_ERR;
    policy_srv *s = policy__find(p, task_id);
    int first = !s;
    if (!s && !(s = insert(p, task_id))) return MCM_ERR;
    contribute(&p->sums, s, -1);
    if (first) unknown_rates(s);
    else derive(s, r, cpus_allocated, now_ms);
    s->last = *r;
    s->seen_ms = now_ms;
    s->fresh = 1;
    contribute(&p->sums, s, 1);
    policy__evaluate(p, now_ms);
    return MCM_OK;
}

void policy_forget(policy *p, const char *task_id) {
    if (!task_id) return;
    policy_srv *s = policy__find(p, task_id);
    if (!s) return;
    contribute(&p->sums, s, -1);
    int at = position(p, task_id);
    free(s);
    memmove(&p->srv[at], &p->srv[at + 1], sizeof(*p->srv) * (size_t)(p->nsrv - at - 1));
    p->nsrv--;
}

/* Sums again from nothing: also what keeps the running sums from drifting. */
void policy__mark_fleet(policy *p, const policy_fleet *f) {
    for (int i = 0; i < p->nsrv; i++) p->srv[i]->in_fleet = 0;
    for (int i = 0; i < f->nrunning; i++) {
        policy_srv *s = f->running[i] ? policy__find(p, f->running[i]) : NULL;
        if (s) s->in_fleet = 1;
    }
    p->fig.servers = f->nrunning;
    memset(&p->sums, 0, sizeof(p->sums));
    for (int i = 0; i < p->nsrv; i++) contribute(&p->sums, p->srv[i], 1);
}

/* The fleet figures from the sums. */
static void aggregate(policy *p) {
    policy_figures *g = &p->fig;
    const policy_sums *t = &p->sums;
    int servers = g->servers;
    memset(g, 0, sizeof(*g));
    g->servers = servers;
    g->reporting = t->reporting;
    g->bytes = t->bytes;
    g->limit_bytes = t->limit_bytes;
    p->all_evr_zero = t->reporting > 0 && t->evr_nonzero == 0;
    if (t->limit_bytes) g->mem = (double)t->limit_used / (double)t->limit_bytes, g->mem_known = 1;
    if (t->nevr) g->evictions_per_s = t->evr, g->evictions_known = 1;
    if (t->ncpu) g->cpu = t->cpu / t->ncpu, g->cpu_known = 1;
    if (t->gets) g->hit_ratio = (double)t->hits / (double)t->gets, g->hit_ratio_known = 1;
}

static void track(policy *p, int c, int holds, int64_t now_ms) {
    if (!holds) p->since[c] = -1;
    else if (p->since[c] < 0) p->since[c] = now_ms;
}

void policy__evaluate(policy *p, int64_t now_ms) {
    aggregate(p);
    const policy_figures *g = &p->fig;
    const policy_config *c = &p->cfg;
    track(p, COND_MEM_HIGH, g->mem_known && g->mem > c->scale_up_mem, now_ms);
    track(p, COND_EVICTIONS, g->evictions_known && g->evictions_per_s > c->scale_up_evictions, now_ms);
    track(p, COND_CPU_HIGH, g->cpu_known && g->cpu > c->scale_up_cpu, now_ms);
    track(p, COND_MEM_LOW, g->mem_known && g->mem < c->scale_down_mem && p->all_evr_zero, now_ms);
}

void policy_get_figures(const policy *p, policy_figures *out) {
    *out = p->fig;
}

int policy_get_server(const policy *p, const char *task_id, policy_server *out) {
    const policy_srv *s = task_id ? policy__find(p, task_id) : NULL;
    if (!s) return MCM_ERR;
    out->bytes = s->last.bytes;
    out->limit_bytes = s->last.limit_maxbytes;
    out->connections = s->last.curr_connections;
    out->mem = s->last.limit_maxbytes ? (double)s->last.bytes / (double)s->last.limit_maxbytes : -1;
    out->evictions_per_s = s->evr;
    out->cpu = s->cpu;
    out->hit_ratio = s->hit;
    out->seen_ms = s->seen_ms;
    return MCM_OK;
}
