/* sim_drain.c -- agent drains (Mesos 1.9 DRAIN_AGENT / REACTIVATE_AGENT).
 *
 * What: POST /sim/agent/drain?agent=I|ID[&max_grace=DURATION][&mark_gone=1]
 * stands for the operator API call DRAIN_AGENT{agent_id, max_grace_period,
 * mark_gone}; POST /sim/agent/reactivate?agent=I|ID for REACTIVATE_AGENT.
 * Following apache/mesos:
 *  - Master::Http::_drainAgent: the agent becomes DRAINING and is
 *    deactivated (Master::deactivate(Slave*): its offers and inverse offers
 *    are rescinded, the allocator offers it no more) until REACTIVATE_AGENT.
 *  - Slave::drain: every task is killed; the kill policy's grace period is
 *    cut to max_grace_period when that is shorter or the task has none.
 *  - Slave::statusUpdate while a DrainConfig is set: a TASK_KILLING or
 *    TASK_KILLED update gets reason REASON_AGENT_DRAINING, whatever reason it
 *    had; with mark_gone and a PARTITION_AWARE framework the state becomes
 *    TASK_GONE_BY_OPERATOR. Source and the rest stay the executor's.
 *  - Master::checkAndTransitionDrainingAgent: once no task of the agent is
 *    left (none non-terminal, no update unacknowledged) it is DRAINED; with
 *    mark_gone it is then marked gone (here: the agent goes away for good,
 *    /sim/agent/up refuses it).
 *  - Slave::run on a draining agent drops the task (REASON_AGENT_DRAINING):
 *    not reachable here, a deactivated agent is never offered.
 * Threads: MHD threads and the loop thread, always under s->mu.
 * Invariant: a draining or drained agent is never offered (sim_alloc.c asks
 * sim_drain_offerable) and gets no inverse offer. */
#include "sim_int.h"

#include "mcm.h"
#include "parse.h"
#include "util.h"

#define LOG_COMPONENT "sim"
#include "log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { DRAIN_NONE = 0, DRAIN_DRAINING, DRAIN_DRAINED } drain_state;

typedef struct agent_drain {
    drain_state state;
    int mark_gone;
    int64_t max_grace_ms;              /* -1: none given */
    int64_t since_wall_ms;
} agent_drain;

struct sim_drain {
    agent_drain *a;                    /* one per agent */
};

int sim_drain_new(sim *s) {
    s->drain = calloc(1, sizeof(*s->drain));
    if (!s->drain || !(s->drain->a = calloc((size_t)s->nagents, sizeof(agent_drain)))) return MCM_ERR;
    return MCM_OK;
}

void sim_drain_free(sim *s) {
    if (!s->drain) return;
    free(s->drain->a);
    free(s->drain);
    s->drain = NULL;
}

int sim_drain_offerable(const sim *s, int agent) {
    return !s->drain || s->drain->a[agent].state == DRAIN_NONE;
}

int sim_drain_gone(const sim *s, int agent) {
    return s->drain && s->drain->a[agent].state == DRAIN_DRAINED && s->drain->a[agent].mark_gone;
}

/* calculateKillPolicy: the override when the task's grace is longer or unset. */
static void cut_grace(sim_task *t, int64_t max_ms) {
    Mesos__V1__TaskInfo *ti = t->info;
    int64_t max_ns = max_ms * 1000000;
    if (ti->kill_policy && ti->kill_policy->grace_period && ti->kill_policy->grace_period->nanoseconds <= max_ns)
        return;
    if (!ti->kill_policy) {
        ti->kill_policy = malloc(sizeof(*ti->kill_policy));   /* freed with the TaskInfo (system allocator) */
        if (!ti->kill_policy) abort();
        mesos__v1__kill_policy__init(ti->kill_policy);
    }
    if (!ti->kill_policy->grace_period) {
        ti->kill_policy->grace_period = malloc(sizeof(*ti->kill_policy->grace_period));
        if (!ti->kill_policy->grace_period) abort();
        mesos__v1__duration_info__init(ti->kill_policy->grace_period);
    }
    ti->kill_policy->grace_period->nanoseconds = max_ns;
}

int sim_drain_start(sim *s, int agent, int64_t max_grace_ms, int mark_gone, char *err, size_t errlen) {
    agent_drain *d = &s->drain->a[agent];
    if (sim_drain_gone(s, agent)) {
        snprintf(err, errlen, "agent %s was drained and marked gone", s->agents[agent].id);
        return MCM_ERR;
    }
    d->state = DRAIN_DRAINING;   /* a second DRAIN_AGENT overwrites the config, as Mesos does */
    d->mark_gone = mark_gone;
    d->max_grace_ms = max_grace_ms;
    d->since_wall_ms = util_wall_ms();
    log_notice("agent %s DRAINING (max grace %lld ms, mark_gone %d): deactivated, its tasks killed",
               s->agents[agent].id, (long long)max_grace_ms, mark_gone);
    sim_maint_rescind_agent(s, agent, "its agent is draining");
    for (sim_task *t = s->tasks; t; t = t->next) {
        if (t->agent != agent || sim_pb_terminal(t->state)) continue;
        if (max_grace_ms >= 0) cut_grace(t, max_grace_ms);
        sim_agent_kill_task(s, t);
    }
    return MCM_OK;
}

int sim_drain_reactivate(sim *s, int agent, char *err, size_t errlen) {
    agent_drain *d = &s->drain->a[agent];
    if (d->state == DRAIN_NONE) {
        snprintf(err, errlen, "agent %s is not draining or drained", s->agents[agent].id);
        return MCM_ERR;
    }
    if (sim_drain_gone(s, agent)) {
        snprintf(err, errlen, "agent %s was marked gone: it cannot come back", s->agents[agent].id);
        return MCM_ERR;
    }
    memset(d, 0, sizeof(*d));
    log_notice("agent %s reactivated: offered again", s->agents[agent].id);
    return MCM_OK;
}

void sim_drain_status(sim *s, const sim_task *t, Mesos__V1__TaskStatus *st) {
    const agent_drain *d = s->drain ? &s->drain->a[t->agent] : NULL;
    if (!d || d->state == DRAIN_NONE) return;
    if (st->state != MESOS__V1__TASK_STATE__TASK_KILLING && st->state != MESOS__V1__TASK_STATE__TASK_KILLED) return;
    st->has_reason = 1;
    st->reason = MESOS__V1__TASK_STATUS__REASON__REASON_AGENT_DRAINING;
    if (d->mark_gone && t->fw->partition_aware) st->state = MESOS__V1__TASK_STATE__TASK_GONE_BY_OPERATOR;
}

void sim_drain_tick(sim *s) {
    for (int ag = 0; s->drain && ag < s->nagents; ag++) {
        agent_drain *d = &s->drain->a[ag];
        if (d->state != DRAIN_DRAINING) continue;
        int left = 0;
        for (sim_task *t = s->tasks; t; t = t->next) left += t->agent == ag;
        if (left) continue;
        d->state = DRAIN_DRAINED;
        log_notice("agent %s DRAINED%s", s->agents[ag].id, d->mark_gone ? ": marked gone" : "");
        if (d->mark_gone) sim_agent_down(s, ag);
    }
}

json_t *sim_drain_json(sim *s) {
    static const char *names[] = {"NONE", "DRAINING", "DRAINED"};
    json_t *arr = json_array();
    for (int ag = 0; s->drain && ag < s->nagents; ag++) {
        const agent_drain *d = &s->drain->a[ag];
        if (d->state == DRAIN_NONE) continue;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:I, s:I}", "agent_id", s->agents[ag].id, "state",
                                             names[d->state], "mark_gone", d->mark_gone, "max_grace_ms",
                                             (json_int_t)d->max_grace_ms, "since_wall_ms",
                                             (json_int_t)d->since_wall_ms));
    }
    return arr;
}

/* --- admin --------------------------------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static int agent_arg(sim *s, struct MHD_Connection *c) {
    const char *v = arg(c, "agent");
    if (!v || !*v) return -1;
    sim_agent *a = sim_agent_by_id(s, v);
    if (a) return a->idx;
    char *end;
    long i = strtol(v, &end, 10);
    return *end == 0 && i >= 0 && i < s->nagents ? (int)i : -1;
}

static char *err_json(unsigned *code, unsigned status, const char *msg) {
    *code = status;
    json_t *j = json_pack("{s:s}", "error", msg);
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static char *ok_json(const char *what) {
    json_t *j = json_pack("{s:b, s:s}", "ok", 1, "done", what);
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static char *drain_admin(sim *s, struct MHD_Connection *c, unsigned *code) {
    int ag = agent_arg(s, c);
    const char *g = arg(c, "max_grace"), *mg = arg(c, "mark_gone");
    int64_t grace = -1;
    char err[256];
    if (ag < 0) return err_json(code, 400, "agent=<index or agent ID> required");
    if (g && parse_duration_ms(g, &grace, err, sizeof(err)) != MCM_OK) return err_json(code, 400, err);
    if (sim_drain_start(s, ag, grace, mg && strcmp(mg, "1") == 0, err, sizeof(err)) != MCM_OK)
        return err_json(code, 409, err);
    return ok_json("draining");
}

char *sim_maint_admin(sim *s, struct MHD_Connection *c, const sim_req *r, unsigned *code) {
    char err[256];
    if (strcmp(r->url, "/sim/maintenance") == 0) {
        if (sim_maint_schedule(s, r->body, r->len, err, sizeof(err)) != MCM_OK) return err_json(code, 400, err);
        return ok_json("schedule set");
    }
    if (strcmp(r->url, "/sim/agent/drain") == 0) return drain_admin(s, c, code);
    if (strcmp(r->url, "/sim/agent/reactivate") == 0) {
        int ag = agent_arg(s, c);
        if (ag < 0) return err_json(code, 400, "agent=<index or agent ID> required");
        if (sim_drain_reactivate(s, ag, err, sizeof(err)) != MCM_OK) return err_json(code, 409, err);
        return ok_json("reactivated");
    }
    return NULL;
}
