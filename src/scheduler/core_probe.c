/* core_probe.c -- the leader's own `version` probes of servers kept through
 * a partition (fleet_partition.c decides, this file asks).
 *
 * What: every core tick while leading, each task the fleet says to probe
 * (fleet_part_probing) gets a probe (probe.h) of its published address, one
 * every FLEET_PART_PROBE_EVERY_MS, each failing unless answered within
 * --health-timeout; each outcome goes to fleet_on_probe and the actions it
 * returns to the runner. Probes of tasks no longer probed are dropped.
 *
 * Why this shape: probe.h is non-blocking (a poll(2) with a zero timeout per
 * tick), so the core never waits for a partitioned or hung server; the
 * decisions stay in the pure fleet. The host must be a numeric address (as
 * the agents' hostnames are in mcm-sim): resolving a name would block the
 * core, so a name that is not numeric counts as a failed probe (warned).
 *
 * Thread: core. Invariant: at most one probe per task, freed when the task
 * is no longer probed or the term ends. */
#define LOG_COMPONENT "probe"
#include "core_int.h"
#include "log.h"
#include "mcm.h"
#include "probe.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct core_probe {
    char task_id[TT_ID_MAX];
    probe *p;                  /* NULL: the address is not numeric */
    int64_t next_ms;
    int seen;                  /* still wanted in this tick */
} core_probe;

struct core_probes {
    core_probe *v;
    int n, cap;
};

void core_probe_end_term(core *c) {
    if (!c->probes) return;
    for (int i = 0; i < c->probes->n; i++) probe_free(c->probes->v[i].p);
    free(c->probes->v);
    free(c->probes);
    c->probes = NULL;
}

static core_probe *find_or_add(core *c, const tt_task *t) {
    struct core_probes *ps = c->probes;
    for (int i = 0; i < ps->n; i++)
        if (!strcmp(ps->v[i].task_id, t->id)) return &ps->v[i];
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 8;
        core_probe *v = realloc(ps->v, sizeof(*v) * (size_t)cap);
        if (!v) return NULL;
        ps->v = v;
        ps->cap = cap;
    }
    core_probe *e = &ps->v[ps->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->task_id, sizeof(e->task_id), "%s", t->id);
    char err[256];
    if (!(e->p = probe_new(t->hostname, t->port, err, sizeof(err))))
        log_warn("server %s cannot be probed through its partition: %s (counted as not answering)", t->id, err);
    return e;
}

static void feed(core *c, const char *id, int ok, const char *why) {
    fleet_actions l;
    fleet_actions_init(&l);
    fleet_on_probe(c->fl, id, ok, why, core_clock(), &l);
    core_run_actions(c, &l, NULL, NULL);
}

/* One step of e's probe: started when due, polled, its outcome fed. */
static void step(core *c, core_probe *e, int64_t now) {
    char why[256] = "";
    if (!e->p) {
        if (now < e->next_ms) return;
        e->next_ms = now + FLEET_PART_PROBE_EVERY_MS;
        feed(c, e->task_id, 0, "its host is not a numeric address");
        return;
    }
    if (!probe_busy(e->p)) {
        if (now < e->next_ms) return;
        e->next_ms = now + FLEET_PART_PROBE_EVERY_MS;
        probe_start(e->p, now, c->cfg->health_timeout_ms);
    }
    int r = probe_poll(e->p, now, why, sizeof(why));
    if (r != PROBE_PENDING) feed(c, e->task_id, r == PROBE_OK, r == PROBE_OK ? NULL : why);
}

static void drop_unseen(core *c) {
    struct core_probes *ps = c->probes;
    for (int i = 0; i < ps->n;) {
        if (ps->v[i].seen) {
            i++;
            continue;
        }
        probe_free(ps->v[i].p);
        ps->v[i] = ps->v[--ps->n];
    }
}

void core_probe_tick(core *c, int64_t now) {
    if (!c->probes && !(c->probes = calloc(1, sizeof(*c->probes)))) return;
    for (int i = 0; i < c->probes->n; i++) c->probes->v[i].seen = 0;
    tt *tasks = fleet_table(c->fl);
    for (int i = 0; i < tt_count(tasks); i++) {
        const tt_task *t = tt_at(tasks, i);
        if (!fleet_part_probing(t)) continue;
        core_probe *e = find_or_add(c, t);
        if (e) e->seen = 1;
    }
    drop_unseen(c);
    /* feed() never changes this list, but a fenced write in its actions
     * steps down, which frees it: the loop checks it each turn */
    for (int i = 0; c->probes && i < c->probes->n; i++) step(c, &c->probes->v[i], now);
}
